package backend

// Layout says where the elements of an n-dimensional view sit in a flat buffer:
// element (i0, i1, ...) lives at Offset + i0*Strides[0] + i1*Strides[1] + ...
// Strides are counted in elements, not bytes. A stride of 0 repeats one element
// along that axis (broadcasting) and a negative stride is not allowed.
type Layout struct {
	Shape   []int
	Strides []int
	Offset  int
}

// Contiguous returns the row-major layout of shape starting at offset 0.
func Contiguous(shape []int) Layout {
	return Layout{Shape: shape, Strides: ContiguousStrides(shape)}
}

// ContiguousStrides returns the row-major strides of shape.
func ContiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		if shape[i] > 1 {
			s *= shape[i]
		}
	}
	return st
}

// NumElements returns the product of shape (1 for a 0-d shape).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Size is the number of elements the layout addresses.
func (l Layout) Size() int { return NumElements(l.Shape) }

// Rank is the number of dimensions.
func (l Layout) Rank() int { return len(l.Shape) }

// IsContiguous reports whether the layout is row-major and dense, so that its
// elements are buffer[Offset : Offset+Size()] in order. Axes of size 1 may
// carry any stride, and an empty layout is contiguous.
func (l Layout) IsContiguous() bool {
	if l.Size() == 0 {
		return true
	}
	s := 1
	for i := len(l.Shape) - 1; i >= 0; i-- {
		if l.Shape[i] == 1 {
			continue
		}
		if l.Strides[i] != s {
			return false
		}
		s *= l.Shape[i]
	}
	return true
}

// Span returns the smallest and one-past-largest buffer index the layout
// touches; (Offset, Offset) for an empty layout.
func (l Layout) Span() (lo, hi int) {
	if l.Size() == 0 {
		return l.Offset, l.Offset
	}
	hi = l.Offset
	for i, d := range l.Shape {
		hi += (d - 1) * l.Strides[i]
	}
	return l.Offset, hi + 1
}

// Clone returns a deep copy of l.
func (l Layout) Clone() Layout {
	return Layout{
		Shape:   append([]int(nil), l.Shape...),
		Strides: append([]int(nil), l.Strides...),
		Offset:  l.Offset,
	}
}
