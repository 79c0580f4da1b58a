package benchmarks

import (
	"testing"
	"time"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// mlp3 is a 3-layer perceptron 784-512-256-10 with ReLU, the MNIST MLP.
type mlp3 struct{ w1, b1, w2, b2, w3, b3 *autograd.Var }

func newMLP3(g *tensor.Generator) *mlp3 {
	p := func(shape ...int) *autograd.Var { return autograd.Param(tensor.RandN(g, shape).MulScalar(0.05)) }
	return &mlp3{p(784, 512), p(512), p(512, 256), p(256), p(256, 10), p(10)}
}

func (m *mlp3) loss(x *autograd.Var, y *tensor.Tensor) *autograd.Var {
	h := x.MatMul(m.w1).Add(m.b1).ReLU()
	h = h.MatMul(m.w2).Add(m.b2).ReLU()
	return h.MatMul(m.w3).Add(m.b3).LogSoftmax(1).Gather(1, y).Mean().Neg()
}

// BenchmarkMLPForwardBackward times the forward pass alone and forward plus
// backward of a 3-layer MLP on a batch of 64, and reports the ratio of
// backward time to forward time (backward = total - forward).
func BenchmarkMLPForwardBackward(b *testing.B) {
	g := tensor.NewGenerator(1)
	m := newMLP3(g)
	x := autograd.Const(tensor.RandN(g, []int{64, 784}))
	y := tensor.RandInt(g, 0, 10, []int{64, 1})
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			m.loss(x, y)
		}
	})
	b.Run("forward+backward", func(b *testing.B) {
		var fwd, total time.Duration
		for b.Loop() {
			t0 := time.Now()
			l := m.loss(x, y)
			t1 := time.Now()
			l.Backward()
			t2 := time.Now()
			fwd += t1.Sub(t0)
			total += t2.Sub(t0)
			for _, p := range []*autograd.Var{m.w1, m.b1, m.w2, m.b2, m.w3, m.b3} {
				p.ZeroGrad()
			}
		}
		b.ReportMetric(float64(total-fwd)/float64(fwd), "backward/forward")
	})
}
