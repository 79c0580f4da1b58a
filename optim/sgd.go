package optim

import (
	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// SGD is stochastic gradient descent with optional momentum, Nesterov
// momentum and weight decay, exactly as torch.optim.SGD (1.13):
//
//	g ← −g if maximize;  g ← g + weight_decay·θ
//	b ← g at the first step, else momentum·b + (1 − dampening)·g
//	g ← g + momentum·b if nesterov, else b      (when momentum ≠ 0)
//	θ ← θ − lr·g
type SGD struct{ base }

var sgdKind = &kind{
	name:    "SGD",
	allowed: []string{"WithLR", "WithMomentum", "WithDampening", "WithWeightDecay", "WithNesterov", "WithMaximize"},
	check: func(op string, c *config) {
		h := &c.Hyper
		if !c.lrSet {
			valueError(op, "a learning rate is required (WithLR)")
		}
		nonNegative(op, "learning rate", h.LR)
		nonNegative(op, "momentum", h.Momentum)
		nonNegative(op, "weight decay", h.WeightDecay)
		if h.Nesterov && (h.Momentum <= 0 || h.Dampening != 0) {
			valueError(op, "Nesterov momentum requires a momentum and zero dampening")
		}
	},
	cycles: "momentum",
}

// NewSGD returns an SGD optimizer of params. Options: WithLR (required, as in
// torch), WithMomentum, WithDampening, WithWeightDecay, WithNesterov,
// WithMaximize; all but the learning rate default to zero and off.
func NewSGD[P Params](params P, opts ...Option) *SGD {
	o := &SGD{}
	o.init(sgdKind, groupsOf(params), opts)
	return o
}

// Step updates every parameter that has a gradient.
func (o *SGD) Step() {
	o.each(func(*Hyper, *autograd.Var) *paramState { return &paramState{t: map[string]*tensor.Tensor{}} }, sgdUpdate)
}

// sgdUpdate is SGD's whole update of one parameter: the one place to swap
// for a fused kernel.
func sgdUpdate(h *Hyper, p, g *tensor.Tensor, st *paramState) {
	if h.Maximize {
		g = g.Neg()
	}
	if h.WeightDecay != 0 {
		g = g.Add(p.MulScalar(h.WeightDecay))
	}
	if h.Momentum != 0 {
		buf := st.t["momentum_buffer"]
		if buf == nil {
			buf = tensor.Keep(g.Clone())
			st.t["momentum_buffer"] = buf
		} else {
			buf.Axpby_(h.Momentum, g, 1-h.Dampening) // buf = μ·buf + (1−τ)·g
		}
		if h.Nesterov {
			g = g.Add(buf.MulScalar(h.Momentum))
		} else {
			g = buf
		}
	}
	p.AddScaled_(g, -h.LR)
}
