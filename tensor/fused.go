package tensor

import (
	"math"
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

// GELUGrad returns g·gelu'(x) for the erf-form GELU, gelu'(x) = Φ(x) +
// x·φ(x): the gradient that reaches x when g reaches GELU(x). It is one
// fused kernel on backends that have it (the CPU) and ordinary ops
// elsewhere. g and x must share a shape; the result has their promoted
// float dtype.
func GELUGrad(g, x *Tensor) *Tensor {
	const name = "GELUGrad"
	sameDevice(name, g, x)
	if !slices.Equal(g.shape, x.shape) {
		fail(ShapeError, name, shapesOf(g, x), "the gradient and the input differ in shape")
	}
	store := ResultType(g, x)
	if !store.IsFloat() {
		store = Float32
	}
	ct := computeType(store)
	gc, xc := g.Cast(ct), x.Cast(ct)
	if f, ok := g.be.(backend.Fused); ok {
		out := emptyUninit(g.be, ct, g.shape)
		f.GELUGrad(out.buf, out.Layout(), gc.buf, gc.Layout(), xc.buf, xc.Layout())
		return out.Cast(store)
	}
	cdf := xc.MulScalar(1 / math.Sqrt2).Erf().AddScalar(1).MulScalar(0.5)
	pdf := xc.Mul(xc).MulScalar(-0.5).Exp().MulScalar(1 / math.Sqrt(2*math.Pi))
	return gc.Mul(cdf.Add(xc.Mul(pdf))).Cast(store)
}
