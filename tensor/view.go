package tensor

import (
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

// inferShape resolves one -1 in shape against n elements.
func inferShape(op string, from []int, shape []int, n int) []int {
	out := append([]int{}, shape...)
	neg := -1
	prod := 1
	for i, d := range out {
		switch {
		case d == -1:
			if neg >= 0 {
				fail(ShapeError, op, [][]int{from, shape}, "only one dimension can be -1")
			}
			neg = i
		case d < 0:
			fail(ShapeError, op, [][]int{from, shape}, "invalid dimension %d", d)
		default:
			prod *= d
		}
	}
	if neg >= 0 {
		if prod == 0 || n%prod != 0 {
			fail(ShapeError, op, [][]int{from, shape}, "cannot infer -1 for %d elements", n)
		}
		out[neg] = n / prod
		prod *= out[neg]
	}
	if prod != n {
		fail(ShapeError, op, [][]int{from, shape}, "shape holds %d elements, tensor has %d", prod, n)
	}
	return out
}

// viewStrides computes strides that let a tensor of oldShape/oldStrides be
// seen with newShape without copying, or reports that none exist. It merges
// runs of old dimensions that are contiguous with each other and splits
// them among the new dimensions (the rule torch.view follows).
func viewStrides(oldShape, oldStrides, newShape []int) ([]int, bool) {
	newStrides := make([]int, len(newShape))
	if backend.NumElements(oldShape) == 0 {
		return backend.ContiguousStrides(newShape), true
	}
	// Drop size-1 old dims: their strides are irrelevant.
	var os, ost []int
	for i, d := range oldShape {
		if d != 1 {
			os = append(os, d)
			ost = append(ost, oldStrides[i])
		}
	}
	ni := 0 // next new dim to assign
	oi := 0
	for oi < len(os) {
		// Take the maximal chunk os[oi:oj] that is contiguous in memory.
		oj := oi + 1
		size := os[oi]
		for oj < len(os) && ost[oj-1] == ost[oj]*os[oj] {
			size *= os[oj]
			oj++
		}
		// Assign new dims whose product equals size.
		stride := ost[oj-1]
		prod := 1
		start := ni
		for ni < len(newShape) && (prod < size || newShape[ni] == 1) {
			if prod == size && newShape[ni] == 1 {
				break
			}
			prod *= newShape[ni]
			ni++
		}
		if prod != size {
			return nil, false
		}
		// Fill strides right to left within the chunk.
		s := stride
		for k := ni - 1; k >= start; k-- {
			newStrides[k] = s
			s *= newShape[k]
		}
		oi = oj
	}
	// Remaining new dims must be 1.
	for ; ni < len(newShape); ni++ {
		if newShape[ni] != 1 {
			return nil, false
		}
		newStrides[ni] = 1
	}
	for i, d := range newShape {
		if d == 1 && newStrides[i] == 0 {
			newStrides[i] = 1
		}
	}
	return newStrides, true
}

// View returns t with a new shape sharing its storage; one dimension may be
// -1 and is inferred. It panics when the layout cannot be expressed without
// a copy (use Reshape, which copies then).
func (t *Tensor) View(shape ...int) *Tensor {
	ns := inferShape("View", t.shape, shape, t.Numel())
	st, ok := viewStrides(t.shape, t.strides, ns)
	if !ok {
		fail(ShapeError, "View", [][]int{t.shape, ns}, "strides %v cannot be viewed with this shape; use Reshape", t.strides)
	}
	return t.view(ns, st, t.offset)
}

// Reshape returns t with a new shape: a view when the layout allows it, a
// copy otherwise. One dimension may be -1.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	ns := inferShape("Reshape", t.shape, shape, t.Numel())
	if st, ok := viewStrides(t.shape, t.strides, ns); ok {
		return t.view(ns, st, t.offset)
	}
	c := t.Clone()
	return c.view(ns, backend.ContiguousStrides(ns), 0)
}

// Flatten merges axes start..end (inclusive) into one. With no arguments it
// flattens everything into 1-D; with one, it flattens from that axis to the
// last.
func (t *Tensor) Flatten(axes ...int) *Tensor {
	if len(axes) > 2 {
		fail(ValueError, "Flatten", shapesOf(t), "takes at most a start and an end axis, got %v", axes)
	}
	if t.Dim() == 0 {
		return t.Reshape(1)
	}
	start, end := 0, t.Dim()-1
	if len(axes) > 0 {
		start = t.axis("Flatten", axes[0])
	}
	if len(axes) > 1 {
		end = t.axis("Flatten", axes[1])
	}
	if start > end {
		fail(AxisError, "Flatten", shapesOf(t), "start axis %d after end axis %d", start, end)
	}
	ns := append([]int{}, t.shape[:start]...)
	ns = append(ns, backend.NumElements(t.shape[start:end+1]))
	ns = append(ns, t.shape[end+1:]...)
	return t.Reshape(ns...)
}

// Transpose swaps axes a and b.
func (t *Tensor) Transpose(a, b int) *Tensor {
	a, b = t.axis("Transpose", a), t.axis("Transpose", b)
	perm := make([]int, t.Dim())
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = perm[b], perm[a]
	return t.Permute(perm...)
}

// T reverses the order of the axes (the matrix transpose for 2-D tensors).
func (t *Tensor) T() *Tensor {
	perm := make([]int, t.Dim())
	for i := range perm {
		perm[i] = t.Dim() - 1 - i
	}
	return t.Permute(perm...)
}

// Permute reorders the axes: axis i of the result is axis perm[i] of t.
func (t *Tensor) Permute(perm ...int) *Tensor {
	if len(perm) != t.Dim() {
		fail(AxisError, "Permute", shapesOf(t), "permutation %v has %d axes, tensor has %d", perm, len(perm), t.Dim())
	}
	seen := make([]bool, t.Dim())
	ns := make([]int, t.Dim())
	st := make([]int, t.Dim())
	for i, p := range perm {
		p = t.axis("Permute", p)
		if seen[p] {
			fail(AxisError, "Permute", shapesOf(t), "axis %d repeated in %v", p, perm)
		}
		seen[p] = true
		ns[i], st[i] = t.shape[p], t.strides[p]
	}
	return t.view(ns, st, t.offset)
}

// Slice returns the view of elements start, start+step, ... before end along
// axis, like t[start:end:step] in Python (step defaults to 1). Negative start
// and end count from the end, and both are clamped to the axis.
func (t *Tensor) Slice(axis, start, end int, step ...int) *Tensor {
	ax := t.axis("Slice", axis)
	s := 1
	if len(step) > 0 {
		s = step[0]
	}
	if s <= 0 || len(step) > 1 {
		fail(ValueError, "Slice", shapesOf(t), "step must be one positive number, got %v", step)
	}
	n := t.shape[ax]
	clamp := func(i int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, end = clamp(start), clamp(end)
	length := 0
	if end > start {
		length = (end - start + s - 1) / s
	}
	ns, st := t.Shape(), t.Strides()
	ns[ax] = length
	st[ax] = t.strides[ax] * s
	off := t.offset
	if length > 0 {
		off += start * t.strides[ax]
	}
	return t.view(ns, st, off)
}

// Narrow returns the view of length elements from start along axis. Unlike
// Slice it does not clamp: the range must lie inside the axis.
func (t *Tensor) Narrow(axis, start, length int) *Tensor {
	ax := t.axis("Narrow", axis)
	n := t.shape[ax]
	if start < 0 {
		start += n
	}
	if start < 0 || length < 0 || start+length > n {
		fail(IndexError, "Narrow", shapesOf(t), "range [%d, %d) outside axis %d of length %d", start, start+length, ax, n)
	}
	ns := t.Shape()
	ns[ax] = length
	off := t.offset
	if length > 0 {
		off += start * t.strides[ax]
	}
	return t.view(ns, t.Strides(), off)
}

// Index returns the view at position i along axis, with that axis removed
// (t[i] for axis 0). Negative i counts from the end.
func (t *Tensor) Index(axis, i int) *Tensor {
	ax := t.axis("Index", axis)
	n := t.shape[ax]
	if i < -n || i >= n {
		fail(IndexError, "Index", shapesOf(t), "index %d out of range for axis %d of length %d", i, ax, n)
	}
	if i < 0 {
		i += n
	}
	ns := slices.Delete(t.Shape(), ax, ax+1)
	st := slices.Delete(t.Strides(), ax, ax+1)
	return t.view(ns, st, t.offset+i*t.strides[ax])
}

// Squeeze removes the given axes, which must have length 1, or every axis of
// length 1 when none are given. Naming an axis whose length is not 1 leaves
// it in place, as in PyTorch.
func (t *Tensor) Squeeze(axes ...int) *Tensor {
	drop := make([]bool, t.Dim())
	if len(axes) == 0 {
		for i, d := range t.shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		a = t.axis("Squeeze", a)
		drop[a] = t.shape[a] == 1
	}
	var ns, st []int
	for i := range t.shape {
		if !drop[i] {
			ns = append(ns, t.shape[i])
			st = append(st, t.strides[i])
		}
	}
	return t.view(ns, st, t.offset)
}

// Unsqueeze inserts an axis of length 1 at position axis (in [-d-1, d]).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	ax := normAxis("Unsqueeze", t.shape, axis, t.Dim()+1)
	stride := 1
	if ax < t.Dim() {
		stride = t.strides[ax] * t.shape[ax]
	}
	ns := slices.Insert(t.Shape(), ax, 1)
	st := slices.Insert(t.Strides(), ax, stride)
	return t.view(ns, st, t.offset)
}

// Expand returns a view of t repeated along axes of length 1 to shape
// (stride 0, nothing copied). New leading axes may be added; -1 keeps an
// axis's length.
func (t *Tensor) Expand(shape ...int) *Tensor {
	if len(shape) < t.Dim() {
		fail(ShapeError, "Expand", [][]int{t.shape, shape}, "target has fewer dimensions than the tensor")
	}
	lead := len(shape) - t.Dim()
	ns := make([]int, len(shape))
	st := make([]int, len(shape))
	for i, d := range shape {
		if i < lead {
			if d < 0 {
				fail(ShapeError, "Expand", [][]int{t.shape, shape}, "-1 is not allowed for a new leading axis")
			}
			ns[i], st[i] = d, 0
			continue
		}
		j := i - lead
		switch {
		case d == -1 || d == t.shape[j]:
			ns[i], st[i] = t.shape[j], t.strides[j]
		case t.shape[j] == 1 && d >= 0:
			ns[i], st[i] = d, 0
		default:
			fail(ShapeError, "Expand", [][]int{t.shape, shape}, "axis %d of length %d cannot expand to %d", j, t.shape[j], d)
		}
	}
	return t.view(ns, st, t.offset)
}

// expandTo is Expand for shapes already checked to broadcast, returning t
// itself (no new view) when it has the shape already.
func (t *Tensor) expandTo(shape []int) *Tensor {
	if slices.Equal(t.shape, shape) {
		return t
	}
	return t.Expand(shape...)
}

// BroadcastTo expands t to shape under the broadcasting rules.
func (t *Tensor) BroadcastTo(shape ...int) *Tensor {
	if slices.Equal(t.shape, shape) {
		return t
	}
	if _, ok := broadcastShapes(t.shape, shape); !ok || len(shape) < t.Dim() {
		fail(ShapeError, "BroadcastTo", [][]int{t.shape, shape}, "shapes are not broadcastable")
	}
	return t.Expand(shape...)
}

// BroadcastShapes returns the shape that shapes broadcast to, following NumPy:
// align on the right; lengths must match or be 1.
func BroadcastShapes(shapes ...[]int) ([]int, bool) {
	var out []int
	for _, s := range shapes {
		var ok bool
		if out, ok = broadcastShapes(out, s); !ok {
			return nil, false
		}
	}
	return out, true
}

func broadcastShapes(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}
