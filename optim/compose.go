package optim

import (
	"fmt"
	"slices"
	"sort"
)

// SequentialLR runs schedulers one after another: the first until the
// first milestone, the second until the second, and so on
// (torch.optim.lr_scheduler.SequentialLR). At each milestone the next
// scheduler restarts from its own epoch 0 (with its closed form where it
// has one), so warm-up then cosine is
//
//	warm := optim.NewLinearLR(opt, 0.01, 1, 5)
//	cos := optim.NewCosineAnnealingLR(opt, 95, 0)
//	s := optim.NewSequentialLR(opt, []optim.Scheduler{warm, cos}, []int{5})
//
// The schedulers must be this package's epoch schedulers (not
// ReduceLROnPlateau, SequentialLR or ChainedScheduler) on opt.
type SequentialLR struct {
	opt        Optimizer
	children   []stepper
	milestones []int
	lastEpoch  int
	lastLR     []float64
}

// NewSequentialLR returns a SequentialLR; milestones has one entry fewer
// than schedulers.
func NewSequentialLR(opt Optimizer, schedulers []Scheduler, milestones []int) *SequentialLR {
	const op = "optim.NewSequentialLR"
	if len(schedulers) == 0 {
		valueError(op, "no schedulers")
	}
	if len(milestones) != len(schedulers)-1 {
		valueError(op, "expected %d milestones for %d schedulers, got %d",
			len(schedulers)-1, len(schedulers), len(milestones))
	}
	s := &SequentialLR{opt: opt, milestones: slices.Clone(milestones)}
	for i, c := range schedulers {
		st, ok := c.(stepper)
		if !ok {
			valueError(op, "scheduler %d (%T) cannot be sequenced", i, c)
		}
		if st.core().opt != opt {
			valueError(op, "scheduler %d belongs to another optimizer", i)
		}
		s.children = append(s.children, st)
	}
	// As torch: reset the rates the children's construction changed, undo
	// their first step and make the first child's again.
	for _, g := range opt.ParamGroups() {
		g.LR = g.InitialLR
	}
	for _, c := range s.children {
		c.core().lastEpoch--
	}
	s.children[0].core().initialStep()
	s.lastLR = s.children[0].LastLR()
	return s
}

// Step advances the schedule by one.
func (s *SequentialLR) Step() {
	s.lastEpoch++
	idx := sort.Search(len(s.milestones), func(i int) bool { return s.milestones[i] > s.lastEpoch })
	c := s.children[idx]
	if idx > 0 && s.milestones[idx-1] == s.lastEpoch {
		c.core().advance(0, true)
	} else {
		c.Step()
	}
	s.lastLR = c.LastLR()
}

// LastLR returns the learning rates set by the last step.
func (s *SequentialLR) LastLR() []float64 { return slices.Clone(s.lastLR) }

func (s *SequentialLR) optimizer() Optimizer { return s.opt }

// StateDict returns the progress of the sequence and of each scheduler.
func (s *SequentialLR) StateDict() SchedulerState {
	st := SchedulerState{Kind: "SequentialLR", LastEpoch: s.lastEpoch, LastLR: slices.Clone(s.lastLR)}
	for _, c := range s.children {
		st.Children = append(st.Children, c.StateDict())
	}
	return st
}

// LoadStateDict restores progress saved by StateDict.
func (s *SequentialLR) LoadStateDict(st SchedulerState) error {
	if err := loadChildren("SequentialLR", st, schedulersOf(s.children)); err != nil {
		return err
	}
	s.lastEpoch, s.lastLR = st.LastEpoch, slices.Clone(st.LastLR)
	return nil
}

// ChainedScheduler steps several schedulers together, each one after the
// other, so their effects on the learning rates multiply
// (torch.optim.lr_scheduler.ChainedScheduler).
type ChainedScheduler struct {
	children []Scheduler
	lastLR   []float64
}

// NewChainedScheduler chains schedulers, which must all drive the same
// optimizer.
func NewChainedScheduler(schedulers ...Scheduler) *ChainedScheduler {
	const op = "optim.NewChainedScheduler"
	if len(schedulers) == 0 {
		valueError(op, "no schedulers")
	}
	var opt Optimizer
	for i, c := range schedulers {
		a, ok := c.(attached)
		if !ok {
			continue
		}
		if opt == nil {
			opt = a.optimizer()
		} else if a.optimizer() != opt {
			valueError(op, "scheduler %d belongs to another optimizer", i)
		}
	}
	s := &ChainedScheduler{children: slices.Clone(schedulers)}
	s.lastLR = s.currentLRs()
	return s
}

func (s *ChainedScheduler) currentLRs() []float64 {
	last := s.children[len(s.children)-1]
	if a, ok := last.(attached); ok {
		return groupLRs(a.optimizer().ParamGroups())
	}
	return last.LastLR()
}

func (s *ChainedScheduler) optimizer() Optimizer {
	for _, c := range s.children {
		if a, ok := c.(attached); ok {
			return a.optimizer()
		}
	}
	return nil
}

// Step steps every scheduler, in order.
func (s *ChainedScheduler) Step() {
	for _, c := range s.children {
		c.Step()
	}
	s.lastLR = s.currentLRs()
}

// LastLR returns the learning rates after the last step.
func (s *ChainedScheduler) LastLR() []float64 { return slices.Clone(s.lastLR) }

// StateDict returns the progress of each scheduler.
func (s *ChainedScheduler) StateDict() SchedulerState {
	st := SchedulerState{Kind: "ChainedScheduler", LastLR: slices.Clone(s.lastLR)}
	for _, c := range s.children {
		st.Children = append(st.Children, c.StateDict())
	}
	return st
}

// LoadStateDict restores progress saved by StateDict.
func (s *ChainedScheduler) LoadStateDict(st SchedulerState) error {
	if err := loadChildren("ChainedScheduler", st, s.children); err != nil {
		return err
	}
	s.lastLR = slices.Clone(st.LastLR)
	return nil
}

func schedulersOf(cs []stepper) []Scheduler {
	out := make([]Scheduler, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

// loadChildren checks a composite's state and loads its children's.
func loadChildren(kind string, st SchedulerState, children []Scheduler) error {
	if st.Kind != kind {
		return fmt.Errorf("optim.%s.LoadStateDict: the state is %q's", kind, st.Kind)
	}
	if len(st.Children) != len(children) {
		return fmt.Errorf("optim.%s.LoadStateDict: the state has %d schedulers, not %d", kind, len(st.Children), len(children))
	}
	for i, c := range children {
		if err := c.LoadStateDict(st.Children[i]); err != nil {
			return fmt.Errorf("optim.%s.LoadStateDict: scheduler %d: %w", kind, i, err)
		}
	}
	return nil
}
