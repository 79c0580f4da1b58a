package benchmarks

import (
	"fmt"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// matmulSizes are the products BenchmarkMatMul times: square n×n·n×n, and
// the MNIST MLP's first layer on a large batch (4096×784 · 784×256).
var matmulSizes = []struct {
	name    string
	m, k, n int
}{
	{"n=64", 64, 64, 64},
	{"n=128", 128, 128, 128},
	{"n=256", 256, 256, 256},
	{"n=512", 512, 512, 512},
	{"n=1024", 1024, 1024, 1024},
	{"n=2048", 2048, 2048, 2048},
	{"4096x784x256", 4096, 784, 256},
}

// BenchmarkMatMul times tensor.MatMul in float32 and reports GFLOP/s. Run
// with -cpu 1,2 to see the scaling.
func BenchmarkMatMul(b *testing.B) {
	g := tensor.NewGenerator(1)
	for _, s := range matmulSizes {
		x := tensor.RandN(g, []int{s.m, s.k})
		w := tensor.RandN(g, []int{s.k, s.n})
		b.Run("f32/"+s.name, func(b *testing.B) {
			for b.Loop() {
				tensor.Tidy(func() { x.MatMul(w) }) // the result's buffer is reused
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkElementwise times add, relu and exp over float32 tensors and
// reports GB/s of memory traffic (add moves 12 bytes an element: two reads
// and a write; relu and exp move 8).
func BenchmarkElementwise(b *testing.B) {
	g := tensor.NewGenerator(2)
	for _, n := range []int{1 << 20, 16 << 20} {
		x := tensor.RandN(g, []int{n})
		y := tensor.RandN(g, []int{n})
		label := fmt.Sprintf("n=%dM", n>>20)
		ops := []struct {
			name  string
			bytes int
			f     func() *tensor.Tensor
		}{
			{"add", 12, func() *tensor.Tensor { return x.Add(y) }},
			{"relu", 8, func() *tensor.Tensor { return x.ReLU() }},
			{"exp", 8, func() *tensor.Tensor { return x.Exp() }},
		}
		for _, op := range ops {
			b.Run(op.name+"/f32/"+label, func(b *testing.B) {
				b.SetBytes(int64(op.bytes * n))
				for b.Loop() {
					// Each result goes back to the pool for the next
					// iteration, as PyTorch's freed result returns to malloc.
					tensor.Tidy(func() { op.f() })
				}
			})
		}
	}
}
