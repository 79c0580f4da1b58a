package optim_test

import (
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// Optimizer steps over 1M float32 parameters: the baseline a fused update
// kernel should beat. GB/s counts the bytes a fused kernel must move
// (parameter, gradient and state read, parameter and state written).
func benchmarkStep(b *testing.B, streams int, build func([]*autograd.Var) optim.Optimizer) {
	const n = 1 << 20
	g := tensor.NewGenerator(1)
	p := autograd.Param(tensor.RandN(g, []int{n}))
	p.SetGrad(tensor.RandN(g, []int{n}).MulScalar(0.01))
	opt := build([]*autograd.Var{p})
	opt.Step()
	b.ResetTimer()
	for b.Loop() {
		opt.Step()
	}
	b.ReportMetric(float64(streams*4*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

func BenchmarkSGDMomentumStep(b *testing.B) {
	benchmarkStep(b, 5, func(ps []*autograd.Var) optim.Optimizer {
		return optim.NewSGD(ps, optim.WithLR(0.01), optim.WithMomentum(0.9))
	})
}

func BenchmarkAdamStep(b *testing.B) {
	benchmarkStep(b, 7, func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdam(ps) })
}
