//go:build cuda

package cuda

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/tessera-ml/tessera/backend"
	"gorgonia.org/cu"
)

// Buffer is device memory holding n elements of a dtype: a block of the
// caching allocator (none when n is 0).
//
// Free returns the block to the cache at once. A buffer that is never
// freed goes back to the cache when the garbage collector finds it
// unreachable (runtime.AddCleanup), but the collector knows nothing of
// device memory and may run late: code that makes many device tensors
// should free them (MemStats.Reclaimed counts the ones it did not).
type Buffer struct {
	dt      backend.DType
	n       int
	blk     *block
	cleanup runtime.Cleanup
	freed   atomic.Bool
}

// DType implements backend.Buffer.
func (b *Buffer) DType() backend.DType { return b.dt }

// Len implements backend.Buffer.
func (b *Buffer) Len() int { return b.n }

// addr is the device address of element i.
func (b *Buffer) addr(i int) uint64 {
	if b.blk == nil {
		return 0
	}
	return uint64(b.blk.ptr) + uint64(i*b.dt.Size())
}

func (be *Backend) buf(x backend.Buffer) *Buffer {
	cb, ok := x.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cuda: buffer of type %T does not belong to a CUDA backend", x))
	}
	if cb.freed.Load() {
		panic("cuda: use of a freed buffer")
	}
	return cb
}

// Alloc implements backend.Backend: a zero-filled buffer (the zeroing is
// queued on the stream).
func (be *Backend) Alloc(dt backend.DType, n int) (backend.Buffer, error) {
	return be.alloc0(dt, n, true)
}

// AllocUninit implements backend.UninitAllocator: a buffer whose contents
// are whatever its block last held, for results that overwrite every
// element (one memset launch fewer per op).
func (be *Backend) AllocUninit(dt backend.DType, n int) (backend.Buffer, error) {
	return be.alloc0(dt, n, false)
}

// poisonUninit (TESSERA_CUDA_POISON=1) fills AllocUninit's buffers with
// 0xff bytes, so that a result read before it is written shows as NaN in
// tests.
var poisonUninit = os.Getenv("TESSERA_CUDA_POISON") == "1"

func (be *Backend) alloc0(dt backend.DType, n int, zero bool) (backend.Buffer, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("cuda: Alloc: invalid dtype %v", dt)
	}
	if n < 0 {
		return nil, fmt.Errorf("cuda: Alloc: negative length %d", n)
	}
	b := &Buffer{dt: dt, n: n}
	if n == 0 {
		return b, nil
	}
	bytes := int64(n) * int64(dt.Size())
	blk, err := be.alloc.get(bytes)
	if err != nil {
		return nil, err
	}
	if zero || poisonUninit {
		v := byte(0)
		if !zero {
			v = 0xff // NaN in every float dtype
		}
		err = be.with(func() error { return cu.MemsetD8Async(blk.ptr, v, bytes, be.stream) })
		if err != nil {
			be.alloc.put(blk)
			return nil, fmt.Errorf("cuda: Alloc: zeroing: %w", err)
		}
	}
	b.blk = blk
	b.cleanup = runtime.AddCleanup(b, be.alloc.reclaim, blk)
	return b, nil
}

// Free implements backend.Backend: the buffer's block goes back to the
// cache (work already queued on it still completes first, in stream
// order). Freeing twice is harmless.
func (be *Backend) Free(x backend.Buffer) {
	b, ok := x.(*Buffer)
	if !ok || b.freed.Swap(true) || b.blk == nil {
		return
	}
	b.cleanup.Stop()
	be.alloc.put(b.blk)
}

// MemStats returns the caching allocator's counters.
func (be *Backend) MemStats() MemStats { return be.alloc.Stats() }

// EmptyCache waits for the stream and returns every cached block to the
// driver (live buffers are untouched).
func (be *Backend) EmptyCache() error { return be.alloc.releaseAll() }

// hostSlice returns the address and the element count of a host slice of
// the Go type that matches dt, or an error.
func hostSlice(op string, dt backend.DType, s any) (unsafe.Pointer, int, error) {
	var p unsafe.Pointer
	n := 0
	ok := false
	switch v := s.(type) {
	case []float32:
		ok, n = dt == backend.Float32, len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	case []float64:
		ok, n = dt == backend.Float64, len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	case []uint16:
		ok, n = dt.IsHalf(), len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	case []int32:
		ok, n = dt == backend.Int32, len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	case []int64:
		ok, n = dt == backend.Int64, len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	case []bool:
		ok, n = dt == backend.Bool, len(v)
		if n > 0 {
			p = unsafe.Pointer(&v[0])
		}
	default:
		return nil, 0, fmt.Errorf("cuda: %s: unsupported host slice %T", op, s)
	}
	if !ok {
		return nil, 0, fmt.Errorf("cuda: %s: %T and a %v buffer", op, s, dt)
	}
	return p, n, nil
}

// Write implements backend.Backend. The copy is queued on the stream;
// the host slice may be reused as soon as Write returns (the driver stages
// pageable memory before returning).
func (be *Backend) Write(x backend.Buffer, off int, src any) error {
	b := be.buf(x)
	p, n, err := hostSlice("Write", b.dt, src)
	if err != nil {
		return err
	}
	if off < 0 || off+n > b.n {
		return fmt.Errorf("cuda: Write: range [%d:%d] exceeds buffer of %d elements", off, off+n, b.n)
	}
	if n == 0 {
		return nil
	}
	size := int64(n * b.dt.Size())
	err = be.with(func() error {
		return cu.MemcpyHtoDAsync(cu.DevicePtr(b.addr(off)), p, size, be.stream)
	})
	runtime.KeepAlive(src)
	runtime.KeepAlive(b)
	if err != nil {
		return fmt.Errorf("cuda: Write: %w", err)
	}
	return nil
}

// Read implements backend.Backend: it waits for the work queued before it,
// and returns the first error of the index ops queued since the last
// Synchronize or Read (the values are read all the same).
func (be *Backend) Read(x backend.Buffer, off int, dst any) error {
	b := be.buf(x)
	p, n, err := hostSlice("Read", b.dt, dst)
	if err != nil {
		return err
	}
	if off < 0 || off+n > b.n {
		return fmt.Errorf("cuda: Read: range [%d:%d] exceeds buffer of %d elements", off, off+n, b.n)
	}
	if n == 0 {
		return nil
	}
	size := int64(n * b.dt.Size())
	err = be.with(func() error {
		if err := cu.MemcpyDtoHAsync(p, cu.DevicePtr(b.addr(off)), size, be.stream); err != nil {
			return err
		}
		return be.stream.Synchronize()
	})
	runtime.KeepAlive(dst)
	runtime.KeepAlive(b)
	if err != nil {
		return fmt.Errorf("cuda: Read: %w", err)
	}
	// The stream is idle: report the queued index ops' errors (index.go).
	be.ixMu.Lock()
	defer be.ixMu.Unlock()
	return be.ixHarvest()
}
