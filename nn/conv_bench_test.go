package nn_test

import (
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// BenchmarkConv2dForwardBackward times one training step of the two
// convolutions of a small MNIST network (batch 64, no padding): 1→32
// channels 3×3 on 28×28 (the input needs no gradient, as for data) and
// 32→64 3×3 on 13×13 (the input needs one, as for a hidden layer). It
// reports ms/op and the GFLOP/s of the multiply-adds (2 flops each) of the
// forward product and of the weight and input gradients.
func BenchmarkConv2dForwardBackward(b *testing.B) {
	cases := []struct {
		name           string
		in, out, hw    int
		inputNeedsGrad bool
	}{
		{"1to32_28x28", 1, 32, 28, false},
		{"32to64_13x13", 32, 64, 13, true},
	}
	const batch, k = 64, 3
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := tensor.NewGenerator(1)
			l := nn.NewConv2d(c.in, c.out, k, nn.WithGenerator(g))
			x := autograd.New(tensor.RandN(g, []int{batch, c.in, c.hw, c.hw}), c.inputNeedsGrad)
			oh := c.hw - k + 1
			macs := float64(batch * c.out * c.in * k * k * oh * oh)
			passes := 2.0 // forward, weight gradient
			if c.inputNeedsGrad {
				passes++
			}
			b.ResetTimer()
			for b.Loop() {
				nn.ZeroGrad(l)
				x.ZeroGrad()
				l.Forward(x).Sum().Backward()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e3, "ms/op")
			b.ReportMetric(2*macs*passes/sec/1e9, "GFLOP/s")
		})
	}
}
