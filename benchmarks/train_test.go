package benchmarks

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/backend/cpu"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// warmupSteps run before timing starts: the optimizer creates its state and
// the buffer pool fills on the first steps.
const warmupSteps = 3

// BenchmarkTrainStep also reports "workers", the size of the CPU backend's
// goroutine pool. The pool is sized from GOMAXPROCS once, when it
// is first used, so in one process run with -cpu 1,2 one of the two thread
// counts runs with a pool of the wrong size: compare.sh runs one go test
// process per thread count.

// BenchmarkTrainStep times one training step (zero-grad, forward, loss,
// backward, optimizer step) of each workload in workloads.go, after
// warm-up, and reports ms/step, the allocated bytes per step (B/op), the
// garbage collections per step and the minor page faults per step (the
// whole process's, from getrusage: memory handed back to the kernel and
// touched again, which is slow on some VMs). cmd/rss measures the same
// workloads' peak resident memory; train_bench.py times them with PyTorch.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range TrainWorkloads {
		b.Run(name, func(b *testing.B) {
			w, err := NewWorkload(name, 1)
			if err != nil {
				b.Fatal(err)
			}
			for range warmupSteps {
				w.Step()
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f0, p0 := minorFaults(), cpu.Pool()
			for b.Loop() {
				w.Step()
			}
			f1, p1 := minorFaults(), cpu.Pool()
			runtime.ReadMemStats(&after)
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
			b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/step")
			b.ReportMetric(float64(f1-f0)/float64(b.N), "faults/step")
			b.ReportMetric(float64(p1.Misses-p0.Misses)/float64(b.N), "poolmiss/step")
			b.ReportMetric(float64(cpu.Workers()), "workers")
		})
	}
}

// fwdBwd times f (a forward pass that builds a graph) followed by a
// backward pass seeded with a fixed random gradient, zeroing the leaves'
// gradients before each step, and reports ms/op.
func fwdBwd(b *testing.B, g *tensor.Generator, leaves []*autograd.Var, f func() *autograd.Var) {
	dy := tensor.RandN(g, f().Shape())
	step := func() {
		tensor.Tidy(func() {
			for _, l := range leaves {
				l.ZeroGrad()
			}
			f().BackwardWith(dy)
		})
	}
	for range warmupSteps {
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
}

// fwd times f alone (a forward pass that records no graph) and reports
// ms/op.
func fwd(b *testing.B, f func() *autograd.Var) {
	autograd.NoGrad(func() {
		for range warmupSteps {
			tensor.Tidy(func() { f() })
		}
		b.ReportAllocs()
		for b.Loop() {
			tensor.Tidy(func() { f() })
		}
	})
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
}

// BenchmarkConv2dFwdBwd times the CNN workload's two convolutions alone,
// forward and backward, batch 64: 1→32 3×3 on 28×28 (the input needs no
// gradient, as for data) and 32→64 3×3 on 13×13 (the input needs one, as
// for a hidden layer). GFLOP/s counts 2 flops per multiply-add of the
// forward product, the weight gradient and (where needed) the input
// gradient.
func BenchmarkConv2dFwdBwd(b *testing.B) {
	cases := []struct {
		name           string
		in, out, hw    int
		inputNeedsGrad bool
	}{
		{"1to32_28x28_b64", 1, 32, 28, false},
		{"32to64_13x13_b64", 32, 64, 13, true},
	}
	const batch, k = 64, 3
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := tensor.NewGenerator(1)
			l := nn.NewConv2d(c.in, c.out, k, nn.WithGenerator(g))
			x := autograd.New(tensor.RandN(g, []int{batch, c.in, c.hw, c.hw}), c.inputNeedsGrad)
			leaves := append(nn.Parameters(l), x)
			fwdBwd(b, g, leaves, func() *autograd.Var { return l.Forward(x) })
			oh := c.hw - k + 1
			macs := float64(batch * c.out * c.in * k * k * oh * oh)
			passes := 2.0
			if c.inputNeedsGrad {
				passes++
			}
			b.ReportMetric(2*macs*passes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkLayerNorm times nn.LayerNorm(128) on the transformer workload's
// activations, [32, 64, 128], forward alone and forward+backward (the
// input, weight and bias all need gradients).
func BenchmarkLayerNorm(b *testing.B) {
	g := tensor.NewGenerator(3)
	l := nn.NewLayerNorm([]int{charDModel})
	x := autograd.Param(tensor.RandN(g, []int{32, charContext, charDModel}))
	f := func() *autograd.Var { return l.Forward(x) }
	b.Run("fwd/32x64x128", func(b *testing.B) { fwd(b, f) })
	b.Run("fwd+bwd/32x64x128", func(b *testing.B) {
		fwdBwd(b, g, append(nn.Parameters(l), x), f)
	})
}

// BenchmarkSoftmax times a softmax over the last axis of the transformer
// workload's attention scores, [32, 4, 64, 64], forward alone and
// forward+backward.
func BenchmarkSoftmax(b *testing.B) {
	g := tensor.NewGenerator(4)
	x := autograd.Param(tensor.RandN(g, []int{32, charHeads, charContext, charContext}))
	f := func() *autograd.Var { return x.Softmax(-1) }
	b.Run("fwd/32x4x64x64", func(b *testing.B) { fwd(b, f) })
	b.Run("fwd+bwd/32x4x64x64", func(b *testing.B) {
		fwdBwd(b, g, []*autograd.Var{x}, f)
	})
}

// BenchmarkAttention times causal self-attention of the transformer
// workload's size (batch 32, 64 positions, d_model 128, 4 heads), forward
// and backward: "sdpa" is nn.ScaledDotProductAttention on q, k, v of
// [32, 4, 64, 32]; "mha" is nn.MultiheadAttention with its input and output
// projections on x of [32, 64, 128].
func BenchmarkAttention(b *testing.B) {
	g := tensor.NewGenerator(5)
	b.Run("sdpa_causal/b32_h4_t64_d32", func(b *testing.B) {
		shape := []int{32, charHeads, charContext, charDModel / charHeads}
		q := autograd.Param(tensor.RandN(g, shape))
		k := autograd.Param(tensor.RandN(g, shape))
		v := autograd.Param(tensor.RandN(g, shape))
		fwdBwd(b, g, []*autograd.Var{q, k, v}, func() *autograd.Var {
			return nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{IsCausal: true})
		})
	})
	b.Run("mha_causal/b32_t64_e128_h4", func(b *testing.B) {
		m := nn.NewMultiheadAttention(charDModel, charHeads, 0, nn.WithGenerator(g))
		x := autograd.Param(tensor.RandN(g, []int{32, charContext, charDModel}))
		fwdBwd(b, g, append(nn.Parameters(m), x), func() *autograd.Var {
			y, _ := m.Forward(x, x, x, nn.MHAOptions{IsCausal: true})
			return y
		})
	})
}

// minorFaults returns the process's minor page faults so far.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}
