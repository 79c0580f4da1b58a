package optim_test

// PyTorch reference fixtures: testdata/optim_fixtures.json holds torch
// 1.13's trajectories for every optimizer, learning-rate sequences for every
// scheduler and gradient-clipping results (written by
// testdata/gen_optim_fixtures.py, whose docstring describes the format).
// These tests replay each case through package optim and compare, so `go
// test` checks optim against PyTorch without Python. Regenerate with
//
//	/usr/bin/python3 optim/testdata/gen_optim_fixtures.py
//
// Tolerances. Parameters are float32 and compared at rel 1e-5, abs 1e-6
// after every step: Tessera rounds every float32 op once, like torch, and
// follows torch's order of operations, but torch's CPU kernels may fuse a
// multiply-add (add_ with alpha, addcmul_, addcdiv_), which differs in the
// last bit; 20 steps compound that to a few ulps. The final state tensors
// are compared at rel 1e-4, abs 1e-6: the second-moment estimates (exp_avg_sq,
// square_avg, sum) are sums of squares of gradients whose own last-bit
// differences are doubled by the squaring, and grad_avg's centred variance
// v − ḡ² cancels; parameters never see the worst of it because it enters
// through a square root. Learning rates are float64 and compared at rel 1e-9
// (math.Pow and math.Cos may differ from C's by an ulp). Gradient norms are
// compared at rel 1e-5: torch computes them in float32, Tessera in float64.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

const (
	fixturePath   = "testdata/optim_fixtures.json"
	fixtureFormat = "tessera-optim-fixtures/1"
)

// num is a fixture number: a JSON number or "nan", "inf", "-inf".
type num float64

func (n *num) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "nan":
			*n = num(math.NaN())
		case "inf":
			*n = num(math.Inf(1))
		case "-inf":
			*n = num(math.Inf(-1))
		default:
			return fmt.Errorf("bad number %q", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*n = num(v)
	return err
}

// f32s is a float32 vector of the fixtures, parsed as float32.
type f32s []float32

func (v *f32s) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = make(f32s, len(raw))
	for i, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			var n num
			if err := n.UnmarshalJSON(r); err != nil {
				return err
			}
			(*v)[i] = float32(n)
			continue
		}
		x, err := strconv.ParseFloat(string(r), 32)
		if err != nil {
			return err
		}
		(*v)[i] = float32(x)
	}
	return nil
}

type fixtureFile struct {
	Format       string `json:"format"`
	TorchVersion string `json:"torch_version"`
	Steps        int    `json:"steps"`
	Params       struct {
		Shapes [][]int  `json:"shapes"`
		Init   []f32s   `json:"init"`
		Grads  [][]f32s `json:"grads"`
	} `json:"params"`
	Optimizers []optCase   `json:"optimizers"`
	Schedulers []schedCase `json:"schedulers"`
	Clip       []clipCase  `json:"clip"`
}

type optCase struct {
	Name       string                     `json:"name"`
	Optimizer  string                     `json:"optimizer"`
	Defaults   map[string]json.RawMessage `json:"defaults"`
	Groups     []fixtureGroup             `json:"groups"`
	Skip       [][2]int                   `json:"skip"`
	Trajectory [][]f32s                   `json:"trajectory"`
	State      struct {
		State       map[string]map[string]json.RawMessage `json:"state"`
		ParamGroups []map[string]json.RawMessage          `json:"param_groups"`
	} `json:"state"`
}

type fixtureGroup struct {
	Params  []int                      `json:"params"`
	Options map[string]json.RawMessage `json:"options"`
}

type schedSpec struct {
	Type       string                     `json:"type"`
	Args       map[string]json.RawMessage `json:"args"`
	Children   []schedSpec                `json:"children"`
	Milestones []int                      `json:"milestones"`
}

type schedCase struct {
	Name      string `json:"name"`
	Optimizer struct {
		Optimizer string                     `json:"optimizer"`
		LRs       []float64                  `json:"lrs"`
		Defaults  map[string]json.RawMessage `json:"defaults"`
	} `json:"optimizer"`
	Scheduler schedSpec `json:"scheduler"`
	Steps     int       `json:"steps"`
	Metrics   []num     `json:"metrics"`
	LRs       [][]num   `json:"lrs"`
	Momentum  [][]num   `json:"momentum"`
}

type clipCase struct {
	Name    string                     `json:"name"`
	Func    string                     `json:"func"`
	Args    map[string]json.RawMessage `json:"args"`
	Shapes  [][]int                    `json:"shapes"`
	Grads   []*f32s                    `json:"grads"`
	Total   *num                       `json:"total"`
	Error   bool                       `json:"error"`
	Clipped []*f32s                    `json:"clipped"`
}

func loadFixtures(t *testing.T) *fixtureFile {
	t.Helper()
	b, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatalf("reading the PyTorch fixtures (regenerate with /usr/bin/python3 optim/testdata/gen_optim_fixtures.py): %v", err)
	}
	var f fixtureFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decoding %s: %v", fixturePath, err)
	}
	if f.Format != fixtureFormat {
		t.Fatalf("%s: format %q, want %q", fixturePath, f.Format, fixtureFormat)
	}
	if len(f.Optimizers) == 0 || len(f.Schedulers) == 0 || len(f.Clip) == 0 {
		t.Fatalf("%s: a section is empty", fixturePath)
	}
	return &f
}

// ---------------------------------------------------------------- options

func rawFloat(t *testing.T, r json.RawMessage) float64 {
	t.Helper()
	var n num
	if err := json.Unmarshal(r, &n); err != nil {
		t.Fatalf("bad number %s: %v", r, err)
	}
	return float64(n)
}

func rawBool(t *testing.T, r json.RawMessage) bool {
	t.Helper()
	var b bool
	if err := json.Unmarshal(r, &b); err != nil {
		t.Fatalf("bad bool %s: %v", r, err)
	}
	return b
}

func rawInt(t *testing.T, r json.RawMessage) int {
	t.Helper()
	var n int
	if err := json.Unmarshal(r, &n); err != nil {
		t.Fatalf("bad int %s: %v", r, err)
	}
	return n
}

func rawFloats(t *testing.T, r json.RawMessage) []float64 {
	t.Helper()
	var v []num
	if json.Unmarshal(r, &v) != nil {
		return []float64{rawFloat(t, r)}
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// hyperOptions turns torch's keyword arguments into options; an unknown
// keyword fails the test, so a fixture never goes half-replayed.
func hyperOptions(t *testing.T, kw map[string]json.RawMessage) []optim.Option {
	t.Helper()
	var opts []optim.Option
	for k, v := range kw {
		switch k {
		case "lr":
			opts = append(opts, optim.WithLR(rawFloat(t, v)))
		case "momentum":
			opts = append(opts, optim.WithMomentum(rawFloat(t, v)))
		case "dampening":
			opts = append(opts, optim.WithDampening(rawFloat(t, v)))
		case "nesterov":
			opts = append(opts, optim.WithNesterov(rawBool(t, v)))
		case "weight_decay":
			opts = append(opts, optim.WithWeightDecay(rawFloat(t, v)))
		case "maximize":
			opts = append(opts, optim.WithMaximize(rawBool(t, v)))
		case "betas":
			b := rawFloats(t, v)
			opts = append(opts, optim.WithBetas(b[0], b[1]))
		case "eps":
			opts = append(opts, optim.WithEps(rawFloat(t, v)))
		case "amsgrad":
			opts = append(opts, optim.WithAMSGrad(rawBool(t, v)))
		case "alpha":
			opts = append(opts, optim.WithAlpha(rawFloat(t, v)))
		case "centered":
			opts = append(opts, optim.WithCentered(rawBool(t, v)))
		case "lr_decay":
			opts = append(opts, optim.WithLRDecay(rawFloat(t, v)))
		case "initial_accumulator_value":
			opts = append(opts, optim.WithInitialAccumulatorValue(rawFloat(t, v)))
		default:
			t.Fatalf("no Go handler for optimizer argument %q", k)
		}
	}
	return opts
}

// optimizers maps torch's class names to constructors.
var optimizers = map[string]func(groups []optim.ParamGroup, opts ...optim.Option) optim.Optimizer{
	"SGD":     func(g []optim.ParamGroup, o ...optim.Option) optim.Optimizer { return optim.NewSGD(g, o...) },
	"Adam":    func(g []optim.ParamGroup, o ...optim.Option) optim.Optimizer { return optim.NewAdam(g, o...) },
	"AdamW":   func(g []optim.ParamGroup, o ...optim.Option) optim.Optimizer { return optim.NewAdamW(g, o...) },
	"RMSprop": func(g []optim.ParamGroup, o ...optim.Option) optim.Optimizer { return optim.NewRMSprop(g, o...) },
	"Adagrad": func(g []optim.ParamGroup, o ...optim.Option) optim.Optimizer { return optim.NewAdagrad(g, o...) },
}

// ---------------------------------------------------------------- optimizers

// optRun is one optimizer case set up for replay.
type optRun struct {
	f      *fixtureFile
	c      *optCase
	params []*autograd.Var
	opt    optim.Optimizer
	skip   map[[2]int]bool
}

func newOptRun(t *testing.T, f *fixtureFile, c *optCase, init [][]float32) *optRun {
	t.Helper()
	build, ok := optimizers[c.Optimizer]
	if !ok {
		t.Fatalf("no Go handler for optimizer %q", c.Optimizer)
	}
	r := &optRun{f: f, c: c, skip: map[[2]int]bool{}}
	for i, shape := range f.Params.Shapes {
		r.params = append(r.params, autograd.Param(tensor.FromSlice(append([]float32(nil), init[i]...), shape...)))
	}
	var groups []optim.ParamGroup
	for _, g := range c.Groups {
		var ps []*autograd.Var
		for _, i := range g.Params {
			ps = append(ps, r.params[i])
		}
		groups = append(groups, optim.Group(ps, hyperOptions(t, g.Options)...))
	}
	r.opt = build(groups, hyperOptions(t, c.Defaults)...)
	for _, s := range c.Skip {
		r.skip[s] = true
	}
	return r
}

// step sets the fixture's gradients for step k and steps the optimizer.
func (r *optRun) step(k int) {
	r.opt.ZeroGrad()
	for i, p := range r.params {
		if !r.skip[[2]int{k, i}] {
			p.SetGrad(tensor.FromSlice(append([]float32(nil), r.f.Params.Grads[k][i]...), r.f.Params.Shapes[i]...))
		}
	}
	r.opt.Step()
}

func closeF32(got, want float32, rel, abs float64) bool {
	g, w := float64(got), float64(want)
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	if math.IsInf(w, 0) {
		return g == w
	}
	return math.Abs(g-w) <= abs+rel*math.Abs(w)
}

func compareF32(t *testing.T, what string, got []float32, want []float32, rel, abs float64) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return false
	}
	for i := range want {
		if !closeF32(got[i], want[i], rel, abs) {
			t.Errorf("%s[%d] = %v, want %v (torch)", what, i, got[i], want[i])
			return false
		}
	}
	return true
}

func TestOptimizerFixtures(t *testing.T) {
	f := loadFixtures(t)
	init := make([][]float32, len(f.Params.Init))
	for i, v := range f.Params.Init {
		init[i] = v
	}
	for i := range f.Optimizers {
		c := &f.Optimizers[i]
		t.Run(c.Name, func(t *testing.T) {
			if len(c.Trajectory) != f.Steps {
				t.Fatalf("trajectory of %d steps, want %d", len(c.Trajectory), f.Steps)
			}
			r := newOptRun(t, f, c, init)
			for k := range f.Steps {
				r.step(k)
				for i, p := range r.params {
					if !compareF32(t, fmt.Sprintf("step %d param %d", k+1, i), p.Data.Float32s(), c.Trajectory[k][i], 1e-5, 1e-6) {
						return
					}
				}
			}
			checkFinalState(t, c, r.opt.StateDict())
		})
	}
}

// checkFinalState compares Tessera's state dict with torch's.
func checkFinalState(t *testing.T, c *optCase, s optim.State) {
	t.Helper()
	if s.Optimizer != c.Optimizer {
		t.Errorf("state of %q, want %q", s.Optimizer, c.Optimizer)
	}
	if len(s.State) != len(c.State.State) {
		t.Errorf("state for %d parameters, torch has %d", len(s.State), len(c.State.State))
	}
	for key, want := range c.State.State {
		idx, _ := strconv.Atoi(key)
		got, ok := s.State[idx]
		if !ok {
			t.Errorf("no state for parameter %d", idx)
			continue
		}
		for name, raw := range want {
			if name == "step" {
				if w := rawFloat(t, raw); got.Step != w {
					t.Errorf("parameter %d: step %v, want %v", idx, got.Step, w)
				}
				continue
			}
			var w f32s
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatalf("state %s: %v", name, err)
			}
			gt, ok := got.Tensors[name]
			if !ok {
				t.Errorf("parameter %d: no state %q", idx, name)
				continue
			}
			compareF32(t, fmt.Sprintf("parameter %d state %s", idx, name), gt.Float32s(), w, 1e-4, 1e-6)
		}
		for name := range got.Tensors {
			if _, ok := want[name]; !ok {
				t.Errorf("parameter %d: state %q that torch does not have", idx, name)
			}
		}
	}
	if len(s.ParamGroups) != len(c.State.ParamGroups) {
		t.Fatalf("%d param groups, want %d", len(s.ParamGroups), len(c.State.ParamGroups))
	}
	for i, want := range c.State.ParamGroups {
		g := s.ParamGroups[i]
		h := g.Hyper
		for k, raw := range want {
			var got any
			var w any
			switch k {
			case "params":
				var ps []int
				json.Unmarshal(raw, &ps)
				got, w = fmt.Sprint(g.Params), fmt.Sprint(ps)
			case "lr":
				got, w = h.LR, rawFloat(t, raw)
			case "momentum":
				got, w = h.Momentum, rawFloat(t, raw)
			case "dampening":
				got, w = h.Dampening, rawFloat(t, raw)
			case "nesterov":
				got, w = h.Nesterov, rawBool(t, raw)
			case "weight_decay":
				got, w = h.WeightDecay, rawFloat(t, raw)
			case "maximize":
				got, w = h.Maximize, rawBool(t, raw)
			case "betas":
				b := rawFloats(t, raw)
				got, w = h.Betas, [2]float64{b[0], b[1]}
			case "eps":
				got, w = h.Eps, rawFloat(t, raw)
			case "amsgrad":
				got, w = h.AMSGrad, rawBool(t, raw)
			case "alpha":
				got, w = h.Alpha, rawFloat(t, raw)
			case "centered":
				got, w = h.Centered, rawBool(t, raw)
			case "lr_decay":
				got, w = h.LRDecay, rawFloat(t, raw)
			case "initial_accumulator_value":
				got, w = h.InitialAccumulatorValue, rawFloat(t, raw)
			default:
				t.Errorf("group %d: no Go handler for torch's group key %q", i, k)
				continue
			}
			if got != w {
				t.Errorf("group %d: %s = %v, want %v", i, k, got, w)
			}
		}
	}
}

// ---------------------------------------------------------------- schedulers

// lambdas are the fixture's named LambdaLR functions (LAMBDAS in the
// generator).
var lambdas = map[string]func(int) float64{
	"pow095": func(e int) float64 { return math.Pow(0.95, float64(e)) },
	"inv1p":  func(e int) float64 { return 1.0 / (1.0 + float64(e)) },
}

// schedRun is a scheduler case set up on a fresh optimizer. Exactly one
// of sched and plateau is set.
type schedRun struct {
	opt     optim.Optimizer
	sched   optim.Scheduler
	plateau *optim.ReduceLROnPlateau
}

func newSchedRun(t *testing.T, c *schedCase) *schedRun {
	t.Helper()
	build, ok := optimizers[c.Optimizer.Optimizer]
	if !ok {
		t.Fatalf("no Go handler for optimizer %q", c.Optimizer.Optimizer)
	}
	var groups []optim.ParamGroup
	for _, lr := range c.Optimizer.LRs {
		groups = append(groups, optim.Group([]*autograd.Var{autograd.Param(tensor.Zeros([]int{2}))}, optim.WithLR(lr)))
	}
	r := &schedRun{opt: build(groups, hyperOptions(t, c.Optimizer.Defaults)...)}
	if c.Scheduler.Type == "ReduceLROnPlateau" {
		r.plateau = optim.NewReduceLROnPlateau(r.opt, plateauOptions(t, c.Scheduler.Args)...)
	} else {
		r.sched = buildScheduler(t, r.opt, c.Scheduler)
	}
	return r
}

func (r *schedRun) step(c *schedCase, k int) {
	r.opt.Step()
	if r.plateau != nil {
		r.plateau.Step(float64(c.Metrics[k]))
	} else {
		r.sched.Step()
	}
}

func (r *schedRun) lastLR() []float64 {
	if r.plateau != nil {
		return r.plateau.LastLR()
	}
	return r.sched.LastLR()
}

// momenta returns each group's momentum or beta1, whichever its optimizer
// has.
func (r *schedRun) momenta() []float64 {
	var out []float64
	for _, g := range r.opt.ParamGroups() {
		switch r.opt.(type) {
		case *optim.Adam, *optim.AdamW:
			out = append(out, g.Betas[0])
		default:
			out = append(out, g.Momentum)
		}
	}
	return out
}

func buildScheduler(t *testing.T, opt optim.Optimizer, s schedSpec) optim.Scheduler {
	t.Helper()
	a := s.Args
	need := func(keys ...string) {
		for k := range a {
			found := false
			for _, n := range keys {
				found = found || n == k
			}
			if !found {
				t.Fatalf("no Go handler for %s argument %q", s.Type, k)
			}
		}
	}
	f := func(k string, def float64) float64 {
		if r, ok := a[k]; ok {
			return rawFloat(t, r)
		}
		return def
	}
	n := func(k string, def int) int {
		if r, ok := a[k]; ok {
			return rawInt(t, r)
		}
		return def
	}
	switch s.Type {
	case "StepLR":
		need("step_size", "gamma")
		return optim.NewStepLR(opt, n("step_size", 0), f("gamma", 0.1))
	case "MultiStepLR":
		need("milestones", "gamma")
		var ms []int
		json.Unmarshal(a["milestones"], &ms)
		return optim.NewMultiStepLR(opt, ms, f("gamma", 0.1))
	case "ConstantLR":
		need("factor", "total_iters")
		return optim.NewConstantLR(opt, f("factor", 1.0/3), n("total_iters", 5))
	case "LinearLR":
		need("start_factor", "end_factor", "total_iters")
		return optim.NewLinearLR(opt, f("start_factor", 1.0/3), f("end_factor", 1), n("total_iters", 5))
	case "ExponentialLR":
		need("gamma")
		return optim.NewExponentialLR(opt, f("gamma", 0))
	case "PolynomialLR":
		need("total_iters", "power")
		return optim.NewPolynomialLR(opt, n("total_iters", 5), f("power", 1))
	case "CosineAnnealingLR":
		need("T_max", "eta_min")
		return optim.NewCosineAnnealingLR(opt, n("T_max", 0), f("eta_min", 0))
	case "LambdaLR":
		need("lambda")
		var name string
		json.Unmarshal(a["lambda"], &name)
		fn, ok := lambdas[name]
		if !ok {
			t.Fatalf("no Go handler for lambda %q", name)
		}
		return optim.NewLambdaLR(opt, fn)
	case "OneCycleLR":
		var opts []optim.Option
		maxLR := rawFloats(t, a["max_lr"])
		opts = append(opts, optim.WithMaxLR(maxLR...))
		for k, v := range a {
			switch k {
			case "max_lr", "total_steps":
			case "pct_start":
				opts = append(opts, optim.WithPctStart(rawFloat(t, v)))
			case "anneal_strategy":
				var s string
				json.Unmarshal(v, &s)
				opts = append(opts, optim.WithAnnealStrategy(s))
			case "cycle_momentum":
				opts = append(opts, optim.WithCycleMomentum(rawBool(t, v)))
			case "base_momentum":
				opts = append(opts, optim.WithBaseMomentum(rawFloats(t, v)...))
			case "max_momentum":
				opts = append(opts, optim.WithMaxMomentum(rawFloats(t, v)...))
			case "div_factor":
				opts = append(opts, optim.WithDivFactor(rawFloat(t, v)))
			case "final_div_factor":
				opts = append(opts, optim.WithFinalDivFactor(rawFloat(t, v)))
			case "three_phase":
				opts = append(opts, optim.WithThreePhase(rawBool(t, v)))
			default:
				t.Fatalf("no Go handler for OneCycleLR argument %q", k)
			}
		}
		return optim.NewOneCycleLR(opt, maxLR[0], n("total_steps", 0), opts...)
	case "SequentialLR", "ChainedScheduler":
		var children []optim.Scheduler
		for _, c := range s.Children {
			children = append(children, buildScheduler(t, opt, c))
		}
		if s.Type == "SequentialLR" {
			return optim.NewSequentialLR(opt, children, s.Milestones)
		}
		return optim.NewChainedScheduler(children...)
	}
	t.Fatalf("no Go handler for scheduler %q", s.Type)
	return nil
}

func plateauOptions(t *testing.T, a map[string]json.RawMessage) []optim.Option {
	var opts []optim.Option
	for k, v := range a {
		switch k {
		case "mode":
			var s string
			json.Unmarshal(v, &s)
			opts = append(opts, optim.WithMode(s))
		case "threshold_mode":
			var s string
			json.Unmarshal(v, &s)
			opts = append(opts, optim.WithThresholdMode(s))
		case "factor":
			opts = append(opts, optim.WithFactor(rawFloat(t, v)))
		case "patience":
			opts = append(opts, optim.WithPatience(rawInt(t, v)))
		case "threshold":
			opts = append(opts, optim.WithThreshold(rawFloat(t, v)))
		case "cooldown":
			opts = append(opts, optim.WithCooldown(rawInt(t, v)))
		case "min_lr":
			opts = append(opts, optim.WithMinLR(rawFloats(t, v)...))
		case "eps":
			opts = append(opts, optim.WithEps(rawFloat(t, v)))
		default:
			t.Fatalf("no Go handler for ReduceLROnPlateau argument %q", k)
		}
	}
	return opts
}

func compareLRs(t *testing.T, what string, got []float64, want []num) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return false
	}
	for i, w := range want {
		if g := got[i]; math.Abs(g-float64(w)) > 1e-9*math.Abs(float64(w)) {
			t.Errorf("%s[%d] = %.17g, want %.17g (torch)", what, i, g, float64(w))
			return false
		}
	}
	return true
}

func TestSchedulerFixtures(t *testing.T) {
	f := loadFixtures(t)
	for i := range f.Schedulers {
		c := &f.Schedulers[i]
		t.Run(c.Name, func(t *testing.T) {
			if len(c.LRs) != c.Steps+1 {
				t.Fatalf("%d lr records for %d steps", len(c.LRs), c.Steps)
			}
			r := newSchedRun(t, c)
			for k := 0; ; k++ {
				if !compareLRs(t, fmt.Sprintf("after %d steps: lr", k), r.lastLR(), c.LRs[k]) {
					return
				}
				if c.Momentum != nil && !compareLRs(t, fmt.Sprintf("after %d steps: momentum", k), r.momenta(), c.Momentum[k]) {
					return
				}
				if k == c.Steps {
					break
				}
				r.step(c, k)
			}
		})
	}
}

// ---------------------------------------------------------------- clipping

func TestClipFixtures(t *testing.T) {
	f := loadFixtures(t)
	for i := range f.Clip {
		c := &f.Clip[i]
		t.Run(c.Name, func(t *testing.T) {
			var params []*autograd.Var
			for i, shape := range c.Shapes {
				p := autograd.Param(tensor.Zeros(shape))
				if g := c.Grads[i]; g != nil {
					p.SetGrad(tensor.FromSlice(append([]float32(nil), (*g)...), shape...))
				}
				params = append(params, p)
			}
			switch c.Func {
			case "clip_grad_norm_":
				normType := 0.0
				var s string
				if json.Unmarshal(c.Args["norm_type"], &s) == nil && s == "inf" {
					normType = math.Inf(1)
				} else {
					normType = rawFloat(t, c.Args["norm_type"])
				}
				total, err := optim.ClipGradNorm(params, rawFloat(t, c.Args["max_norm"]), normType,
					rawBool(t, c.Args["error_if_nonfinite"]))
				if c.Error {
					if err == nil {
						t.Errorf("no error; torch raised")
					}
				} else {
					if err != nil {
						t.Fatalf("error %v; torch returned %v", err, *c.Total)
					}
					w := float64(*c.Total)
					if !(total == w || math.Abs(total-w) <= 1e-5*math.Abs(w)) {
						t.Errorf("total norm %v, want %v", total, w)
					}
				}
			case "clip_grad_value_":
				optim.ClipGradValue(params, rawFloat(t, c.Args["clip_value"]))
			default:
				t.Fatalf("no Go handler for %q", c.Func)
			}
			for i, p := range params {
				want := c.Clipped[i]
				if want == nil {
					if p.Grad() != nil {
						t.Errorf("param %d gained a gradient", i)
					}
					continue
				}
				compareF32(t, fmt.Sprintf("grad %d", i), p.Grad().Float32s(), *want, 1e-5, 1e-6)
			}
		})
	}
}
