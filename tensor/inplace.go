package tensor

import (
	"math"
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

// In-place arithmetic, for optimizers and accumulators that update a
// tensor they own rather than allocate a new one each step. Like PyTorch's
// methods ending in "_", each writes into t's own elements (through views
// too) and returns t. The operand u is broadcast to t's shape and converted
// to t's dtype (t never changes shape or dtype); u must not overlap t's
// elements except by being exactly t.

// Alias returns a new handle on t's elements: same storage, shape, strides
// and offset. Releasing one handle leaves the other usable (see Release).
func (t *Tensor) Alias() *Tensor { return t.view(t.shape, t.strides, t.offset) }

// Add_ sets t = t + u.
func (t *Tensor) Add_(u *Tensor) *Tensor { return t.binaryInPlace("Add_", backend.OpAdd, u) }

// Sub_ sets t = t - u.
func (t *Tensor) Sub_(u *Tensor) *Tensor { return t.binaryInPlace("Sub_", backend.OpSub, u) }

// Mul_ sets t = t * u.
func (t *Tensor) Mul_(u *Tensor) *Tensor { return t.binaryInPlace("Mul_", backend.OpMul, u) }

// Div_ sets t = t / u.
func (t *Tensor) Div_(u *Tensor) *Tensor { return t.binaryInPlace("Div_", backend.OpDiv, u) }

// MulScalar_ sets t = t * s.
func (t *Tensor) MulScalar_(s float64) *Tensor {
	if s == 1 {
		return t
	}
	return t.binaryInPlace("MulScalar_", backend.OpMul, scalarFor(t, s))
}

// DivScalar_ sets t = t / s.
func (t *Tensor) DivScalar_(s float64) *Tensor {
	if s == 1 {
		return t
	}
	return t.binaryInPlace("DivScalar_", backend.OpDiv, scalarFor(t, s))
}

// AddScalar_ sets t = t + s.
func (t *Tensor) AddScalar_(s float64) *Tensor {
	if s == 0 {
		return t
	}
	return t.binaryInPlace("AddScalar_", backend.OpAdd, scalarFor(t, s))
}

// Zero_ sets every element of t to zero.
func (t *Tensor) Zero_() *Tensor {
	t.live("Zero_")
	t.Fill_(0)
	return t
}

// AddScaled_ sets t = t + alpha·u (torch's t.add_(u, alpha=alpha)), in one
// pass on backends with a fused kernel.
func (t *Tensor) AddScaled_(u *Tensor, alpha float64) *Tensor {
	return t.Axpby_(1, u, alpha)
}

// Lerp_ sets t = t + w·(end − t), that is (1−w)·t + w·end: the running
// averages of Adam and of batch-norm statistics.
func (t *Tensor) Lerp_(end *Tensor, w float64) *Tensor {
	return t.Axpby_(1-w, end, w)
}

// Axpby_ sets t = alpha·t + beta·u in one pass on backends with a fused
// kernel (the CPU), and in three ops elsewhere.
func (t *Tensor) Axpby_(alpha float64, u *Tensor, beta float64) *Tensor {
	const name = "Axpby_"
	v := t.inPlaceOperand(name, u)
	if fused, ok := t.be.(backend.Axpby); ok && (t.dtype == Float32 || t.dtype == Float64) {
		fused.Axpby(t.buf, t.Layout(), alpha, t.buf, t.Layout(), beta, v.buf, v.Layout())
		return t
	}
	var r *Tensor
	switch {
	case alpha == 1:
		r = t.Add(v.MulScalar(beta))
	case beta == 1:
		r = t.MulScalar(alpha).Add(v)
	default:
		r = t.MulScalar(alpha).Add(v.MulScalar(beta))
	}
	t.CopyFrom(r)
	return t
}

// AddMul_ sets t = t + value·a·b (torch's addcmul_).
func (t *Tensor) AddMul_(a, b *Tensor, value float64) *Tensor {
	sameDevice("AddMul_", t, a, b)
	return t.AddScaled_(a.Mul(b), value)
}

// AddDiv_ sets t = t + value·a/b (torch's addcdiv_).
func (t *Tensor) AddDiv_(a, b *Tensor, value float64) *Tensor {
	sameDevice("AddDiv_", t, a, b)
	return t.AddScaled_(a.Div(b), value)
}

// inPlaceOperand checks u against t and returns it broadcast to t's shape
// in t's dtype.
func (t *Tensor) inPlaceOperand(name string, u *Tensor) *Tensor {
	sameDevice(name, t, u)
	shape, ok := broadcastShapes(t.shape, u.shape)
	if !ok || !slices.Equal(shape, t.shape) {
		fail(ShapeError, name, shapesOf(t, u), "operand does not broadcast to the shape of the tensor updated in place")
	}
	if !t.dtype.IsFloat() && u.dtype.IsFloat() {
		fail(DTypeError, name, shapesOf(t, u), "cannot update a %v tensor in place with %v values", t.dtype, u.dtype)
	}
	return u.Cast(t.dtype).expandTo(t.shape)
}

// binaryInPlace runs op with t as both destination and first operand.
func (t *Tensor) binaryInPlace(name string, op backend.Op, u *Tensor) *Tensor {
	v := t.inPlaceOperand(name, u)
	if t.dtype.IsHalf() || t.dtype == Bool || (!op.IntOK() && !t.dtype.IsFloat()) {
		t.CopyFrom(binary(name, op, t, v)) // compute elsewhere, store back
		return t
	}
	t.be.Binary(op, t.buf, t.Layout(), t.buf, t.Layout(), v.buf, v.Layout())
	return t
}

// scalarFor returns s as a 0-d tensor on t's device in t's compute dtype.
func scalarFor(t *Tensor, s float64) *Tensor {
	dt := computeType(t.dtype)
	if !dt.IsFloat() {
		if s != math.Trunc(s) {
			fail(DTypeError, "in-place scalar op", shapesOf(t), "cannot update a %v tensor in place with the non-integral scalar %v", t.dtype, s)
		}
		dt = Int64
	}
	u := emptyUninit(t.be, dt, nil)
	t.be.Fill(u.buf, u.Layout(), s)
	return u
}
