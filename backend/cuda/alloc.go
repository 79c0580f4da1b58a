//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"gorgonia.org/cu"
)

// The caching allocator.
//
// Device memory comes from cuMemAlloc in size classes: 512 bytes at least,
// then four classes per power of two (2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k),
// so a block wastes at most a fifth of itself. A freed block goes onto its
// class's free list and the next request of that class takes it back
// without a driver call: once a training step has run, the steps after it
// find every block they need in the cache and never call cuMemAlloc.
// EmptyCache returns the cached blocks to the driver; an allocation that
// fails for lack of memory empties the cache and tries once more.
//
// Blocks are reused in stream order: every kernel and copy runs on the
// backend's one stream, so work queued after a block was freed and handed
// out again runs after all the work queued while it was live.

// block is one cuMemAlloc'd range, sized to its class.
type block struct {
	ptr  cu.DevicePtr
	size int64
}

// MemStats are the allocator's counters, in bytes of size classes.
type MemStats struct {
	Allocated int64 // in live buffers
	Cached    int64 // in free lists, ready for reuse
	Peak      int64 // the most Allocated has been
	Reserved  int64 // Allocated + Cached: what the driver has handed out

	Allocs       int64 // buffers allocated (blocks handed out)
	CacheHits    int64 // of those, served from the cache
	DriverAllocs int64 // cuMemAlloc calls
	DriverFrees  int64 // cuMemFree calls
	Reclaimed    int64 // blocks the garbage collector returned (buffers never freed)
}

type allocator struct {
	mu    sync.Mutex
	free  map[int64][]*block
	stats MemStats

	// The driver; tests substitute their own.
	drvAlloc func(size int64) (cu.DevicePtr, error)
	drvFree  func(cu.DevicePtr) error
	sync     func() error
}

func newAllocator(b *Backend) *allocator {
	return &allocator{
		free: map[int64][]*block{},
		drvAlloc: func(size int64) (p cu.DevicePtr, err error) {
			err = b.with(func() error {
				p, err = cu.MemAlloc(size)
				return err
			})
			return p, err
		},
		drvFree: func(p cu.DevicePtr) error {
			return b.with(func() error { return cu.MemFree(p) })
		},
		sync: b.streamSync,
	}
}

// sizeClass rounds n bytes up to its class.
func sizeClass(n int64) int64 {
	const min = 512
	if n <= min {
		return min
	}
	p := int64(1) << (bits.Len64(uint64(n)) - 1) // largest power of two <= n
	step := p / 4
	return (n + step - 1) / step * step
}

// get returns a block of at least n bytes.
func (a *allocator) get(n int64) (*block, error) {
	size := sizeClass(n)
	a.mu.Lock()
	a.stats.Allocs++
	if l := a.free[size]; len(l) > 0 {
		blk := l[len(l)-1]
		a.free[size] = l[:len(l)-1]
		a.stats.CacheHits++
		a.stats.Cached -= size
		a.took(size)
		a.mu.Unlock()
		return blk, nil
	}
	a.mu.Unlock()
	p, err := a.drvAlloc(size)
	if err != nil {
		// Out of memory, perhaps only because the cache holds it: give the
		// cache back and try once more.
		a.releaseAll()
		p, err = a.drvAlloc(size)
		if err != nil {
			st := a.Stats()
			return nil, fmt.Errorf("cuda: allocating %d bytes (%d allocated, %d cached): %w", size, st.Allocated, st.Cached, err)
		}
	}
	a.mu.Lock()
	a.stats.DriverAllocs++
	a.took(size)
	a.mu.Unlock()
	return &block{ptr: p, size: size}, nil
}

func (a *allocator) took(size int64) {
	a.stats.Allocated += size
	if a.stats.Allocated > a.stats.Peak {
		a.stats.Peak = a.stats.Allocated
	}
}

// put returns a block to the cache.
func (a *allocator) put(blk *block) {
	a.mu.Lock()
	a.free[blk.size] = append(a.free[blk.size], blk)
	a.stats.Allocated -= blk.size
	a.stats.Cached += blk.size
	a.mu.Unlock()
}

// reclaim is put for a block whose buffer the garbage collector found
// unreachable.
func (a *allocator) reclaim(blk *block) {
	a.put(blk)
	a.mu.Lock()
	a.stats.Reclaimed++
	a.mu.Unlock()
}

// releaseAll waits for the stream (a cached block may still be read by
// queued work only if it was freed while queued, and cuMemFree of memory
// in use is an error) and frees every cached block.
func (a *allocator) releaseAll() error {
	a.mu.Lock()
	var blocks []*block
	for size, l := range a.free {
		blocks = append(blocks, l...)
		delete(a.free, size)
	}
	for _, blk := range blocks {
		a.stats.Cached -= blk.size
	}
	a.mu.Unlock()
	if len(blocks) == 0 {
		return nil
	}
	var errs []error
	if err := a.sync(); err != nil {
		errs = append(errs, err)
	}
	for _, blk := range blocks {
		if err := a.drvFree(blk.ptr); err != nil {
			errs = append(errs, err)
		}
	}
	a.mu.Lock()
	a.stats.DriverFrees += int64(len(blocks))
	a.mu.Unlock()
	return errors.Join(errs...)
}

// Stats returns a snapshot of the counters.
func (a *allocator) Stats() MemStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Reserved = s.Allocated + s.Cached
	return s
}
