package optim

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step updates every parameter that has a gradient, in place, once.
	Step()
	// ZeroGrad drops every parameter's gradient (torch's
	// zero_grad(set_to_none=True)).
	ZeroGrad()
	// ParamGroups returns the live parameter groups, in order; changing a
	// group's Hyper changes the next Step.
	ParamGroups() []*ParamGroup
	// StateDict returns a copy of the optimizer's state: per-parameter
	// state keyed by index and the groups' hyperparameters.
	StateDict() State
	// LoadStateDict replaces the state with a copy of s, which must come
	// from an optimizer of the same kind with groups of the same sizes.
	LoadStateDict(s State) error
}

// paramState is one parameter's state: a step count and named tensors
// (momentum_buffer, exp_avg, ...), named as in torch's state dicts.
type paramState struct {
	step float64
	t    map[string]*tensor.Tensor
}

// kind describes one optimizer: its name, the options it takes, torch's
// defaults and the checks and state it needs.
type kind struct {
	name     string
	allowed  []string
	defaults Hyper
	// check validates a resolved group; op names the caller in panics.
	check func(op string, c *config)
	// eager, if set, makes a parameter's state when it joins the optimizer
	// (Adagrad); otherwise state is made at the parameter's first step.
	eager func(h *Hyper, p *autograd.Var) *paramState
	// cycles names the group field OneCycleLR cycles: "momentum", "betas"
	// or "" when the optimizer has neither.
	cycles string
}

// base holds what every optimizer shares: groups, per-parameter state,
// defaults, the state dict and the loop over parameters with gradients.
type base struct {
	kind     *kind
	defaults config // torch's defaults plus the constructor's options
	groups   []*ParamGroup
	state    map[*autograd.Var]*paramState
}

func (b *base) init(k *kind, groups []ParamGroup, opts []Option) {
	op := "optim.New" + k.name
	b.kind = k
	b.defaults = config{Hyper: k.defaults}
	b.defaults.apply(op, opts, k.allowed)
	b.state = map[*autograd.Var]*paramState{}
	if len(groups) == 0 {
		valueError(op, "no parameters to optimize")
	}
	for _, g := range groups {
		b.addGroup(op, g)
	}
}

// AddParamGroup adds a group of parameters (torch's add_param_group): its
// hyperparameters are the optimizer's defaults except those the group
// sets. A parameter may belong to only one group.
func (b *base) AddParamGroup(g ParamGroup) { b.addGroup("optim."+b.kind.name+".AddParamGroup", g) }

func (b *base) addGroup(op string, g ParamGroup) {
	c := b.defaults
	c.applyLiteral(op, g.Hyper, b.kind.allowed)
	c.apply(op, g.opts, b.kind.allowed)
	b.kind.check(op, &c)
	seen := map[*autograd.Var]bool{}
	for _, og := range b.groups {
		for _, p := range og.Params {
			seen[p] = true
		}
	}
	for i, p := range g.Params {
		switch {
		case p == nil:
			valueError(op, "parameter %d is nil", i)
		case !p.IsLeaf():
			valueError(op, "parameter %d is not a leaf; only leaves can be optimized", i)
		case !p.Data.DType().IsFloat():
			valueError(op, "parameter %d is %v; only floating-point parameters can be optimized", i, p.Data.DType())
		case seen[p]:
			valueError(op, "parameter %d appears twice (or in more than one group)", i)
		}
		seen[p] = true
	}
	ng := &ParamGroup{Params: slices.Clone(g.Params), Hyper: c.Hyper}
	b.groups = append(b.groups, ng)
	if b.kind.eager != nil {
		for _, p := range ng.Params {
			b.state[p] = b.kind.eager(&ng.Hyper, p)
		}
	}
}

// ParamGroups returns the live parameter groups.
func (b *base) ParamGroups() []*ParamGroup { return b.groups }

// ZeroGrad drops every parameter's gradient.
func (b *base) ZeroGrad() {
	for _, g := range b.groups {
		for _, p := range g.Params {
			p.ZeroGrad()
		}
	}
}

// cycleField implements the interface OneCycleLR uses to find what to
// cycle.
func (b *base) cycleField() string { return b.kind.cycles }

// each calls update for every parameter that has a gradient, group by
// group, with the parameter's state (made by fresh on first use).
func (b *base) each(fresh func(h *Hyper, p *autograd.Var) *paramState,
	update func(h *Hyper, p *tensor.Tensor, grad *tensor.Tensor, st *paramState)) {
	// The step's temporaries go back to the buffer pool when it ends,
	// whether or not the caller runs it inside a scope of its own.
	tensor.Tidy(func() {
		for _, g := range b.groups {
			for _, p := range g.Params {
				grad := p.Grad()
				if grad == nil {
					continue
				}
				st := b.state[p]
				if st == nil {
					st = fresh(&g.Hyper, p)
					b.state[p] = st
				}
				update(&g.Hyper, p.Data, grad, st)
			}
		}
	})
}

// newState returns an empty state with the named tensors zero-filled like p.
func newState(p *autograd.Var, names ...string) *paramState {
	st := &paramState{t: make(map[string]*tensor.Tensor, len(names))}
	for _, n := range names {
		st.t[n] = tensor.Keep(tensor.ZerosLike(p.Data))
	}
	return st
}

// StateDict returns a deep copy of the optimizer's state. Parameters are
// numbered from 0 in group order, as torch numbers them.
func (b *base) StateDict() State {
	s := State{Optimizer: b.kind.name, State: map[int]ParamState{}}
	idx := 0
	for _, g := range b.groups {
		gs := GroupState{Hyper: g.Hyper}
		for _, p := range g.Params {
			if st := b.state[p]; st != nil {
				ps := ParamState{Step: st.step, Tensors: make(map[string]*tensor.Tensor, len(st.t))}
				for k, t := range st.t {
					ps.Tensors[k] = t.Clone()
				}
				s.State[idx] = ps
			}
			gs.Params = append(gs.Params, idx)
			idx++
		}
		s.ParamGroups = append(s.ParamGroups, gs)
	}
	return s
}

// LoadStateDict replaces the optimizer's state and the groups'
// hyperparameters with copies of those in s. The saved groups must have as
// many parameters as the optimizer's, and each state tensor the shape of
// its parameter; tensors are converted to the parameter's dtype and device.
// On error the optimizer is unchanged.
func (b *base) LoadStateDict(s State) error {
	name := b.kind.name
	if s.Optimizer != name {
		return fmt.Errorf("optim.%s.LoadStateDict: the state is %q's, not %s's", name, s.Optimizer, name)
	}
	if len(s.ParamGroups) != len(b.groups) {
		return fmt.Errorf("optim.%s.LoadStateDict: the state has %d parameter groups, the optimizer %d",
			name, len(s.ParamGroups), len(b.groups))
	}
	params := map[int]*autograd.Var{}
	for i, gs := range s.ParamGroups {
		g := b.groups[i]
		if len(gs.Params) != len(g.Params) {
			return fmt.Errorf("optim.%s.LoadStateDict: group %d has %d parameters in the state, %d in the optimizer",
				name, i, len(gs.Params), len(g.Params))
		}
		for j, idx := range gs.Params {
			if _, dup := params[idx]; dup {
				return fmt.Errorf("optim.%s.LoadStateDict: parameter index %d is listed twice", name, idx)
			}
			params[idx] = g.Params[j]
		}
	}
	state := map[*autograd.Var]*paramState{}
	for _, idx := range slices.Sorted(maps.Keys(s.State)) {
		ps := s.State[idx]
		p, ok := params[idx]
		if !ok {
			return fmt.Errorf("optim.%s.LoadStateDict: state for parameter %d, which no group lists", name, idx)
		}
		st := &paramState{step: ps.Step, t: make(map[string]*tensor.Tensor, len(ps.Tensors))}
		for k, t := range ps.Tensors {
			if t == nil {
				continue
			}
			if !slices.Equal(t.Shape(), p.Data.Shape()) {
				return fmt.Errorf("optim.%s.LoadStateDict: state %q of parameter %d has shape %v, the parameter %v",
					name, k, idx, t.Shape(), p.Data.Shape())
			}
			st.t[k] = tensor.Keep(t.Cast(p.Data.DType()).To(p.Data.Device()).Clone())
		}
		state[p] = st
	}
	for i, gs := range s.ParamGroups {
		b.groups[i].Hyper = gs.Hyper
	}
	b.state = state
	return nil
}

// nonNegative panics unless v >= 0 (NaN included).
func nonNegative(op, name string, v float64) {
	if !(v >= 0) {
		valueError(op, "invalid %s: %v", name, v)
	}
}
