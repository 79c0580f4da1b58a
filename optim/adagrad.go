package optim

import (
	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Adagrad scales each coordinate's step by its accumulated squared
// gradients, exactly as torch.optim.Adagrad (1.13):
//
//	t ← t + 1;  g ← −g if maximize;  g ← g + weight_decay·θ
//	lr_t ← lr / (1 + (t − 1)·lr_decay)
//	s ← s + g²;  θ ← θ − lr_t·g/(√s + eps)
//
// Its state (s = initial_accumulator_value) is made when a parameter joins
// the optimizer, as in torch.
type Adagrad struct{ base }

var adagradKind = &kind{
	name: "Adagrad",
	allowed: []string{"WithLR", "WithLRDecay", "WithWeightDecay", "WithInitialAccumulatorValue",
		"WithEps", "WithMaximize"},
	defaults: Hyper{LR: 1e-2, Eps: 1e-10},
	check: func(op string, c *config) {
		h := &c.Hyper
		nonNegative(op, "learning rate", h.LR)
		nonNegative(op, "lr_decay", h.LRDecay)
		nonNegative(op, "weight decay", h.WeightDecay)
		nonNegative(op, "initial_accumulator_value", h.InitialAccumulatorValue)
		nonNegative(op, "epsilon", h.Eps)
	},
	eager: freshAdagrad,
}

// NewAdagrad returns an Adagrad optimizer of params. Options (torch's
// defaults): WithLR (1e-2), WithLRDecay (0), WithWeightDecay (0),
// WithInitialAccumulatorValue (0), WithEps (1e-10), WithMaximize (off).
func NewAdagrad[P Params](params P, opts ...Option) *Adagrad {
	o := &Adagrad{}
	o.init(adagradKind, groupsOf(params), opts)
	return o
}

func freshAdagrad(h *Hyper, p *autograd.Var) *paramState {
	return &paramState{t: map[string]*tensor.Tensor{"sum": tensor.Keep(tensor.FullLike(p.Data, h.InitialAccumulatorValue))}}
}

// Step updates every parameter that has a gradient.
func (o *Adagrad) Step() { o.each(freshAdagrad, adagradUpdate) }

// adagradUpdate is Adagrad's whole update of one parameter: the one place
// to swap for a fused kernel.
func adagradUpdate(h *Hyper, p, g *tensor.Tensor, st *paramState) {
	st.step++
	if h.Maximize {
		g = g.Neg()
	}
	if h.WeightDecay != 0 {
		g = g.Add(p.MulScalar(h.WeightDecay))
	}
	clr := h.LR / (1 + (st.step-1)*h.LRDecay)
	sum := stateOrZeros(st, "sum", p).AddMul_(g, g, 1)
	std := sum.Sqrt().AddScalar_(h.Eps)
	p.AddDiv_(g, std, -clr)
}
