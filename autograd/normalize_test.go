package autograd_test

import (
	"math"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// TestNormalizeMatchesComposite: Normalize's value, gradient and
// second-order gradient (a Hessian-vector product through CreateGraph)
// equal those of the seven ops it fuses, in float64.
func TestNormalizeMatchesComposite(t *testing.T) {
	g := tensor.NewGenerator(3)
	f64 := tensor.WithDType(tensor.Float64)
	x0 := tensor.RandN(g, []int{4, 3, 6}, f64)
	w := autograd.Const(tensor.RandN(g, []int{4, 3, 6}, f64))
	v := tensor.RandN(g, []int{4, 3, 6}, f64)
	const eps = 1e-3
	composite := func(x *autograd.Var) *autograd.Var {
		xc := x.Sub(x.MeanKeep(1, 2))
		return xc.Mul(xc.Mul(xc).MeanKeep(1, 2).AddScalar(eps).Rsqrt())
	}
	fused := func(x *autograd.Var) *autograd.Var { return x.Normalize(eps, 1, 2) }
	run := func(f func(*autograd.Var) *autograd.Var) (y, gx, hv []float64) {
		x := autograd.Param(x0.Clone())
		out := f(x)
		// Square the output so that the second derivative involves the
		// first's dependence on x through the gradient too.
		loss := out.Mul(out).Mul(w).Sum()
		grad := autograd.Grad([]*autograd.Var{loss}, []*autograd.Var{x}, nil, autograd.CreateGraph())[0]
		second := autograd.Grad([]*autograd.Var{grad.Mul(autograd.Const(v)).Sum()}, []*autograd.Var{x}, nil)[0]
		return out.Data.Float64s(), grad.Data.Float64s(), second.Data.Float64s()
	}
	y1, g1, h1 := run(composite)
	y2, g2, h2 := run(fused)
	for _, c := range []struct {
		name string
		a, b []float64
	}{{"value", y1, y2}, {"gradient", g1, g2}, {"second order", h1, h2}} {
		for i := range c.a {
			if d := math.Abs(c.a[i] - c.b[i]); d > 1e-9*math.Max(1, math.Abs(c.a[i])) {
				t.Fatalf("%s[%d]: fused %v, composite %v", c.name, i, c.b[i], c.a[i])
			}
		}
	}
	// And the gradient of a backward without CreateGraph (the tensor path).
	x := autograd.Param(x0.Clone())
	out := fused(x)
	out.Mul(out).Mul(w).Sum().Backward()
	for i, gv := range x.Grad().Float64s() {
		if d := math.Abs(gv - g1[i]); d > 1e-9*math.Max(1, math.Abs(g1[i])) {
			t.Fatalf("Backward gradient[%d] %v, composite %v", i, gv, g1[i])
		}
	}
}
