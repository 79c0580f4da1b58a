package optim

import (
	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// RMSprop divides the gradient by a running root mean square of recent
// gradients, exactly as torch.optim.RMSprop (1.13):
//
//	g ← −g if maximize;  g ← g + weight_decay·θ
//	v ← α·v + (1 − α)·g²
//	if centered: ḡ ← α·ḡ + (1 − α)·g;  d ← √(v − ḡ²) + eps,  else d ← √v + eps
//	if momentum > 0: b ← momentum·b + g/d;  θ ← θ − lr·b
//	else θ ← θ − lr·g/d
type RMSprop struct{ base }

var rmspropKind = &kind{
	name: "RMSprop",
	allowed: []string{"WithLR", "WithAlpha", "WithEps", "WithWeightDecay", "WithMomentum",
		"WithCentered", "WithMaximize"},
	defaults: Hyper{LR: 1e-2, Alpha: 0.99, Eps: 1e-8},
	check: func(op string, c *config) {
		h := &c.Hyper
		nonNegative(op, "learning rate", h.LR)
		nonNegative(op, "epsilon", h.Eps)
		nonNegative(op, "momentum", h.Momentum)
		nonNegative(op, "weight decay", h.WeightDecay)
		nonNegative(op, "alpha", h.Alpha)
	},
	cycles: "momentum",
}

// NewRMSprop returns an RMSprop optimizer of params. Options (torch's
// defaults): WithLR (1e-2), WithAlpha (0.99), WithEps (1e-8),
// WithWeightDecay (0), WithMomentum (0), WithCentered (off), WithMaximize
// (off).
func NewRMSprop[P Params](params P, opts ...Option) *RMSprop {
	o := &RMSprop{}
	o.init(rmspropKind, groupsOf(params), opts)
	return o
}

func freshRMSprop(h *Hyper, p *autograd.Var) *paramState {
	names := []string{"square_avg"}
	if h.Momentum > 0 {
		names = append(names, "momentum_buffer")
	}
	if h.Centered {
		names = append(names, "grad_avg")
	}
	return newState(p, names...)
}

// Step updates every parameter that has a gradient.
func (o *RMSprop) Step() { o.each(freshRMSprop, rmspropUpdate) }

// rmspropUpdate is RMSprop's whole update of one parameter: the one place
// to swap for a fused kernel.
func rmspropUpdate(h *Hyper, p, g *tensor.Tensor, st *paramState) {
	st.step++
	if h.Maximize {
		g = g.Neg()
	}
	if h.WeightDecay != 0 {
		g = g.Add(p.MulScalar(h.WeightDecay))
	}
	sq := stateOrZeros(st, "square_avg", p).MulScalar_(h.Alpha).AddMul_(g, g, 1-h.Alpha)
	var avg *tensor.Tensor
	if h.Centered {
		ga := stateOrZeros(st, "grad_avg", p).Axpby_(h.Alpha, g, 1-h.Alpha)
		avg = sq.Sub(ga.Mul(ga)).Sqrt()
	} else {
		avg = sq.Sqrt()
	}
	avg.AddScalar_(h.Eps)
	if h.Momentum > 0 {
		buf := stateOrZeros(st, "momentum_buffer", p).MulScalar_(h.Momentum).AddDiv_(g, avg, 1)
		p.AddScaled_(buf, -h.LR)
	} else {
		p.AddDiv_(g, avg, -h.LR)
	}
}

// stateOrZeros returns the named state tensor, or zeros like p when a
// hyperparameter changed since the state was made (a momentum switched on).
func stateOrZeros(st *paramState, name string, p *tensor.Tensor) *tensor.Tensor {
	if t := st.t[name]; t != nil {
		return t
	}
	t := tensor.Keep(tensor.ZerosLike(p))
	st.t[name] = t
	return t
}
