package tensor

import (
	"math"

	"github.com/tessera-ml/tessera/backend"
)

// unary runs a unary kernel. Integer inputs of float-only ops are promoted
// to float32 (torch.exp of an int tensor is float32); half precision is
// computed in float32 and stored back in its own dtype.
func (t *Tensor) unary(op backend.Op) *Tensor {
	x := t
	store := x.dtype
	if !x.dtype.IsFloat() && (!op.IntOK() || x.dtype == Bool) {
		store = Float32
		if op.IntOK() && x.dtype == Bool {
			store = Int64
		}
	}
	x = x.Cast(computeType(store))
	out := emptyUninit(x.be, x.dtype, x.shape)
	x.be.Unary(op, out.buf, out.Layout(), x.buf, x.Layout())
	return out.Cast(store)
}

// Elementwise functions of one tensor.

func (t *Tensor) Neg() *Tensor      { return t.unary(backend.OpNeg) }
func (t *Tensor) Abs() *Tensor      { return t.unary(backend.OpAbs) }
func (t *Tensor) Sign() *Tensor     { return t.unary(backend.OpSign) }
func (t *Tensor) Exp() *Tensor      { return t.unary(backend.OpExp) }
func (t *Tensor) Log() *Tensor      { return t.unary(backend.OpLog) }
func (t *Tensor) Sqrt() *Tensor     { return t.unary(backend.OpSqrt) }
func (t *Tensor) Rsqrt() *Tensor    { return t.unary(backend.OpRsqrt) }
func (t *Tensor) Sin() *Tensor      { return t.unary(backend.OpSin) }
func (t *Tensor) Cos() *Tensor      { return t.unary(backend.OpCos) }
func (t *Tensor) Tanh() *Tensor     { return t.unary(backend.OpTanh) }
func (t *Tensor) Sigmoid() *Tensor  { return t.unary(backend.OpSigmoid) }
func (t *Tensor) ReLU() *Tensor     { return t.unary(backend.OpReLU) }
func (t *Tensor) SiLU() *Tensor     { return t.unary(backend.OpSiLU) }
func (t *Tensor) Recip() *Tensor    { return t.unary(backend.OpRecip) }
func (t *Tensor) Square() *Tensor   { return t.unary(backend.OpSquare) }
func (t *Tensor) Erf() *Tensor      { return t.unary(backend.OpErf) }
func (t *Tensor) Log1p() *Tensor    { return t.unary(backend.OpLog1p) }
func (t *Tensor) Expm1() *Tensor    { return t.unary(backend.OpExpm1) }
func (t *Tensor) Floor() *Tensor    { return t.unary(backend.OpFloor) }
func (t *Tensor) Ceil() *Tensor     { return t.unary(backend.OpCeil) }
func (t *Tensor) Round() *Tensor    { return t.unary(backend.OpRound) }
func (t *Tensor) GELU() *Tensor     { return t.unary(backend.OpGELU) }
func (t *Tensor) GELUTanh() *Tensor { return t.unary(backend.OpGELUTanh) }

// binaryPrep broadcasts a and b, promotes them to a common dtype and returns
// them with the output shape and the dtype results are stored in.
func binaryPrep(name string, a, b *Tensor, floatOnly bool) (x, y *Tensor, shape []int, store DType) {
	sameDevice(name, a, b)
	shape, ok := broadcastShapes(a.shape, b.shape)
	if !ok {
		fail(ShapeError, name, shapesOf(a, b), "shapes are not broadcastable")
	}
	store = ResultType(a, b)
	if floatOnly && !store.IsFloat() {
		store = Float32
	}
	ct := computeType(store)
	x = a.Cast(ct).expandTo(shape)
	y = b.Cast(ct).expandTo(shape)
	return x, y, shape, store
}

// binary runs an arithmetic kernel on broadcast, promoted operands.
func binary(name string, op backend.Op, a, b *Tensor) *Tensor {
	x, y, shape, store := binaryPrep(name, a, b, !op.IntOK())
	if x.dtype == Bool {
		// Arithmetic on bools runs in int64 and is stored back as bool, so
		// Add is logical or, Mul logical and, Maximum/Minimum or/and.
		x, y = x.Cast(Int64), y.Cast(Int64)
	}
	out := emptyUninit(x.be, x.dtype, shape)
	x.be.Binary(op, out.buf, out.Layout(), x.buf, x.Layout(), y.buf, y.Layout())
	return out.Cast(store)
}

// Add returns t + u, broadcasting.
func (t *Tensor) Add(u *Tensor) *Tensor { return binary("Add", backend.OpAdd, t, u) }

// Sub returns t - u, broadcasting.
func (t *Tensor) Sub(u *Tensor) *Tensor { return binary("Sub", backend.OpSub, t, u) }

// Mul returns t * u, broadcasting.
func (t *Tensor) Mul(u *Tensor) *Tensor { return binary("Mul", backend.OpMul, t, u) }

// Div returns t / u, broadcasting. Integer operands give a float32 result
// (true division, as in PyTorch).
func (t *Tensor) Div(u *Tensor) *Tensor { return binary("Div", backend.OpDiv, t, u) }

// Pow returns t raised to u, broadcasting. Integer operands are computed in
// float64 and converted back, so results are exact while they fit in 2^53.
func (t *Tensor) Pow(u *Tensor) *Tensor {
	if s := ResultType(t, u); !s.IsFloat() {
		return binary("Pow", backend.OpPow, t.Cast(Float64), u.Cast(Float64)).Cast(s)
	}
	return binary("Pow", backend.OpPow, t, u)
}

// Maximum returns the elementwise maximum, propagating NaN.
func (t *Tensor) Maximum(u *Tensor) *Tensor { return binary("Maximum", backend.OpMaximum, t, u) }

// Minimum returns the elementwise minimum, propagating NaN.
func (t *Tensor) Minimum(u *Tensor) *Tensor { return binary("Minimum", backend.OpMinimum, t, u) }

// compare runs a comparison kernel; the result is Bool.
func compare(name string, op backend.Op, a, b *Tensor) *Tensor {
	x, y, shape, _ := binaryPrep(name, a, b, false)
	out := emptyUninit(x.be, Bool, shape)
	x.be.Binary(op, out.buf, out.Layout(), x.buf, x.Layout(), y.buf, y.Layout())
	return out
}

// Eq returns t == u elementwise (Bool).
func (t *Tensor) Eq(u *Tensor) *Tensor { return compare("Eq", backend.OpEq, t, u) }

// Ne returns t != u elementwise (Bool).
func (t *Tensor) Ne(u *Tensor) *Tensor { return compare("Ne", backend.OpNe, t, u) }

// Lt returns t < u elementwise (Bool).
func (t *Tensor) Lt(u *Tensor) *Tensor { return compare("Lt", backend.OpLt, t, u) }

// Le returns t <= u elementwise (Bool).
func (t *Tensor) Le(u *Tensor) *Tensor { return compare("Le", backend.OpLe, t, u) }

// Gt returns t > u elementwise (Bool).
func (t *Tensor) Gt(u *Tensor) *Tensor { return compare("Gt", backend.OpGt, t, u) }

// Ge returns t >= u elementwise (Bool).
func (t *Tensor) Ge(u *Tensor) *Tensor { return compare("Ge", backend.OpGe, t, u) }

// scalarLike makes a 0-d tensor for s on t's device in the dtype that
// PyTorch gives a Python number next to t: t's own category when s fits it
// (an integral s with an integer tensor), float32 when t is integral and s
// is not.
func (t *Tensor) scalarLike(s float64) *Tensor {
	dt := t.dtype
	switch {
	case dt == Bool && s != 0 && s != 1:
		dt = Int64
		if s != math.Trunc(s) {
			dt = Float32
		}
	case dt == Bool:
		dt = Int64
	case dt.IsInt() && s != math.Trunc(s):
		dt = Float32
	}
	u := emptyUninit(t.be, dt, nil)
	t.be.Fill(u.buf, u.Layout(), s)
	return u
}

// AddScalar returns t + s.
func (t *Tensor) AddScalar(s float64) *Tensor { return t.Add(t.scalarLike(s)) }

// SubScalar returns t - s.
func (t *Tensor) SubScalar(s float64) *Tensor { return t.Sub(t.scalarLike(s)) }

// MulScalar returns t * s.
func (t *Tensor) MulScalar(s float64) *Tensor { return t.Mul(t.scalarLike(s)) }

// DivScalar returns t / s.
func (t *Tensor) DivScalar(s float64) *Tensor { return t.Div(t.scalarLike(s)) }

// PowScalar returns t raised to s.
func (t *Tensor) PowScalar(s float64) *Tensor { return t.Pow(t.scalarLike(s)) }

// RSubScalar returns s - t.
func (t *Tensor) RSubScalar(s float64) *Tensor { return t.scalarLike(s).Sub(t) }

// RDivScalar returns s / t.
func (t *Tensor) RDivScalar(s float64) *Tensor { return t.scalarLike(s).Div(t) }

// MaximumScalar returns max(t, s) elementwise.
func (t *Tensor) MaximumScalar(s float64) *Tensor { return t.Maximum(t.scalarLike(s)) }

// MinimumScalar returns min(t, s) elementwise.
func (t *Tensor) MinimumScalar(s float64) *Tensor { return t.Minimum(t.scalarLike(s)) }

// EqScalar returns t == s (Bool).
func (t *Tensor) EqScalar(s float64) *Tensor { return t.Eq(t.scalarLike(s)) }

// NeScalar returns t != s (Bool).
func (t *Tensor) NeScalar(s float64) *Tensor { return t.Ne(t.scalarLike(s)) }

// LtScalar returns t < s (Bool).
func (t *Tensor) LtScalar(s float64) *Tensor { return t.Lt(t.scalarLike(s)) }

// LeScalar returns t <= s (Bool).
func (t *Tensor) LeScalar(s float64) *Tensor { return t.Le(t.scalarLike(s)) }

// GtScalar returns t > s (Bool).
func (t *Tensor) GtScalar(s float64) *Tensor { return t.Gt(t.scalarLike(s)) }

// GeScalar returns t >= s (Bool).
func (t *Tensor) GeScalar(s float64) *Tensor { return t.Ge(t.scalarLike(s)) }

// Clamp limits t to [lo, hi] elementwise; NaN stays NaN. Use math.Inf for a
// one-sided clamp.
func (t *Tensor) Clamp(lo, hi float64) *Tensor {
	if lo > hi {
		fail(ValueError, "Clamp", shapesOf(t), "lower bound %v above upper bound %v", lo, hi)
	}
	out := t
	if !math.IsInf(lo, -1) {
		out = out.MaximumScalar(lo)
	}
	if !math.IsInf(hi, 1) {
		out = out.MinimumScalar(hi)
	}
	if out == t {
		out = t.Clone()
	}
	return out
}

// Where returns an elementwise choice: a where cond is true, b elsewhere.
// cond must be Bool; all three broadcast together and a and b are promoted
// to a common dtype.
func Where(cond, a, b *Tensor) *Tensor {
	sameDevice("Where", cond, a, b)
	if cond.dtype != Bool {
		fail(DTypeError, "Where", shapesOf(cond, a, b), "condition must be bool, got %v", cond.dtype)
	}
	shape, ok := BroadcastShapes(cond.shape, a.shape, b.shape)
	if !ok {
		fail(ShapeError, "Where", shapesOf(cond, a, b), "shapes are not broadcastable")
	}
	dt := ResultType(a, b)
	c := cond.expandTo(shape)
	x := a.Cast(dt).expandTo(shape)
	y := b.Cast(dt).expandTo(shape)
	out := emptyUninit(a.be, dt, shape)
	a.be.Where(out.buf, out.Layout(), c.buf, c.Layout(), x.buf, x.Layout(), y.buf, y.Layout())
	return out
}
