package tensor

import (
	"runtime"
	"testing"
)

var gcSink []byte

// TestGCPacing: with a large pointer-free live heap (what the buffer pool
// is), GOGC alone would let hundreds of MiB of garbage pile up; closing
// outermost scopes starts collections every gcBudgetMin of it instead,
// and does not when pacing is off.
func TestGCPacing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~150 MiB")
	}
	live := make([]float32, 16<<20) // 64 MiB, no pointers
	defer runtime.KeepAlive(live)
	run := func() int64 {
		runtime.GC()
		gcPace() // note the collection just made
		before := gcForced.Load()
		for range 80 {
			Tidy(func() { gcSink = make([]byte, 1<<20) })
		}
		return gcForced.Load() - before
	}
	if n := run(); n < 1 {
		t.Fatalf("80 MiB of garbage over a 64 MiB live heap: %d paced collections, want ≥ 1", n)
	}
	SetGCPacing(false)
	defer SetGCPacing(true)
	if n := run(); n != 0 {
		t.Fatalf("pacing off: %d paced collections", n)
	}
}
