package tensor_test

import (
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-ml/tessera/backend/cpu"
	"github.com/tessera-ml/tessera/tensor"
)

func TestTidyReleases(t *testing.T) {
	outside := tensor.FromSlice([]float32{1, 2, 3}, 3)
	var inner, kept, view *tensor.Tensor
	tensor.Tidy(func() {
		inner = outside.MulScalar(2)
		kept = tensor.Keep(inner.AddScalar(1))
		view = kept.Reshape(3, 1)
	})
	if !inner.Released() || !view.Released() {
		t.Fatal("tensors made in the scope were not released")
	}
	if kept.Released() || outside.Released() {
		t.Fatal("a kept tensor, or one made outside, was released")
	}
	checkClose(t, "kept", kept.Float64s(), []float64{3, 5, 7}, 0)
	e := mustPanic(t, func() { inner.Add(outside) })
	if e.Kind != tensor.ValueError || !strings.Contains(e.Msg, "released") {
		t.Fatalf("using a released tensor: %v", e)
	}
	e = mustPanic(t, func() { outside.Add(inner) })
	if !strings.Contains(e.Msg, "released") {
		t.Fatalf("a released second operand: %v", e)
	}
	mustPanic(t, func() { inner.Float32s() })
	mustPanic(t, func() { inner.Reshape(1, 3) })
	mustPanic(t, func() { tensor.Keep(inner) })
	inner.Release() // releasing twice does nothing
	kept.Release()
	if !kept.Released() {
		t.Fatal("Release did not release a kept tensor")
	}
}

// A buffer is freed only when its last handle goes: a view that outlives
// the scope (made by another goroutine, which the scope does not track)
// keeps the storage out of the pool.
func TestScopeRefcount(t *testing.T) {
	var fromOther *tensor.Tensor
	tensor.Tidy(func() {
		x := tensor.Full([]int{1000}, 5)
		var wg sync.WaitGroup
		wg.Go(func() { fromOther = x.Narrow(0, 0, 10) })
		wg.Wait()
	})
	if fromOther.Released() {
		t.Fatal("a view made on another goroutine was released by this goroutine's scope")
	}
	for range 3 { // reallocate the same size: must not reuse the buffer
		tensor.Tidy(func() { tensor.Full([]int{1000}, -1).Exp() })
	}
	for _, v := range fromOther.Float64s() {
		if v != 5 {
			t.Fatalf("a buffer still viewed was recycled: got %v", v)
		}
	}
}

func TestScopeNesting(t *testing.T) {
	var a, b *tensor.Tensor
	outer := tensor.OpenScope()
	a = tensor.Ones([]int{2})
	tensor.Tidy(func() { b = a.AddScalar(1) })
	if !b.Released() || a.Released() {
		t.Fatal("inner scope released the wrong tensors")
	}
	inner := tensor.OpenScope()
	if e := mustPanic(t, func() { outer.Close() }); !strings.Contains(e.Msg, "innermost") {
		t.Fatalf("closing an outer scope first: %v", e)
	}
	inner.Close()
	outer.Close()
	outer.Close() // twice: nothing
	if !a.Released() {
		t.Fatal("outer scope did not release its tensor")
	}
}

func TestScopeReleasesOnPanic(t *testing.T) {
	var x *tensor.Tensor
	tensor.Try(func() {
		tensor.Tidy(func() {
			x = tensor.Ones([]int{2})
			x.Add(tensor.Ones([]int{3})) // shape error
		})
	})
	if !x.Released() {
		t.Fatal("a panic skipped the scope's release")
	}
	tensor.Tidy(func() {}) // the goroutine's scope stack is intact
}

// A steady-state loop of ops inside Tidy reuses pooled buffers instead of
// asking the garbage collector for new ones.
func TestTidyRecyclesBuffers(t *testing.T) {
	x := tensor.RandN(tensor.NewGenerator(1), []int{64, 256})
	w := tensor.RandN(tensor.NewGenerator(2), []int{256, 128})
	step := func() {
		tensor.Tidy(func() {
			h := x.MatMul(w).ReLU()
			_ = h.Sum().Item()
		})
	}
	step()
	before := cpu.Pool()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range 20 {
		step()
	}
	runtime.ReadMemStats(&m1)
	after := cpu.Pool()
	if after.Misses != before.Misses {
		t.Fatalf("steady state missed the pool %d times", after.Misses-before.Misses)
	}
	if after.Hits-before.Hits < 20*3 {
		t.Fatalf("pool hits grew by %d over 20 steps, want ≥ 60", after.Hits-before.Hits)
	}
	// Tensor headers and shapes are small Go objects; the buffers
	// (64·128 floats, 32 KiB each) are not among the bytes allocated.
	if perStep := (m1.TotalAlloc - m0.TotalAlloc) / 20; perStep > 8<<10 && !raceEnabled {
		t.Fatalf("%d bytes allocated per step", perStep)
	}
}

func TestScopesPerGoroutine(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			base := tensor.Full([]int{257}, float64(g))
			for range 50 {
				var got float64
				tensor.Tidy(func() {
					got = base.MulScalar(2).AddScalar(1).Sum().Item()
				})
				if want := 257 * float64(2*g+1); got != want {
					t.Errorf("goroutine %d: %v, want %v", g, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestInPlace(t *testing.T) {
	x := func() *tensor.Tensor { return tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3) }
	row := tensor.FromSlice([]float64{10, 20, 30}, 3)
	cases := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"Add_ broadcast, float64 operand", x().Add_(row), []float64{11, 22, 33, 14, 25, 36}},
		{"Sub_", x().Sub_(x()), []float64{0, 0, 0, 0, 0, 0}},
		{"Mul_", x().Mul_(row), []float64{10, 40, 90, 40, 100, 180}},
		{"Div_", x().Div_(tensor.Scalar(2)), []float64{0.5, 1, 1.5, 2, 2.5, 3}},
		{"MulScalar_", x().MulScalar_(-1), []float64{-1, -2, -3, -4, -5, -6}},
		{"AddScalar_", x().AddScalar_(0.5), []float64{1.5, 2.5, 3.5, 4.5, 5.5, 6.5}},
		{"AddScaled_", x().AddScaled_(row, -0.1), []float64{0, 0, 0, 3, 3, 3}},
		{"Lerp_", x().Lerp_(row, 0.5), []float64{5.5, 11, 16.5, 7, 12.5, 18}},
		{"Axpby_", x().Axpby_(2, x(), 3), []float64{5, 10, 15, 20, 25, 30}},
		{"AddMul_", x().AddMul_(x(), x(), 1), []float64{2, 6, 12, 20, 30, 42}},
		{"AddDiv_", x().AddDiv_(x(), x(), 2), []float64{3, 4, 5, 6, 7, 8}},
		{"Zero_", x().Zero_(), []float64{0, 0, 0, 0, 0, 0}},
		{"through a transposed view", func() *tensor.Tensor {
			a := x()
			a.Transpose(0, 1).AddScaled_(tensor.FromSlice([]float32{1, 2}, 2), 1)
			return a
		}(), []float64{2, 3, 4, 6, 7, 8}},
		{"float16", tensor.FromSlice([]float32{1, 2}, 2).Cast(tensor.Float16).Lerp_(tensor.Ones([]int{2}), 0.5), []float64{1, 1.5}},
		{"int64", tensor.FromSlice([]int64{1, 2}, 2).MulScalar_(3), []float64{3, 6}},
		{"float64 fallback", tensor.FromSlice([]float64{1, 2}, 2).Axpby_(0.5, tensor.FromSlice([]float64{4, 4}, 2), 0.25), []float64{1.5, 2}},
	}
	for _, c := range cases {
		checkClose(t, c.name, c.got.Float64s(), c.want, 1e-6)
	}
	a := x()
	if a.Add_(row) != a {
		t.Fatal("Add_ did not return its receiver")
	}
	if e := mustPanic(t, func() { x().Add_(tensor.Ones([]int{3, 3})) }); e.Kind != tensor.ShapeError || e.Op != "Add_" {
		t.Fatalf("shape mismatch: %v", e)
	}
	if e := mustPanic(t, func() { x().Sum(0).Add_(x()) }); e.Kind != tensor.ShapeError {
		t.Fatalf("broadcasting the receiver: %v", e)
	}
	if e := mustPanic(t, func() { tensor.FromSlice([]int64{1}, 1).Add_(tensor.Scalar(0.5)) }); e.Kind != tensor.DTypeError {
		t.Fatalf("float into int: %v", e)
	}
	if e := mustPanic(t, func() { tensor.FromSlice([]int64{1}, 1).MulScalar_(0.5) }); e.Kind != tensor.DTypeError {
		t.Fatalf("non-integral scalar into int: %v", e)
	}
	// NaN and Inf pass through the fused kernel as through separate ops.
	inf := tensor.FromSlice([]float32{float32(math.Inf(1)), float32(math.NaN()), 1}, 3)
	got := inf.Clone().Lerp_(tensor.Zeros([]int{3}), 0.1).Float64s()
	if !math.IsInf(got[0], 1) || !math.IsNaN(got[1]) || math.Abs(got[2]-0.9) > 1e-7 {
		t.Fatalf("Lerp_ with Inf/NaN: %v", got)
	}
}

func TestCloseReturning(t *testing.T) {
	var tmp, res, view, kept *tensor.Tensor
	outer := tensor.OpenScope()
	inner := tensor.OpenScope()
	tmp = tensor.Ones([]int{4})
	res = tmp.MulScalar(3)
	view = tmp.Reshape(2, 2) // returned: keeps tmp's storage alive
	kept = tensor.Keep(tmp.AddScalar(1))
	outsider := tensor.Scalar(1) // made in the inner scope, not returned
	inner.CloseReturning(res, view, kept, nil)
	if !tmp.Released() || res.Released() || view.Released() || kept.Released() {
		t.Fatalf("released: tmp %v res %v view %v kept %v", tmp.Released(), res.Released(), view.Released(), kept.Released())
	}
	checkClose(t, "view of a released temporary", view.Float64s(), []float64{1, 1, 1, 1}, 0)
	if !outsider.Released() {
		t.Fatal("a tensor made in the scope and not returned was not released")
	}
	outer.Close()
	if !res.Released() || !view.Released() || kept.Released() {
		t.Fatal("the enclosing scope did not release the returned tensors")
	}
	// Without an enclosing scope, returned tensors are left to the collector.
	s := tensor.OpenScope()
	free := tensor.Ones([]int{2})
	s.CloseReturning(free)
	if free.Released() {
		t.Fatal("a tensor returned out of the outermost scope was released")
	}
}

// A closed Scope handle stays harmless after its state is reused by another
// scope (on this goroutine or another): closing it again does nothing.
func TestStaleScopeHandle(t *testing.T) {
	s := tensor.OpenScope()
	s.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				tensor.Tidy(func() { tensor.Ones([]int{3}).AddScalar(1) })
			}
		})
	}
	inner := tensor.OpenScope()
	x := tensor.Ones([]int{2})
	s.Close() // stale: must not close inner
	if x.Released() {
		t.Fatal("a stale handle closed a scope that reused its state")
	}
	if s.Drop(x) {
		t.Fatal("a stale handle dropped a tensor of another scope")
	}
	inner.Close()
	wg.Wait()
	if !x.Released() {
		t.Fatal("the scope did not release its tensor")
	}
}
