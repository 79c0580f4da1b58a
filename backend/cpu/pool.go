package cpu

import (
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/tessera-ml/tessera/backend"
)

// The buffer pool. Free hands a buffer back and the next Alloc of the same
// dtype and length takes it instead of asking the garbage collector for
// fresh (zeroed, page-faulted) memory. Training steps allocate the same
// shapes every step, so with tensor scopes releasing a step's temporaries
// (tensor.Scope) a steady-state step allocates nothing. Buffers are keyed by
// exact length: a step's shapes repeat exactly, and exact keys waste nothing.
//
// The pool holds at most its limit in bytes (SetPoolLimit); a buffer freed
// beyond it is left to the garbage collector.

type poolKey struct {
	dt backend.DType
	n  int
}

type bufferPool struct {
	mu    sync.Mutex
	free  map[poolKey][]*Buffer
	bytes int64 // held in free
	limit int64
	stats PoolStats
}

// PoolStats counts the pool's traffic since the process started.
type PoolStats struct {
	Hits, Misses int64 // Allocs served from the pool / by fresh memory
	Frees        int64 // buffers handed back
	Dropped      int64 // frees over the limit, left to the garbage collector
	HeldBytes    int64 // bytes now waiting in the pool
	LimitBytes   int64
}

var bufs = bufferPool{free: map[poolKey][]*Buffer{}, limit: 1 << 30}

// SetPoolLimit caps the bytes the CPU buffer pool keeps for reuse (1 GiB by
// default; 0 turns pooling off) and returns the previous cap. Lowering it
// drops buffers already held.
func SetPoolLimit(bytes int64) (previous int64) {
	bufs.mu.Lock()
	defer bufs.mu.Unlock()
	previous = bufs.limit
	bufs.limit = max(bytes, 0)
	for k, bs := range bufs.free {
		for len(bs) > 0 && bufs.bytes > bufs.limit {
			bs[len(bs)-1] = nil
			bs = bs[:len(bs)-1]
			bufs.bytes -= int64(k.n) * int64(k.dt.Size())
		}
		bufs.free[k] = bs
	}
	return previous
}

// Pool reports the buffer pool's counters.
func Pool() PoolStats {
	bufs.mu.Lock()
	defer bufs.mu.Unlock()
	s := bufs.stats
	s.HeldBytes, s.LimitBytes = bufs.bytes, bufs.limit
	return s
}

// get returns a pooled buffer of dt and n elements (dirty), or nil.
func (p *bufferPool) get(dt backend.DType, n int) *Buffer {
	if n == 0 {
		return nil
	}
	k := poolKey{dt, n}
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.free[k]
	if len(bs) == 0 {
		p.stats.Misses++
		return nil
	}
	b := bs[len(bs)-1]
	bs[len(bs)-1] = nil
	p.free[k] = bs[:len(bs)-1]
	p.bytes -= int64(n) * int64(dt.Size())
	p.stats.Hits++
	b.pooled = false
	return b
}

// put takes b back, or leaves it to the collector when the pool is full.
func (p *bufferPool) put(b *Buffer) {
	n := b.Len()
	if n == 0 {
		return
	}
	size := int64(n) * int64(b.dt.Size())
	p.mu.Lock()
	defer p.mu.Unlock()
	if b.pooled {
		panic(fmt.Sprintf("cpu: Free of a %v buffer of %d elements that is already free", b.dt, n))
	}
	p.stats.Frees++
	if p.bytes+size > p.limit {
		p.stats.Dropped++
		return
	}
	b.pooled = true
	k := poolKey{b.dt, n}
	p.free[k] = append(p.free[k], b)
	p.bytes += size
}

// alloc returns a buffer of n elements of dt, zeroed when zero is set.
func alloc(dt backend.DType, n int, zero bool) (backend.Buffer, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("cpu: Alloc: invalid dtype %v", dt)
	}
	if n < 0 {
		return nil, fmt.Errorf("cpu: Alloc: negative length %d", n)
	}
	b := bufs.get(dt, n)
	switch {
	case b == nil:
		b = NewBuffer(dt, n)
		if !zero && poison {
			b.poison()
		}
	case zero:
		b.clear()
	case poison:
		b.poison()
	}
	return b, nil
}

// poison makes AllocUninit fill every buffer with garbage (NaN for floats),
// so that tests run with TESSERA_CPU_POISON=1 catch a kernel that reads an
// output element before writing it.
var poison = os.Getenv("TESSERA_CPU_POISON") == "1"

func (b *Buffer) poison() {
	for i := range b.F32 {
		b.F32[i] = float32(math.NaN())
	}
	for i := range b.F64 {
		b.F64[i] = math.NaN()
	}
	for i := range b.U16 {
		b.U16[i] = 0x7fff
	}
	for i := range b.I32 {
		b.I32[i] = -0x5a5a5a5b
	}
	for i := range b.I64 {
		b.I64[i] = -0x5a5a5a5a5a5a5a5b
	}
	for i := range b.B {
		b.B[i] = i%2 == 0
	}
}

// clear zeroes b.
func (b *Buffer) clear() {
	clear(b.F32)
	clear(b.F64)
	clear(b.U16)
	clear(b.I32)
	clear(b.I64)
	clear(b.B)
}
