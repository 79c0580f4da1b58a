package tensor

import (
	"slices"
)

// Softmax returns exp(t) / sum(exp(t)) along axis, computed stably.
// Integer inputs give float32.
func (t *Tensor) Softmax(axis int) *Tensor { return t.softmax("Softmax", axis, false) }

// LogSoftmax returns t - logsumexp(t) along axis, computed stably.
func (t *Tensor) LogSoftmax(axis int) *Tensor { return t.softmax("LogSoftmax", axis, true) }

func (t *Tensor) softmax(name string, axis int, log bool) *Tensor {
	store := t.dtype
	if !store.IsFloat() {
		store = Float32
	}
	x := t.Cast(computeType(store))
	if x.Dim() == 0 {
		x = x.Reshape(1)
		a := x.axis(name, axis)
		out := emptyUninit(x.be, x.dtype, x.shape)
		x.be.Softmax(out.buf, out.Layout(), x.buf, x.Layout(), a, log)
		return out.Reshape().Cast(store)
	}
	a := x.axis(name, axis)
	out := emptyUninit(x.be, x.dtype, x.shape)
	x.be.Softmax(out.buf, out.Layout(), x.buf, x.Layout(), a, log)
	return out.Cast(store)
}

// asIndex checks that idx holds integers and returns it as Int64.
func asIndex(op string, idx *Tensor, others ...*Tensor) *Tensor {
	if !idx.dtype.IsInt() {
		fail(DTypeError, op, shapesOf(append(others, idx)...), "index must be int32 or int64, got %v", idx.dtype)
	}
	return idx.Cast(Int64)
}

// Gather picks values along axis: out[i][j][k] = t[i][idx[i][j][k]][k] for
// axis 1 (torch.gather). idx has t's rank and is no longer than t along the
// other axes; the result has idx's shape.
func (t *Tensor) Gather(axis int, idx *Tensor) *Tensor {
	const name = "Gather"
	sameDevice(name, t, idx)
	ix := asIndex(name, idx, t)
	if ix.Dim() != t.Dim() {
		fail(ShapeError, name, shapesOf(t, idx), "index has %d dimensions, input has %d", ix.Dim(), t.Dim())
	}
	if t.Dim() == 0 {
		t, ix = t.Reshape(1), ix.Reshape(1)
		return t.Gather(0, ix).Reshape()
	}
	a := t.axis(name, axis)
	src := t
	for d := range t.shape {
		if d != a {
			if ix.shape[d] > t.shape[d] {
				fail(ShapeError, name, shapesOf(t, idx), "index length %d exceeds input length %d on axis %d", ix.shape[d], t.shape[d], d)
			}
			src = src.Narrow(d, 0, ix.shape[d])
		}
	}
	out := emptyUninit(t.be, t.dtype, ix.shape)
	if err := t.be.Gather(out.buf, out.Layout(), src.buf, src.Layout(), ix.buf, ix.Layout(), a); err != nil {
		fail(IndexError, name, shapesOf(t, idx), "%v", err)
	}
	return out
}

// IndexSelect returns the slices of t at the positions in the 1-D idx along
// axis (torch.index_select).
func (t *Tensor) IndexSelect(axis int, idx *Tensor) *Tensor {
	const name = "IndexSelect"
	sameDevice(name, t, idx)
	ix := asIndex(name, idx, t)
	if ix.Dim() > 1 {
		fail(ShapeError, name, shapesOf(t, idx), "index must be 1-D")
	}
	ix = ix.Reshape(-1)
	if t.Dim() == 0 {
		return t.Reshape(1).IndexSelect(0, ix).Reshape(ix.shape...)
	}
	a := t.axis(name, axis)
	shape := t.Shape()
	shape[a] = ix.shape[0]
	out := emptyUninit(t.be, t.dtype, shape)
	if err := t.be.IndexSelect(out.buf, out.Layout(), t.buf, t.Layout(), ix.buf, ix.Layout(), a); err != nil {
		fail(IndexError, name, shapesOf(t, idx), "%v", err)
	}
	return out
}

// ScatterAdd returns a copy of t with src's values added at the positions
// idx names along axis (torch.scatter_add): for axis 1,
// out[i][idx[i][j][k]][k] += src[i][j][k]. idx is no longer than src on any
// axis and no longer than t except along axis; repeated indices accumulate.
func (t *Tensor) ScatterAdd(axis int, idx, src *Tensor) *Tensor {
	out := t.Clone()
	out.ScatterAdd_(axis, idx, src)
	return out
}

// ScatterAdd_ is ScatterAdd in place: it adds into t's own elements.
func (t *Tensor) ScatterAdd_(axis int, idx, src *Tensor) {
	const name = "ScatterAdd"
	sameDevice(name, t, idx, src)
	ix := asIndex(name, idx, t, src)
	if ix.Dim() != t.Dim() || src.Dim() != t.Dim() {
		fail(ShapeError, name, shapesOf(t, idx, src), "input, index and source need the same number of dimensions")
	}
	if t.Dim() == 0 {
		t.Reshape(1).ScatterAdd_(0, ix.Reshape(1), src.Reshape(1))
		return
	}
	a := t.axis(name, axis)
	s := src.Cast(t.dtype)
	dst := t
	for d := range t.shape {
		if ix.shape[d] > s.shape[d] {
			fail(ShapeError, name, shapesOf(t, idx, src), "index length %d exceeds source length %d on axis %d", ix.shape[d], s.shape[d], d)
		}
		s = s.Narrow(d, 0, ix.shape[d])
		if d != a {
			if ix.shape[d] > t.shape[d] {
				fail(ShapeError, name, shapesOf(t, idx, src), "index length %d exceeds input length %d on axis %d", ix.shape[d], t.shape[d], d)
			}
			dst = dst.Narrow(d, 0, ix.shape[d])
		}
	}
	if err := t.be.ScatterAdd(dst.buf, dst.Layout(), ix.buf, ix.Layout(), s.buf, s.Layout(), a); err != nil {
		fail(IndexError, name, shapesOf(t, idx, src), "%v", err)
	}
}

// OneHot returns idx's integers as one-hot vectors of length n along a new
// last axis (torch.nn.functional.one_hot), Int64 unless WithDType says
// otherwise. n < 0 means one more than the largest index.
func OneHot(idx *Tensor, n int, opts ...Option) *Tensor {
	const name = "OneHot"
	ix := asIndex(name, idx)
	c, _ := configure(name, Int64, opts)
	if n < 0 {
		if ix.Numel() == 0 {
			fail(ValueError, name, shapesOf(idx), "cannot infer the number of classes of an empty index")
		}
		n = int(ix.Max().Item()) + 1
	}
	if ix.Numel() > 0 {
		if lo, hi := ix.Min().Item(), ix.Max().Item(); lo < 0 || hi >= float64(n) {
			fail(IndexError, name, shapesOf(idx), "class values must lie in [0, %d), got [%v, %v]", n, lo, hi)
		}
	}
	classes := Arange(0, float64(n), 1, WithDevice(idx.Device()))
	return ix.Unsqueeze(-1).Eq(classes).Cast(c.dtype)
}

// Cat joins tensors along axis. They must agree on every other axis; dtypes
// are promoted to a common one.
func Cat(ts []*Tensor, axis int) *Tensor {
	const name = "Cat"
	if len(ts) == 0 {
		fail(ValueError, name, nil, "no tensors to concatenate")
	}
	sameDevice(name, ts...)
	ref := ts[0]
	a := ref.axis(name, axis)
	dt := ref.dtype
	total := 0
	for _, u := range ts {
		if u.Dim() != ref.Dim() {
			fail(ShapeError, name, shapesOf(ts...), "tensors have different numbers of dimensions")
		}
		for d := range u.shape {
			if d != a && u.shape[d] != ref.shape[d] {
				fail(ShapeError, name, shapesOf(ts...), "lengths differ on axis %d", d)
			}
		}
		total += u.shape[a]
		dt = PromoteTypes(dt, u.dtype)
	}
	shape := ref.Shape()
	shape[a] = total
	out := emptyUninit(ref.be, dt, shape)
	at := 0
	for _, u := range ts {
		part := out.Narrow(a, at, u.shape[a])
		ref.be.Copy(part.buf, part.Layout(), u.buf, u.Layout())
		at += u.shape[a]
	}
	return out
}

// Stack joins same-shaped tensors along a new axis.
func Stack(ts []*Tensor, axis int) *Tensor {
	const name = "Stack"
	if len(ts) == 0 {
		fail(ValueError, name, nil, "no tensors to stack")
	}
	ax := normAxis(name, ts[0].shape, axis, ts[0].Dim()+1)
	us := make([]*Tensor, len(ts))
	for i, u := range ts {
		if !slices.Equal(u.shape, ts[0].shape) {
			fail(ShapeError, name, shapesOf(ts...), "tensors must share a shape")
		}
		us[i] = u.Unsqueeze(ax)
	}
	return Cat(us, ax)
}

// Split cuts t along axis into views of size elements (the last may be
// shorter), like torch.split with an integer.
func (t *Tensor) Split(size, axis int) []*Tensor {
	a := t.axis("Split", axis)
	if size <= 0 {
		fail(ValueError, "Split", shapesOf(t), "size must be positive, got %d", size)
	}
	n := t.shape[a]
	var out []*Tensor
	for at := 0; at < n; at += size {
		out = append(out, t.Narrow(a, at, min(size, n-at)))
	}
	if n == 0 {
		out = append(out, t)
	}
	return out
}

// SplitSizes cuts t along axis into views of the given sizes, which must sum
// to the axis length.
func (t *Tensor) SplitSizes(sizes []int, axis int) []*Tensor {
	a := t.axis("Split", axis)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			fail(ValueError, "Split", shapesOf(t), "negative size in %v", sizes)
		}
		total += s
	}
	if total != t.shape[a] {
		fail(ShapeError, "Split", shapesOf(t), "sizes %v sum to %d, axis %d has length %d", sizes, total, a, t.shape[a])
	}
	out := make([]*Tensor, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = t.Narrow(a, at, s)
		at += s
	}
	return out
}

// Chunk cuts t along axis into at most n views of equal size (the last may
// be shorter), like torch.chunk.
func (t *Tensor) Chunk(n, axis int) []*Tensor {
	if n <= 0 {
		fail(ValueError, "Chunk", shapesOf(t), "number of chunks must be positive, got %d", n)
	}
	a := t.axis("Chunk", axis)
	size := (t.shape[a] + n - 1) / n
	if size == 0 {
		size = 1
	}
	return t.Split(size, a)
}
