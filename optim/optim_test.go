package optim_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/backend/cpu"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// mustPanic runs f and checks that it panics with a *tensor.Error whose
// message contains want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	err := tensor.Try(f)
	var te *tensor.Error
	if !errors.As(err, &te) || te.Kind != tensor.ValueError || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want a ValueError mentioning %q", err, want)
	}
}

func param(vals ...float32) *autograd.Var {
	return autograd.Param(tensor.FromSlice(vals, len(vals)))
}

func TestOptionValidation(t *testing.T) {
	p := param(1, 2)
	ps := []*autograd.Var{p}
	mustPanic(t, "WithAlpha does not apply", func() { optim.NewSGD(ps, optim.WithLR(1), optim.WithAlpha(0.9)) })
	mustPanic(t, "learning rate is required", func() { optim.NewSGD(ps) })
	mustPanic(t, "Nesterov", func() { optim.NewSGD(ps, optim.WithLR(1), optim.WithNesterov(true)) })
	mustPanic(t, "beta", func() { optim.NewAdam(ps, optim.WithBetas(0.9, 1)) })
	mustPanic(t, "learning rate", func() { optim.NewRMSprop(ps, optim.WithLR(-1)) })
	mustPanic(t, "WithMomentum does not apply", func() { optim.NewAdagrad(ps, optim.WithMomentum(0.9)) })
	mustPanic(t, "WithPatience does not apply", func() { optim.NewAdam(ps, optim.WithPatience(3)) })
	mustPanic(t, "WithBetas does not apply", func() {
		optim.NewSGD([]optim.ParamGroup{optim.Group(ps, optim.WithBetas(0.5, 0.5))}, optim.WithLR(1))
	})
	mustPanic(t, "sets Alpha", func() {
		optim.NewAdam([]optim.ParamGroup{{Params: ps, Hyper: optim.Hyper{Alpha: 0.5}}})
	})
	mustPanic(t, "appears twice", func() { optim.NewAdam([]*autograd.Var{p, p}) })
	mustPanic(t, "appears twice", func() {
		optim.NewAdam([]optim.ParamGroup{optim.Group(ps), optim.Group(ps)})
	})
	mustPanic(t, "not a leaf", func() { optim.NewAdam([]*autograd.Var{p.MulScalar(2)}) })
	mustPanic(t, "no parameters", func() { optim.NewAdam([]optim.ParamGroup{}) })
	// A group's explicit zero takes the place of a non-zero default.
	sgd := optim.NewSGD([]optim.ParamGroup{optim.Group(ps, optim.WithLR(0))})
	if lr := sgd.ParamGroups()[0].LR; lr != 0 {
		t.Errorf("explicit zero lr: %v", lr)
	}
}

// TestGroupResolution checks how a group's hyperparameters come together:
// torch's defaults, then the constructor's options, then a literal's
// non-zero fields, then the group's options.
func TestGroupResolution(t *testing.T) {
	a, b, c := param(1), param(2), param(3)
	opt := optim.NewAdamW([]optim.ParamGroup{
		optim.Group([]*autograd.Var{a}),
		optim.Group([]*autograd.Var{b}, optim.WithWeightDecay(0), optim.WithBetas(0, 0.99)),
		{Params: []*autograd.Var{c}, Hyper: optim.Hyper{LR: 0.5, Eps: 1e-3}},
	}, optim.WithLR(0.01), optim.WithAMSGrad(true))
	g := opt.ParamGroups()
	want := []optim.Hyper{
		{LR: 0.01, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 0.01, AMSGrad: true},
		{LR: 0.01, Betas: [2]float64{0, 0.99}, Eps: 1e-8, WeightDecay: 0, AMSGrad: true},
		{LR: 0.5, Betas: [2]float64{0.9, 0.999}, Eps: 1e-3, WeightDecay: 0.01, AMSGrad: true},
	}
	for i := range want {
		if g[i].Hyper != want[i] {
			t.Errorf("group %d: %+v, want %+v", i, g[i].Hyper, want[i])
		}
	}
	// AddParamGroup resolves the same way.
	d := param(4)
	opt.AddParamGroup(optim.Group([]*autograd.Var{d}, optim.WithLR(0.2)))
	if h := opt.ParamGroups()[3].Hyper; h.LR != 0.2 || h.WeightDecay != 0.01 {
		t.Errorf("added group: %+v", h)
	}
	mustPanic(t, "appears twice", func() { opt.AddParamGroup(optim.Group([]*autograd.Var{a})) })
}

func TestStepSkipsAndZeroGrad(t *testing.T) {
	a, b := param(1, 2), param(3)
	opt := optim.NewSGD([]*autograd.Var{a, b}, optim.WithLR(0.5), optim.WithMomentum(0.9))
	a.SetGrad(tensor.FromSlice([]float32{1, -1}, 2))
	opt.Step()
	if got := a.Data.Float32s(); !slices.Equal(got, []float32{0.5, 2.5}) {
		t.Errorf("a = %v", got)
	}
	if got := b.Data.Float32s(); !slices.Equal(got, []float32{3}) {
		t.Errorf("b without a gradient changed: %v", got)
	}
	if s := opt.StateDict(); len(s.State) != 1 || s.State[0].Tensors["momentum_buffer"] == nil {
		t.Errorf("state %+v", s.State)
	}
	opt.ZeroGrad()
	if a.Grad() != nil {
		t.Error("ZeroGrad kept a gradient")
	}
}

func TestUpdateKeepsDTypeAndStorage(t *testing.T) {
	p := autograd.Param(tensor.FromSlice([]float64{1, 2, 3}, 3))
	data := p.Data
	opt := optim.NewAdam([]*autograd.Var{p}, optim.WithLR(0.1))
	p.SetGrad(tensor.FromSlice([]float64{1, -1, 0.5}, 3))
	opt.Step()
	if p.Data != data || p.Data.DType() != tensor.Float64 {
		t.Fatalf("the update replaced the parameter's tensor or its dtype (%v)", p.Data.DType())
	}
	// Adam's first step moves each coordinate by lr·sign(g) up to eps.
	want := []float64{0.9, 2.1, 2.9}
	for i, v := range p.Data.Float64s() {
		if math.Abs(v-want[i]) > 1e-7 {
			t.Errorf("p[%d] = %v, want %v", i, v, want[i])
		}
	}
}

// TestAdagradGroupAccumulator documents a deliberate difference from torch
// 1.13, which fills every sum with the constructor's
// initial_accumulator_value: a group's own value is honoured.
func TestAdagradGroupAccumulator(t *testing.T) {
	a, b := param(0), param(0)
	opt := optim.NewAdagrad([]optim.ParamGroup{
		optim.Group([]*autograd.Var{a}),
		optim.Group([]*autograd.Var{b}, optim.WithInitialAccumulatorValue(3)),
	}, optim.WithInitialAccumulatorValue(1))
	s := opt.StateDict()
	if x, y := s.State[0].Tensors["sum"].Item(), s.State[1].Tensors["sum"].Item(); x != 1 || y != 3 {
		t.Errorf("sums %v %v, want 1 3", x, y)
	}
}

func TestOneCycleLimits(t *testing.T) {
	p := param(1)
	sgd := optim.NewSGD([]*autograd.Var{p}, optim.WithLR(0.1), optim.WithMomentum(0.9))
	s := optim.NewOneCycleLR(sgd, 1, 3)
	for range 3 {
		s.Step()
	}
	mustPanic(t, "total steps is 3", s.Step)
	ada := optim.NewAdagrad([]*autograd.Var{param(1)})
	mustPanic(t, "momentum", func() { optim.NewOneCycleLR(ada, 1, 10) })
	optim.NewOneCycleLR(ada, 1, 10, optim.WithCycleMomentum(false))
	mustPanic(t, "anneal_strategy", func() { optim.NewOneCycleLR(sgd, 1, 10, optim.WithAnnealStrategy("exp")) })
	mustPanic(t, "max_lr", func() { optim.NewOneCycleLR(sgd, 1, 10, optim.WithMaxLR(1, 2)) })
}

func TestSchedulerValidation(t *testing.T) {
	opt := optim.NewSGD([]*autograd.Var{param(1)}, optim.WithLR(0.1))
	mustPanic(t, "factor", func() { optim.NewReduceLROnPlateau(opt, optim.WithFactor(1)) })
	mustPanic(t, "mode", func() { optim.NewReduceLROnPlateau(opt, optim.WithMode("up")) })
	mustPanic(t, "WithPctStart does not apply", func() { optim.NewReduceLROnPlateau(opt, optim.WithPctStart(0.1)) })
	mustPanic(t, "milestones", func() {
		optim.NewSequentialLR(opt, []optim.Scheduler{optim.NewExponentialLR(opt, 0.9)}, []int{3})
	})
	other := optim.NewSGD([]*autograd.Var{param(1)}, optim.WithLR(0.1))
	mustPanic(t, "another optimizer", func() {
		optim.NewChainedScheduler(optim.NewExponentialLR(opt, 0.9), optim.NewExponentialLR(other, 0.9))
	})
	mustPanic(t, "step size", func() { optim.NewStepLR(opt, 0, 0.1) })
}

// TestSchedulerSetsGroups checks that a scheduler drives the optimizer's
// groups, which the next Step uses.
func TestSchedulerSetsGroups(t *testing.T) {
	p := param(0)
	opt := optim.NewSGD([]*autograd.Var{p}, optim.WithLR(1))
	s := optim.NewStepLR(opt, 1, 0.5)
	for range 3 {
		p.SetGrad(tensor.FromSlice([]float32{1}, 1))
		opt.Step()
		s.Step()
	}
	// Steps of 1, 0.5 and 0.25.
	if got := p.Data.Item(); got != -1.75 {
		t.Errorf("p = %v, want -1.75", got)
	}
	if got := s.LastLR(); !slices.Equal(got, []float64{0.125}) || opt.ParamGroups()[0].InitialLR != 1 {
		t.Errorf("LastLR %v, InitialLR %v", got, opt.ParamGroups()[0].InitialLR)
	}
}

func TestClipGradNormBroadcastAndErrors(t *testing.T) {
	// A gradient that is a broadcast view (stride 0) is replaced, not
	// written through.
	p := autograd.Param(tensor.Zeros([]int{4}))
	p.SetGrad(tensor.FromSlice([]float32{2}, 1).Expand(4))
	total, err := optim.ClipGradNorm([]*autograd.Var{p}, 1, 2, false)
	if err != nil || math.Abs(total-4) > 1e-6 {
		t.Fatalf("total %v, err %v", total, err)
	}
	for _, v := range p.Grad().Float32s() {
		if math.Abs(float64(v)-0.5) > 1e-6 {
			t.Errorf("clipped grad %v, want 0.5", p.Grad().Float32s())
			break
		}
	}
	if _, err := optim.ClipGradNorm([]*autograd.Var{p}, 1, 0, false); err == nil {
		t.Error("norm type 0: no error")
	}
	if total, err := optim.ClipGradNorm([]*autograd.Var{param(1)}, 1, 2, true); total != 0 || err != nil {
		t.Errorf("no gradients: %v, %v", total, err)
	}
	// In place: a reference to the gradient sees the clipped values.
	q := param(0, 0)
	q.SetGrad(tensor.FromSlice([]float32{3, 4}, 2))
	g := q.Grad()
	optim.ClipGradNorm([]*autograd.Var{q}, 1, 2, false)
	if got := g.Float32s(); math.Abs(float64(got[0])-0.6) > 1e-6 {
		t.Errorf("gradient reference sees %v", got)
	}
}

// Clipping outside any scope must not pin the gradients it reads: with it,
// a steady-state loop still reuses every buffer (no pool misses).
func TestClipOutsideScopeRecycles(t *testing.T) {
	g := tensor.NewGenerator(3)
	w := autograd.Param(tensor.RandN(g, []int{64, 48}))
	x := autograd.Const(tensor.RandN(g, []int{16, 64}))
	step := func() {
		tensor.Tidy(func() {
			w.ZeroGrad()
			x.MatMul(w).Sum().Backward()
		})
		if _, err := optim.ClipGradNorm([]*autograd.Var{w}, 0.01, 2, false); err != nil {
			t.Fatal(err)
		}
		optim.ClipGradValue([]*autograd.Var{w}, 1e-3)
	}
	step()
	step()
	before := cpu.Pool().Misses
	for range 5 {
		step()
	}
	if m := cpu.Pool().Misses - before; m != 0 {
		t.Fatalf("%d pool misses in 5 steady-state steps: clipping pinned the gradients", m)
	}
	if n, _ := optim.GradNorm([]*autograd.Var{w}, math.Inf(1)); n > 1e-3*(1+1e-6) {
		t.Fatalf("gradient not clipped: max |g| = %v", n)
	}
}
