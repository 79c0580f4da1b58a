package optim

import "math"

// OneCycleLR is the 1cycle policy (torch.optim.lr_scheduler.OneCycleLR):
// the learning rate rises from max_lr/div_factor to max_lr over the first
// pct_start of totalSteps, then anneals to initial_lr/final_div_factor;
// with three phases it first comes back down to the initial rate and then
// anneals. Unless switched off, the momentum (SGD, RMSprop) or beta1 (Adam,
// AdamW) cycles the other way, between max_momentum and base_momentum.
//
// Step it once per batch; stepping past totalSteps panics, as torch raises.
type OneCycleLR struct {
	sched
	totalSteps int
	phases     []cyclePhase
	linear     bool
	cycle      string // the group field cycled: "momentum", "betas" or ""
	maxLRs     []float64
	minLRs     []float64
	maxMom     []float64
	baseMom    []float64
}

// cyclePhase is one phase of the cycle: where it ends and which of the
// group's values it anneals between.
type cyclePhase struct {
	endStep          float64
	startLR, endLR   int // lrInitial, lrMax or lrMin
	startMom, endMom int // momMax or momBase
}

const (
	lrInitial = iota
	lrMax
	lrMin
)

const (
	momMax = iota
	momBase
)

// NewOneCycleLR returns a OneCycleLR on opt that peaks at maxLR and lasts
// totalSteps steps. Options (torch's defaults): WithPctStart (0.3),
// WithAnnealStrategy ("cos"), WithCycleMomentum (on), WithBaseMomentum
// (0.85), WithMaxMomentum (0.95), WithDivFactor (25), WithFinalDivFactor
// (1e4), WithThreePhase (off), and WithMaxLR to give each group its own
// peak.
//
// It sets each group's InitialLR to its peak/div_factor, and, when cycling,
// its momentum or beta1 to max_momentum.
func NewOneCycleLR(opt Optimizer, maxLR float64, totalSteps int, opts ...Option) *OneCycleLR {
	const op = "optim.NewOneCycleLR"
	c := config{pctStart: 0.3, anneal: "cos", cycleMomentum: true, baseMomentum: []float64{0.85},
		maxMomentum: []float64{0.95}, divFactor: 25, finalDivFactor: 1e4, maxLRs: []float64{maxLR}}
	c.apply(op, opts, []string{"WithPctStart", "WithAnnealStrategy", "WithCycleMomentum", "WithBaseMomentum",
		"WithMaxMomentum", "WithDivFactor", "WithFinalDivFactor", "WithThreePhase", "WithMaxLR"})
	if opt == nil {
		valueError(op, "nil optimizer")
	}
	if totalSteps <= 0 {
		valueError(op, "expected positive integer total_steps, but got %d", totalSteps)
	}
	if !(c.pctStart >= 0 && c.pctStart <= 1) {
		valueError(op, "expected float between 0 and 1 pct_start, but got %v", c.pctStart)
	}
	s := &OneCycleLR{totalSteps: totalSteps}
	n := float64(totalSteps)
	if c.threePhase {
		s.phases = []cyclePhase{
			{c.pctStart*n - 1, lrInitial, lrMax, momMax, momBase},
			{2*c.pctStart*n - 2, lrMax, lrInitial, momBase, momMax},
			{n - 1, lrInitial, lrMin, momMax, momMax},
		}
	} else {
		s.phases = []cyclePhase{
			{c.pctStart*n - 1, lrInitial, lrMax, momMax, momBase},
			{n - 1, lrMax, lrMin, momBase, momMax},
		}
	}
	switch c.anneal {
	case "cos":
	case "linear":
		s.linear = true
	default:
		valueError(op, "anneal_strategy must be one of 'cos' or 'linear', instead got %q", c.anneal)
	}
	groups := opt.ParamGroups()
	s.maxLRs = perGroup(op, "max_lr", c.maxLRs, len(groups))
	for i, g := range groups {
		g.InitialLR = s.maxLRs[i] / c.divFactor
		s.minLRs = append(s.minLRs, g.InitialLR/c.finalDivFactor)
	}
	if c.cycleMomentum {
		if a, ok := opt.(interface{ cycleField() string }); ok {
			s.cycle = a.cycleField()
		}
		if s.cycle == "" {
			valueError(op, "optimizer must support momentum or betas with cycle_momentum on (WithCycleMomentum(false))")
		}
		s.maxMom = perGroup(op, "max_momentum", c.maxMomentum, len(groups))
		s.baseMom = perGroup(op, "base_momentum", c.baseMomentum, len(groups))
		for i, g := range groups {
			s.setMomentum(g, s.maxMom[i])
		}
	}
	s.init("OneCycleLR", opt, s)
	return s
}

// perGroup expands one value, or checks one per group.
func perGroup(op, name string, v []float64, n int) []float64 {
	switch len(v) {
	case n:
		return append([]float64(nil), v...)
	case 1:
		out := make([]float64, n)
		for i := range out {
			out[i] = v[0]
		}
		return out
	}
	valueError(op, "expected 1 or %d values for %s, got %d", n, name, len(v))
	return nil
}

func (s *OneCycleLR) setMomentum(g *ParamGroup, m float64) {
	if s.cycle == "betas" {
		g.Betas[0] = m
	} else {
		g.Momentum = m
	}
}

func (s *OneCycleLR) anneal(start, end, pct float64) float64 {
	if s.linear {
		return (end-start)*pct + start
	}
	cosOut := math.Cos(math.Pi*pct) + 1
	return end + (start-end)/2.0*cosOut
}

func (s *OneCycleLR) chain(b *sched, groups []*ParamGroup) []float64 {
	step := b.lastEpoch
	if step > s.totalSteps {
		valueError("optim.OneCycleLR.Step", "tried to step %d times; the specified number of total steps is %d",
			step+1, s.totalSteps)
	}
	lrs := make([]float64, len(groups))
	for gi, g := range groups {
		if gi >= len(s.maxLRs) {
			lrs[gi] = g.LR
			continue
		}
		lr := [3]float64{g.InitialLR, s.maxLRs[gi], s.minLRs[gi]}
		start := 0.0
		for i, ph := range s.phases {
			if float64(step) <= ph.endStep || i == len(s.phases)-1 {
				pct := (float64(step) - start) / (ph.endStep - start)
				lrs[gi] = s.anneal(lr[ph.startLR], lr[ph.endLR], pct)
				if s.cycle != "" {
					mom := [2]float64{s.maxMom[gi], s.baseMom[gi]}
					s.setMomentum(g, s.anneal(mom[ph.startMom], mom[ph.endMom], pct))
				}
				break
			}
			start = ph.endStep
		}
	}
	return lrs
}
