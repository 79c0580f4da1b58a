package optim

import (
	"fmt"
	"math"
	"slices"
)

// ReduceLROnPlateau multiplies the learning rates by a factor when a
// metric has stopped improving for a number of steps
// (torch.optim.lr_scheduler.ReduceLROnPlateau). It is stepped with the
// metric, so it is not a Scheduler.
type ReduceLROnPlateau struct {
	opt           Optimizer
	max           bool // mode "max"
	abs           bool // threshold_mode "abs"
	factor        float64
	patience      int
	threshold     float64
	cooldown      int
	minLRs        []float64
	eps           float64
	best          float64
	numBad        int
	cooldownCount int
	lastEpoch     int
	lastLR        []float64
}

// NewReduceLROnPlateau returns a ReduceLROnPlateau on opt. Options (torch's
// defaults): WithMode ("min"), WithFactor (0.1), WithPatience (10),
// WithThreshold (1e-4), WithThresholdMode ("rel"), WithCooldown (0),
// WithMinLR (0), WithEps (1e-8).
func NewReduceLROnPlateau(opt Optimizer, opts ...Option) *ReduceLROnPlateau {
	const op = "optim.NewReduceLROnPlateau"
	c := config{mode: "min", factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: "rel",
		minLR: []float64{0}, Hyper: Hyper{Eps: 1e-8}}
	c.apply(op, opts, []string{"WithMode", "WithFactor", "WithPatience", "WithThreshold",
		"WithThresholdMode", "WithCooldown", "WithMinLR", "WithEps"})
	if opt == nil {
		valueError(op, "nil optimizer")
	}
	if !(c.factor < 1) {
		valueError(op, "factor should be < 1.0, not %v", c.factor)
	}
	s := &ReduceLROnPlateau{opt: opt, factor: c.factor, patience: c.patience, threshold: c.threshold,
		cooldown: c.cooldown, eps: c.Eps}
	switch c.mode {
	case "min":
	case "max":
		s.max = true
	default:
		valueError(op, "mode %q is unknown (want \"min\" or \"max\")", c.mode)
	}
	switch c.thresholdMode {
	case "rel":
	case "abs":
		s.abs = true
	default:
		valueError(op, "threshold mode %q is unknown (want \"rel\" or \"abs\")", c.thresholdMode)
	}
	s.minLRs = perGroup(op, "min_lr", c.minLR, len(opt.ParamGroups()))
	s.best = s.worst()
	return s
}

// worst is the mode's worst value, where best starts.
func (s *ReduceLROnPlateau) worst() float64 {
	if s.max {
		return math.Inf(-1)
	}
	return math.Inf(1)
}

func (s *ReduceLROnPlateau) isBetter(a float64) bool {
	switch {
	case !s.max && !s.abs:
		return a < s.best*(1-s.threshold)
	case !s.max:
		return a < s.best-s.threshold
	case !s.abs:
		return a > s.best*(s.threshold+1)
	}
	return a > s.best+s.threshold
}

// Step records the metric of one epoch and reduces the learning rates if it
// has not improved for more than the patience.
func (s *ReduceLROnPlateau) Step(metric float64) {
	s.lastEpoch++
	if s.isBetter(metric) {
		s.best = metric
		s.numBad = 0
	} else {
		s.numBad++
	}
	if s.cooldownCount > 0 {
		s.cooldownCount--
		s.numBad = 0 // bad epochs in cooldown do not count
	}
	if s.numBad > s.patience {
		for i, g := range s.opt.ParamGroups() {
			minLR := 0.0
			if i < len(s.minLRs) {
				minLR = s.minLRs[i]
			}
			if lr := math.Max(g.LR*s.factor, minLR); g.LR-lr > s.eps {
				g.LR = lr
			}
		}
		s.cooldownCount = s.cooldown
		s.numBad = 0
	}
	s.lastLR = groupLRs(s.opt.ParamGroups())
}

// LastLR returns the learning rates after the last Step (the groups' rates
// before the first).
func (s *ReduceLROnPlateau) LastLR() []float64 {
	if s.lastLR == nil {
		return groupLRs(s.opt.ParamGroups())
	}
	return slices.Clone(s.lastLR)
}

// StateDict returns the scheduler's progress.
func (s *ReduceLROnPlateau) StateDict() SchedulerState {
	return SchedulerState{Kind: "ReduceLROnPlateau", LastEpoch: s.lastEpoch, LastLR: slices.Clone(s.lastLR),
		Values: map[string]float64{"best": s.best, "num_bad_epochs": float64(s.numBad),
			"cooldown_counter": float64(s.cooldownCount)}}
}

// LoadStateDict restores progress saved by StateDict.
func (s *ReduceLROnPlateau) LoadStateDict(st SchedulerState) error {
	if st.Kind != "ReduceLROnPlateau" {
		return fmt.Errorf("optim.ReduceLROnPlateau.LoadStateDict: the state is %q's", st.Kind)
	}
	best, ok1 := st.Values["best"]
	bad, ok2 := st.Values["num_bad_epochs"]
	cool, ok3 := st.Values["cooldown_counter"]
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("optim.ReduceLROnPlateau.LoadStateDict: the state lacks best, num_bad_epochs or cooldown_counter")
	}
	s.lastEpoch, s.lastLR = st.LastEpoch, slices.Clone(st.LastLR)
	s.best, s.numBad, s.cooldownCount = best, int(bad), int(cool)
	return nil
}
