package nn

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Dropout zeroes each element with probability P while training and scales
// the survivors by 1/(1−P), so that the expected value is unchanged
// (torch.nn.Dropout); in evaluation mode it is the identity. The mask is
// drawn from Gen, or from tensor's default generator when Gen is nil: the
// same seed gives the same masks. P = 1 zeroes everything.
type Dropout struct {
	Base
	P   float64
	Gen *tensor.Generator
}

// NewDropout makes a Dropout layer; torch's default p is 0.5. Options:
// WithGenerator.
func NewDropout(p float64, opts ...Option) *Dropout {
	c := layerOptions("nn.NewDropout", opts, "WithGenerator")
	if !(p >= 0 && p <= 1) {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewDropout", Msg: fmt.Sprintf("probability %v is not in [0, 1]", p)})
	}
	return &Dropout{P: p, Gen: c.gen}
}

// Members implements Module; Dropout has none.
func (*Dropout) Members() Members { return Members{} }

// Forward implements Layer.
func (l *Dropout) Forward(x *autograd.Var) *autograd.Var {
	if !l.Training() || l.P == 0 {
		return l.RunHooks(l, x, x)
	}
	if l.P == 1 {
		return l.RunHooks(l, x, x.Mul(autograd.Const(tensor.ZerosLike(x.Data))))
	}
	// keep where u < 1−p, u uniform on [0, 1): probability 1−p. Masks are
	// drawn in float32 (float64 for float64 inputs) whatever x's dtype, so
	// that a float16 input does not get float16's coarse grid of values.
	rdt := tensor.Float32
	if x.DType() == tensor.Float64 {
		rdt = tensor.Float64
	}
	u := tensor.Rand(l.Gen, x.Shape(), tensor.WithDType(rdt)).To(x.Data.Device())
	mask := u.LtScalar(1 - l.P).Cast(x.DType()).MulScalar(1 / (1 - l.P))
	return l.RunHooks(l, x, x.Mul(autograd.Const(mask)))
}

// String prints the layer as torch's repr does.
func (l *Dropout) String() string { return fmt.Sprintf("Dropout(p=%v)", l.P) }
