package benchmarks

import (
	"testing"

	"github.com/tessera-ml/tessera/tensor"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkGonumSgemm times gonum's pure-Go SGEMM (blas/gonum
// Implementation.Sgemm, no transposes, C = A·B) on the sizes of
// BenchmarkMatMul and reports GFLOP/s: the Go peer Tessera's packed SGEMM is
// compared with. gonum splits large products over GOMAXPROCS goroutines, so
// -cpu 1,2 shows its scaling.
func BenchmarkGonumSgemm(b *testing.B) {
	g := tensor.NewGenerator(1)
	var impl gonum.Implementation
	for _, s := range matmulSizes {
		a := tensor.RandN(g, []int{s.m, s.k}).Float32s()
		w := tensor.RandN(g, []int{s.k, s.n}).Float32s()
		c := make([]float32, s.m*s.n)
		b.Run("f32/"+s.name, func(b *testing.B) {
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n)
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
