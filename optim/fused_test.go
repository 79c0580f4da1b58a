package optim_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// TestFusedAdamMatchesComposite trains a parameter for eight steps with
// Adam (plain and with L2 decay) and AdamW, once through the fused update
// (backend.Adam, which the CPU backend has) and once through the composite
// ops, and requires the same parameters: the fused kernel repeats the
// composite's rounding, except that the CPU's vector Axpby may fuse one
// multiply-add (an ulp now and then).
func TestFusedAdamMatchesComposite(t *testing.T) {
	z := func() *tensor.Tensor { return tensor.Zeros([]int{3}) }
	if !tensor.AdamUpdate_(z(), z(), z(), z(), backend.AdamArgs{Decay: 1, Beta1: 0.9, Beta2: 0.999, StepSize: 1, BC2Sqrt: 1, Eps: 1e-8}) {
		t.Fatal("tensor.AdamUpdate_ did not run on contiguous CPU tensors")
	}
	type mk func(ps []*autograd.Var) optim.Optimizer
	opts := map[string]mk{
		"Adam": func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdam(ps, optim.WithLR(0.01)) },
		"Adam+L2": func(ps []*autograd.Var) optim.Optimizer {
			return optim.NewAdam(ps, optim.WithLR(0.01), optim.WithWeightDecay(0.1))
		},
		"AdamW":      func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdamW(ps, optim.WithLR(0.01)) },
		"AdamW+max":  func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdamW(ps, optim.WithMaximize(true)) },
		"AdamW+eps0": func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdamW(ps, optim.WithEps(0)) },
	}
	for name, make := range opts {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			t.Run(fmt.Sprintf("%s/%v", name, dt), func(t *testing.T) {
				run := func(composite bool) []float64 {
					*optim.NoFusedAdam = composite
					defer func() { *optim.NoFusedAdam = false }()
					g := tensor.NewGenerator(7)
					p := autograd.Param(tensor.RandN(g, []int{5, 37}, tensor.WithDType(dt)))
					w := autograd.Const(tensor.RandN(g, []int{5, 37}, tensor.WithDType(dt)))
					o := make([]*autograd.Var{p})
					for range 8 {
						o.ZeroGrad()
						p.Mul(p).Mul(w).Sum().Backward()
						o.Step()
					}
					return p.Data.Float64s()
				}
				fused, comp := run(false), run(true)
				tol := 1e-14
				if dt == tensor.Float32 {
					tol = 4e-7
				}
				changed := false
				for i := range fused {
					if d := math.Abs(fused[i] - comp[i]); !(d <= tol*math.Max(1, math.Abs(comp[i]))) {
						t.Fatalf("[%d]: fused %v, composite %v", i, fused[i], comp[i])
					}
					changed = changed || fused[i] != comp[i]
				}
				t.Logf("bit-identical: %v", !changed)
			})
		}
	}
}
