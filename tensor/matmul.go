package tensor

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
)

// MatMul returns the matrix product of t and u with torch.matmul's rules:
//   - 1-D · 1-D is the dot product (a 0-d tensor);
//   - 2-D · 2-D is the matrix product;
//   - a 1-D operand is treated as a row (left) or column (right) vector and
//     that axis is removed from the result;
//   - operands of more dimensions are stacks of matrices whose leading
//     (batch) axes broadcast.
//
// Integer operands are multiplied in float64 and converted back.
func (t *Tensor) MatMul(u *Tensor) *Tensor {
	const name = "MatMul"
	sameDevice(name, t, u)
	if t.Dim() == 0 || u.Dim() == 0 {
		panic(&Error{Kind: ShapeError, Op: name, Shapes: shapesOf(t, u), sep: " @ ", Msg: "both operands need at least one dimension"})
	}
	a, b := t, u
	if a.Dim() == 1 {
		a = a.Unsqueeze(0)
	}
	if b.Dim() == 1 {
		b = b.Unsqueeze(1)
	}
	m, k := a.shape[a.Dim()-2], a.shape[a.Dim()-1]
	k2, n := b.shape[b.Dim()-2], b.shape[b.Dim()-1]
	if k != k2 {
		panic(&Error{Kind: ShapeError, Op: name, Shapes: shapesOf(t, u), sep: " @ ",
			Msg: fmt.Sprintf("inner dimensions %d and %d differ", k, k2)})
	}
	batch, ok := broadcastShapes(a.shape[:a.Dim()-2], b.shape[:b.Dim()-2])
	if !ok {
		panic(&Error{Kind: ShapeError, Op: name, Shapes: shapesOf(t, u), sep: " @ ", Msg: "batch dimensions are not broadcastable"})
	}
	store := PromoteTypes(a.dtype, b.dtype)
	ct := computeType(store)
	if !ct.IsFloat() {
		ct = Float64
	}
	a = a.Cast(ct).Expand(append(append([]int{}, batch...), m, k)...)
	b = b.Cast(ct).Expand(append(append([]int{}, batch...), k, n)...)
	nb := backend.NumElements(batch)
	a, al := batched3(a, len(batch))
	b, bl := batched3(b, len(batch))
	out := emptyUninit(a.be, ct, []int{nb, m, n})
	a.be.MatMul(out.buf, out.Layout(), a.buf, al, b.buf, bl)

	shape := append([]int{}, batch...)
	if t.Dim() > 1 {
		shape = append(shape, m)
	}
	if u.Dim() > 1 {
		shape = append(shape, n)
	}
	return out.view(shape, backend.ContiguousStrides(shape), 0).Cast(store)
}

// batched3 returns t (or a copy of it) and a rank-3 layout [B, rows, cols]
// for it, whose first nb axes are batch axes. The batch axes merge into one
// when their strides allow it (broadcast axes have stride 0 and merge with
// each other); otherwise t is copied first.
func batched3(t *Tensor, nb int) (*Tensor, backend.Layout) {
	r, c := t.shape[nb], t.shape[nb+1]
	rs, cs := t.strides[nb], t.strides[nb+1]
	B := backend.NumElements(t.shape[:nb])
	if st, ok := viewStrides(t.shape[:nb], t.strides[:nb], []int{B}); ok {
		return t, backend.Layout{Shape: []int{B, r, c}, Strides: []int{st[0], rs, cs}, Offset: t.offset}
	}
	cl := t.Clone()
	return cl, backend.Layout{Shape: []int{B, r, c}, Strides: []int{r * c, c, 1}}
}
