package autograd

import (
	"sync"
	"sync/atomic"

	"github.com/tessera-ml/tessera/internal/goid"
)

// Grad mode is per goroutine, like PyTorch's per-thread grad mode: NoGrad
// switches recording off for the goroutine that calls it, for the duration
// of its function, and for nothing else. A training goroutine keeps
// recording while another goroutine runs inference under NoGrad.
// Goroutines started inside NoGrad do not inherit it (they record unless
// they call NoGrad themselves), just as threads started under
// torch.no_grad() do not.
//
// Cost: while no goroutine is inside NoGrad, checking the mode is one atomic
// load. While some goroutine is, each recorded op also looks up the calling
// goroutine's key (a few nanoseconds on amd64, see internal/goid), negligible beside a tensor kernel.

var (
	noGradActive atomic.Int64 // number of NoGrad scopes open in any goroutine
	noGradMu     sync.Mutex
	noGradDepth  = map[uintptr]int{} // goroutine id -> nesting depth
)

// NoGrad runs f with gradient recording switched off in the calling
// goroutine: ops inside produce Vars that require no gradient and record no
// graph. Use it for inference and for optimizer updates.
func NoGrad(f func()) {
	id := goid.Get()
	noGradMu.Lock()
	noGradDepth[id]++
	noGradMu.Unlock()
	noGradActive.Add(1)
	defer func() {
		noGradActive.Add(-1)
		noGradMu.Lock()
		if noGradDepth[id]--; noGradDepth[id] == 0 {
			delete(noGradDepth, id)
		}
		noGradMu.Unlock()
	}()
	f()
}

// IsRecording reports whether ops called by this goroutine now record a graph.
func IsRecording() bool {
	if noGradActive.Load() == 0 {
		return true
	}
	id := goid.Get()
	noGradMu.Lock()
	d := noGradDepth[id]
	noGradMu.Unlock()
	return d == 0
}
