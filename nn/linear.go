package nn

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Linear applies y = x·Wᵀ + b to the last axis of its input (torch.nn.Linear):
// x is [..., In] and y is [..., Out].
type Linear struct {
	Base
	In, Out int
	Weight  *autograd.Var // [Out, In]
	Bias    *autograd.Var // [Out], nil without bias
}

// NewLinear makes a Linear layer initialised as torch does: the weight from
// KaimingUniform with A = √5, that is U(−1/√in, 1/√in), then the bias from
// the same U(−1/√in, 1/√in) (zero when in is 0). Options: WithoutBias,
// WithGenerator, WithDType, WithDevice.
func NewLinear(in, out int, opts ...Option) *Linear {
	c := layerOptions("nn.NewLinear", opts, "WithoutBias", "WithGenerator", "WithDType", "WithDevice")
	if in < 0 || out < 0 {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewLinear", Msg: fmt.Sprintf("negative size: in %d, out %d", in, out)})
	}
	l := &Linear{In: in, Out: out}
	w := tensor.Zeros([]int{out, in}, c.tensorOpts()...)
	KaimingUniform(w, c.gen, KaimingOptions{A: math.Sqrt(5)})
	l.Weight = autograd.Param(w)
	if c.bias {
		b := tensor.Zeros([]int{out}, c.tensorOpts()...)
		if in > 0 {
			bound := 1 / math.Sqrt(float64(in))
			Uniform(b, c.gen, -bound, bound)
		}
		l.Bias = autograd.Param(b)
	}
	return l
}

// Members implements Module: "weight" and, when present, "bias".
func (l *Linear) Members() Members {
	m := Members{Params: []Named[*autograd.Var]{P("weight", l.Weight)}}
	if l.Bias != nil {
		m.Params = append(m.Params, P("bias", l.Bias))
	}
	return m
}

// Forward implements Layer.
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	if x.Dim() == 0 || x.Shape()[x.Dim()-1] != l.In {
		panic(&tensor.Error{Kind: tensor.ShapeError, Op: "nn.Linear", Shapes: [][]int{x.Shape(), l.Weight.Shape()},
			Msg: fmt.Sprintf("input's last axis must have length %d", l.In)})
	}
	out := x.MatMul(l.Weight.T())
	if l.Bias != nil {
		prod := out
		out = out.Add(l.Bias)
		releaseDead(prod) // Add's gradient reads neither operand
	}
	return l.RunHooks(l, x, out)
}

// releaseDead frees the buffers of intermediates of a layer's forward pass
// right away, instead of when the step's scope closes: each v must be made
// inside the layer, never handed to the caller, and consumed only by ops
// whose backward rules do not read it (Add, Where, Softmax's input). The
// graph keeps v for its shape and dtype; nothing reads its values again.
// This is what lets a step's peak memory approach PyTorch's, which frees
// such tensors when their last Python reference goes.
func releaseDead(vs ...*autograd.Var) {
	for _, v := range vs {
		if v != nil && !v.IsLeaf() {
			v.Data.Release()
		}
	}
}

// Identity returns its input unchanged (torch.nn.Identity), a placeholder
// where a layer is optional.
type Identity struct{ Base }

// NewIdentity makes an Identity layer.
func NewIdentity() *Identity { return &Identity{} }

// Members implements Module; Identity has none.
func (*Identity) Members() Members { return Members{} }

// Forward implements Layer.
func (l *Identity) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x) }

// Flatten merges the axes Start..End (inclusive; negative counts from the
// end) into one, as torch.nn.Flatten does; torch's defaults are Start 1 and
// End −1, which keep the batch axis.
type Flatten struct {
	Base
	Start, End int
}

// NewFlatten makes a Flatten layer over axes start..end; torch's defaults
// are NewFlatten(1, -1).
func NewFlatten(start, end int) *Flatten { return &Flatten{Start: start, End: end} }

// Members implements Module; Flatten has none.
func (*Flatten) Members() Members { return Members{} }

// Forward implements Layer. A 0-d input becomes 1-D, as in torch.
func (l *Flatten) Forward(x *autograd.Var) *autograd.Var {
	var out *autograd.Var
	if x.Dim() == 0 {
		out = x.Reshape(1)
	} else {
		out = x.Flatten(l.Start, l.End)
	}
	return l.RunHooks(l, x, out)
}

// String prints the layer as torch's repr does.
func (l *Linear) String() string {
	return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=%s)", l.In, l.Out, pyBool(l.Bias != nil))
}

// String prints the layer as torch's repr does.
func (*Identity) String() string { return "Identity()" }

// String prints the layer as torch's repr does.
func (l *Flatten) String() string {
	return fmt.Sprintf("Flatten(start_dim=%d, end_dim=%d)", l.Start, l.End)
}

// pyBool and pyTuple format values the way torch's reprs (Python) do.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func pyTuple(s []int) string {
	if len(s) == 1 {
		return fmt.Sprintf("(%d,)", s[0])
	}
	out := "("
	for i, d := range s {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprint(d)
	}
	return out + ")"
}
