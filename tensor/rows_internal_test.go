package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRowOpsMatchComposite checks Normalize, NormalizeGrad and SoftmaxGrad
// on the CPU's row kernels against the composites (what other backends and
// non-trailing axes run), for float64, float32 and float16, contiguous and
// transposed inputs.
func TestRowOpsMatchComposite(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	defer func() { rowKernels = true }()
	both := func(f func() *Tensor) (fast, comp *Tensor) {
		rowKernels = true
		fast = f()
		rowKernels = false
		comp = f()
		rowKernels = true
		return fast, comp
	}
	randn := func(dt DType, shape ...int) *Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()*2 + 1
		}
		return FromSlice(v, shape...).Cast(dt)
	}
	for _, dt := range []DType{Float64, Float32, Float16} {
		tol := map[DType]float64{Float64: 1e-12, Float32: 1e-5, Float16: 1e-2}[dt]
		for _, c := range []struct {
			shape []int
			axes  []int
		}{{[]int{4, 6, 16}, []int{2}}, {[]int{4, 6, 16}, []int{1, 2}}, {[]int{3, 40}, nil}, {[]int{5, 9}, []int{-1}}} {
			x := randn(dt, c.shape...)
			xt := randn(dt, c.shape[len(c.shape)-1], c.shape[0]).Transpose(0, 1) // non-contiguous when 2-D
			if len(c.shape) != 2 {
				xt = x
			}
			for _, in := range []*Tensor{x, xt} {
				var fr, cr *Tensor
				fy, cy := both(func() *Tensor {
					y, r := Normalize(in, 1e-5, c.axes...)
					if rowKernels {
						fr = r
					} else {
						cr = r
					}
					return y
				})
				rowsClose(t, "Normalize", dt, c.shape, fy, cy, tol)
				rowsClose(t, "Normalize rstd", dt, c.shape, fr, cr, tol)
				g := randn(dt, in.Shape()...)
				fast, comp := both(func() *Tensor { return NormalizeGrad(g, fy, fr, c.axes...) })
				rowsClose(t, "NormalizeGrad", dt, c.shape, fast, comp, 10*tol)
				s := in.Softmax(-1)
				fast, comp = both(func() *Tensor { return SoftmaxGrad(g, s, -1) })
				rowsClose(t, "SoftmaxGrad", dt, c.shape, fast, comp, 10*tol)
			}
		}
	}
}

func rowsClose(t *testing.T, op string, dt DType, shape []int, fast, comp *Tensor, tol float64) {
	t.Helper()
	if fast.DType() != comp.DType() || len(fast.Shape()) != len(comp.Shape()) {
		t.Fatalf("%s %v %v: kernel %v %v, composite %v %v", op, dt, shape, fast.DType(), fast.Shape(), comp.DType(), comp.Shape())
	}
	a, b := fast.Cast(Float64).Float64s(), comp.Cast(Float64).Float64s()
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*(1+math.Abs(b[i])) {
			t.Fatalf("%s %v %v: element %d: kernel %v, composite %v", op, dt, shape, i, a[i], b[i])
		}
	}
}

// TestRowOpsErrors checks the typed panics for misfit operands.
func TestRowOpsErrors(t *testing.T) {
	x := Zeros([]int{2, 3})
	for name, c := range map[string]struct {
		f    func()
		kind ErrorKind
	}{
		"Normalize axis":      {func() { Normalize(x, 1e-5, 2) }, AxisError},
		"NormalizeGrad shape": {func() { NormalizeGrad(x, Zeros([]int{3, 2}), Zeros([]int{2, 1}), 1) }, ShapeError},
		"NormalizeGrad rstd":  {func() { NormalizeGrad(x, x, Zeros([]int{2, 3}), 1) }, ShapeError},
		"SoftmaxGrad shape":   {func() { SoftmaxGrad(x, Zeros([]int{2, 2}), 1) }, ShapeError},
		"SoftmaxGrad axis":    {func() { SoftmaxGrad(x, x, 2) }, AxisError},
	} {
		err := Try(c.f)
		e, ok := err.(*Error)
		if !ok || e.Kind != c.kind {
			t.Errorf("%s: got %v, want a %v", name, err, c.kind)
		}
	}
}
