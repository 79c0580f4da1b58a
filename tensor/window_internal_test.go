package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// windowCases are geometries with padding, stride, dilation, non-square
// kernels and ceil-mode pools (a last, partial window).
var windowCases = []Window2d{
	{InH: 6, InW: 6, OutH: 3, OutW: 3, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
	{InH: 7, InW: 5, OutH: 4, OutW: 3, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
	{InH: 5, InW: 6, OutH: 3, OutW: 3, KH: 3, KW: 2, SH: 2, SW: 2, PadT: 1, PadL: 1, DH: 1, DW: 2},
	{InH: 8, InW: 8, OutH: 8, OutW: 8, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, DH: 1, DW: 1},
	{InH: 9, InW: 7, OutH: 4, OutW: 3, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, DH: 2, DW: 1},
}

// TestWindowOpsMatchComposite checks Unfold2d, Fold2d and WindowMax2d
// on the CPU's kernels against their composite fallbacks (what backends
// without backend.Windows run), for float64, float32 and float16 and for
// non-contiguous inputs. The values include ties; WindowMax2d's inputs
// have no NaN, where the two may pick different NaNs of a window.
func TestWindowOpsMatchComposite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	defer func() { windowKernels = true }()
	both := func(f func() *Tensor) (fast, comp *Tensor) {
		windowKernels = true
		fast = f()
		windowKernels = false
		comp = f()
		windowKernels = true
		return fast, comp
	}
	for _, w := range windowCases {
		k, l := w.KH*w.KW, w.OutH*w.OutW
		for _, dt := range []DType{Float64, Float32, Float16} {
			vals := make([]float64, 2*3*w.InH*w.InW)
			for i := range vals {
				vals[i] = float64(rng.IntN(7)) - 3
			}
			// A transposed view: [2, 3, W, H] stored, read as [2, 3, H, W].
			x := FromSlice(vals, 2, 3, w.InW, w.InH).Cast(dt).Transpose(2, 3)
			fast, comp := both(func() *Tensor { return Unfold2d(x, w) })
			windowSame(t, "Unfold2d", w, dt, fast, comp)

			cv := make([]float64, 2*3*k*l)
			for i := range cv {
				cv[i] = rng.NormFloat64()
			}
			cols := FromSlice(cv, 2, 3, k, l).Cast(dt)
			fast, comp = both(func() *Tensor { return Fold2d(cols, w) })
			windowSame(t, "Fold2d", w, dt, fast, comp)
			// The batch-inner layout Unfold2d returns is read in place.
			fast, comp = both(func() *Tensor { return Fold2d(cols.Permute(1, 2, 0, 3).Contiguous().Permute(2, 0, 1, 3), w) })
			windowSame(t, "Fold2d (batch-inner)", w, dt, fast, comp)

			var fastAt, compAt *Tensor
			fast, comp = both(func() *Tensor {
				m, at := WindowMax2d(x, w)
				if windowKernels {
					fastAt = at
				} else {
					compAt = at
				}
				return m
			})
			windowSame(t, "WindowMax2d", w, dt, fast, comp)
			windowSame(t, "WindowMax2d positions", w, dt, fastAt, compAt)
			gv := make([]float64, 2*3*l)
			for i := range gv {
				gv[i] = rng.NormFloat64()
			}
			g := FromSlice(gv, 2, 3, w.OutH, w.OutW).Cast(dt)
			fast, comp = both(func() *Tensor { return WindowMax2dGrad(g, fastAt, w) })
			windowSame(t, "WindowMax2dGrad", w, dt, fast, comp)
		}
	}
}

func windowSame(t *testing.T, op string, w Window2d, dt DType, fast, comp *Tensor) {
	t.Helper()
	if !slices.Equal(fast.Shape(), comp.Shape()) || fast.DType() != comp.DType() {
		t.Fatalf("%s %v %+v: kernel gives %v %v, composite %v %v", op, dt, w, fast.Shape(), fast.DType(), comp.Shape(), comp.DType())
	}
	a, b := fast.Cast(Float64).Float64s(), comp.Cast(Float64).Float64s()
	tol := 1e-12
	if dt != Float64 {
		tol = 1e-2 // float16 sums round at each step, in another order
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*(1+math.Abs(b[i])) {
			t.Fatalf("%s %v %+v: element %d: kernel %v, composite %v", op, dt, w, i, a[i], b[i])
		}
	}
}

// TestWindowOpsErrors checks the typed panics for a misfit input.
func TestWindowOpsErrors(t *testing.T) {
	w := windowCases[0]
	x := Zeros([]int{1, 1, 6, 6})
	for name, c := range map[string]struct {
		f    func()
		kind ErrorKind
	}{
		"Unfold2d shape": {func() { Unfold2d(Zeros([]int{1, 1, 5, 6}), w) }, ShapeError},
		"Unfold2d rank":  {func() { Unfold2d(Zeros([]int{6, 6}), w) }, ShapeError},
		"Fold2d shape":   {func() { Fold2d(x, w) }, ShapeError},
		"Fold2d dtype":   {func() { Fold2d(Zeros([]int{1, 1, 4, 9}, WithDType(Int64)), w) }, DTypeError},
		"max dtype":      {func() { WindowMax2d(x.Cast(Int32), w) }, DTypeError},
		"max empty window": {func() {
			WindowMax2d(x, Window2d{InH: 6, InW: 6, OutH: 6, OutW: 6, KH: 2, KW: 2, SH: 1, SW: 1, PadT: 2, DH: 1, DW: 1})
		}, ValueError},
		"grad positions": {func() { WindowMax2dGrad(Zeros([]int{1, 1, 3, 3}), Zeros([]int{1, 1, 3, 3}), w) }, DTypeError},
		"grad shape":     {func() { WindowMax2dGrad(Zeros([]int{1, 1, 3, 3}), Zeros([]int{1, 1, 3, 2}, WithDType(Int64)), w) }, ShapeError},
		"zero stride":    {func() { Unfold2d(x, Window2d{InH: 6, InW: 6, OutH: 3, OutW: 3, KH: 2, KW: 2, DH: 1, DW: 1}) }, ValueError},
	} {
		err := Try(c.f)
		e, ok := err.(*Error)
		if !ok || e.Kind != c.kind {
			t.Errorf("%s: got %v, want a %v", name, err, c.kind)
		}
	}
}
