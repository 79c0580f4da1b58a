package autograd_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// The expressions of testdata/gen_fixtures.py, written with Var ops.
var torchExprs = map[string]func(x ...*autograd.Var) *autograd.Var{
	"mlp_tanh": func(x ...*autograd.Var) *autograd.Var {
		return x[0].MatMul(x[1]).Add(x[2]).Tanh().MatMul(x[3]).PowScalar(2).Mean()
	},
	"cross_entropy": func(x ...*autograd.Var) *autograd.Var {
		y := tensor.FromSlice([]int64{1, 0, 4, 2}, 4, 1)
		return x[0].LogSoftmax(1).Gather(1, y).Mean().Neg()
	},
	"broadcast_sigmoid": func(x ...*autograd.Var) *autograd.Var {
		return x[0].Mul(x[1]).Sigmoid().Sum(0).Log1p()
	},
	"layernorm_gelu": func(x ...*autograd.Var) *autograd.Var {
		c := x[0].Sub(x[0].MeanKeep(-1))
		v := x[0].VarCorrected(0, true, -1)
		return c.Div(v.AddScalar(1e-5).Sqrt()).GELU().PowScalar(2).Sum()
	},
	"pow_div": func(x ...*autograd.Var) *autograd.Var {
		return x[0].Pow(x[1]).Div(x[0].AddScalar(1))
	},
	"softmax_matmul": func(x ...*autograd.Var) *autograd.Var {
		return x[0].MatMul(x[1].Transpose(-1, -2)).DivScalar(2).Softmax(-1).MatMul(x[2])
	},
	"logsumexp_max": func(x ...*autograd.Var) *autograd.Var {
		return x[0].LogSumExp(1).Add(x[0].Max(0).Sum().MulScalar(0.5))
	},
	"silu_sqrt_exp": func(x ...*autograd.Var) *autograd.Var {
		return x[0].SiLU().Exp().AddScalar(1).Sqrt().Sum(1)
	},
	"slice_cat": func(x ...*autograd.Var) *autograd.Var {
		a := x[0].Slice(1, 1, 4, 2).Sin()
		b := x[0].Slice(1, 0, 1).Cos().Mul(x[0].Slice(1, -1, 5))
		return autograd.Cat([]*autograd.Var{a, b}, 1)
	},
	"index_scatter": func(x ...*autograd.Var) *autograd.Var {
		sel := x[0].IndexSelect(0, tensor.FromSlice([]int64{2, 0, 2})).MulScalar(2).Sum(0)
		z := autograd.Const(tensor.Zeros([]int{4}, tensor.WithDType(tensor.Float64)))
		return sel.Add(z.ScatterAdd(0, tensor.FromSlice([]int64{1, 3, 1}), x[1]).Tanh())
	},
}

type torchTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (j torchTensor) tensor() *tensor.Tensor { return tensor.FromSlice(j.Data, j.Shape...) }

type torchGradCase struct {
	Name   string        `json:"name"`
	Inputs []torchTensor `json:"inputs"`
	Output torchTensor   `json:"output"`
	W      torchTensor   `json:"w"`
	Grads  []torchTensor `json:"grads"`
	V      []torchTensor `json:"v"`
	Second []torchTensor `json:"second"`
}

// TestTorchGradients compares first and second derivatives of composite
// expressions with torch.autograd.grad (float64; tolerance 1e-10 relative,
// as both sides round exp/log/tanh differently in the last bits).
func TestTorchGradients(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_grads.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []torchGradCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases in the fixture")
	}
	cmp := func(t *testing.T, what string, got *tensor.Tensor, want torchTensor) {
		t.Helper()
		gs := got.Shape()
		if len(gs) != len(want.Shape) {
			t.Fatalf("%s: shape %v, torch %v", what, gs, want.Shape)
		}
		g := got.Float64s()
		for i := range want.Data {
			if d := math.Abs(g[i] - want.Data[i]); d > 1e-10*math.Max(1, math.Abs(want.Data[i])) {
				t.Fatalf("%s[%d] = %.15g, torch %.15g", what, i, g[i], want.Data[i])
			}
		}
	}
	for _, c := range file.Cases {
		f, ok := torchExprs[c.Name]
		if !ok {
			t.Errorf("fixture %s has no Go expression", c.Name)
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			xs := make([]*autograd.Var, len(c.Inputs))
			for i, in := range c.Inputs {
				xs[i] = autograd.Param(in.tensor())
			}
			y := f(xs...)
			cmp(t, "output", y.Data, c.Output)
			grads := autograd.Grad([]*autograd.Var{y}, xs, []*tensor.Tensor{c.W.tensor()}, autograd.CreateGraph())
			var s *autograd.Var
			for i, g := range grads {
				cmp(t, "grad", g.Data, c.Grads[i])
				term := g.Mul(autograd.Const(c.V[i].tensor())).Sum()
				if s == nil {
					s = term
				} else {
					s = s.Add(term)
				}
			}
			second := autograd.Grad([]*autograd.Var{s}, xs, nil)
			for i, g := range second {
				if g == nil {
					g = autograd.Const(tensor.ZerosLike(xs[i].Data))
				}
				cmp(t, "second", g.Data, c.Second[i])
			}
		})
	}
}
