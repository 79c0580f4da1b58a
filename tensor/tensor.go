// Package tensor is Tessera's n-dimensional array: a dtype, a shape, strides
// and an offset into a buffer owned by a backend (the CPU by default).
//
// Views — Reshape, Transpose, Permute, Slice, Narrow, Index, Expand,
// Squeeze, Unsqueeze, Flatten — share their source's storage and copy
// nothing. Elementwise operations broadcast like NumPy and PyTorch. Every
// operation checks its operands once, before any kernel runs, and panics with
// an *Error naming the op and the shapes when they do not fit; Try turns that
// panic into an error.
//
// Tensors are values of a plain numeric library: they record no gradients.
// Package autograd builds differentiation on top.
//
// Memory: a tensor's buffer is freed by the garbage collector, or earlier,
// back into the backend's buffer pool, when its last handle is released.
// Wrap each step of a loop in Tidy and every tensor the step makes is
// released when it returns (Keep what must outlive it); a released tensor
// panics with an *Error if used again.
package tensor

import (
	"sync/atomic"

	"github.com/tessera-ml/tessera/backend"
	_ "github.com/tessera-ml/tessera/backend/cpu" // registers the CPU backend
)

// Tensor is an n-dimensional view of a typed buffer. The zero value is not
// usable; tensors come from the creation functions and from operations.
// Operations never modify their operands, except the methods whose names
// say so (ending in "_", like PyTorch, or starting with Set/Copy).
type Tensor struct {
	be      backend.Backend
	buf     backend.Buffer
	st      *storage    // shared by every view of buf; counts live handles
	sc      *scopeState // the scope that tracks this handle, if any
	shape   []int
	strides []int
	offset  int
	state   atomic.Uint32 // handleLive, handleKept or handleReleased
	dtype   DType         // after state: the struct packs into 112 bytes
}

// Shape returns a copy of the tensor's shape.
func (t *Tensor) Shape() []int { return append([]int{}, t.shape...) }

// Strides returns a copy of the strides, in elements.
func (t *Tensor) Strides() []int { return append([]int{}, t.strides...) }

// Offset is the index in the buffer of the tensor's first element.
func (t *Tensor) Offset() int { return t.offset }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Device returns the device holding the data.
func (t *Tensor) Device() Device { return t.be.Device() }

// Backend returns the backend that owns the tensor's buffer.
func (t *Tensor) Backend() backend.Backend { return t.be }

// Buffer returns the storage the tensor views, for backends and fused
// kernels; most code never needs it.
func (t *Tensor) Buffer() backend.Buffer { return t.buf }

// Layout returns the tensor's shape, strides and offset as a backend.Layout.
func (t *Tensor) Layout() backend.Layout {
	return backend.Layout{Shape: t.shape, Strides: t.strides, Offset: t.offset}
}

// Dim is the number of dimensions (0 for a scalar).
func (t *Tensor) Dim() int { return len(t.shape) }

// Numel is the number of elements.
func (t *Tensor) Numel() int { return backend.NumElements(t.shape) }

// Size returns the length of axis (negative counts from the end).
func (t *Tensor) Size(axis int) int {
	return t.shape[t.axis("Size", axis)]
}

// IsContiguous reports whether the elements are dense and row-major.
func (t *Tensor) IsContiguous() bool { return t.Layout().IsContiguous() }

// SharesStorage reports whether t and u view the same buffer.
func (t *Tensor) SharesStorage(u *Tensor) bool { return t.st == u.st }

// view makes a tensor over t's buffer with another layout.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	t.live("view")
	t.st.refs.Add(1)
	v := &Tensor{be: t.be, buf: t.buf, st: t.st, dtype: t.dtype, shape: shape, strides: strides, offset: offset}
	track(v)
	return v
}

// empty allocates a contiguous tensor on be. Its contents are zero.
func empty(be backend.Backend, dt DType, shape []int) *Tensor {
	return alloc(be, dt, shape, true)
}

// emptyUninit is empty for outputs a kernel overwrites entirely: a pooled
// buffer is not zeroed first.
func emptyUninit(be backend.Backend, dt DType, shape []int) *Tensor {
	return alloc(be, dt, shape, false)
}

func alloc(be backend.Backend, dt DType, shape []int, zero bool) *Tensor {
	for _, d := range shape {
		if d < 0 {
			fail(ValueError, "New", [][]int{shape}, "negative dimension %d", d)
		}
	}
	var buf backend.Buffer
	var err error
	if ua, ok := be.(backend.UninitAllocator); ok && !zero {
		buf, err = ua.AllocUninit(dt, backend.NumElements(shape))
	} else {
		buf, err = be.Alloc(dt, backend.NumElements(shape))
	}
	if err != nil {
		panic(&Error{Kind: DeviceError, Op: "Alloc", Shapes: [][]int{shape}, Msg: err.Error()})
	}
	sh := append([]int{}, shape...)
	t := &Tensor{be: be, buf: buf, st: &storage{}, dtype: dt, shape: sh, strides: backend.ContiguousStrides(sh)}
	t.st.refs.Store(1)
	track(t)
	return t
}

// axis normalises a possibly negative axis of t, panicking with an AxisError.
func (t *Tensor) axis(op string, a int) int {
	return normAxis(op, t.shape, a, len(t.shape))
}

// normAxis maps a in [-rank, rank) to [0, rank).
func normAxis(op string, shape []int, a, rank int) int {
	if a < -rank || a >= rank {
		fail(AxisError, op, [][]int{shape}, "axis %d out of range for %d dimensions", a, rank)
	}
	if a < 0 {
		a += rank
	}
	return a
}

// sameDevice panics unless all tensors share t's backend.
func sameDevice(op string, ts ...*Tensor) {
	for _, u := range ts {
		u.live(op)
	}
	for _, u := range ts[1:] {
		if u.be != ts[0].be {
			fail(DeviceError, op, shapesOf(ts...), "operands on different devices (%v and %v)", ts[0].Device(), u.Device())
		}
	}
}
