package nn

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Attention: ScaledDotProductAttention (torch.nn.functional.
// scaled_dot_product_attention) and MultiheadAttention
// (torch.nn.MultiheadAttention with batch_first=True).
//
// Both are composed of autograd ops, so their gradients come from the op
// table. The whole computation is one pass over batched tensors: the heads
// are an axis of the matrix products' batch, never a Go loop.

// attnFail panics with a *tensor.Error.
func attnFail(kind tensor.ErrorKind, op string, shapes [][]int, format string, args ...any) {
	panic(&tensor.Error{Kind: kind, Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// AttentionOptions are ScaledDotProductAttention's optional arguments. The
// zero value is torch's defaults: no mask, not causal, no dropout, scale
// 1/√E.
type AttentionOptions struct {
	// Mask says which keys each query may attend to; it broadcasts against
	// the scores [..., L, S]. A Bool mask keeps the positions where it is
	// true (torch's convention for this function; MultiheadAttention's
	// masks say the opposite). A floating-point mask is added to the scores
	// before the softmax, so −Inf removes a position and a finite value
	// biases it (ALiBi, relative positions).
	Mask *tensor.Tensor
	// IsCausal lets query i attend only to keys j <= i: the lower triangle
	// of the L×S score matrix, aligned at the top left when L != S, as in
	// torch. torch refuses IsCausal together with Mask; here both apply.
	IsCausal bool
	// DropoutP zeroes each attention weight with this probability and
	// scales the others by 1/(1−p). Like torch's dropout_p it applies
	// whenever it is non-zero: pass 0 in evaluation.
	DropoutP float64
	// Generator draws the dropout mask (tensor's default generator when
	// nil).
	Generator *tensor.Generator
	// Scale multiplies the scores; 0 means 1/√E, E the queries' last axis.
	Scale float64
}

// ScaledDotProductAttention computes softmax(Q·Kᵀ·scale + mask)·V with the
// semantics of torch.nn.functional.scaled_dot_product_attention (torch 2.x):
//
//	q  [..., L, E]   queries
//	k  [..., S, E]   keys
//	v  [..., S, Ev]  values
//	→  [..., L, Ev]
//
// The leading (batch) axes broadcast as in MatMul, so heads are simply
// another batch axis: [N, H, L, E] queries attend per head in one matrix
// product. A query whose every key is masked out gets zero weights and a
// zero output (torch ≥ 2.5 does the same; earlier versions give NaN).
func ScaledDotProductAttention(q, k, v *autograd.Var, o AttentionOptions) *autograd.Var {
	const op = "nn.ScaledDotProductAttention"
	var keep, bias *tensor.Tensor
	if o.Mask != nil {
		switch {
		case o.Mask.DType() == tensor.Bool:
			keep = o.Mask
		case o.Mask.DType().IsFloat():
			bias = o.Mask
		default:
			attnFail(tensor.DTypeError, op, [][]int{o.Mask.Shape()}, "mask must be bool or floating point, not %v", o.Mask.DType())
		}
	}
	out, _ := attention(op, q, k, v, attnArgs{keep: keep, bias: bias, causal: o.IsCausal,
		dropout: o.DropoutP, gen: o.Generator, scale: o.Scale})
	return out
}

// attnArgs are attention's masks and settings, already in one convention:
// keep is Bool (true = attend), bias is added to the scores.
type attnArgs struct {
	keep, bias *tensor.Tensor
	causal     bool
	dropout    float64
	gen        *tensor.Generator
	scale      float64 // 0: 1/√E
}

// attention is the fused computation behind ScaledDotProductAttention and
// MultiheadAttention. It returns the output and the attention weights (after
// dropout, the matrix that multiplies v). Its ops, masks given:
// MatMul, Add (float mask), Where (bool and causal masks), Softmax,
// Mul (dropout), MatMul; fully masked rows add two Wheres.
func attention(op string, q, k, v *autograd.Var, a attnArgs) (out, weights *autograd.Var) {
	if q.Dim() < 2 || k.Dim() < 2 || v.Dim() < 2 {
		attnFail(tensor.ShapeError, op, [][]int{q.Shape(), k.Shape(), v.Shape()}, "query, key and value need at least 2 dimensions ([..., L, E])")
	}
	qs, ks, vs := q.Shape(), k.Shape(), v.Shape()
	e, s := qs[len(qs)-1], ks[len(ks)-2]
	if ks[len(ks)-1] != e || vs[len(vs)-2] != s {
		attnFail(tensor.ShapeError, op, [][]int{qs, ks, vs}, "want query [..., L, E], key [..., S, E], value [..., S, Ev]")
	}
	if !(a.dropout >= 0 && a.dropout <= 1) {
		attnFail(tensor.ValueError, op, nil, "dropout probability %v is not in [0, 1]", a.dropout)
	}
	dt, dev := q.DType(), q.Data.Device()
	scale := a.scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(e))
	}
	// Scaling the queries costs L·E multiplications, the scores L·S.
	scores := q.Mul(attnConst(scale, dt, dev)).MatMul(k.Transpose(-1, -2))
	dead := []*autograd.Var{scores} // the scores' stages, freed after the softmax
	l := qs[len(qs)-2]
	if a.bias != nil {
		attnCheckMask(op, a.bias, scores.Shape())
		scores = scores.Add(autograd.Const(a.bias.Cast(dt)))
		dead = append(dead, scores)
	}
	keep := a.keep
	if keep != nil {
		if keep.DType() != tensor.Bool {
			attnFail(tensor.DTypeError, op, [][]int{keep.Shape()}, "mask must be bool, not %v", keep.DType())
		}
		attnCheckMask(op, keep, scores.Shape())
	}
	if a.causal {
		tri := attnCausalMask(l, s, dev)
		if keep == nil {
			keep = tri
		} else {
			keep = keep.Mul(tri) // logical and
		}
	}
	if keep != nil {
		scores = autograd.Where(keep, scores, attnConst(math.Inf(-1), dt, dev))
		dead = append(dead, scores)
	}
	var deadRows *tensor.Tensor // rows with every key masked out
	if keep != nil || a.bias != nil {
		d := scores.Data.MaxKeep(-1).EqScalar(math.Inf(-1))
		if d.Cast(tensor.Float32).Max().Item() > 0 {
			deadRows = d
			// Softmax of a row of −Inf is NaN, and so would its gradient
			// be; give such rows finite scores, then zero their weights.
			scores = autograd.Where(deadRows, attnConst(0, dt, dev), scores)
			dead = append(dead, scores)
		}
	}
	w := scores.Softmax(-1)
	// MatMul's, Add's and Where's gradients read none of the stages;
	// Softmax's reads its output only.
	releaseDead(dead...)
	if deadRows != nil {
		w = autograd.Where(deadRows, attnConst(0, dt, dev), w)
	}
	if a.dropout > 0 {
		w = w.Mul(autograd.Const(attnDropoutMask(w.Data, a.dropout, a.gen)))
	}
	return w.MatMul(v), w
}

// attnConst is a constant 0-d Var of dtype dt on device dev.
func attnConst(x float64, dt tensor.DType, dev tensor.Device) *autograd.Var {
	return autograd.Const(tensor.Scalar(x, tensor.WithDType(dt), tensor.WithDevice(dev)))
}

// attnCheckMask panics unless mask broadcasts against the scores without
// changing their shape's trailing [L, S].
func attnCheckMask(op string, mask *tensor.Tensor, scores []int) {
	b, ok := tensor.BroadcastShapes(mask.Shape(), scores)
	if !ok || len(b) < 2 || b[len(b)-1] != scores[len(scores)-1] || b[len(b)-2] != scores[len(scores)-2] {
		attnFail(tensor.ShapeError, op, [][]int{mask.Shape(), scores}, "mask does not broadcast to the scores [..., L, S]")
	}
}

// attnCausalMask returns the Bool [l, s] lower triangle: true where key j <= query i.
func attnCausalMask(l, s int, dev tensor.Device) *tensor.Tensor {
	i := tensor.Arange(0, float64(l), 1).Unsqueeze(1)
	j := tensor.Arange(0, float64(s), 1).Unsqueeze(0)
	return i.Ge(j).To(dev)
}

// attnDropoutMask returns a tensor like x holding 0 with probability p and
// 1/(1−p) otherwise (all zeros when p is 1), drawn from g as Dropout draws
// its masks.
func attnDropoutMask(x *tensor.Tensor, p float64, g *tensor.Generator) *tensor.Tensor {
	if p >= 1 {
		return tensor.ZerosLike(x)
	}
	rdt := tensor.Float32
	if x.DType() == tensor.Float64 {
		rdt = tensor.Float64
	}
	u := tensor.Rand(g, x.Shape(), tensor.WithDType(rdt)).To(x.Device())
	return u.LtScalar(1 - p).Cast(x.DType()).MulScalar(1 / (1 - p))
}

// MultiheadAttention is torch.nn.MultiheadAttention with batch_first=True:
// NumHeads attention heads of EmbedDim/NumHeads dimensions each, over
// learned projections of the queries, keys and values, whose outputs are
// concatenated and projected back to EmbedDim.
//
// Its parameters have torch's names, so state dicts load either way:
// "in_proj_weight" [3E, E] (the query, key and value projections stacked
// in that order), "in_proj_bias" [3E], "out_proj.weight" [E, E] and
// "out_proj.bias" [E]. Keys and values must have EmbedDim features too
// (torch's kdim and vdim are not supported, nor are bias_k, bias_v and
// add_zero_attn).
type MultiheadAttention struct {
	Base
	EmbedDim, NumHeads int
	Dropout            float64           // dropout on the attention weights while training
	Gen                *tensor.Generator // draws dropout masks; nil: tensor's default generator

	InProjWeight *autograd.Var // [3E, E]
	InProjBias   *autograd.Var // [3E]; nil without bias
	OutProj      *Linear       // E → E
}

// NewMultiheadAttention makes a MultiheadAttention of embedDim features
// split into numHeads heads (which must divide embedDim), with dropout on
// the attention weights while training (torch's default is 0). It is
// initialised as torch does: in_proj_weight from XavierUniform, the biases
// zero, out_proj.weight as a Linear's. Options: WithoutBias (no in_proj_bias
// and no out_proj.bias), WithGenerator (initialisation and dropout),
// WithDType, WithDevice.
func NewMultiheadAttention(embedDim, numHeads int, dropout float64, opts ...Option) *MultiheadAttention {
	const op = "nn.NewMultiheadAttention"
	c := layerOptions(op, opts, "WithoutBias", "WithGenerator", "WithDType", "WithDevice")
	if embedDim <= 0 || numHeads <= 0 || embedDim%numHeads != 0 {
		attnFail(tensor.ValueError, op, nil, "embed_dim %d must be a positive multiple of num_heads %d", embedDim, numHeads)
	}
	if !(dropout >= 0 && dropout <= 1) {
		attnFail(tensor.ValueError, op, nil, "dropout probability %v is not in [0, 1]", dropout)
	}
	m := &MultiheadAttention{EmbedDim: embedDim, NumHeads: numHeads, Dropout: dropout, Gen: c.gen}
	linOpts := []Option{WithGenerator(c.gen), WithDType(c.dtype), WithDevice(c.device)}
	if !c.bias {
		linOpts = append(linOpts, WithoutBias())
	}
	m.OutProj = NewLinear(embedDim, embedDim, linOpts...)
	w := tensor.Zeros([]int{3 * embedDim, embedDim}, c.tensorOpts()...)
	m.InProjWeight = autograd.Param(XavierUniform(w, c.gen, 1))
	if c.bias {
		m.InProjBias = autograd.Param(tensor.Zeros([]int{3 * embedDim}, c.tensorOpts()...))
		Zeros(m.OutProj.Bias.Data)
	}
	return m
}

// Members implements Module: "in_proj_weight", "in_proj_bias" and the
// child "out_proj".
func (m *MultiheadAttention) Members() Members {
	mm := Members{Params: []Named[*autograd.Var]{P("in_proj_weight", m.InProjWeight)}}
	if m.InProjBias != nil {
		mm.Params = append(mm.Params, P("in_proj_bias", m.InProjBias))
	}
	mm.Children = []Named[Module]{C("out_proj", m.OutProj)}
	return mm
}

// MHAOptions are MultiheadAttention.Forward's optional arguments, in
// torch's conventions. The zero value is no masks and no weights returned.
type MHAOptions struct {
	// KeyPaddingMask [N, S] marks the keys to ignore (padding). Bool: true
	// means ignore, as in torch. A floating-point mask is added to the
	// scores instead.
	KeyPaddingMask *tensor.Tensor
	// AttnMask [L, S], or [N·NumHeads, L, S] for a mask per sequence and
	// head (torch's layout: index n·NumHeads + h). Bool: true means NOT
	// allowed to attend, as in torch. A floating-point mask is added to the
	// scores.
	AttnMask *tensor.Tensor
	// IsCausal lets query i attend only to keys j <= i. In torch it is only
	// a hint that AttnMask is causal, and AttnMask is then required; here it
	// builds the causal mask itself, and combines with AttnMask if both are
	// given.
	IsCausal bool
	// NeedWeights makes Forward return the attention weights (torch's
	// need_weights, whose default there is true), averaged over the heads
	// to [N, L, S] unless PerHeadWeights.
	NeedWeights bool
	// PerHeadWeights returns the weights per head, [N, NumHeads, L, S]
	// (torch's average_attn_weights=False).
	PerHeadWeights bool
}

// Forward attends from the queries to the keys and values:
//
//	query [N, L, E]  (or [L, E] unbatched)
//	key   [N, S, E]
//	value [N, S, E]
//	→ out [N, L, E], and when o.NeedWeights the weights [N, L, S]
//	  (averaged over heads) or [N, NumHeads, L, S]; otherwise nil.
//
// Passing the same Var as query, key and value (self-attention) projects
// it with one matrix product. The weights are those that multiplied the
// values, so in training mode they are after dropout, as in torch.
func (m *MultiheadAttention) Forward(query, key, value *autograd.Var, o MHAOptions) (out, weights *autograd.Var) {
	const op = "nn.MultiheadAttention"
	in := query
	unbatched := query.Dim() == 2
	if unbatched {
		if key.Dim() != 2 || value.Dim() != 2 {
			attnFail(tensor.ShapeError, op, [][]int{query.Shape(), key.Shape(), value.Shape()}, "unbatched query needs unbatched key and value")
		}
		self := query == key && key == value
		query, key, value = query.Unsqueeze(0), key.Unsqueeze(0), value.Unsqueeze(0)
		if self {
			key, value = query, query
		}
		if o.KeyPaddingMask != nil && o.KeyPaddingMask.Dim() == 1 {
			o.KeyPaddingMask = o.KeyPaddingMask.Unsqueeze(0)
		}
	}
	qs, ks, vs := query.Shape(), key.Shape(), value.Shape()
	E, H := m.EmbedDim, m.NumHeads
	if len(qs) != 3 || len(ks) != 3 || len(vs) != 3 || qs[2] != E || ks[2] != E || vs[2] != E ||
		ks[0] != qs[0] || vs[0] != qs[0] || ks[1] != vs[1] {
		attnFail(tensor.ShapeError, op, [][]int{qs, ks, vs}, "want query [N, L, %d], key and value [N, S, %d]", E, E)
	}
	n, l, s, d := qs[0], qs[1], ks[1], E/H

	q, k, v := m.project(query, key, value)
	heads := func(x *autograd.Var, t int) *autograd.Var { return x.Reshape(n, t, H, d).Transpose(1, 2) }
	q, k, v = heads(q, l), heads(k, s), heads(v, s)

	a := attnArgs{causal: o.IsCausal, gen: m.Gen}
	if m.Training() {
		a.dropout = m.Dropout
	}
	if kpm := o.KeyPaddingMask; kpm != nil {
		if kpm.Dim() != 2 || kpm.Size(0) != n || kpm.Size(1) != s {
			attnFail(tensor.ShapeError, op, [][]int{kpm.Shape()}, "key_padding_mask must be [N, S] = [%d, %d]", n, s)
		}
		a.addMask(op, kpm.Reshape(n, 1, 1, s))
	}
	if am := o.AttnMask; am != nil {
		switch {
		case am.Dim() == 2 && am.Size(0) == l && am.Size(1) == s:
		case am.Dim() == 3 && am.Size(0) == n*H && am.Size(1) == l && am.Size(2) == s:
			am = am.Reshape(n, H, l, s)
		default:
			attnFail(tensor.ShapeError, op, [][]int{am.Shape()}, "attn_mask must be [L, S] = [%d, %d] or [N·heads, L, S] = [%d, %d, %d]", l, s, n*H, l, s)
		}
		a.addMask(op, am)
	}

	o1, w := attention(op, q, k, v, a)
	o1t := o1.Transpose(1, 2)
	merged := o1t.Reshape(n, l, E)
	if !merged.Data.SharesStorage(o1.Data) {
		releaseDead(o1, o1t) // copied by the Reshape, whose gradient reads nothing
	}
	o1 = merged
	// The output projection uses out_proj's parameters directly, as torch's
	// F.multi_head_attention_forward does (out_proj's own hooks do not run).
	out = o1.MatMul(m.OutProj.Weight.T())
	if m.OutProj.Bias != nil {
		prod := out
		out = out.Add(m.OutProj.Bias)
		releaseDead(prod)
	}
	if o.NeedWeights {
		weights = w
		if !o.PerHeadWeights {
			weights = w.Mean(1)
		}
		if unbatched {
			weights = weights.Squeeze(0)
		}
	}
	if unbatched {
		out = out.Squeeze(0)
	}
	return m.RunHooks(m, in, out), weights
}

// project applies the input projections: one matrix product for
// self-attention (query, key and value the same Var), two when key and
// value are the same, three otherwise.
func (m *MultiheadAttention) project(query, key, value *autograd.Var) (q, k, v *autograd.Var) {
	E := m.EmbedDim
	lin := func(x *autograd.Var, from, rows int) *autograd.Var {
		w := m.InProjWeight
		if rows != 3*E {
			w = w.Narrow(0, from, rows)
		}
		y := x.MatMul(w.T())
		if m.InProjBias != nil {
			b := m.InProjBias
			if rows != 3*E {
				b = b.Narrow(0, from, rows)
			}
			prod := y
			y = y.Add(b)
			releaseDead(prod)
		}
		return y
	}
	switch {
	case query == key && key == value:
		p := lin(query, 0, 3*E).Chunk(3, -1)
		return p[0], p[1], p[2]
	case key == value:
		kv := lin(key, E, 2*E).Chunk(2, -1)
		return lin(query, 0, E), kv[0], kv[1]
	}
	return lin(query, 0, E), lin(key, E, E), lin(value, 2*E, E)
}

// addMask folds a torch-convention mask (Bool true = not allowed, or
// additive float) into a's keep and bias.
func (a *attnArgs) addMask(op string, mask *tensor.Tensor) {
	switch {
	case mask.DType() == tensor.Bool:
		k := mask.EqScalar(0) // true = attend
		if a.keep == nil {
			a.keep = k
		} else {
			a.keep = a.keep.Mul(k)
		}
	case mask.DType().IsFloat():
		if a.bias == nil {
			a.bias = mask
		} else {
			a.bias = a.bias.Add(mask)
		}
	default:
		attnFail(tensor.DTypeError, op, [][]int{mask.Shape()}, "mask must be bool or floating point, not %v", mask.DType())
	}
}
