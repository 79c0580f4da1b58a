package autograd

import (
	"math"

	"github.com/tessera-ml/tessera/tensor"
)

// The methods below mirror package tensor's operations on Vars, so model
// code reads x.MatMul(w).Add(b).ReLU(). Each is one entry of the op table
// (ops.go) or a composition of entries.

// Elementwise arithmetic, broadcasting like tensor.

func (v *Var) Add(u *Var) *Var     { return apply(opAdd, attrs{}, v, u) }
func (v *Var) Sub(u *Var) *Var     { return apply(opSub, attrs{}, v, u) }
func (v *Var) Mul(u *Var) *Var     { return apply(opMul, attrs{}, v, u) }
func (v *Var) Div(u *Var) *Var     { return apply(opDiv, attrs{}, v, u) }
func (v *Var) Pow(u *Var) *Var     { return apply(opPow, attrs{}, v, u) }
func (v *Var) Maximum(u *Var) *Var { return apply(opMaximum, attrs{}, v, u) }
func (v *Var) Minimum(u *Var) *Var { return apply(opMinimum, attrs{}, v, u) }

// Scalar forms: the scalar is a constant of v's dtype.

func (v *Var) AddScalar(s float64) *Var     { return v.Add(scalarLike(v, s)) }
func (v *Var) SubScalar(s float64) *Var     { return v.Sub(scalarLike(v, s)) }
func (v *Var) MulScalar(s float64) *Var     { return v.Mul(scalarLike(v, s)) }
func (v *Var) DivScalar(s float64) *Var     { return v.Div(scalarLike(v, s)) }
func (v *Var) PowScalar(s float64) *Var     { return v.Pow(scalarLike(v, s)) }
func (v *Var) RSubScalar(s float64) *Var    { return scalarLike(v, s).Sub(v) }
func (v *Var) RDivScalar(s float64) *Var    { return scalarLike(v, s).Div(v) }
func (v *Var) MaximumScalar(s float64) *Var { return v.Maximum(scalarLike(v, s)) }
func (v *Var) MinimumScalar(s float64) *Var { return v.Minimum(scalarLike(v, s)) }

// Elementwise functions.

func (v *Var) Neg() *Var      { return apply(opNeg, attrs{}, v) }
func (v *Var) Abs() *Var      { return apply(opAbs, attrs{}, v) }
func (v *Var) Sign() *Var     { return apply(opSign, attrs{}, v) }
func (v *Var) Floor() *Var    { return apply(opFloor, attrs{}, v) }
func (v *Var) Ceil() *Var     { return apply(opCeil, attrs{}, v) }
func (v *Var) Round() *Var    { return apply(opRound, attrs{}, v) }
func (v *Var) Exp() *Var      { return apply(opExp, attrs{}, v) }
func (v *Var) Expm1() *Var    { return apply(opExpm1, attrs{}, v) }
func (v *Var) Log() *Var      { return apply(opLog, attrs{}, v) }
func (v *Var) Log1p() *Var    { return apply(opLog1p, attrs{}, v) }
func (v *Var) Sqrt() *Var     { return apply(opSqrt, attrs{}, v) }
func (v *Var) Rsqrt() *Var    { return apply(opRsqrt, attrs{}, v) }
func (v *Var) Recip() *Var    { return apply(opRecip, attrs{}, v) }
func (v *Var) Square() *Var   { return apply(opSquare, attrs{}, v) }
func (v *Var) Sin() *Var      { return apply(opSin, attrs{}, v) }
func (v *Var) Cos() *Var      { return apply(opCos, attrs{}, v) }
func (v *Var) Tanh() *Var     { return apply(opTanh, attrs{}, v) }
func (v *Var) Sigmoid() *Var  { return apply(opSigmoid, attrs{}, v) }
func (v *Var) ReLU() *Var     { return apply(opReLU, attrs{}, v) }
func (v *Var) SiLU() *Var     { return apply(opSiLU, attrs{}, v) }
func (v *Var) GELU() *Var     { return apply(opGELU, attrs{}, v) }
func (v *Var) GELUTanh() *Var { return apply(opGELUTanh, attrs{}, v) }
func (v *Var) Erf() *Var      { return apply(opErf, attrs{}, v) }

// Clamp limits v to [lo, hi]; the gradient passes where lo <= v <= hi.
func (v *Var) Clamp(lo, hi float64) *Var { return apply(opClamp, attrs{lo: lo, hi: hi}, v) }

// Cast converts v to dtype dt; the gradient is cast back.
func (v *Var) Cast(dt tensor.DType) *Var {
	if dt == v.DType() {
		return v
	}
	return apply(opCast, attrs{dtype: dt}, v)
}

// Where picks a where cond (a Bool tensor) is true and b elsewhere.
func Where(cond *tensor.Tensor, a, b *Var) *Var { return apply(opWhere, attrs{idx: cond}, a, b) }

// Comparisons give Bool Vars that carry no gradient.

func (v *Var) Eq(u *Var) *Var { return apply(opEq, attrs{}, v, u) }
func (v *Var) Ne(u *Var) *Var { return apply(opNe, attrs{}, v, u) }
func (v *Var) Lt(u *Var) *Var { return apply(opLt, attrs{}, v, u) }
func (v *Var) Le(u *Var) *Var { return apply(opLe, attrs{}, v, u) }
func (v *Var) Gt(u *Var) *Var { return apply(opGt, attrs{}, v, u) }
func (v *Var) Ge(u *Var) *Var { return apply(opGe, attrs{}, v, u) }

func (v *Var) EqScalar(s float64) *Var { return v.Eq(scalarLike(v, s)) }
func (v *Var) NeScalar(s float64) *Var { return v.Ne(scalarLike(v, s)) }
func (v *Var) LtScalar(s float64) *Var { return v.Lt(scalarLike(v, s)) }
func (v *Var) LeScalar(s float64) *Var { return v.Le(scalarLike(v, s)) }
func (v *Var) GtScalar(s float64) *Var { return v.Gt(scalarLike(v, s)) }
func (v *Var) GeScalar(s float64) *Var { return v.Ge(scalarLike(v, s)) }

// Reductions over axes (all axes when none are given).

func (v *Var) Sum(axes ...int) *Var      { return apply(opSum, attrs{axes: axes}, v) }
func (v *Var) SumKeep(axes ...int) *Var  { return apply(opSum, attrs{axes: axes, keep: true}, v) }
func (v *Var) Prod(axes ...int) *Var     { return apply(opProd, attrs{axes: axes}, v) }
func (v *Var) ProdKeep(axes ...int) *Var { return apply(opProd, attrs{axes: axes, keep: true}, v) }
func (v *Var) Max(axes ...int) *Var      { return apply(opMax, attrs{axes: axes}, v) }
func (v *Var) MaxKeep(axes ...int) *Var  { return apply(opMax, attrs{axes: axes, keep: true}, v) }
func (v *Var) Min(axes ...int) *Var      { return apply(opMin, attrs{axes: axes}, v) }
func (v *Var) MinKeep(axes ...int) *Var  { return apply(opMin, attrs{axes: axes, keep: true}, v) }

// ArgMax and ArgMin give Int64 Vars that carry no gradient.

func (v *Var) ArgMax(axis ...int) *Var   { return apply(opArgMax, attrs{axes: axis}, v) }
func (v *Var) ArgMaxKeep(axis int) *Var  { return apply(opArgMax, attrs{axis: axis, keep: true}, v) }
func (v *Var) ArgMin(axis ...int) *Var   { return apply(opArgMin, attrs{axes: axis}, v) }
func (v *Var) ArgMinKeep(axis int) *Var  { return apply(opArgMin, attrs{axis: axis, keep: true}, v) }
func (v *Var) Mean(axes ...int) *Var     { return v.mean(false, axes) }
func (v *Var) MeanKeep(axes ...int) *Var { return v.mean(true, axes) }

func (v *Var) mean(keep bool, axes []int) *Var {
	n := 1
	for _, a := range normAxes(axes, v.Dim()) {
		n *= v.Shape()[a]
	}
	return apply(opSum, attrs{axes: axes, keep: keep}, v).DivScalar(float64(n))
}

// Var returns the variance along axes with Bessel's correction.
func (v *Var) Var(axes ...int) *Var { return v.VarCorrected(1, false, axes...) }

// Std returns the standard deviation along axes with Bessel's correction.
func (v *Var) Std(axes ...int) *Var { return v.VarCorrected(1, false, axes...).Sqrt() }

// VarCorrected returns the variance dividing by n - correction.
func (v *Var) VarCorrected(correction int, keep bool, axes ...int) *Var {
	n := 1
	for _, a := range normAxes(axes, v.Dim()) {
		n *= v.Shape()[a]
	}
	d := v.Sub(v.MeanKeep(axes...))
	ss := apply(opSum, attrs{axes: axes, keep: keep}, d.Mul(d))
	return ss.DivScalar(float64(max(n-correction, 0)))
}

// LogSumExp returns log Σ exp(v) along axes, shifted by the (constant)
// maximum for stability; its gradient is the softmax.
func (v *Var) LogSumExp(axes ...int) *Var { return v.logSumExp(false, axes) }

// LogSumExpKeep is LogSumExp keeping the reduced axes.
func (v *Var) LogSumExpKeep(axes ...int) *Var { return v.logSumExp(true, axes) }

func (v *Var) logSumExp(keep bool, axes []int) *Var {
	m := v.Data.MaxKeep(axes...)
	m = tensor.Where(m.Abs().EqScalar(math.Inf(1)), tensor.ZerosLike(m), m)
	mv := Const(m)
	s := v.Sub(mv).Exp().SumKeep(axes...).Log().Add(mv)
	if !keep {
		s = s.Squeeze(normAxes(axes, v.Dim())...)
	}
	return s
}

// MatMul multiplies with torch.matmul's rules (see tensor.MatMul).
func (v *Var) MatMul(u *Var) *Var {
	a, b := v, u
	if a.Dim() == 1 {
		a = a.Unsqueeze(0)
	}
	if b.Dim() == 1 {
		b = b.Unsqueeze(1)
	}
	out := apply(opMatMul, attrs{}, a, b)
	if u.Dim() == 1 {
		out = out.Squeeze(-1)
	}
	if v.Dim() == 1 {
		out = out.Squeeze(-2)
	}
	return out
}

// Normalize returns (v − mean) / √(var + eps) over axes, with the biased
// variance: the normalisation of LayerNorm (and of GroupNorm and BatchNorm
// in training), as one op whose backward is one formula,
// (g − mean(g) − y·mean(g·y)) / √(var + eps), instead of the rules of the
// seven ops that compute it, and which keeps only 1/√(var + eps) beside
// its input and output.
func (v *Var) Normalize(eps float64, axes ...int) *Var {
	if len(axes) == 0 {
		axes = []int{}
	}
	return apply(opNormalize, attrs{axes: axes, lo: eps}, v)
}

// Softmax along axis.
func (v *Var) Softmax(axis int) *Var { return apply(opSoftmax, attrs{axis: axis}, v) }

// LogSoftmax along axis.
func (v *Var) LogSoftmax(axis int) *Var { return apply(opLogSoftmax, attrs{axis: axis}, v) }

// Views and shape changes.

func (v *Var) Reshape(shape ...int) *Var { return apply(opReshape, attrs{shape: shape}, v) }

// View is Reshape (the result is a view whenever the layout allows).
func (v *Var) View(shape ...int) *Var { return v.Reshape(shape...) }

func (v *Var) Flatten(axes ...int) *Var {
	return v.Reshape(v.Data.Flatten(axes...).Shape()...)
}

func (v *Var) Permute(perm ...int) *Var {
	p := make([]int, len(perm))
	for i, a := range perm {
		if a < 0 {
			a += v.Dim()
		}
		p[i] = a
	}
	v.Data.Permute(p...) // validates
	return apply(opPermute, attrs{perm: p}, v)
}

func (v *Var) Transpose(a, b int) *Var {
	n := v.Dim()
	if a < 0 {
		a += n
	}
	if b < 0 {
		b += n
	}
	v.Data.Transpose(a, b) // validates
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = perm[b], perm[a]
	return apply(opPermute, attrs{perm: perm}, v)
}

// T reverses the axes.
func (v *Var) T() *Var {
	perm := make([]int, v.Dim())
	for i := range perm {
		perm[i] = v.Dim() - 1 - i
	}
	return apply(opPermute, attrs{perm: perm}, v)
}

func (v *Var) Expand(shape ...int) *Var {
	return apply(opExpand, attrs{shape: v.Data.Expand(shape...).Shape()}, v)
}

func (v *Var) BroadcastTo(shape ...int) *Var {
	v.Data.BroadcastTo(shape...) // validates
	return v.Expand(shape...)
}

func (v *Var) Squeeze(axes ...int) *Var { return v.Reshape(v.Data.Squeeze(axes...).Shape()...) }
func (v *Var) Unsqueeze(axis int) *Var  { return v.Reshape(v.Data.Unsqueeze(axis).Shape()...) }
func (v *Var) Contiguous() *Var         { return apply(opContiguous, attrs{}, v) }
func (v *Var) Index(axis, i int) *Var   { return v.Narrow(axis, i, 1).Squeeze(axis) }
func (v *Var) Narrow(axis, start, n int) *Var {
	v.Data.Narrow(axis, start, n) // validates
	if start < 0 {
		start += v.Data.Size(axis)
	}
	return v.Slice(axis, start, start+n)
}

// Slice is t[start:end:step] along axis (see tensor.Slice).
func (v *Var) Slice(axis, start, end int, step ...int) *Var {
	s := 1
	if len(step) > 0 {
		s = step[0]
	}
	v.Data.Slice(axis, start, end, step...) // validates
	if axis < 0 {
		axis += v.Dim()
	}
	return apply(opSlice, attrs{axis: axis, start: start, end: end, step: s}, v)
}

// Split cuts v into pieces of size along axis.
func (v *Var) Split(size, axis int) []*Var {
	parts := v.Data.Split(size, axis)
	out := make([]*Var, len(parts))
	at := 0
	for i, p := range parts {
		n := p.Size(axis)
		out[i] = v.Narrow(axis, at, n)
		at += n
	}
	return out
}

// Chunk cuts v into at most n equal pieces along axis.
func (v *Var) Chunk(n, axis int) []*Var {
	parts := v.Data.Chunk(n, axis)
	if len(parts) == 0 {
		return nil
	}
	return v.Split(parts[0].Size(axis), axis)
}

// Cat joins Vars along axis.
func Cat(vs []*Var, axis int) *Var {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.Data
	}
	if len(vs) > 0 && axis < 0 {
		axis += vs[0].Dim()
	}
	return apply(opCat, attrs{axis: axis}, vs...)
}

// Stack joins same-shaped Vars along a new axis.
func Stack(vs []*Var, axis int) *Var {
	if len(vs) > 0 && axis < 0 {
		axis += vs[0].Dim() + 1
	}
	us := make([]*Var, len(vs))
	for i, v := range vs {
		us[i] = v.Unsqueeze(axis)
	}
	return Cat(us, axis)
}

// Gather picks values along axis at idx (see tensor.Gather).
func (v *Var) Gather(axis int, idx *tensor.Tensor) *Var {
	if axis < 0 {
		axis += v.Dim()
	}
	return apply(opGather, attrs{axis: axis, idx: idx}, v)
}

// IndexSelect picks slices along axis (see tensor.IndexSelect).
func (v *Var) IndexSelect(axis int, idx *tensor.Tensor) *Var {
	if axis < 0 {
		axis += v.Dim()
	}
	return apply(opIndexSelect, attrs{axis: axis, idx: idx.Reshape(-1)}, v)
}

// Unfold2d returns the sliding windows of v [N, C, H, W] as [N, C, K, L]
// (im2col; see tensor.Unfold2d). Its gradient is Fold2d of the output's.
func (v *Var) Unfold2d(w tensor.Window2d) *Var { return apply(opUnfold2d, attrs{win: &w}, v) }

// Fold2d sums the columns v [N, C, K, L] back into [N, C, H, W] (col2im;
// see tensor.Fold2d), the adjoint of Unfold2d.
func (v *Var) Fold2d(w tensor.Window2d) *Var { return apply(opFold2d, attrs{win: &w}, v) }

// WindowMax2d returns the maximum of each window of v [N, C, H, W] as
// [N, C, OutH, OutW] (max pooling; see tensor.WindowMax2d). The gradient
// goes to the element each maximum came from.
func (v *Var) WindowMax2d(w tensor.Window2d) *Var { return apply(opWindowMax2d, attrs{win: &w}, v) }

// ScatterAdd returns v with src added at idx along axis (see
// tensor.ScatterAdd); gradients flow to both v and src.
func (v *Var) ScatterAdd(axis int, idx *tensor.Tensor, src *Var) *Var {
	if axis < 0 {
		axis += v.Dim()
	}
	return apply(opScatterAdd, attrs{axis: axis, idx: idx}, v, src)
}
