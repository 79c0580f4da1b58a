package data

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ml/tessera/tensor"
)

// rowsDataset returns a TensorDataset of n rows: X[i] = [i, i+0.5] (float32)
// and Y[i] = i (int64), so that a batch's values name its rows.
func rowsDataset(n int) *TensorDataset {
	x := make([]float32, 2*n)
	y := make([]int64, n)
	for i := range n {
		x[2*i], x[2*i+1] = float32(i), float32(i)+0.5
		y[i] = int64(i)
	}
	return NewTensorDataset(tensor.FromSlice(x, n, 2), tensor.FromSlice(y, n))
}

// getOnly hides a dataset's Batcher, forcing the per-example path.
type getOnly struct{ Dataset }

// slowGet delays every Get, to let prefetching run ahead.
type slowGet struct {
	Dataset
	d     time.Duration
	calls atomic.Int64
}

func (s *slowGet) Get(i int) Example {
	s.calls.Add(1)
	time.Sleep(s.d)
	return s.Dataset.Get(i)
}

// collect runs an epoch and returns its batches.
func collect(l *Loader) []Batch {
	var bs []Batch
	for b := range l.All() {
		bs = append(bs, b)
	}
	return bs
}

// checkBatch checks that b's rows are the dataset rows b.Index names.
func checkBatch(t *testing.T, b Batch) {
	t.Helper()
	n := len(b.Index)
	if got := b.X.Shape(); !slices.Equal(got, []int{n, 2}) || b.X.DType() != tensor.Float32 {
		t.Fatalf("X has shape %v dtype %v, want [%d 2] float32", got, b.X.DType(), n)
	}
	if got := b.Y.Shape(); !slices.Equal(got, []int{n}) || b.Y.DType() != tensor.Int64 {
		t.Fatalf("Y has shape %v dtype %v, want [%d] int64", got, b.Y.DType(), n)
	}
	xs, ys := b.X.Float32s(), b.Y.Int64s()
	for j, i := range b.Index {
		if xs[2*j] != float32(i) || xs[2*j+1] != float32(i)+0.5 || ys[j] != int64(i) {
			t.Fatalf("row %d of the batch is x=%v y=%d, want dataset row %d", j, xs[2*j:2*j+2], ys[j], i)
		}
	}
}

func indices(bs []Batch) []int {
	var idx []int
	for _, b := range bs {
		idx = append(idx, b.Index...)
	}
	return idx
}

func TestLoaderBatchSizes(t *testing.T) {
	ds := rowsDataset(10)
	for _, c := range []struct {
		batch    int
		dropLast bool
		sizes    []int
	}{
		{3, false, []int{3, 3, 3, 1}},
		{3, true, []int{3, 3, 3}},
		{5, false, []int{5, 5}},
		{5, true, []int{5, 5}},
		{10, true, []int{10}},
		{11, false, []int{10}},
		{11, true, nil},
		{1, false, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	} {
		for _, workers := range []int{0, 3} {
			for _, d := range []Dataset{ds, getOnly{ds}} {
				opts := []LoaderOption{WithWorkers(workers)}
				if c.dropLast {
					opts = append(opts, WithDropLast())
				}
				l := NewLoader(d, c.batch, opts...)
				bs := collect(l)
				var sizes []int
				for _, b := range bs {
					sizes = append(sizes, len(b.Index))
					checkBatch(t, b)
				}
				if !slices.Equal(sizes, c.sizes) || l.Len() != len(c.sizes) {
					t.Errorf("batch %d dropLast %v workers %d: sizes %v, Len %d; want %v", c.batch, c.dropLast, workers, sizes, l.Len(), c.sizes)
				}
				if !c.dropLast && !slices.Equal(indices(bs), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
					t.Errorf("unshuffled order %v", indices(bs))
				}
			}
		}
	}
}

func TestLoaderShuffleEveryExampleOncePerEpoch(t *testing.T) {
	const n = 103
	l := NewLoader(rowsDataset(n), 8, WithShuffle(tensor.NewGenerator(7)), WithWorkers(2))
	var epochs [][]int
	for range 3 {
		bs := collect(l)
		for _, b := range bs {
			checkBatch(t, b)
		}
		idx := indices(bs)
		sorted := slices.Sorted(slices.Values(idx))
		for i, v := range sorted {
			if v != i {
				t.Fatalf("epoch visits %v, not each of 0..%d once", sorted, n-1)
			}
		}
		epochs = append(epochs, idx)
	}
	if slices.Equal(epochs[0], epochs[1]) || slices.Equal(epochs[1], epochs[2]) {
		t.Error("two epochs in the same order: not reshuffled")
	}
	if slices.IsSorted(epochs[0]) {
		t.Error("shuffled epoch in order")
	}
}

func TestLoaderDeterministic(t *testing.T) {
	run := func(workers int, ds Dataset) [][]int {
		l := NewLoader(ds, 7, WithShuffle(tensor.NewGenerator(42)), WithWorkers(workers), WithDropLast())
		var epochs [][]int
		for range 3 {
			epochs = append(epochs, indices(collect(l)))
		}
		return epochs
	}
	ds := rowsDataset(50)
	want := run(0, ds)
	for _, workers := range []int{0, 1, 4} {
		for _, d := range []Dataset{ds, getOnly{ds}} {
			if got := run(workers, d); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("workers %d %T: epochs %v, want %v", workers, d, got, want)
			}
		}
	}
	// A nil generator draws from the tensor package's default one.
	tensor.ManualSeed(3)
	a := indices(collect(NewLoader(ds, 50, WithShuffle(nil))))
	tensor.ManualSeed(3)
	b := indices(collect(NewLoader(ds, 50, WithShuffle(nil))))
	if !slices.Equal(a, b) || slices.IsSorted(a) {
		t.Errorf("after ManualSeed(3) twice: %v and %v", a, b)
	}
}

func TestLoaderPrefetchRunsAhead(t *testing.T) {
	ds := &slowGet{Dataset: getOnly{rowsDataset(64)}, d: time.Millisecond}
	l := NewLoader(ds, 4, WithWorkers(4), WithPrefetch(4))
	next, stop := pullBatches(l)
	defer stop()
	b, ok := next()
	if !ok {
		t.Fatal("no batch")
	}
	checkBatch(t, b)
	time.Sleep(100 * time.Millisecond)
	// The consumer holds batch 0; up to 4 more may be queued, and each
	// worker may hold one more batch it is handing out.
	calls := ds.calls.Load()
	if calls < 2*4 || calls > (1+4+4)*4 {
		t.Errorf("%d examples got while the consumer held the first batch; want between 8 and 36", calls)
	}
	for i := 1; ; i++ {
		b, ok := next()
		if !ok {
			if i != 16 {
				t.Errorf("%d batches, want 16", i)
			}
			break
		}
		checkBatch(t, b)
		if b.Index[0] != 4*i {
			t.Fatalf("batch %d starts at row %d: out of order", i, b.Index[0])
		}
	}
}

// pullBatches is iter.Pull for a loader's epoch, written as a goroutine so
// the test does not depend on iter.Pull's own goroutine accounting.
func pullBatches(l *Loader) (next func() (Batch, bool), stop func()) {
	ch := make(chan Batch)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for b := range l.All() {
			select {
			case ch <- b:
			case <-quit:
				return
			}
		}
	}()
	next = func() (Batch, bool) { b, ok := <-ch; return b, ok }
	stop = func() { close(quit); <-done }
	return next, stop
}

// countGoroutines returns the number of goroutines once those that were
// ending have ended.
func countGoroutines() int {
	time.Sleep(20 * time.Millisecond)
	return runtime.NumGoroutine()
}

// settleGoroutines waits until the number of goroutines is at most want and
// returns it.
func settleGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

func TestLoaderNoGoroutineLeak(t *testing.T) {
	ds := &slowGet{Dataset: getOnly{rowsDataset(400)}, d: 100 * time.Microsecond}
	// Start the CPU backend's worker pool, which lives as long as the
	// program, before counting.
	collect(NewLoader(rowsDataset(4096), 4096))
	tensor.Zeros([]int{1 << 20}).AddScalar(1)
	base := countGoroutines()

	l := NewLoader(ds, 4, WithWorkers(4), WithShuffle(tensor.NewGenerator(1)))
	for range 5 { // break early
		k := 0
		for b := range l.All() {
			if k++; k == 3 {
				if runtime.NumGoroutine() <= base {
					t.Error("no workers running during the epoch")
				}
				break
			}
			checkBatch(t, b)
		}
		if n := settleGoroutines(base); n > base {
			t.Fatalf("after breaking out of an epoch: %d goroutines, %d before", n, base)
		}
	}
	// Return from inside the loop.
	func() {
		for range l.All() {
			return
		}
	}()
	// Run to the end.
	if got := len(collect(l)); got != 100 {
		t.Fatalf("%d batches, want 100", got)
	}
	// Panic in the loop body.
	func() {
		defer func() { recover() }()
		for range l.All() {
			panic("body")
		}
	}()
	if n := settleGoroutines(base); n > base {
		t.Fatalf("at the end: %d goroutines, %d before", n, base)
	}
}

// panicAt panics when asked for example bad.
type panicAt struct {
	Dataset
	bad int
}

func (p panicAt) Get(i int) Example {
	if i == p.bad {
		panic(fmt.Sprintf("bad example %d", i))
	}
	return p.Dataset.Get(i)
}

func TestLoaderPanicReachesConsumer(t *testing.T) {
	base := countGoroutines()
	for _, workers := range []int{0, 3} {
		l := NewLoader(panicAt{rowsDataset(40), 21}, 4, WithWorkers(workers))
		seen := 0
		func() {
			defer func() {
				p := recover()
				if s, _ := p.(string); s != "bad example 21" {
					t.Errorf("workers %d: recovered %v", workers, p)
				}
			}()
			for b := range l.All() {
				checkBatch(t, b)
				seen++
			}
		}()
		if seen != 5 {
			t.Errorf("workers %d: %d batches before the panic, want 5", workers, seen)
		}
	}
	if n := settleGoroutines(base); n > base {
		t.Fatalf("%d goroutines, %d before", n, base)
	}
}

func TestLoaderCustomCollate(t *testing.T) {
	ds := rowsDataset(10)
	var sizes []int
	l := NewLoader(ds, 4, WithCollate(func(ex []Example) Batch {
		sizes = append(sizes, len(ex))
		b := DefaultCollate(ex)
		b.X = b.X.MulScalar(2)
		return b
	}))
	bs := collect(l)
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Fatalf("collate saw %v examples", sizes)
	}
	if got := bs[2].X.Float32s(); !slices.Equal(got, []float32{16, 17, 18, 19}) || bs[2].Index[1] != 9 {
		t.Fatalf("last batch X %v, Index %v", got, bs[2].Index)
	}
}

func TestTensorDatasetBatchMatchesCollate(t *testing.T) {
	g := tensor.NewGenerator(1)
	x := tensor.RandN(g, []int{20, 3, 4})
	y := tensor.RandInt(g, 0, 10, []int{20})
	ds := NewTensorDataset(x, y)
	idx := []int{5, 0, 19, 5, 7}
	fast := ds.Batch(idx)
	ex := make([]Example, len(idx))
	for j, i := range idx {
		ex[j] = ds.Get(i)
	}
	slow := DefaultCollate(ex)
	if !slices.Equal(fast.X.Shape(), []int{5, 3, 4}) || !slices.Equal(fast.X.Float32s(), slow.X.Float32s()) ||
		!slices.Equal(fast.Y.Int64s(), slow.Y.Int64s()) || fast.Y.DType() != slow.Y.DType() {
		t.Fatal("Batch and DefaultCollate of Get differ")
	}
	// Without targets.
	b := collect(NewLoader(NewTensorDataset(x, nil), 8))[0]
	if b.Y != nil || !slices.Equal(b.X.Shape(), []int{8, 3, 4}) {
		t.Fatalf("Y %v, X shape %v", b.Y, b.X.Shape())
	}
}

func TestSubsetAndRandomSplit(t *testing.T) {
	ds := rowsDataset(30)
	parts := RandomSplit(ds, tensor.NewGenerator(5), 20, 10)
	if parts[0].Len() != 20 || parts[1].Len() != 10 {
		t.Fatalf("lengths %d, %d", parts[0].Len(), parts[1].Len())
	}
	var all []int
	for _, p := range parts {
		if _, ok := p.(Batcher); !ok {
			t.Error("Subset of a TensorDataset lost its Batcher")
		}
		for _, d := range []Dataset{p, getOnly{p}} {
			bs := collect(NewLoader(d, 6))
			var rows []int
			for _, b := range bs {
				rows = append(rows, b.Y.Ints()...)
			}
			if d == p {
				all = append(all, rows...)
			} else if !slices.Equal(rows, all[len(all)-p.Len():]) {
				t.Errorf("Batch and Get of a subset differ: %v", rows)
			}
		}
	}
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("the parts hold %v, not each of 0..29 once", all)
		}
	}
}

func TestLoaderArgumentPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"batch 0":       func() { NewLoader(rowsDataset(3), 0) },
		"workers -1":    func() { WithWorkers(-1) },
		"prefetch 0":    func() { WithPrefetch(0) },
		"rows differ":   func() { NewTensorDataset(tensor.Zeros([]int{3, 2}), tensor.Zeros([]int{4})) },
		"split lengths": func() { RandomSplit(rowsDataset(3), nil, 1, 1) },
		"subset range":  func() { Subset(rowsDataset(3), []int{3}) },
	} {
		func() {
			defer func() {
				p := recover()
				if s, _ := p.(string); !strings.HasPrefix(s, "data.") {
					t.Errorf("%s: panic %v, want a message starting with data.", name, p)
				}
			}()
			f()
		}()
	}
}
