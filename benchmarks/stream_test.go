package benchmarks

import (
	"runtime"
	"sync"
	"testing"

	"github.com/tessera-ml/tessera/internal/asm"
)

// BenchmarkTriad measures memory bandwidth the way STREAM does, over
// float32 arrays of 16M elements (64 MiB each, beyond the caches), split
// into GOMAXPROCS contiguous chunks on as many goroutines, into
// preallocated memory, reporting GB/s at STREAM's 12 bytes an element (two
// reads and a write). It is the yardstick for BenchmarkElementwise/add at
// 16M, which moves the same bytes but also allocates its result.
//
//   - f32/n=16M: a[i] = b[i] + c[i] with Tessera's AVX2 Add kernel
//     (internal/asm; there is no triad kernel). STREAM's Add and Triad move
//     the same bytes, write-allocate included, and torch_bench.py's twin is
//     a true triad, torch.add(b, c, alpha=3, out=a).
//   - go/f32/n=16M: the triad a[i] = b[i] + 3·c[i] as a plain Go loop,
//     which the compiler does not vectorise: on this machine it is bound by
//     the core, not by memory, and is shown only for that.
func BenchmarkTriad(b *testing.B) {
	const n = 16 << 20
	a, x, y := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i&1023), float32(i&511)
	}
	const s = 3
	run := func(b *testing.B, kernel func(lo, hi int)) {
		b.SetBytes(12 * n)
		p := runtime.GOMAXPROCS(0)
		for b.Loop() {
			if p == 1 {
				kernel(0, n)
				continue
			}
			var wg sync.WaitGroup
			step := (n + p - 1) / p
			for lo := 0; lo < n; lo += step {
				wg.Go(func() { kernel(lo, min(lo+step, n)) })
			}
			wg.Wait()
		}
	}
	b.Run("f32/n=16M", func(b *testing.B) {
		run(b, func(lo, hi int) { asm.Add(a[lo:hi], x[lo:hi], y[lo:hi]) })
	})
	b.Run("go/f32/n=16M", func(b *testing.B) {
		run(b, func(lo, hi int) {
			a, x, y := a[lo:hi], x[lo:hi], y[lo:hi]
			for i := range a {
				a[i] = y[i] + s*x[i]
			}
		})
	})
}
