package cpu

import (
	"runtime"
	"sync"
)

// grainSize is the number of elements below which elementwise work stays on
// the calling goroutine: splitting smaller jobs costs more in hand-off than
// it saves.
const grainSize = 32 * 1024

// pool is a fixed set of worker goroutines, sized to GOMAXPROCS when first
// used, that run the chunks of a parallelFor.
type pool struct {
	once  sync.Once
	n     int
	tasks chan func()
}

var workers pool

func (p *pool) start() {
	p.once.Do(func() {
		p.n = runtime.GOMAXPROCS(0)
		p.tasks = make(chan func(), 4*p.n)
		for i := 0; i < p.n; i++ {
			go func() {
				for f := range p.tasks {
					f()
				}
			}()
		}
	})
}

// Workers returns the number of goroutines parallel kernels use.
func Workers() int {
	workers.start()
	return workers.n
}

// parallelFor calls fn over [0, n) split into contiguous chunks [lo, hi).
// Work whose cost (n·costPerItem) is below grainSize, or a machine with one
// worker, runs on the caller's goroutine. fn must be safe to run
// concurrently on disjoint ranges.
func parallelFor(n, costPerItem int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if costPerItem < 1 {
		costPerItem = 1
	}
	workers.start()
	chunks := workers.n
	if total := n * costPerItem; total < 2*grainSize || chunks < 2 {
		fn(0, n)
		return
	} else if c := total / grainSize; c < chunks {
		chunks = c
	}
	if chunks > n {
		chunks = n
	}
	var wg sync.WaitGroup
	step := (n + chunks - 1) / chunks
	for lo := step; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		lo := lo
		task := func() {
			defer wg.Done()
			fn(lo, hi)
		}
		// Hand the chunk to the pool, or run it here when the queue is full
		// (as when every worker is itself inside a nested parallelFor), so
		// nesting can never deadlock.
		select {
		case workers.tasks <- task:
		default:
			task()
		}
	}
	// The caller does the first chunk itself.
	fn(0, min(step, n))
	// While waiting, run queued chunks (ours or a nested call's) rather than
	// block: if every worker is waiting inside a nested parallelFor, the
	// queue still drains.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		case t := <-workers.tasks:
			t()
		}
	}
}
