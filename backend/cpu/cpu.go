// Package cpu is Tessera's plain-Go CPU backend. It implements the whole
// backend contract for float32 and float64 (int32, int64 and bool where the
// op is meaningful, float16 and bfloat16 as storage) and is the reference the
// SIMD kernels of internal/asm are tested against, so it stays obviously
// correct: every kernel is a loop over the destination's elements that reads
// its operands through their layouts.
//
// Large work is split across a fixed pool of goroutines sized to GOMAXPROCS
// (see parallel.go); small work runs on the calling goroutine.
package cpu

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
)

func init() {
	backend.Register(backend.CPU, func(index int) (backend.Backend, error) {
		if index != 0 {
			return nil, fmt.Errorf("cpu: there is one CPU device, not %d", index)
		}
		return Default, nil
	})
}

// Default is the process-wide CPU backend.
var Default = &Backend{}

// Backend implements backend.Backend on the host.
type Backend struct{}

// Buffer is host memory. Exactly one of its slices is non-nil, the one that
// matches dt; Float16 and BFloat16 keep their bits in U16.
type Buffer struct {
	dt     backend.DType
	pooled bool // waiting in the pool: not to be freed again
	F32    []float32
	F64    []float64
	U16    []uint16
	I32    []int32
	I64    []int64
	B      []bool
}

// DType implements backend.Buffer.
func (b *Buffer) DType() backend.DType { return b.dt }

// Len implements backend.Buffer.
func (b *Buffer) Len() int {
	switch b.dt {
	case backend.Float32:
		return len(b.F32)
	case backend.Float64:
		return len(b.F64)
	case backend.Float16, backend.BFloat16:
		return len(b.U16)
	case backend.Int32:
		return len(b.I32)
	case backend.Int64:
		return len(b.I64)
	case backend.Bool:
		return len(b.B)
	}
	return 0
}

// NewBuffer allocates a zeroed host buffer.
func NewBuffer(dt backend.DType, n int) *Buffer {
	b := &Buffer{dt: dt}
	switch dt {
	case backend.Float32:
		b.F32 = make([]float32, n)
	case backend.Float64:
		b.F64 = make([]float64, n)
	case backend.Float16, backend.BFloat16:
		b.U16 = make([]uint16, n)
	case backend.Int32:
		b.I32 = make([]int32, n)
	case backend.Int64:
		b.I64 = make([]int64, n)
	case backend.Bool:
		b.B = make([]bool, n)
	default:
		panic(fmt.Sprintf("cpu: NewBuffer: invalid dtype %v", dt))
	}
	return b
}

func buf(b backend.Buffer) *Buffer {
	cb, ok := b.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cpu: buffer of type %T does not belong to the CPU backend", b))
	}
	return cb
}

// spanCheck panics unless n elements from off fit b: the bounds check of
// the kernels that take buffers with offsets (AdamUpdate, the window and
// row kernels). what names the operand in the message.
func spanCheck(op, what string, b *Buffer, off, n int) {
	if off < 0 || n < 0 || off+n > b.Len() {
		panic(fmt.Sprintf("cpu: %s: %s [%d, %d) outside a buffer of %d elements", op, what, off, off+n, b.Len()))
	}
}

// Device implements backend.Backend.
func (*Backend) Device() backend.Device { return backend.Device{Type: backend.CPU} }

// Name implements backend.Backend.
func (*Backend) Name() string { return "cpu" }

// Alloc implements backend.Backend. Buffers come from the pool when one of
// the same dtype and length was freed (see pool.go).
func (*Backend) Alloc(dt backend.DType, n int) (backend.Buffer, error) {
	return alloc(dt, n, true)
}

// AllocUninit implements backend.UninitAllocator: Alloc without zeroing a
// pooled buffer.
func (*Backend) AllocUninit(dt backend.DType, n int) (backend.Buffer, error) {
	return alloc(dt, n, false)
}

// Free implements backend.Backend: b goes back to the pool for reuse.
// Freeing a buffer twice panics; buffers never freed are reclaimed by the
// garbage collector.
func (*Backend) Free(b backend.Buffer) { bufs.put(buf(b)) }

// Synchronize implements backend.Backend; host kernels finish before returning.
func (*Backend) Synchronize() error { return nil }

// Write implements backend.Backend.
func (*Backend) Write(b backend.Buffer, off int, src any) error {
	cb := buf(b)
	n := 0
	switch s := src.(type) {
	case []float32:
		if cb.dt == backend.Float32 {
			n = copyAt(cb.F32, off, s)
		} else {
			n = -1
		}
	case []float64:
		if cb.dt == backend.Float64 {
			n = copyAt(cb.F64, off, s)
		} else {
			n = -1
		}
	case []uint16:
		if cb.dt.IsHalf() {
			n = copyAt(cb.U16, off, s)
		} else {
			n = -1
		}
	case []int32:
		if cb.dt == backend.Int32 {
			n = copyAt(cb.I32, off, s)
		} else {
			n = -1
		}
	case []int64:
		if cb.dt == backend.Int64 {
			n = copyAt(cb.I64, off, s)
		} else {
			n = -1
		}
	case []bool:
		if cb.dt == backend.Bool {
			n = copyAt(cb.B, off, s)
		} else {
			n = -1
		}
	default:
		return fmt.Errorf("cpu: Write: unsupported host slice %T", src)
	}
	switch n {
	case -1:
		return fmt.Errorf("cpu: Write: %T into a %v buffer", src, cb.dt)
	case -2:
		return fmt.Errorf("cpu: Write: range [%d:] of length exceeds buffer of %d elements", off, cb.Len())
	}
	return nil
}

// Read implements backend.Backend.
func (*Backend) Read(b backend.Buffer, off int, dst any) error {
	cb := buf(b)
	n := 0
	switch d := dst.(type) {
	case []float32:
		if cb.dt == backend.Float32 {
			n = copyFrom(d, cb.F32, off)
		} else {
			n = -1
		}
	case []float64:
		if cb.dt == backend.Float64 {
			n = copyFrom(d, cb.F64, off)
		} else {
			n = -1
		}
	case []uint16:
		if cb.dt.IsHalf() {
			n = copyFrom(d, cb.U16, off)
		} else {
			n = -1
		}
	case []int32:
		if cb.dt == backend.Int32 {
			n = copyFrom(d, cb.I32, off)
		} else {
			n = -1
		}
	case []int64:
		if cb.dt == backend.Int64 {
			n = copyFrom(d, cb.I64, off)
		} else {
			n = -1
		}
	case []bool:
		if cb.dt == backend.Bool {
			n = copyFrom(d, cb.B, off)
		} else {
			n = -1
		}
	default:
		return fmt.Errorf("cpu: Read: unsupported host slice %T", dst)
	}
	switch n {
	case -1:
		return fmt.Errorf("cpu: Read: %v buffer into %T", cb.dt, dst)
	case -2:
		return fmt.Errorf("cpu: Read: range past the end of a buffer of %d elements", cb.Len())
	}
	return nil
}

func copyAt[T any](dst []T, off int, src []T) int {
	if off < 0 || off+len(src) > len(dst) {
		return -2
	}
	copy(dst[off:], src)
	return len(src)
}

func copyFrom[T any](dst []T, src []T, off int) int {
	if off < 0 || off+len(dst) > len(src) {
		return -2
	}
	copy(dst, src[off:])
	return len(dst)
}

var _ backend.Backend = (*Backend)(nil)
