package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// grainSize is the number of elements below which elementwise work stays on
// the calling goroutine: splitting smaller jobs costs more in hand-off than
// it saves.
const grainSize = 32 * 1024

// workerSpin is how long an idle worker keeps polling for the next chunk
// before it parks, and how long a caller polls for its chunks to finish
// before it sleeps. A training step issues kernels microseconds apart; a
// parked worker takes tens of microseconds to wake in a VM (futex wake of
// an idle CPU), longer than many kernels take, which made two threads
// slower than one. Spinning briefly keeps the second core hot through a
// step and costs an idle process nothing once it stops.
const workerSpin = 200 * time.Microsecond

// pool is a fixed set of GOMAXPROCS−1 worker goroutines, started on first
// use, that run the chunks of a parallelFor; the calling goroutine is the
// n-th. (One worker per P would leave a spinning worker competing with the
// caller for the caller's P.)
type pool struct {
	once  sync.Once
	n     int // goroutines a parallelFor uses, the caller included
	tasks chan task
}

// A job is one parallelFor call; its chunks are tasks.
type job struct {
	fn   func(lo, hi int)
	left atomic.Int32  // chunks handed out and not yet finished
	wake chan struct{} // capacity 1: a finished last chunk wakes a sleeping caller
}

type task struct {
	j      *job
	lo, hi int
}

func (t task) run() {
	t.j.fn(t.lo, t.hi)
	if t.j.left.Add(-1) == 0 {
		select {
		case t.j.wake <- struct{}{}:
		default:
		}
	}
}

var (
	workers pool
	jobs    = sync.Pool{New: func() any { return &job{wake: make(chan struct{}, 1)} }}
)

func (p *pool) start() {
	p.once.Do(func() {
		p.n = runtime.GOMAXPROCS(0)
		p.tasks = make(chan task, 4*p.n)
		for i := 1; i < p.n; i++ {
			go p.work()
		}
	})
}

// work runs chunks, polling for workerSpin after each before it parks.
func (p *pool) work() {
	for {
		t, ok := p.poll(workerSpin)
		if !ok {
			t = <-p.tasks
		}
		t.run()
	}
}

// poll waits up to d for a queued chunk without parking.
func (p *pool) poll(d time.Duration) (task, bool) {
	var deadline time.Time
	for i := 0; ; i++ {
		select {
		case t := <-p.tasks:
			return t, true
		default:
		}
		if i&63 == 0 {
			now := time.Now()
			if i == 0 {
				deadline = now.Add(d)
			} else if now.After(deadline) {
				return task{}, false
			}
		}
		runtime.Gosched()
	}
}

// Workers returns the number of goroutines parallel kernels use, the
// caller's included.
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
	j := jobs.Get().(*job)
	j.fn = fn
	step := (n + chunks - 1) / chunks
	j.left.Store(int32((n - 1) / step)) // chunks after the first
	for lo := step; lo < n; lo += step {
		t := task{j, lo, min(lo+step, n)}
		// Hand the chunk to the pool, or run it here when the queue is full
		// (as when every worker is itself inside a nested parallelFor), so
		// nesting can never deadlock.
		select {
		case workers.tasks <- t:
		default:
			t.run()
		}
	}
	// The caller does the first chunk itself, then runs queued chunks (its
	// own or a nested call's) while it waits: if every worker is waiting
	// inside a nested parallelFor, the queue still drains.
	fn(0, min(step, n))
	deadline := time.Now().Add(workerSpin)
	for i := 0; j.left.Load() > 0; i++ {
		select {
		case t := <-workers.tasks:
			t.run()
			continue
		default:
		}
		if i&63 != 0 || time.Now().Before(deadline) {
			runtime.Gosched()
			continue
		}
		select { // sleep until the last chunk finishes, or work arrives
		case <-j.wake:
		case t := <-workers.tasks:
			t.run()
		}
	}
	select { // a wake-up sent after we saw left reach 0
	case <-j.wake:
	default:
	}
	j.fn = nil
	jobs.Put(j)
}
