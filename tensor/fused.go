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
	return fusedBinary("GELUGrad", g, x, func(f backend.Fused, d, g, x *Tensor) {
		f.GELUGrad(d.buf, d.Layout(), g.buf, g.Layout(), x.buf, x.Layout())
	}, geluGradComposite)
}

// geluGradComposite is GELUGrad from ordinary ops.
func geluGradComposite(gc, xc *Tensor) *Tensor {
	cdf := xc.MulScalar(1 / math.Sqrt2).Erf().AddScalar(1).MulScalar(0.5)
	pdf := xc.Mul(xc).MulScalar(-0.5).Exp().MulScalar(1 / math.Sqrt(2*math.Pi))
	return gc.Mul(cdf.Add(xc.Mul(pdf)))
}

// ReLUGrad returns g where x > 0 and 0 elsewhere (NaN x included): the
// gradient that reaches x when g reaches ReLU(x), as one fused select on
// backends that have it. g and x must share a shape.
func ReLUGrad(g, x *Tensor) *Tensor {
	return fusedBinary("ReLUGrad", g, x, func(f backend.Fused, d, g, x *Tensor) {
		f.ReLUGrad(d.buf, d.Layout(), g.buf, g.Layout(), x.buf, x.Layout())
	}, func(g, x *Tensor) *Tensor { return g.Mul(x.GtScalar(0).Cast(g.dtype)) })
}

// fusedBinary runs a fused backward kernel of g and x, or its composite
// fallback, in the promoted float dtype of g and x.
func fusedBinary(name string, g, x *Tensor, fused func(f backend.Fused, d, g, x *Tensor), composite func(g, x *Tensor) *Tensor) *Tensor {
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
		fused(f, out, gc, xc)
		return out.Cast(store)
	}
	return composite(gc, xc).Cast(store)
}

// AdamUpdate_ runs one fused Adam/AdamW update of parameter p in place,
// with its gradient g and running averages m and v updated too (see
// backend.Adam for the arithmetic), and reports true; or does nothing and
// reports false when p's backend has no fused update or the operands are
// not four contiguous tensors of one shape, float dtype and device (the
// caller then runs the composite update). Package optim calls it.
func AdamUpdate_(p, g, m, v *Tensor, a backend.AdamArgs) bool {
	f, ok := p.be.(backend.Adam)
	if !ok || (p.dtype != Float32 && p.dtype != Float64) {
		return false
	}
	for _, u := range []*Tensor{g, m, v} {
		if u.dtype != p.dtype || u.Device() != p.Device() || !slices.Equal(u.shape, p.shape) || !u.IsContiguous() {
			return false
		}
	}
	if !p.IsContiguous() {
		return false
	}
	p.live("AdamUpdate_")
	f.AdamUpdate(p.buf, p.offset, g.buf, g.offset, m.buf, m.offset, v.buf, v.offset, p.Numel(), a)
	return true
}
