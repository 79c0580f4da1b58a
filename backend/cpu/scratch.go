package cpu

import (
	"sync"
	"unsafe"
)

// ewScratch is one parallel chunk's scratch space: the blocks that strided
// operands are gathered into and the offset arrays of the layout walk. It
// comes from a pool and goes back when the chunk is done, so kernels in a
// steady state (a training loop) allocate nothing for it.
type ewScratch struct {
	mem  [][]byte // buffers handed out, in order
	used int      // how many of mem are in use
	idx  []int    // backing for ints
	nidx int
}

var scratchPool = sync.Pool{New: func() any { return new(ewScratch) }}

func getScratch() *ewScratch { return scratchPool.Get().(*ewScratch) }

func putScratch(s *ewScratch) {
	s.used, s.nidx = 0, 0
	scratchPool.Put(s)
}

// bytes returns a buffer of at least n bytes, 8-byte aligned, valid until
// the scratch is put back.
func (s *ewScratch) bytes(n int) []byte {
	if s.used == len(s.mem) {
		s.mem = append(s.mem, nil)
	}
	b := s.mem[s.used]
	if cap(b) < n {
		b = make([]byte, n)
		s.mem[s.used] = b
	}
	s.used++
	return b[:n]
}

// ints returns n ints, valid until the scratch is put back.
func (s *ewScratch) ints(n int) []int {
	if s.nidx+n > len(s.idx) {
		if s.nidx == 0 {
			s.idx = make([]int, max(n, 32))
		} else {
			return make([]int, n) // rare: more than the first batch holds
		}
	}
	r := s.idx[s.nidx : s.nidx+n : s.nidx+n]
	s.nidx += n
	return r
}

// scratchOf returns n elements of T from s (from the heap when s is nil).
// T is one of the pointer-free element types of buffers, so viewing bytes
// as T hides nothing from the garbage collector.
func scratchOf[T any](s *ewScratch, n int) []T {
	if s == nil {
		return make([]T, n)
	}
	var z T
	b := s.bytes(n * int(unsafe.Sizeof(z)))
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
