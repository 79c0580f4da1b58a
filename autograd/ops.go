package autograd

import (
	"math"
	"sort"

	"github.com/tessera-ml/tessera/tensor"
)

// opDef is one entry of the op table: the forward call into package tensor
// and, beside it, the backward rule — or nil with nondiff set, an explicit
// mark that the op has no gradient (comparisons, argmax).
type opDef struct {
	name     string
	forward  func(x []*tensor.Tensor, a *attrs) *tensor.Tensor
	backward func(c *ctx) []*Var
	nondiff  bool
}

// table holds every op, keyed by name. Rules are written with Var ops so that
// a backward pass can itself be recorded (CreateGraph).
var table = map[string]*opDef{}

func def(name string, fwd func(x []*tensor.Tensor, a *attrs) *tensor.Tensor, bwd func(c *ctx) []*Var) *opDef {
	if _, dup := table[name]; dup {
		panic("autograd: op " + name + " defined twice")
	}
	d := &opDef{name: name, forward: fwd, backward: bwd, nondiff: bwd == nil}
	table[name] = d
	return d
}

// OpNames lists the table's ops, sorted.
func OpNames() []string {
	out := make([]string, 0, len(table))
	for n := range table {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsDifferentiable reports whether the named op has a backward rule; ok is
// false when the table has no such op.
func IsDifferentiable(name string) (diff, ok bool) {
	d, ok := table[name]
	if !ok {
		return false, false
	}
	return !d.nondiff, true
}

func one(f func(t *tensor.Tensor) *tensor.Tensor) func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
	return func(x []*tensor.Tensor, _ *attrs) *tensor.Tensor { return f(x[0]) }
}

func two(f func(a, b *tensor.Tensor) *tensor.Tensor) func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
	return func(x []*tensor.Tensor, _ *attrs) *tensor.Tensor { return f(x[0], x[1]) }
}

// mask turns a Bool tensor into a constant of dtype like v's.
// when returns f() if input i needs a gradient, else nil (the engine skips
// nil gradients): rules call it to skip work for constant operands.
func (c *ctx) when(i int, f func() *Var) *Var {
	if !c.in[i].requiresGrad {
		return nil
	}
	return f()
}

// colMajor reports whether t's last two axes are stored transposed
// (column-major), both longer than 1.
func colMajor(t *tensor.Tensor) bool {
	s, st := t.Shape(), t.Strides()
	r := len(s)
	return r >= 2 && s[r-2] > 1 && s[r-1] > 1 && st[r-2] == 1 && st[r-1] >= s[r-2]
}

func mask(b *tensor.Tensor, like *Var) *Var { return Const(b.Cast(like.DType())) }

// scalarLike returns a constant 0-d Var of v's dtype on v's device.
func scalarLike(v *Var, s float64) *Var {
	return Const(tensor.Scalar(s, tensor.WithDType(v.DType()), tensor.WithDevice(v.Data.Device())))
}

// scatterIntoZeros is the adjoint of Gather and IndexSelect: c.g added
// into zeros shaped like the input at idx along c.a.axis. Recorded as a
// ScatterAdd op when the gradient itself needs a gradient (CreateGraph);
// otherwise added in place into the fresh zeros, without the copy of the
// zeros that the functional ScatterAdd makes.
func scatterIntoZeros(c *ctx, idx *tensor.Tensor) *Var {
	z := tensor.ZerosLike(c.in[0].Data)
	if c.g.requiresGrad {
		return Const(z).ScatterAdd(c.a.axis, idx, c.g)
	}
	z.ScatterAdd_(c.a.axis, idx, c.g.Data)
	return Const(z)
}

// zeroRule is the derivative of piecewise-constant functions (floor, sign):
// zero almost everywhere, as in PyTorch.
func zeroRule(c *ctx) []*Var { return []*Var{Const(tensor.ZerosLike(c.in[0].Data))} }

// The op table entries, filled in by init (their rules call Var methods
// that refer back to them).
var (
	opAdd          *opDef
	opSub          *opDef
	opMul          *opDef
	opDiv          *opDef
	opPow          *opDef
	opMaximum      *opDef
	opMinimum      *opDef
	opNeg          *opDef
	opAbs          *opDef
	opSign         *opDef
	opFloor        *opDef
	opCeil         *opDef
	opRound        *opDef
	opExp          *opDef
	opExpm1        *opDef
	opLog          *opDef
	opLog1p        *opDef
	opSqrt         *opDef
	opRsqrt        *opDef
	opRecip        *opDef
	opSquare       *opDef
	opSin          *opDef
	opCos          *opDef
	opTanh         *opDef
	opSigmoid      *opDef
	opReLU         *opDef
	opSiLU         *opDef
	opGELU         *opDef
	opGELUTanh     *opDef
	opErf          *opDef
	opClamp        *opDef
	opCast         *opDef
	opWhere        *opDef
	opSum          *opDef
	opProd         *opDef
	opMax          *opDef
	opMin          *opDef
	opMatMul       *opDef
	opSoftmax      *opDef
	opNormalize    *opDef
	opLogSoftmax   *opDef
	opReshape      *opDef
	opPermute      *opDef
	opExpand       *opDef
	opSlice        *opDef
	opSliceScatter *opDef
	opContiguous   *opDef
	opCat          *opDef
	opGather       *opDef
	opIndexSelect  *opDef
	opScatterAdd   *opDef
	opUnfold2d     *opDef
	opFold2d       *opDef
	opWindowMax2d  *opDef
	opEq           *opDef
	opNe           *opDef
	opLt           *opDef
	opLe           *opDef
	opGt           *opDef
	opGe           *opDef
	opArgMax       *opDef
	opArgMin       *opDef
)

func init() {
	// Elementwise binary ops. Rules return gradients of the broadcast output
	// shape; the engine sums them back to each input's shape.
	opAdd = def("Add", two((*tensor.Tensor).Add), func(c *ctx) []*Var { return []*Var{c.g, c.g} })
	opSub = def("Sub", two((*tensor.Tensor).Sub), func(c *ctx) []*Var {
		return []*Var{c.g, c.when(1, func() *Var { return c.g.Neg() })}
	})
	opMul = def("Mul", two((*tensor.Tensor).Mul), func(c *ctx) []*Var {
		return []*Var{c.when(0, func() *Var { return c.g.Mul(c.in[1]) }), c.when(1, func() *Var { return c.g.Mul(c.in[0]) })}
	})
	opDiv = def("Div", two((*tensor.Tensor).Div), func(c *ctx) []*Var {
		a, b := c.in[0], c.in[1]
		gb := c.when(1, func() *Var { return c.g.Mul(a).Div(b.Mul(b)).Neg() })
		return []*Var{c.when(0, func() *Var { return c.g.Div(b) }), gb}
	})
	opPow = def("Pow", two((*tensor.Tensor).Pow), func(c *ctx) []*Var {
		a, b := c.in[0], c.in[1]
		ga := c.g.Mul(b).Mul(a.Pow(b.Sub(scalarLike(b, 1))))
		// d/db a^b = a^b·log a; PyTorch takes it as 0 where a == 0 and b >= 0.
		zero := a.Data.EqScalar(0).Cast(tensor.Bool)
		logA := Where(zero, Const(tensor.ZerosLike(a.Data)), a.Log())
		gb := c.g.Mul(a.Pow(b)).Mul(logA)
		return []*Var{ga, gb}
	})
	opMaximum = def("Maximum", two((*tensor.Tensor).Maximum), func(c *ctx) []*Var {
		return minMaxRule(c, c.in[0].Data.Gt(c.in[1].Data))
	})
	opMinimum = def("Minimum", two((*tensor.Tensor).Minimum), func(c *ctx) []*Var {
		return minMaxRule(c, c.in[0].Data.Lt(c.in[1].Data))
	})

	// Elementwise unary ops.
	opNeg = def("Neg", one((*tensor.Tensor).Neg), func(c *ctx) []*Var { return []*Var{c.g.Neg()} })
	opAbs = def("Abs", one((*tensor.Tensor).Abs), func(c *ctx) []*Var { return []*Var{c.g.Mul(Const(c.in[0].Data.Sign()))} })
	opSign = def("Sign", one((*tensor.Tensor).Sign), zeroRule)
	opFloor = def("Floor", one((*tensor.Tensor).Floor), zeroRule)
	opCeil = def("Ceil", one((*tensor.Tensor).Ceil), zeroRule)
	opRound = def("Round", one((*tensor.Tensor).Round), zeroRule)
	opExp = def("Exp", one((*tensor.Tensor).Exp), func(c *ctx) []*Var { return []*Var{c.g.Mul(c.out)} })
	opExpm1 = def("Expm1", one((*tensor.Tensor).Expm1), func(c *ctx) []*Var {
		return []*Var{c.g.Mul(c.out.AddScalar(1))}
	})
	opLog = def("Log", one((*tensor.Tensor).Log), func(c *ctx) []*Var { return []*Var{c.g.Div(c.in[0])} })
	opLog1p = def("Log1p", one((*tensor.Tensor).Log1p), func(c *ctx) []*Var {
		return []*Var{c.g.Div(c.in[0].AddScalar(1))}
	})
	opSqrt = def("Sqrt", one((*tensor.Tensor).Sqrt), func(c *ctx) []*Var {
		return []*Var{c.g.Div(c.out.MulScalar(2))}
	})
	opRsqrt = def("Rsqrt", one((*tensor.Tensor).Rsqrt), func(c *ctx) []*Var {
		// d/dx x^(-1/2) = -1/2 · x^(-3/2) = -1/2 · out³
		return []*Var{c.g.Mul(c.out.Mul(c.out).Mul(c.out)).MulScalar(-0.5)}
	})
	opRecip = def("Recip", one((*tensor.Tensor).Recip), func(c *ctx) []*Var {
		return []*Var{c.g.Mul(c.out.Mul(c.out)).Neg()}
	})
	opSquare = def("Square", one((*tensor.Tensor).Square), func(c *ctx) []*Var {
		return []*Var{c.g.Mul(c.in[0]).MulScalar(2)}
	})
	opSin = def("Sin", one((*tensor.Tensor).Sin), func(c *ctx) []*Var { return []*Var{c.g.Mul(c.in[0].Cos())} })
	opCos = def("Cos", one((*tensor.Tensor).Cos), func(c *ctx) []*Var { return []*Var{c.g.Mul(c.in[0].Sin()).Neg()} })
	opTanh = def("Tanh", one((*tensor.Tensor).Tanh), func(c *ctx) []*Var {
		return []*Var{c.g.Mul(c.out.Mul(c.out).RSubScalar(1))}
	})
	opSigmoid = def("Sigmoid", one((*tensor.Tensor).Sigmoid), func(c *ctx) []*Var {
		return []*Var{c.g.Mul(c.out.Mul(c.out.RSubScalar(1)))}
	})
	opReLU = def("ReLU", one((*tensor.Tensor).ReLU), func(c *ctx) []*Var {
		// The derivative at 0 is taken as 0, as in PyTorch.
		if !IsRecording() { // a plain Backward: one fused select
			return []*Var{Const(tensor.ReLUGrad(c.g.Data, c.in[0].Data))}
		}
		return []*Var{c.g.Mul(mask(c.in[0].Data.GtScalar(0), c.g))}
	})
	opSiLU = def("SiLU", one((*tensor.Tensor).SiLU), func(c *ctx) []*Var {
		x := c.in[0]
		s := x.Sigmoid()
		// d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
		return []*Var{c.g.Mul(s.Mul(x.Mul(s.RSubScalar(1)).AddScalar(1)))}
	})
	opGELU = def("GELU", one((*tensor.Tensor).GELU), func(c *ctx) []*Var {
		x := c.in[0]
		if !IsRecording() { // a plain Backward: one fused kernel
			return []*Var{Const(tensor.GELUGrad(c.g.Data, x.Data))}
		}
		// d/dx x·Φ(x) = Φ(x) + x·φ(x), recorded for higher derivatives
		cdf := x.MulScalar(1 / math.Sqrt2).Erf().AddScalar(1).MulScalar(0.5)
		pdf := x.Mul(x).MulScalar(-0.5).Exp().MulScalar(1 / math.Sqrt(2*math.Pi))
		return []*Var{c.g.Mul(cdf.Add(x.Mul(pdf)))}
	})
	opGELUTanh = def("GELUTanh", one((*tensor.Tensor).GELUTanh), func(c *ctx) []*Var {
		x := c.in[0]
		k := math.Sqrt(2 / math.Pi)
		x2 := x.Mul(x)
		th := x.Add(x2.Mul(x).MulScalar(0.044715)).MulScalar(k).Tanh()
		// d/dx ½x(1+tanh u) = ½(1+tanh u) + ½x(1−tanh²u)·k(1+3·0.044715x²)
		du := x2.MulScalar(3 * 0.044715).AddScalar(1).MulScalar(k)
		d := th.AddScalar(1).MulScalar(0.5).Add(x.MulScalar(0.5).Mul(th.Mul(th).RSubScalar(1)).Mul(du))
		return []*Var{c.g.Mul(d)}
	})
	opErf = def("Erf", one((*tensor.Tensor).Erf), func(c *ctx) []*Var {
		x := c.in[0]
		return []*Var{c.g.Mul(x.Mul(x).Neg().Exp().MulScalar(2 / math.Sqrt(math.Pi)))}
	})
	opClamp = def("Clamp", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Clamp(a.lo, a.hi) },
		func(c *ctx) []*Var {
			// The gradient passes where lo <= x <= hi, bounds included (PyTorch).
			x := c.in[0].Data
			in := x.GeScalar(c.a.lo).Mul(x.LeScalar(c.a.hi))
			return []*Var{c.g.Mul(mask(in, c.g))}
		})
	opCast = def("Cast", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Cast(a.dtype) },
		func(c *ctx) []*Var { return []*Var{c.g.Cast(c.in[0].DType())} })
	opWhere = def("Where", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return tensor.Where(a.idx, x[0], x[1]) },
		func(c *ctx) []*Var {
			zero := Const(tensor.ZerosLike(c.g.Data))
			return []*Var{Where(c.a.idx, c.g, zero), Where(c.a.idx, zero, c.g)}
		})

	// Reductions.
	opSum = def("Sum", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].SumKeep(a.axes...)
		}
		return x[0].Sum(a.axes...)
	}, func(c *ctx) []*Var {
		return []*Var{expandBack(c.g, c.in[0].Shape(), c.a.axes, c.a.keep)}
	})
	opProd = def("Prod", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].ProdKeep(a.axes...)
		}
		return x[0].Prod(a.axes...)
	}, func(c *ctx) []*Var {
		// d/dx_i Π x = Π x / x_i. Inputs holding zeros give a non-finite
		// gradient here; PyTorch's special-casing of zeros is not done yet.
		shape := c.in[0].Shape()
		out := expandBack(c.out, shape, c.a.axes, c.a.keep)
		g := expandBack(c.g, shape, c.a.axes, c.a.keep)
		return []*Var{g.Mul(out).Div(c.in[0])}
	})
	opMax = def("Max", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].MaxKeep(a.axes...)
		}
		return x[0].Max(a.axes...)
	}, extremumRule)
	opMin = def("Min", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].MinKeep(a.axes...)
		}
		return x[0].Min(a.axes...)
	}, extremumRule)

	// Linear algebra and fused ops.
	opMatMul = def("MatMul", two((*tensor.Tensor).MatMul), func(c *ctx) []*Var {
		// Both operands have at least 2 dimensions here (Var.MatMul lifts
		// vectors). Gradients are matrix products with transposed views — no
		// copies — and the engine sums broadcast batch axes.
		// An operand stored transposed (a Linear layer's weight, used as
		// W.T()) gets its gradient computed transposed too, so that it
		// comes out laid out like the operand: for a weight, dense and
		// row-major after Transpose's backward, with nothing to copy.
		a, b := c.in[0], c.in[1]
		t := func(v *Var) *Var { return v.Transpose(-1, -2) }
		ga := c.when(0, func() *Var {
			if colMajor(a.Data) {
				return t(b.MatMul(t(c.g)))
			}
			return c.g.MatMul(t(b))
		})
		gb := c.when(1, func() *Var {
			if colMajor(b.Data) {
				return t(t(c.g).MatMul(a))
			}
			return t(a).MatMul(c.g)
		})
		return []*Var{ga, gb}
	})
	opNormalize = def("Normalize", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		// 1/σ stays with the node for the rule.
		y, rstd := tensor.Normalize(x[0], a.lo, a.axes...)
		a.saved = rstd
		return y
	}, func(c *ctx) []*Var {
		g, axes := c.g, c.a.axes
		if !c.graph && !g.requiresGrad {
			return []*Var{Const(tensor.NormalizeGrad(g.Data, c.out.Data, c.a.saved, axes...))}
		}
		// CreateGraph: the same formula from Var ops on the input, so that
		// it can be differentiated again.
		x := c.in[0]
		xc := x.Sub(x.MeanKeep(axes...))
		rstd := xc.Mul(xc).MeanKeep(axes...).AddScalar(c.a.lo).Rsqrt()
		y := xc.Mul(rstd)
		return []*Var{g.Sub(g.MeanKeep(axes...)).Sub(y.Mul(g.Mul(y).MeanKeep(axes...))).Mul(rstd)}
	})
	opSoftmax = def("Softmax", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Softmax(a.axis) },
		func(c *ctx) []*Var {
			// dx = y ⊙ (g − Σ g⊙y)
			y := c.out
			if !c.graph && !c.g.requiresGrad {
				return []*Var{Const(tensor.SoftmaxGrad(c.g.Data, y.Data, c.a.axis))}
			}
			return []*Var{y.Mul(c.g.Sub(c.g.Mul(y).SumKeep(c.a.axis)))}
		})
	opLogSoftmax = def("LogSoftmax", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].LogSoftmax(a.axis) },
		func(c *ctx) []*Var {
			// dx = g − softmax(x) · Σ g
			return []*Var{c.g.Sub(c.out.Exp().Mul(c.g.SumKeep(c.a.axis)))}
		})

	// Views and data movement.
	opReshape = def("Reshape", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Reshape(a.shape...) },
		func(c *ctx) []*Var { return []*Var{c.g.Reshape(c.in[0].Shape()...)} })
	opPermute = def("Permute", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Permute(a.perm...) },
		func(c *ctx) []*Var {
			inv := make([]int, len(c.a.perm))
			for i, p := range c.a.perm {
				inv[p] = i
			}
			return []*Var{c.g.Permute(inv...)}
		})
	opExpand = def("Expand", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Expand(a.shape...) },
		func(c *ctx) []*Var { return []*Var{c.g} }) // the engine sums back to the input's shape
	opSlice = def("Slice", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		return x[0].Slice(a.axis, a.start, a.end, a.step)
	}, func(c *ctx) []*Var {
		return []*Var{apply(opSliceScatter, attrs{axis: c.a.axis, start: c.a.start, end: c.a.end, step: c.a.step, shape: c.in[0].Shape()}, c.g)}
	})
	// SliceScatter places its input into a zero tensor of a.shape at the
	// slice (axis, start:end:step): the adjoint of Slice.
	opSliceScatter = def("SliceScatter", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		z := tensor.Zeros(a.shape, tensor.WithDType(x[0].DType()), tensor.WithDevice(x[0].Device()))
		z.Slice(a.axis, a.start, a.end, a.step).CopyFrom(x[0])
		return z
	}, func(c *ctx) []*Var {
		return []*Var{c.g.Slice(c.a.axis, c.a.start, c.a.end, c.a.step)}
	})
	opContiguous = def("Contiguous", one((*tensor.Tensor).Contiguous), func(c *ctx) []*Var { return []*Var{c.g} })
	opCat = def("Cat", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return tensor.Cat(x, a.axis) },
		func(c *ctx) []*Var {
			out := make([]*Var, len(c.in))
			at := 0
			for i, x := range c.in {
				n := x.Shape()[c.a.axis]
				out[i] = c.g.Narrow(c.a.axis, at, n)
				at += n
			}
			return out
		})
	opGather = def("Gather", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor { return x[0].Gather(a.axis, a.idx) },
		func(c *ctx) []*Var { return []*Var{scatterIntoZeros(c, c.a.idx)} })
	opIndexSelect = def("IndexSelect", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		return x[0].IndexSelect(a.axis, a.idx)
	}, func(c *ctx) []*Var {
		// The adjoint adds each selected slice back at its index: a
		// ScatterAdd with the index broadcast across the other axes.
		gs := c.g.Shape()
		view := make([]int, len(gs))
		for i := range view {
			view[i] = 1
		}
		view[c.a.axis] = gs[c.a.axis]
		idx := c.a.idx.Reshape(view...).Expand(gs...)
		return []*Var{scatterIntoZeros(c, idx)}
	})
	opScatterAdd = def("ScatterAdd", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		return x[0].ScatterAdd(a.axis, a.idx, x[1])
	}, func(c *ctx) []*Var {
		return []*Var{c.g, c.g.Gather(c.a.axis, c.a.idx)}
	})

	// Unfold2d (im2col) and Fold2d (col2im) are linear and each other's
	// adjoint.
	opUnfold2d = def("Unfold2d", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		return tensor.Unfold2d(x[0], *a.win)
	}, func(c *ctx) []*Var { return []*Var{apply(opFold2d, attrs{win: c.a.win}, c.g)} })
	opFold2d = def("Fold2d", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		return tensor.Fold2d(x[0], *a.win)
	}, func(c *ctx) []*Var { return []*Var{apply(opUnfold2d, attrs{win: c.a.win}, c.g)} })

	// WindowMax2d keeps the positions of its maxima; the gradient goes
	// there, one element per window (a scatter into zeros).
	opWindowMax2d = def("WindowMax2d", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		m, at := tensor.WindowMax2d(x[0], *a.win)
		a.saved = at
		return m
	}, func(c *ctx) []*Var {
		w := *c.a.win
		if !c.g.requiresGrad {
			return []*Var{Const(tensor.WindowMax2dGrad(c.g.Data, c.a.saved, w))}
		}
		s := c.in[0].Shape()
		n, ch, l := s[0], s[1], w.OutH*w.OutW
		z := tensor.Zeros([]int{n, ch, w.InH * w.InW}, tensor.WithDType(c.in[0].DType()), tensor.WithDevice(c.in[0].Data.Device()))
		return []*Var{Const(z).ScatterAdd(2, c.a.saved.Reshape(n, ch, l), c.g.Reshape(n, ch, l)).Reshape(s...)}
	})

	// Not differentiable: their outputs are integers or booleans.
	opEq = def("Eq", two((*tensor.Tensor).Eq), nil)
	opNe = def("Ne", two((*tensor.Tensor).Ne), nil)
	opLt = def("Lt", two((*tensor.Tensor).Lt), nil)
	opLe = def("Le", two((*tensor.Tensor).Le), nil)
	opGt = def("Gt", two((*tensor.Tensor).Gt), nil)
	opGe = def("Ge", two((*tensor.Tensor).Ge), nil)
	opArgMax = def("ArgMax", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].ArgMaxKeep(a.axis)
		}
		return x[0].ArgMax(a.axes...)
	}, nil)
	opArgMin = def("ArgMin", func(x []*tensor.Tensor, a *attrs) *tensor.Tensor {
		if a.keep {
			return x[0].ArgMinKeep(a.axis)
		}
		return x[0].ArgMin(a.axes...)
	}, nil)
}

// minMaxRule routes the gradient of Maximum/Minimum to the operand that won
// (first is where input 0 won); ties split it evenly, as in PyTorch.
func minMaxRule(c *ctx, first *tensor.Tensor) []*Var {
	a, b := c.in[0].Data, c.in[1].Data
	tie := a.Eq(b).Cast(c.g.DType()).MulScalar(0.5)
	ma := first.Cast(c.g.DType()).Add(tie)
	mb := ma.RSubScalar(1)
	return []*Var{c.g.Mul(Const(ma)), c.g.Mul(Const(mb))}
}

// extremumRule is the gradient of Max/Min over axes: it flows to the
// elements equal to the extremum, split evenly among ties (torch.amax).
func extremumRule(c *ctx) []*Var {
	shape := c.in[0].Shape()
	out := expandBack(c.out, shape, c.a.axes, c.a.keep).Data
	hit := c.in[0].Data.Eq(out).Cast(c.g.DType())
	count := hit.SumKeep(normAxes(c.a.axes, len(shape))...)
	w := Const(hit.Div(count))
	return []*Var{expandBack(c.g, shape, c.a.axes, c.a.keep).Mul(w)}
}

// normAxes resolves negative axes; no axes means all of them.
func normAxes(axes []int, rank int) []int {
	if len(axes) == 0 {
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += rank
		}
		out[i] = a
	}
	sort.Ints(out)
	return out
}

// expandBack broadcasts a reduction's gradient (or output) g back over the
// reduced axes of an input of shape.
func expandBack(g *Var, shape []int, axes []int, keep bool) *Var {
	if !keep {
		for _, a := range normAxes(axes, len(shape)) {
			g = g.Unsqueeze(a)
		}
	}
	return g.Expand(shape...)
}
