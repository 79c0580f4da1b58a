package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// reportGFLOPs reports 2·m·n·k flops per iteration as GFLOP/s.
func reportGFLOPs(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per call) for square products and
// for a convolution-shaped one (4096×784 @ 784×256), on one goroutine
// (par=nil) and split over two goroutines, with the plain-Go fallback and
// the reference loop beside the smaller ones so the speed-up shows.
func BenchmarkSgemm(b *testing.B) {
	type shape struct {
		name    string
		m, n, k int
	}
	var shapes []shape
	for _, n := range []int{64, 128, 256, 512, 1024, 2048} {
		shapes = append(shapes, shape{fmt.Sprintf("n=%d", n), n, n, n})
	}
	shapes = append(shapes, shape{"4096x784x256", 4096, 256, 784})
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			mat := func(n int) []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				return x
			}
			a, bm, c := mat(s.m*s.k), mat(s.k*s.n), mat(s.m*s.n)
			run := func(b *testing.B, par Parallel) {
				Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n, par) // warm the pools
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n, par)
				}
				reportGFLOPs(b, s.m, s.n, s.k)
			}
			b.Run("threads=1", func(b *testing.B) { run(b, nil) })
			b.Run("threads=2", func(b *testing.B) { run(b, goParallel(2)) })
			if s.m*s.n*s.k <= 256*256*256 {
				b.Run("go", func(b *testing.B) {
					prev := SetAccelerated(false)
					defer SetAccelerated(prev)
					run(b, nil)
				})
			}
			if s.m*s.n*s.k <= 128*128*128 {
				b.Run("ref", func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						SgemmRef(false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
					}
					reportGFLOPs(b, s.m, s.n, s.k)
				})
			}
		})
	}
}

// BenchmarkSgemmKernel measures the micro-kernel alone on L1-resident packed
// panels: its FLOPs per cycle bound everything else.
func BenchmarkSgemmKernel(b *testing.B) {
	if !HasAVX2FMA {
		b.Skip("no AVX2/FMA kernel")
	}
	const k = 256
	a := make([]float32, sgemmMR*k)
	bp := make([]float32, sgemmNR*k)
	c := make([]float32, sgemmMR*sgemmNR)
	for i := range a {
		a[i] = 1
	}
	for i := range bp {
		bp[i] = 1
	}
	for i := 0; i < b.N; i++ {
		sgemmKernel6x16(k, &a[0], 1, sgemmMR, &bp[0], sgemmNR, &c[0], sgemmNR, 1, 0)
	}
	reportGFLOPs(b, sgemmMR, sgemmNR, k)
}

// BenchmarkSgemmPacking compares packing both operands with reading
// row-major A and/or B in place, the choice Sgemm makes by size.
func BenchmarkSgemmPacking(b *testing.B) {
	for _, n := range []int{64, 128, 256, 512, 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			mat := func(n int) []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				return x
			}
			a, bm, c := mat(n*n), mat(n*n), mat(n*n)
			for mode, name := range []string{"auto", "packAB", "inplace", "packA", "packB"} {
				b.Run(name, func(b *testing.B) {
					defer func(p int) { sgemmForcePack = p }(sgemmForcePack)
					sgemmForcePack = mode
					for i := 0; i < b.N; i++ {
						Sgemm(false, false, n, n, n, 1, a, n, bm, n, 0, c, n, nil)
					}
					reportGFLOPs(b, n, n, n)
				})
			}
		})
	}
}
