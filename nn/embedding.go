package nn

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Embedding is a lookup table of Num vectors of length Dim
// (torch.nn.Embedding): an input of integer indices of shape [...] gives
// the rows of Weight at those indices, of shape [..., Dim].
type Embedding struct {
	Base
	Num, Dim int
	// PaddingIdx is the padding row (in [0, Num)), or −1 for none. Its row
	// is zero at initialisation and the lookups of it send no gradient to
	// Weight, so it stays what it is set to.
	PaddingIdx int
	Weight     *autograd.Var // [Num, Dim]
}

// NewEmbedding makes an Embedding initialised as torch does: N(0, 1), with
// the padding row (if any) zero. Options: WithPaddingIdx, WithGenerator,
// WithDType, WithDevice.
func NewEmbedding(num, dim int, opts ...Option) *Embedding {
	c := layerOptions("nn.NewEmbedding", opts, "WithPaddingIdx", "WithGenerator", "WithDType", "WithDevice")
	if num < 0 || dim < 0 {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewEmbedding", Msg: fmt.Sprintf("negative size: num %d, dim %d", num, dim)})
	}
	e := &Embedding{Num: num, Dim: dim, PaddingIdx: -1}
	if c.hasPadding {
		p := c.paddingIdx
		if p < 0 {
			p += num
		}
		if p < 0 || p >= num {
			panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewEmbedding",
				Msg: fmt.Sprintf("padding index %d is not within the %d embeddings", c.paddingIdx, num)})
		}
		e.PaddingIdx = p
	}
	w := Normal(tensor.Zeros([]int{num, dim}, c.tensorOpts()...), c.gen, 0, 1)
	if e.PaddingIdx >= 0 {
		w.Index(0, e.PaddingIdx).Fill_(0)
	}
	e.Weight = autograd.Param(w)
	return e
}

// Members implements Module: "weight".
func (e *Embedding) Members() Members {
	return Members{Params: []Named[*autograd.Var]{P("weight", e.Weight)}}
}

// Forward implements Layer. x holds integer indices (Int64 or Int32); an
// index out of range panics with a tensor IndexError.
func (e *Embedding) Forward(x *autograd.Var) *autograd.Var {
	if !x.DType().IsInt() {
		panic(&tensor.Error{Kind: tensor.DTypeError, Op: "nn.Embedding", Shapes: [][]int{x.Shape()},
			Msg: fmt.Sprintf("indices must be int32 or int64, not %v", x.DType())})
	}
	flat := x.Data.Reshape(-1)
	out := e.Weight.IndexSelect(0, flat)
	if e.PaddingIdx >= 0 {
		// The value is the padding row, as in torch, but its gradient is
		// masked: where(keep, rows, constant copy of rows).
		keep := flat.NeScalar(float64(e.PaddingIdx)).Reshape(-1, 1)
		out = autograd.Where(keep, out, autograd.Const(out.Data))
	}
	out = out.Reshape(append(x.Shape(), e.Dim)...)
	return e.RunHooks(e, x, out)
}

// String prints the layer as torch's repr does.
func (e *Embedding) String() string {
	if e.PaddingIdx >= 0 {
		return fmt.Sprintf("Embedding(%d, %d, padding_idx=%d)", e.Num, e.Dim, e.PaddingIdx)
	}
	return fmt.Sprintf("Embedding(%d, %d)", e.Num, e.Dim)
}
