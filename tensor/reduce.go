package tensor

import (
	"math"
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

// reduceAxes normalises axes (all axes when none are given), sorted and
// without repeats.
func (t *Tensor) reduceAxes(op string, axes []int) []int {
	if len(axes) == 0 {
		all := make([]int, t.Dim())
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = t.axis(op, a)
	}
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			fail(AxisError, op, shapesOf(t), "axis %d repeated in %v", out[i], axes)
		}
	}
	return out
}

// keptShape returns t's shape with size 1 on axes.
func keptShape(shape, axes []int) []int {
	ks := append([]int{}, shape...)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

// dropAxes removes axes (which have length 1) from a keepdim result.
func dropAxes(t *Tensor, axes []int) *Tensor {
	var ns, st []int
	j := 0
	for i := range t.shape {
		if j < len(axes) && axes[j] == i {
			j++
			continue
		}
		ns = append(ns, t.shape[i])
		st = append(st, t.strides[i])
	}
	return t.view(ns, st, t.offset)
}

// reduce runs a reduction kernel. Sums and products of integers and bools
// accumulate in int64 (as in PyTorch); half precision reduces in float32.
func (t *Tensor) reduce(name string, op backend.Op, keep bool, axes []int) *Tensor {
	ax := t.reduceAxes(name, axes)
	store := t.dtype
	if (op == backend.OpSum || op == backend.OpProd) && !t.dtype.IsFloat() {
		store = Int64
	}
	x := t.Cast(computeType(store))
	if op == backend.OpMax || op == backend.OpMin {
		for _, a := range ax {
			if t.shape[a] == 0 {
				fail(ShapeError, name, shapesOf(t), "cannot reduce axis %d of length 0", a)
			}
		}
	}
	out := emptyUninit(x.be, x.dtype, keptShape(x.shape, ax))
	x.be.Reduce(op, out.buf, out.Layout(), x.buf, x.Layout(), ax)
	out = out.Cast(store)
	if !keep {
		out = dropAxes(out, ax)
	}
	return out
}

// Sum adds the elements along axes (all of them when none are given),
// removing those axes. Integer sums are Int64.
func (t *Tensor) Sum(axes ...int) *Tensor { return t.reduce("Sum", backend.OpSum, false, axes) }

// SumKeep is Sum keeping the reduced axes with length 1.
func (t *Tensor) SumKeep(axes ...int) *Tensor { return t.reduce("Sum", backend.OpSum, true, axes) }

// Prod multiplies the elements along axes (all when none are given).
func (t *Tensor) Prod(axes ...int) *Tensor { return t.reduce("Prod", backend.OpProd, false, axes) }

// ProdKeep is Prod keeping the reduced axes.
func (t *Tensor) ProdKeep(axes ...int) *Tensor { return t.reduce("Prod", backend.OpProd, true, axes) }

// Max returns the largest elements along axes (all when none are given);
// NaN wins.
func (t *Tensor) Max(axes ...int) *Tensor { return t.reduce("Max", backend.OpMax, false, axes) }

// MaxKeep is Max keeping the reduced axes.
func (t *Tensor) MaxKeep(axes ...int) *Tensor { return t.reduce("Max", backend.OpMax, true, axes) }

// Min returns the smallest elements along axes (all when none are given);
// NaN wins.
func (t *Tensor) Min(axes ...int) *Tensor { return t.reduce("Min", backend.OpMin, false, axes) }

// MinKeep is Min keeping the reduced axes.
func (t *Tensor) MinKeep(axes ...int) *Tensor { return t.reduce("Min", backend.OpMin, true, axes) }

// Mean averages along axes (all when none are given). Integer inputs give
// float32.
func (t *Tensor) Mean(axes ...int) *Tensor { return t.mean("Mean", false, axes) }

// MeanKeep is Mean keeping the reduced axes.
func (t *Tensor) MeanKeep(axes ...int) *Tensor { return t.mean("Mean", true, axes) }

func (t *Tensor) mean(name string, keep bool, axes []int) *Tensor {
	x := t
	if !x.dtype.IsFloat() {
		x = x.Cast(Float32)
	}
	ax := x.reduceAxes(name, axes)
	n := 1
	for _, a := range ax {
		n *= x.shape[a]
	}
	s := x.reduce(name, backend.OpSum, keep, ax)
	return s.DivScalar(float64(n))
}

// Var returns the variance along axes (all when none are given) with
// Bessel's correction (dividing by n-1), like torch.var.
func (t *Tensor) Var(axes ...int) *Tensor { return t.VarCorrected(1, false, axes...) }

// Std returns the standard deviation along axes with Bessel's correction.
func (t *Tensor) Std(axes ...int) *Tensor { return t.VarCorrected(1, false, axes...).Sqrt() }

// VarCorrected returns the variance along axes dividing by n - correction
// (0 for the population variance), optionally keeping the reduced axes.
func (t *Tensor) VarCorrected(correction int, keep bool, axes ...int) *Tensor {
	x := t
	if !x.dtype.IsFloat() {
		x = x.Cast(Float32)
	}
	ax := x.reduceAxes("Var", axes)
	n := 1
	for _, a := range ax {
		n *= x.shape[a]
	}
	d := x.Sub(x.mean("Var", true, ax))
	ss := d.Mul(d).reduce("Var", backend.OpSum, keep, ax)
	return ss.DivScalar(float64(max(n-correction, 0)))
}

// LogSumExp returns log(sum(exp(t))) along axes, computed stably by
// subtracting the maximum first.
func (t *Tensor) LogSumExp(axes ...int) *Tensor { return t.logSumExp(false, axes) }

// LogSumExpKeep is LogSumExp keeping the reduced axes.
func (t *Tensor) LogSumExpKeep(axes ...int) *Tensor { return t.logSumExp(true, axes) }

func (t *Tensor) logSumExp(keep bool, axes []int) *Tensor {
	x := t
	if !x.dtype.IsFloat() {
		x = x.Cast(Float32)
	}
	ax := x.reduceAxes("LogSumExp", axes)
	for _, a := range ax {
		if x.shape[a] == 0 {
			// log(0) = -Inf, as torch.logsumexp gives for an empty axis.
			return Full(keptOrDropped(x.shape, ax, keep), math.Inf(-1), WithDType(x.dtype), WithDevice(x.Device()))
		}
	}
	m := x.reduce("LogSumExp", backend.OpMax, true, ax)
	// An infinite maximum would give inf - inf = NaN: shift by 0 there.
	m = Where(m.Abs().EqScalar(math.Inf(1)), ZerosLike(m), m)
	s := x.Sub(m).Exp().reduce("LogSumExp", backend.OpSum, true, ax).Log().Add(m)
	if !keep {
		s = dropAxes(s, ax)
	}
	return s
}

func keptOrDropped(shape, axes []int, keep bool) []int {
	if keep {
		return keptShape(shape, axes)
	}
	var out []int
	j := 0
	for i, d := range shape {
		if j < len(axes) && axes[j] == i {
			j++
			continue
		}
		out = append(out, d)
	}
	return out
}

// ArgMax returns the Int64 index of the first maximum along axis, or of the
// flattened tensor when no axis is given.
func (t *Tensor) ArgMax(axis ...int) *Tensor {
	return t.argReduce("ArgMax", backend.OpArgMax, false, axis)
}

// ArgMaxKeep is ArgMax keeping the reduced axis.
func (t *Tensor) ArgMaxKeep(axis int) *Tensor {
	return t.argReduce("ArgMax", backend.OpArgMax, true, []int{axis})
}

// ArgMin returns the Int64 index of the first minimum along axis, or of the
// flattened tensor when no axis is given.
func (t *Tensor) ArgMin(axis ...int) *Tensor {
	return t.argReduce("ArgMin", backend.OpArgMin, false, axis)
}

// ArgMinKeep is ArgMin keeping the reduced axis.
func (t *Tensor) ArgMinKeep(axis int) *Tensor {
	return t.argReduce("ArgMin", backend.OpArgMin, true, []int{axis})
}

func (t *Tensor) argReduce(name string, op backend.Op, keep bool, axis []int) *Tensor {
	if len(axis) > 1 {
		fail(AxisError, name, shapesOf(t), "takes at most one axis, got %v", axis)
	}
	x := t
	if x.dtype == Bool {
		x = x.Cast(Int64)
	}
	x = x.Cast(computeType(x.dtype))
	if len(axis) == 0 {
		x = x.Reshape(-1)
		axis = []int{0}
	}
	a := x.axis(name, axis[0])
	if x.shape[a] == 0 {
		fail(ShapeError, name, shapesOf(t), "cannot reduce axis %d of length 0", a)
	}
	out := emptyUninit(x.be, Int64, keptShape(x.shape, []int{a}))
	x.be.ArgReduce(op, out.buf, out.Layout(), x.buf, x.Layout(), a)
	if !keep {
		out = dropAxes(out, []int{a})
	}
	return out
}
