package autograd_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// layouts builds float64 inputs of a shape as a contiguous tensor, a
// transposed view, a stepped slice at an offset, and a stride-0 broadcast.
func layouts(g *tensor.Generator, shape []int) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	f64 := tensor.WithDType(tensor.Float64)
	out["contiguous"] = tensor.RandN(g, shape, f64)
	n := len(shape)
	if n >= 2 {
		s := slices.Clone(shape)
		s[0], s[n-1] = s[n-1], s[0]
		out["transposed"] = tensor.RandN(g, s, f64).Transpose(0, n-1)
	}
	if n >= 1 {
		s := slices.Clone(shape)
		s[n-1] = 2*shape[n-1] + 1
		out["sliced"] = tensor.RandN(g, s, f64).Slice(n-1, 1, s[n-1], 2)
		b := slices.Clone(shape)
		b[0] = 1
		out["broadcast"] = tensor.RandN(g, b, f64).Expand(shape...)
	}
	return out
}

type gradCase struct {
	op     string // table entry exercised
	shapes [][]int
	f      func(xs ...*autograd.Var) *autograd.Var
	pos    bool // inputs must be positive
	away   bool // inputs kept away from kinks at 0
	opts   *autograd.CheckOptions
	// noBroadcast skips stride-0 inputs, whose repeated values put the
	// function at a tie (max) or a kink (std of equal values) where it has
	// no derivative.
	noBroadcast bool
}

// testWindow has padding, stride, dilation and a non-square kernel: 5×6
// planes, 3×2 kernel, stride 2, padding 1, dilation (1, 2) → 3×3 outputs.
var testWindow = tensor.Window2d{InH: 5, InW: 6, OutH: 3, OutW: 3, KH: 3, KW: 2, SH: 2, SW: 2, PadT: 1, PadL: 1, DH: 1, DW: 2}

func idx(v []int64, shape ...int) *tensor.Tensor { return tensor.FromSlice(v, shape...) }

var gradCases = []gradCase{
	{"Add", [][]int{{3, 4}, {4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Add(x[1]) }, false, false, nil, false},
	{"Sub", [][]int{{2, 3, 4}, {3, 1}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sub(x[1]) }, false, false, nil, false},
	{"Mul", [][]int{{3, 4}, {3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Mul(x[1]) }, false, false, nil, false},
	{"Div", [][]int{{3, 4}, {1, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Div(x[1]) }, true, false, nil, false},
	{"Pow", [][]int{{3, 4}, {3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Pow(x[1]) }, true, false, nil, false},
	{"Maximum", [][]int{{3, 4}, {4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Maximum(x[1]) }, false, false, nil, false},
	{"Minimum", [][]int{{3, 4}, {3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Minimum(x[1]) }, false, false, nil, false},
	{"Neg", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Neg() }, false, false, nil, false},
	{"Abs", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Abs() }, false, true, nil, false},
	{"Sign", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sign() }, false, true, nil, false},
	{"Floor", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MulScalar(3.3).Floor() }, false, true, nil, false},
	{"Ceil", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MulScalar(3.3).Ceil() }, false, true, nil, false},
	{"Round", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MulScalar(3.3).Round() }, false, true, nil, false},
	{"Exp", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Exp() }, false, false, nil, false},
	{"Expm1", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Expm1() }, false, false, nil, false},
	{"Log", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Log() }, true, false, nil, false},
	{"Log1p", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Log1p() }, true, false, nil, false},
	{"Sqrt", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sqrt() }, true, false, nil, false},
	{"Rsqrt", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Rsqrt() }, true, false, nil, false},
	{"Recip", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Recip() }, true, false, nil, false},
	{"Square", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Square() }, false, false, nil, false},
	{"Sin", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sin() }, false, false, nil, false},
	{"Cos", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Cos() }, false, false, nil, false},
	{"Tanh", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Tanh() }, false, false, nil, false},
	{"Sigmoid", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sigmoid() }, false, false, nil, false},
	{"ReLU", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].ReLU() }, false, true, nil, false},
	{"SiLU", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].SiLU() }, false, false, nil, false},
	{"GELU", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].GELU() }, false, false, nil, false},
	{"GELUTanh", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].GELUTanh() }, false, false, nil, false},
	{"Erf", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Erf() }, false, false, nil, false},
	{"Clamp", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Clamp(-0.5, 0.5) }, false, true, nil, false},
	{op: "Cast", shapes: [][]int{{3, 4}}, f: func(x ...*autograd.Var) *autograd.Var {
		return x[0].Cast(tensor.Float32).Cast(tensor.Float64).MulScalar(2)
	},
		// A float32 round trip is a staircase of steps of ~1e-7: the
		// difference step must be far wider than a stair.
		opts: &autograd.CheckOptions{Eps: 1e-2, Atol: 1e-4}},
	{"Where", [][]int{{3, 4}, {4}}, func(x ...*autograd.Var) *autograd.Var {
		cond := tensor.FromSlice([]bool{true, false, true, true, false, false, true, false, true, true, true, false}, 3, 4)
		return autograd.Where(cond, x[0], x[1])
	}, false, false, nil, false},
	{"Sum", [][]int{{2, 3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Sum(0, 2) }, false, false, nil, false},
	{"Sum", [][]int{{2, 3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].SumKeep(-1) }, false, false, nil, false},
	{"Sum", [][]int{{2, 3}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Mean() }, false, false, nil, false},
	{"Sum", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Var(1) }, false, false, nil, false},
	{op: "Sum", shapes: [][]int{{3, 4}}, f: func(x ...*autograd.Var) *autograd.Var { return x[0].Std(0) }, noBroadcast: true},
	{"Sum", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].LogSumExp(1) }, false, false, nil, false},
	{"Prod", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Prod(1) }, true, false, nil, false},
	{"Max", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Max(1) }, false, false, nil, false},
	{op: "Max", shapes: [][]int{{3, 4}}, f: func(x ...*autograd.Var) *autograd.Var { return x[0].MaxKeep() }, noBroadcast: true},
	{op: "Min", shapes: [][]int{{3, 4}}, f: func(x ...*autograd.Var) *autograd.Var { return x[0].Min(0) }, noBroadcast: true},
	{"MatMul", [][]int{{3, 4}, {4, 2}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MatMul(x[1]) }, false, false, nil, false},
	{"MatMul", [][]int{{2, 3, 4}, {4, 5}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MatMul(x[1]) }, false, false, nil, false},
	{"MatMul", [][]int{{4}, {2, 4, 3}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MatMul(x[1]) }, false, false, nil, false},
	{"MatMul", [][]int{{3, 4}, {4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].MatMul(x[1]) }, false, false, nil, false},
	{"Softmax", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Softmax(1) }, false, false, nil, false},
	{"Softmax", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Softmax(0) }, false, false, nil, false},
	{"LogSoftmax", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].LogSoftmax(-1) }, false, false, nil, false},
	{"Normalize", [][]int{{3, 5}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Normalize(1e-5, 1) }, false, false, nil, false},
	{"Normalize", [][]int{{2, 3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Normalize(0.1, 1, 2) }, false, false, nil, false},
	{"Normalize", [][]int{{4, 3}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Normalize(1e-3, 0) }, false, false, nil, true},
	{"Reshape", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Reshape(2, 6).MulScalar(2) }, false, false, nil, false},
	{"Reshape", [][]int{{3, 1, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Squeeze().Unsqueeze(0).Flatten() }, false, false, nil, false},
	{"Permute", [][]int{{2, 3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Permute(2, 0, 1).Mul(x[0].Permute(2, 0, 1)) }, false, false, nil, false},
	{"Permute", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].T().Transpose(0, 1) }, false, false, nil, false},
	{"Expand", [][]int{{3, 1}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Expand(2, 3, 4) }, false, false, nil, false},
	{"Slice", [][]int{{5, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Slice(0, 1, 5, 2) }, false, false, nil, false},
	{"Slice", [][]int{{5, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].Index(1, -1).Add(x[0].Narrow(1, 0, 1).Squeeze(1)) }, false, false, nil, false},
	{"SliceScatter", [][]int{{5, 4}}, func(x ...*autograd.Var) *autograd.Var {
		// Second order through Slice's adjoint is checked in TestHigherOrder;
		// here SliceScatter's own rule runs via a slice of a slice.
		return x[0].Slice(1, 0, 4, 2).Slice(0, 2, 5)
	}, false, false, nil, false},
	{"Contiguous", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var { return x[0].T().Contiguous() }, false, false, nil, false},
	{"Cat", [][]int{{2, 3}, {4, 3}}, func(x ...*autograd.Var) *autograd.Var { return autograd.Cat([]*autograd.Var{x[0], x[1], x[0]}, 0) }, false, false, nil, false},
	{"Cat", [][]int{{2, 3}, {2, 3}}, func(x ...*autograd.Var) *autograd.Var { return autograd.Stack([]*autograd.Var{x[0], x[1]}, -1) }, false, false, nil, false},
	{"Cat", [][]int{{5, 3}}, func(x ...*autograd.Var) *autograd.Var {
		p := x[0].Split(2, 0)
		return p[0].Sum().Add(p[2].Sum().MulScalar(3)).Add(x[0].Chunk(2, 1)[1].Sum())
	}, false, false, nil, false},
	{"Gather", [][]int{{3, 4}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].Gather(1, idx([]int64{3, 0, 0, 1, 2, 2}, 3, 2))
	}, false, false, nil, false},
	{"IndexSelect", [][]int{{4, 3}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].IndexSelect(0, idx([]int64{3, 0, 3}))
	}, false, false, nil, false},
	{"ScatterAdd", [][]int{{3, 4}, {3, 2}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].ScatterAdd(1, idx([]int64{3, 0, 0, 0, 2, 1}, 3, 2), x[1])
	}, false, false, nil, false},
	{"Unfold2d", [][]int{{2, 3, 5, 6}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].Unfold2d(testWindow).Square()
	}, false, false, nil, false},
	{"Unfold2d", [][]int{{1, 2, 4, 4}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].Unfold2d(tensor.Window2d{InH: 4, InW: 4, OutH: 3, OutW: 3, KH: 2, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1})
	}, false, false, nil, false},
	{"WindowMax2d", [][]int{{2, 3, 5, 6}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].WindowMax2d(testWindow).Square()
	}, false, false, nil, true},
	{"WindowMax2d", [][]int{{1, 2, 6, 6}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].WindowMax2d(tensor.Window2d{InH: 6, InW: 6, OutH: 3, OutW: 3, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1})
	}, false, false, nil, true},
	{"Fold2d", [][]int{{2, 3, 6, 9}}, func(x ...*autograd.Var) *autograd.Var {
		return x[0].Fold2d(testWindow).Square()
	}, false, false, nil, false},
}

// prepare adjusts a random input for a case's domain.
func prepare(c gradCase, x *tensor.Tensor) *tensor.Tensor {
	switch {
	case c.pos:
		return x.Abs().AddScalar(0.5)
	case c.away:
		// Push values away from 0 and from the points where floor/round
		// and clamp jump, so finite differences do not straddle a kink.
		s := x.Sign()
		return x.Abs().AddScalar(0.1).Mul(s.Add(s.EqScalar(0).Cast(s.DType()))).MulScalar(0.37).AddScalar(0.011)
	}
	return x
}

func TestGradCheckEveryOp(t *testing.T) {
	g := tensor.NewGenerator(1)
	for i, c := range gradCases {
		kinds := []string{"contiguous", "transposed", "sliced", "broadcast"}
		for _, kind := range kinds {
			inputs := make([]*tensor.Tensor, len(c.shapes))
			ok := true
			for j, s := range c.shapes {
				l := layouts(g, s)
				x, has := l[kind]
				if !has {
					ok = false
					break
				}
				inputs[j] = prepare(c, x)
			}
			if !ok || (c.noBroadcast && kind == "broadcast") {
				continue
			}
			name := fmt.Sprintf("%d:%s/%s", i, c.op, kind)
			if err := autograd.GradCheck(c.f, inputs, c.opts); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// TestEveryOpHasRuleOrMark checks the table: each entry has a backward rule
// or is explicitly not differentiable, every differentiable entry is
// exercised by a GradCheck case above, and every method of tensor.Tensor
// that computes a value has a Var counterpart.
func TestEveryOpHasRuleOrMark(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range gradCases {
		tested[c.op] = true
	}
	for _, name := range autograd.OpNames() {
		diff, ok := autograd.IsDifferentiable(name)
		if !ok {
			t.Fatalf("%s listed but not found", name)
		}
		if diff && !tested[name] {
			t.Errorf("op %s has a backward rule that no GradCheck case exercises", name)
		}
	}
	// Methods of tensor.Tensor that are not ops on values: accessors,
	// read-outs, in-place writes and device movement.
	notOps := map[string]bool{
		"Shape": true, "Strides": true, "Offset": true, "DType": true, "Device": true, "Backend": true,
		"Buffer": true, "Layout": true, "Dim": true, "Numel": true, "Size": true, "IsContiguous": true,
		"SharesStorage": true, "Float32s": true, "Float64s": true, "Int64s": true, "Ints": true, "Bools": true,
		"Item": true, "At": true, "String": true, "Format": true, "CopyFrom": true, "Fill_": true, "To": true,
		"Clone": true, "ScatterAdd_": true, "SplitSizes": true,
		"Release": true, "ExclusiveStorage": true, "Released": true, "Alias": true, "Add_": true, "Sub_": true, "Mul_": true, "Div_": true,
		"MulScalar_": true, "DivScalar_": true, "AddScalar_": true, "Zero_": true, "AddScaled_": true, "Lerp_": true, "Axpby_": true,
		"AddMul_": true, "AddDiv_": true,
	}
	tt := reflect.TypeOf(&tensor.Tensor{})
	vt := reflect.TypeOf(&autograd.Var{})
	for i := 0; i < tt.NumMethod(); i++ {
		m := tt.Method(i).Name
		if notOps[m] {
			continue
		}
		if _, ok := vt.MethodByName(m); !ok {
			t.Errorf("tensor.Tensor.%s has no autograd.Var counterpart (add it, or list it as not an op)", m)
		}
	}
}

func TestNonDifferentiableOps(t *testing.T) {
	x := autograd.Param(tensor.FromSlice([]float32{1, 3, 2}))
	for _, v := range []*autograd.Var{x.ArgMax(), x.Gt(x), x.Eq(x.MulScalar(1))} {
		if v.RequiresGrad() {
			t.Fatalf("%s output requires grad", v.Op())
		}
	}
	for _, name := range []string{"ArgMax", "ArgMin", "Eq", "Ne", "Lt", "Le", "Gt", "Ge"} {
		if diff, ok := autograd.IsDifferentiable(name); !ok || diff {
			t.Errorf("%s: differentiable=%v found=%v, want an explicit not-differentiable mark", name, diff, ok)
		}
	}
}
