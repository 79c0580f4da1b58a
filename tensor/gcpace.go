package tensor

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Collection pacing for programs that recycle through scopes.
//
// The CPU backend's buffers are ordinary Go memory, so the garbage
// collector counts the buffer pool as live heap and, with GOGC=100, lets
// the garbage a training step leaves (graph nodes, slices: about half a
// MiB per step of a small transformer) grow to about the pool's size
// before it collects: 288 MiB of peak RSS after 400 steps of the
// transformer benchmark, against 177 after 50. The buffers themselves do
// not need the collector (scopes return them to the pool), so when an
// outermost scope closes, gcPace starts a collection itself once the
// program has allocated more since the last one than GOGC allows of its
// scannable heap (the memory the collector has to trace; the buffers hold
// no pointers), and at least gcBudgetMin: the pacing Go would apply if the
// buffers were not on its heap. Such a collection traces little and took
// about 0.35 ms there, once every seven steps or so. Programs that set
// GOGC=off, or SetGCPacing(false), are left alone.

// gcBudgetMin is the least garbage between two collections gcPace starts:
// Go's own minimum heap goal (4 MiB at GOGC=100).
const gcBudgetMin = 4 << 20

var (
	gcPacing atomic.Bool // SetGCPacing; on by default
	gcMu     sync.Mutex
	gcLast   struct{ cycles, allocs uint64 }
	gcSample = []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/scan/heap:bytes"},
		{Name: "/gc/gogc:percent"},
	}
	gcForced atomic.Int64 // collections gcPace started (tests)
)

func init() { gcPacing.Store(true) }

// SetGCPacing turns on or off (it is on by default) the collections that
// closing an outermost scope may start so that a step's garbage does not
// pile up to the size of the buffer pool before Go's collector runs; see
// README's Memory section. Turning it off leaves pacing to GOGC and
// GOMEMLIMIT alone.
func SetGCPacing(on bool) { gcPacing.Store(on) }

// gcPace runs after an outermost scope closes.
func gcPace() {
	if !gcPacing.Load() || !gcMu.TryLock() {
		return
	}
	defer gcMu.Unlock()
	metrics.Read(gcSample)
	cycles, allocs := gcSample[0].Value.Uint64(), gcSample[1].Value.Uint64()
	scan, gogc := gcSample[2].Value.Uint64(), int64(gcSample[3].Value.Uint64())
	if cycles != gcLast.cycles {
		gcLast.cycles, gcLast.allocs = cycles, allocs // a collection ran: count from here
		return
	}
	if gogc <= 0 {
		return // GOGC=off
	}
	budget := max(uint64(gcBudgetMin), scan/100*uint64(gogc))
	if allocs-gcLast.allocs < budget {
		return
	}
	runtime.GC()
	gcForced.Add(1)
	metrics.Read(gcSample)
	gcLast.cycles, gcLast.allocs = gcSample[0].Value.Uint64(), gcSample[1].Value.Uint64()
}
