package tensor

import (
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

// rowKernels lets tests turn the backends' row kernels off, to check the
// composites against them.
var rowKernels = true

// rowsOf returns the row kernels of t's backend and the row length n when
// axes (sorted, as reduceAxes gives them) are t's trailing axes, t holds
// Float32 or Float64 and its backend has them; ok is false otherwise.
func rowsOf(t *Tensor, axes []int) (f backend.Rows, n int, ok bool) {
	f, ok = t.be.(backend.Rows)
	if !ok || !rowKernels || (t.dtype != Float32 && t.dtype != Float64) || len(axes) == 0 || t.Numel() == 0 {
		return nil, 0, false
	}
	n = 1
	for i, a := range axes {
		if a != t.Dim()-len(axes)+i {
			return nil, 0, false
		}
		n *= t.shape[a]
	}
	return f, n, n > 0
}

// Normalize returns y = (t − mean) / √(var + eps) over axes (all axes when
// none are given), with the biased variance, and rstd = 1 / √(var + eps)
// with the axes kept at length 1: LayerNorm's and GroupNorm's
// normalisation. Over trailing axes it is one fused pass per row on
// backends with row kernels (the CPU); elsewhere ordinary ops. Integer
// inputs give float32.
func Normalize(t *Tensor, eps float64, axes ...int) (y, rstd *Tensor) {
	const name = "Normalize"
	t.live(name)
	ax := t.reduceAxes(name, axes)
	store := t.dtype
	if !store.IsFloat() {
		store = Float32
	}
	x := t.Cast(computeType(store))
	if f, n, ok := rowsOf(x, ax); ok {
		xc := x.Contiguous()
		y = emptyUninit(x.be, x.dtype, x.shape)
		rstd = emptyUninit(x.be, x.dtype, keptShape(x.shape, ax))
		f.NormalizeRows(y.buf, y.offset, rstd.buf, rstd.offset, xc.buf, xc.offset, x.Numel()/n, n, eps)
		return y.Cast(store), rstd
	}
	s := OpenScope()
	xc := x.Sub(x.MeanKeep(ax...))
	rstd = xc.Mul(xc).MeanKeep(ax...).AddScalar(eps).Rsqrt()
	y = xc.Mul(rstd).Cast(store)
	s.CloseReturning(y, rstd)
	return y, rstd
}

// NormalizeGrad returns (g − mean(g) − y·mean(g·y))·rstd over axes: the
// gradient that reaches t when g reaches y, rstd = Normalize(t, eps, axes).
// g and y share a shape; rstd has it with the axes at length 1.
func NormalizeGrad(g, y, rstd *Tensor, axes ...int) *Tensor {
	const name = "NormalizeGrad"
	sameDevice(name, g, y, rstd)
	if !slices.Equal(g.shape, y.shape) {
		fail(ShapeError, name, shapesOf(g, y, rstd), "the gradient and the output differ in shape")
	}
	ax := g.reduceAxes(name, axes)
	if !slices.Equal(rstd.shape, keptShape(g.shape, ax)) {
		fail(ShapeError, name, shapesOf(g, y, rstd), "rstd must have the output's shape with the axes at length 1")
	}
	store := ResultType(g, y)
	if !store.IsFloat() {
		store = Float32
	}
	ct := computeType(store)
	gc, yc, rc := g.Cast(ct), y.Cast(ct), rstd.Cast(ct)
	if f, n, ok := rowsOf(gc, ax); ok {
		gc, yc, rc = gc.Contiguous(), yc.Contiguous(), rc.Contiguous()
		dx := emptyUninit(gc.be, ct, gc.shape)
		f.NormalizeRowsGrad(dx.buf, dx.offset, gc.buf, gc.offset, yc.buf, yc.offset, rc.buf, rc.offset, gc.Numel()/n, n)
		return dx.Cast(store)
	}
	m2 := gc.Mul(yc).MeanKeep(ax...)
	return gc.Sub(gc.MeanKeep(ax...)).Sub(yc.Mul(m2)).Mul(rc).Cast(store)
}

// SoftmaxGrad returns y·(g − Σ g·y) along axis: the gradient that reaches
// t when g reaches y = t.Softmax(axis). g and y share a shape.
func SoftmaxGrad(g, y *Tensor, axis int) *Tensor {
	const name = "SoftmaxGrad"
	sameDevice(name, g, y)
	if !slices.Equal(g.shape, y.shape) {
		fail(ShapeError, name, shapesOf(g, y), "the gradient and the output differ in shape")
	}
	if g.Dim() == 0 {
		return SoftmaxGrad(g.Reshape(1), y.Reshape(1), 0).Reshape()
	}
	a := g.axis(name, axis)
	store := ResultType(g, y)
	if !store.IsFloat() {
		store = Float32
	}
	ct := computeType(store)
	gc, yc := g.Cast(ct), y.Cast(ct)
	if f, n, ok := rowsOf(gc, []int{a}); ok {
		gc, yc = gc.Contiguous(), yc.Contiguous()
		dx := emptyUninit(gc.be, ct, gc.shape)
		f.SoftmaxRowsGrad(dx.buf, dx.offset, gc.buf, gc.offset, yc.buf, yc.offset, gc.Numel()/n, n)
		return dx.Cast(store)
	}
	return yc.Mul(gc.Sub(gc.Mul(yc).SumKeep(a))).Cast(store)
}
