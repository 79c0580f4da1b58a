package optim

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Scheduler sets the learning rates of an optimizer's parameter groups as
// training goes on. Call Step after the optimizer's Step, once per epoch or
// once per batch as the schedule is counted. Schedulers compose: each one
// computes the next rates from the groups' current ones (torch's chainable
// form), so two schedulers on one optimizer multiply their effects, and
// SequentialLR and ChainedScheduler combine them explicitly.
type Scheduler interface {
	// Step advances the schedule by one and sets the groups' LR.
	Step()
	// LastLR returns the learning rates the scheduler last set, one per
	// group (torch's get_last_lr()).
	LastLR() []float64
	// StateDict returns the scheduler's progress.
	StateDict() SchedulerState
	// LoadStateDict restores progress saved by StateDict from a scheduler
	// built with the same arguments. It does not touch the optimizer: the
	// groups' learning rates come back with the optimizer's own state.
	LoadStateDict(s SchedulerState) error
}

// sched is the machinery torch's _LRScheduler shares: base learning rates,
// the epoch counter and the step that writes a rule's rates into the
// groups. Each scheduler embeds it and is its rule.
type sched struct {
	kind      string
	opt       Optimizer
	baseLRs   []float64
	lastEpoch int
	stepCount int
	lastLR    []float64
	rule      lrRule
}

// lrRule computes the learning rates for s.lastEpoch from the groups'
// current rates (torch's get_lr, the chainable form).
type lrRule interface {
	chain(s *sched, groups []*ParamGroup) []float64
}

// closedRule is a rule with a closed form, which torch uses when a
// scheduler is stepped to an explicit epoch (SequentialLR does so at its
// milestones).
type closedRule interface {
	closed(s *sched) []float64
}

// stepper is a scheduler built on sched; SequentialLR drives them.
type stepper interface {
	Scheduler
	core() *sched
}

// attached is a scheduler that knows its optimizer.
type attached interface {
	optimizer() Optimizer
}

func (s *sched) core() *sched         { return s }
func (s *sched) optimizer() Optimizer { return s.opt }

// init attaches the scheduler to opt: each group's InitialLR is set from
// its LR unless already set (torch's setdefault('initial_lr', lr)), the base
// rates are taken from it, and the first step is made, which sets the
// rates for epoch 0.
func (s *sched) init(kind string, opt Optimizer, rule lrRule) {
	if opt == nil {
		valueError("optim.New"+kind, "nil optimizer")
	}
	s.kind, s.opt, s.rule = kind, opt, rule
	for _, g := range opt.ParamGroups() {
		if g.InitialLR == 0 {
			g.InitialLR = g.LR
		}
		s.baseLRs = append(s.baseLRs, g.InitialLR)
	}
	s.lastEpoch = -1
	s.initialStep()
}

func (s *sched) initialStep() {
	s.stepCount = 0
	s.advance(0, false)
}

// Step advances the schedule by one.
func (s *sched) Step() { s.advance(0, false) }

// advance is torch's step: by one, or to epoch when explicit (with the
// closed form where there is one).
func (s *sched) advance(epoch int, explicit bool) {
	s.stepCount++
	groups := s.opt.ParamGroups()
	var lrs []float64
	if explicit {
		s.lastEpoch = epoch
		if c, ok := s.rule.(closedRule); ok {
			lrs = c.closed(s)
		} else {
			lrs = s.rule.chain(s, groups)
		}
	} else {
		s.lastEpoch++
		lrs = s.rule.chain(s, groups)
	}
	for i := range min(len(groups), len(lrs)) {
		groups[i].LR = lrs[i]
	}
	s.lastLR = groupLRs(groups)
}

// LastLR returns the learning rates set by the last step.
func (s *sched) LastLR() []float64 { return slices.Clone(s.lastLR) }

// StateDict returns the scheduler's progress.
func (s *sched) StateDict() SchedulerState {
	return SchedulerState{Kind: s.kind, LastEpoch: s.lastEpoch, StepCount: s.stepCount,
		BaseLRs: slices.Clone(s.baseLRs), LastLR: slices.Clone(s.lastLR)}
}

// LoadStateDict restores the scheduler's progress.
func (s *sched) LoadStateDict(st SchedulerState) error {
	if st.Kind != s.kind {
		return fmt.Errorf("optim.%s.LoadStateDict: the state is %q's", s.kind, st.Kind)
	}
	s.lastEpoch, s.stepCount = st.LastEpoch, st.StepCount
	s.baseLRs, s.lastLR = slices.Clone(st.BaseLRs), slices.Clone(st.LastLR)
	return nil
}

func groupLRs(groups []*ParamGroup) []float64 {
	lrs := make([]float64, len(groups))
	for i, g := range groups {
		lrs[i] = g.LR
	}
	return lrs
}

// scaleLRs returns each group's LR times f.
func scaleLRs(groups []*ParamGroup, f float64) []float64 {
	lrs := groupLRs(groups)
	for i := range lrs {
		lrs[i] *= f
	}
	return lrs
}

// fromBase returns f(base) for each base rate.
func fromBase(s *sched, f func(base float64) float64) []float64 {
	lrs := make([]float64, len(s.baseLRs))
	for i, b := range s.baseLRs {
		lrs[i] = f(b)
	}
	return lrs
}

// pyMod is Python's a % b, whose sign follows b.
func pyMod(a, b int) int {
	m := a % b
	if m != 0 && (m < 0) != (b < 0) {
		m += b
	}
	return m
}

// pyFloorDiv is Python's a // b.
func pyFloorDiv(a, b int) int { return (a - pyMod(a, b)) / b }

// StepLR multiplies the learning rates by Gamma every StepSize steps
// (torch.optim.lr_scheduler.StepLR).
type StepLR struct {
	sched
	StepSize int
	Gamma    float64
}

// NewStepLR returns a StepLR on opt.
func NewStepLR(opt Optimizer, stepSize int, gamma float64) *StepLR {
	if stepSize <= 0 {
		valueError("optim.NewStepLR", "step size must be positive, not %d", stepSize)
	}
	s := &StepLR{StepSize: stepSize, Gamma: gamma}
	s.init("StepLR", opt, s)
	return s
}

func (r *StepLR) chain(s *sched, groups []*ParamGroup) []float64 {
	if s.lastEpoch == 0 || s.lastEpoch%r.StepSize != 0 {
		return groupLRs(groups)
	}
	return scaleLRs(groups, r.Gamma)
}

func (r *StepLR) closed(s *sched) []float64 {
	f := math.Pow(r.Gamma, float64(pyFloorDiv(s.lastEpoch, r.StepSize)))
	return fromBase(s, func(b float64) float64 { return b * f })
}

// MultiStepLR multiplies the learning rates by Gamma at each milestone (by
// Gamma^k at a milestone listed k times)
// (torch.optim.lr_scheduler.MultiStepLR).
type MultiStepLR struct {
	sched
	Milestones []int // sorted
	Gamma      float64
}

// NewMultiStepLR returns a MultiStepLR on opt.
func NewMultiStepLR(opt Optimizer, milestones []int, gamma float64) *MultiStepLR {
	s := &MultiStepLR{Milestones: slices.Sorted(slices.Values(milestones)), Gamma: gamma}
	s.init("MultiStepLR", opt, s)
	return s
}

func (r *MultiStepLR) chain(s *sched, groups []*ParamGroup) []float64 {
	n := 0
	for _, m := range r.Milestones {
		if m == s.lastEpoch {
			n++
		}
	}
	if n == 0 {
		return groupLRs(groups)
	}
	return scaleLRs(groups, math.Pow(r.Gamma, float64(n)))
}

func (r *MultiStepLR) closed(s *sched) []float64 {
	k := sort.SearchInts(r.Milestones, s.lastEpoch+1) // bisect_right
	f := math.Pow(r.Gamma, float64(k))
	return fromBase(s, func(b float64) float64 { return b * f })
}

// ConstantLR multiplies the learning rates by Factor until TotalIters steps
// have passed (torch.optim.lr_scheduler.ConstantLR).
type ConstantLR struct {
	sched
	Factor     float64
	TotalIters int
}

// NewConstantLR returns a ConstantLR on opt; factor must lie in [0, 1].
func NewConstantLR(opt Optimizer, factor float64, totalIters int) *ConstantLR {
	if !(factor >= 0 && factor <= 1) {
		valueError("optim.NewConstantLR", "constant multiplicative factor expected to be between 0 and 1, not %v", factor)
	}
	s := &ConstantLR{Factor: factor, TotalIters: totalIters}
	s.init("ConstantLR", opt, s)
	return s
}

func (r *ConstantLR) chain(s *sched, groups []*ParamGroup) []float64 {
	switch s.lastEpoch {
	case 0:
		return scaleLRs(groups, r.Factor)
	case r.TotalIters:
		return scaleLRs(groups, 1.0/r.Factor)
	}
	return groupLRs(groups)
}

func (r *ConstantLR) closed(s *sched) []float64 {
	f := r.Factor
	if s.lastEpoch >= r.TotalIters {
		f += 1 - r.Factor
	}
	return fromBase(s, func(b float64) float64 { return b * f })
}

// LinearLR moves the learning rates' multiplier linearly from StartFactor
// to EndFactor over TotalIters steps, then keeps it: a linear warm-up when
// StartFactor < EndFactor (torch.optim.lr_scheduler.LinearLR).
type LinearLR struct {
	sched
	StartFactor, EndFactor float64
	TotalIters             int
}

// NewLinearLR returns a LinearLR on opt; both factors must lie in [0, 1]
// (torch's defaults are 1/3, 1 and 5).
func NewLinearLR(opt Optimizer, startFactor, endFactor float64, totalIters int) *LinearLR {
	if !(startFactor >= 0 && startFactor <= 1) {
		valueError("optim.NewLinearLR", "starting multiplicative factor expected to be between 0 and 1, not %v", startFactor)
	}
	if !(endFactor >= 0 && endFactor <= 1) {
		valueError("optim.NewLinearLR", "ending multiplicative factor expected to be between 0 and 1, not %v", endFactor)
	}
	if totalIters <= 0 {
		valueError("optim.NewLinearLR", "total iterations must be positive, not %d", totalIters)
	}
	s := &LinearLR{StartFactor: startFactor, EndFactor: endFactor, TotalIters: totalIters}
	s.init("LinearLR", opt, s)
	return s
}

func (r *LinearLR) chain(s *sched, groups []*ParamGroup) []float64 {
	e := s.lastEpoch
	switch {
	case e == 0:
		return scaleLRs(groups, r.StartFactor)
	case e > r.TotalIters:
		return groupLRs(groups)
	}
	d := r.EndFactor - r.StartFactor
	return scaleLRs(groups, 1.0+d/(float64(r.TotalIters)*r.StartFactor+float64(e-1)*d))
}

func (r *LinearLR) closed(s *sched) []float64 {
	f := r.StartFactor + (r.EndFactor-r.StartFactor)*float64(min(r.TotalIters, s.lastEpoch))/float64(r.TotalIters)
	return fromBase(s, func(b float64) float64 { return b * f })
}

// ExponentialLR multiplies the learning rates by Gamma every step
// (torch.optim.lr_scheduler.ExponentialLR).
type ExponentialLR struct {
	sched
	Gamma float64
}

// NewExponentialLR returns an ExponentialLR on opt.
func NewExponentialLR(opt Optimizer, gamma float64) *ExponentialLR {
	s := &ExponentialLR{Gamma: gamma}
	s.init("ExponentialLR", opt, s)
	return s
}

func (r *ExponentialLR) chain(s *sched, groups []*ParamGroup) []float64 {
	if s.lastEpoch == 0 {
		return groupLRs(groups)
	}
	return scaleLRs(groups, r.Gamma)
}

func (r *ExponentialLR) closed(s *sched) []float64 {
	f := math.Pow(r.Gamma, float64(s.lastEpoch))
	return fromBase(s, func(b float64) float64 { return b * f })
}

// PolynomialLR decays the learning rates by (1 − t/TotalIters)^Power over
// TotalIters steps (torch.optim.lr_scheduler.PolynomialLR).
type PolynomialLR struct {
	sched
	TotalIters int
	Power      float64
}

// NewPolynomialLR returns a PolynomialLR on opt (torch's defaults are 5
// and 1).
func NewPolynomialLR(opt Optimizer, totalIters int, power float64) *PolynomialLR {
	if totalIters <= 0 {
		valueError("optim.NewPolynomialLR", "total iterations must be positive, not %d", totalIters)
	}
	s := &PolynomialLR{TotalIters: totalIters, Power: power}
	s.init("PolynomialLR", opt, s)
	return s
}

func (r *PolynomialLR) chain(s *sched, groups []*ParamGroup) []float64 {
	e := s.lastEpoch
	if e == 0 || e > r.TotalIters {
		return groupLRs(groups)
	}
	n := float64(r.TotalIters)
	return scaleLRs(groups, math.Pow((1.0-float64(e)/n)/(1.0-float64(e-1)/n), r.Power))
}

func (r *PolynomialLR) closed(s *sched) []float64 {
	f := math.Pow(1.0-float64(min(r.TotalIters, s.lastEpoch))/float64(r.TotalIters), r.Power)
	return fromBase(s, func(b float64) float64 { return b * f })
}

// CosineAnnealingLR anneals the learning rates from their base values to
// EtaMin along a half cosine over TMax steps, and back up over the next TMax
// (torch.optim.lr_scheduler.CosineAnnealingLR). Stepped one at a time it
// uses torch's recursive form, so its values match torch's to the last bit
// or so, and it composes with other schedulers as torch's does.
type CosineAnnealingLR struct {
	sched
	TMax   int
	EtaMin float64
}

// NewCosineAnnealingLR returns a CosineAnnealingLR on opt.
func NewCosineAnnealingLR(opt Optimizer, tMax int, etaMin float64) *CosineAnnealingLR {
	if tMax <= 0 {
		valueError("optim.NewCosineAnnealingLR", "T_max must be positive, not %d", tMax)
	}
	s := &CosineAnnealingLR{TMax: tMax, EtaMin: etaMin}
	s.init("CosineAnnealingLR", opt, s)
	return s
}

func (r *CosineAnnealingLR) chain(s *sched, groups []*ParamGroup) []float64 {
	e, tMax, eta := s.lastEpoch, float64(r.TMax), r.EtaMin
	switch {
	case e == 0:
		return groupLRs(groups)
	case s.stepCount == 1 && e > 0:
		return r.closed(s)
	case pyMod(e-1-r.TMax, 2*r.TMax) == 0:
		lrs := make([]float64, min(len(groups), len(s.baseLRs)))
		for i := range lrs {
			lrs[i] = groups[i].LR + (s.baseLRs[i]-eta)*(1-math.Cos(math.Pi/tMax))/2
		}
		return lrs
	}
	f := (1 + math.Cos(math.Pi*float64(e)/tMax)) / (1 + math.Cos(math.Pi*float64(e-1)/tMax))
	lrs := groupLRs(groups)
	for i := range lrs {
		lrs[i] = f*(lrs[i]-eta) + eta
	}
	return lrs
}

func (r *CosineAnnealingLR) closed(s *sched) []float64 {
	c := 1 + math.Cos(math.Pi*float64(s.lastEpoch)/float64(r.TMax))
	return fromBase(s, func(b float64) float64 { return r.EtaMin + (b-r.EtaMin)*c/2 })
}

// LambdaLR sets each learning rate to its base value times a function of
// the step (torch.optim.lr_scheduler.LambdaLR).
type LambdaLR struct {
	sched
	fns []func(epoch int) float64
}

// NewLambdaLR returns a LambdaLR on opt with one function for every group,
// or one per group.
func NewLambdaLR(opt Optimizer, fns ...func(epoch int) float64) *LambdaLR {
	if opt == nil {
		valueError("optim.NewLambdaLR", "nil optimizer")
	}
	n := len(opt.ParamGroups())
	switch len(fns) {
	case n:
	case 1:
		fns = slices.Repeat(fns, n)
	default:
		valueError("optim.NewLambdaLR", "expected 1 or %d functions, got %d", n, len(fns))
	}
	s := &LambdaLR{fns: fns}
	s.init("LambdaLR", opt, s)
	return s
}

func (r *LambdaLR) chain(s *sched, _ []*ParamGroup) []float64 {
	lrs := make([]float64, min(len(s.baseLRs), len(r.fns)))
	for i := range lrs {
		lrs[i] = s.baseLRs[i] * r.fns[i](s.lastEpoch)
	}
	return lrs
}
