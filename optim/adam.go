package optim

import (
	"math"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/tensor"
)

// Adam is the Adam optimizer with optional L2 weight decay and AMSGrad,
// exactly as torch.optim.Adam (1.13):
//
//	t ← t + 1;  g ← −g if maximize;  g ← g + weight_decay·θ
//	m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//	v̂ ← max(v̂, v) if amsgrad, else v
//	θ ← θ − lr/(1 − β1ᵗ) · m / (√v̂/√(1 − β2ᵗ) + eps)
type Adam struct{ base }

// AdamW is Adam with decoupled weight decay, exactly as torch.optim.AdamW
// (1.13): θ ← θ·(1 − lr·weight_decay), then Adam's update without the L2
// term. Its weight decay defaults to 0.01.
type AdamW struct{ base }

var adamAllowed = []string{"WithLR", "WithBetas", "WithEps", "WithWeightDecay", "WithAMSGrad", "WithMaximize"}

func checkAdam(op string, c *config) {
	h := &c.Hyper
	nonNegative(op, "learning rate", h.LR)
	nonNegative(op, "epsilon", h.Eps)
	nonNegative(op, "weight decay", h.WeightDecay)
	for i, b := range h.Betas {
		if !(b >= 0 && b < 1) {
			valueError(op, "invalid beta parameter at index %d: %v", i, b)
		}
	}
}

var (
	adamKind = &kind{
		name:     "Adam",
		allowed:  adamAllowed,
		defaults: Hyper{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8},
		check:    checkAdam,
		cycles:   "betas",
	}
	adamWKind = &kind{
		name:     "AdamW",
		allowed:  adamAllowed,
		defaults: Hyper{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 1e-2},
		check:    checkAdam,
		cycles:   "betas",
	}
)

// NewAdam returns an Adam optimizer of params. Options (torch's defaults):
// WithLR (1e-3), WithBetas (0.9, 0.999), WithEps (1e-8), WithWeightDecay (0),
// WithAMSGrad (off), WithMaximize (off).
func NewAdam[P Params](params P, opts ...Option) *Adam {
	o := &Adam{}
	o.init(adamKind, groupsOf(params), opts)
	return o
}

// NewAdamW returns an AdamW optimizer of params. Options as for NewAdam,
// but WithWeightDecay (decoupled) defaults to 0.01.
func NewAdamW[P Params](params P, opts ...Option) *AdamW {
	o := &AdamW{}
	o.init(adamWKind, groupsOf(params), opts)
	return o
}

func freshAdam(h *Hyper, p *autograd.Var) *paramState {
	if h.AMSGrad {
		return newState(p, "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
	}
	return newState(p, "exp_avg", "exp_avg_sq")
}

// Step updates every parameter that has a gradient.
func (o *Adam) Step() {
	o.each(freshAdam, func(h *Hyper, p, g *tensor.Tensor, st *paramState) { adamUpdate(h, p, g, st, false) })
}

// Step updates every parameter that has a gradient.
func (o *AdamW) Step() {
	o.each(freshAdam, func(h *Hyper, p, g *tensor.Tensor, st *paramState) { adamUpdate(h, p, g, st, true) })
}

// noFusedAdam makes adamUpdate run the composite update (for tests).
var noFusedAdam bool

// adamUpdate is Adam's and AdamW's whole update of one parameter: one
// fused kernel (tensor.AdamUpdate_) where the backend has it, else the
// composite below, whose rounding the kernel repeats. decoupled selects
// AdamW's weight decay. The order of operations follows torch's so that
// float32 results round alike.
func adamUpdate(h *Hyper, p, g *tensor.Tensor, st *paramState, decoupled bool) {
	beta1, beta2 := h.Betas[0], h.Betas[1]
	if h.Maximize {
		g = g.Neg()
	}
	st.step++
	if !decoupled && h.WeightDecay != 0 {
		g = g.Add(p.MulScalar(h.WeightDecay))
	}
	bc1 := 1 - math.Pow(beta1, st.step)
	bc2 := 1 - math.Pow(beta2, st.step)
	stepSize := h.LR / bc1
	bc2Sqrt := math.Sqrt(bc2)
	if !h.AMSGrad && !noFusedAdam {
		decay := 1.0
		if decoupled {
			decay = 1 - h.LR*h.WeightDecay
		}
		a := backend.AdamArgs{Decay: decay, Beta1: beta1, Beta2: beta2, StepSize: stepSize, BC2Sqrt: bc2Sqrt, Eps: h.Eps}
		if tensor.AdamUpdate_(p, g, st.t["exp_avg"], st.t["exp_avg_sq"], a) {
			return
		}
	}
	if decoupled && h.WeightDecay != 0 {
		p.MulScalar_(1 - h.LR*h.WeightDecay)
	}
	m := st.t["exp_avg"].Axpby_(beta1, g, 1-beta1)
	v := st.t["exp_avg_sq"].MulScalar_(beta2).AddMul_(g, g, 1-beta2)

	if h.AMSGrad {
		vmax := st.t["max_exp_avg_sq"]
		if vmax == nil {
			vmax = tensor.Keep(tensor.ZerosLike(v))
			st.t["max_exp_avg_sq"] = vmax
		}
		vmax.CopyFrom(vmax.Maximum(v))
		v = vmax
	}
	denom := v.Sqrt().DivScalar_(bc2Sqrt).AddScalar_(h.Eps)
	p.AddDiv_(m, denom, -stepSize)
}
