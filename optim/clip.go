package optim

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// GradNorm returns the normType-norm of the gradients of params taken
// together as one vector: normType is a positive p or math.Inf(1) (the
// largest absolute value). Parameters without a gradient are skipped; with
// none at all the norm is 0. It is computed in float64.
func GradNorm(params []*autograd.Var, normType float64) (float64, error) {
	if !(normType > 0) {
		return 0, fmt.Errorf("optim.GradNorm: norm type must be positive or +Inf, not %v", normType)
	}
	total := 0.0
	// The gradients' handles and the temporaries go back to the pool at the
	// end, whether or not the caller runs in a scope of its own.
	scope := tensor.OpenScope()
	defer scope.Close()
	for _, p := range params {
		g := p.Grad()
		if g == nil || g.Numel() == 0 {
			continue
		}
		a := g.Cast(tensor.Float64).Abs()
		switch {
		case math.IsInf(normType, 1):
			total = math.Max(total, a.Max().Item()) // NaN wins, as in torch.max
		case normType == 2:
			total += a.Mul(a).Sum().Item()
		case normType == 1:
			total += a.Sum().Item()
		default:
			total += a.PowScalar(normType).Sum().Item()
		}
	}
	switch {
	case math.IsInf(normType, 1), normType == 1:
		return total, nil
	case normType == 2:
		return math.Sqrt(total), nil
	}
	return math.Pow(total, 1/normType), nil
}

// ClipGradNorm scales the gradients of params in place so that their
// normType-norm, taken together as one vector, is at most maxNorm, as
// torch.nn.utils.clip_grad_norm_: each gradient is multiplied by
// min(1, maxNorm/(total + 1e-6)). It returns the norm before clipping.
//
// When the norm is NaN or infinite and errorIfNonfinite is set it returns
// an error and leaves the gradients alone; otherwise it scales them anyway
// (by 0 or NaN), as torch does.
func ClipGradNorm(params []*autograd.Var, maxNorm, normType float64, errorIfNonfinite bool) (float64, error) {
	total, err := GradNorm(params, normType)
	if err != nil {
		return 0, fmt.Errorf("optim.ClipGradNorm: %w", err)
	}
	if errorIfNonfinite && (math.IsNaN(total) || math.IsInf(total, 0)) {
		return total, fmt.Errorf("optim.ClipGradNorm: the total norm of order %v of the gradients is non-finite (%v), "+
			"so it cannot be clipped; pass errorIfNonfinite=false to scale them by it anyway", normType, total)
	}
	coef := maxNorm / (total + 1e-6)
	if coef >= 1 {
		return total, nil // torch multiplies by the clamped 1: a no-op
	}
	scope := tensor.OpenScope()
	defer scope.Close()
	for _, p := range params {
		if g := p.Grad(); g != nil {
			setGrad(p, g, g.MulScalar(coef))
		}
	}
	return total, nil
}

// ClipGradValue clamps every gradient element of params to [−clip, clip]
// in place, as torch.nn.utils.clip_grad_value_.
func ClipGradValue(params []*autograd.Var, clip float64) {
	scope := tensor.OpenScope()
	defer scope.Close()
	for _, p := range params {
		if g := p.Grad(); g != nil {
			setGrad(p, g, g.Clamp(-clip, clip))
		}
	}
}

// setGrad writes v into p's gradient g in place, or replaces the gradient
// when g is a broadcast view whose elements alias one another.
func setGrad(p *autograd.Var, g, v *tensor.Tensor) {
	for i, st := range g.Strides() {
		if st == 0 && g.Shape()[i] > 1 {
			p.SetGrad(tensor.Keep(v)) // made in the caller's scope: it must outlive it
			return
		}
	}
	g.CopyFrom(v)
}
