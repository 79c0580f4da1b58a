//go:build cuda

package benchmarks

import (
	"math"
	"testing"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda"
	"github.com/tessera-ml/tessera/tensor"
)

// The training workloads on a CUDA device (issue 7): the same models and
// batches as BenchmarkTrainStep, with parameters and batch on cuda:0.
// scripts/gpu-check.sh runs them beside train_bench.py -device cuda.

var gpu = tensor.CUDA(0)

// cudaOrSkip skips unless a CUDA device is there, and returns its backend.
func cudaOrSkip(tb testing.TB) *cuda.Backend {
	tb.Helper()
	if _, err := tensor.ParseDevice(gpu.String()); err != nil {
		tb.Skipf("no CUDA device: %v", err)
	}
	be, err := backend.Get(gpu)
	if err != nil {
		tb.Fatal(err)
	}
	return be.(*cuda.Backend)
}

// TestTrainCUDAMatchesCPU trains every workload for a few steps on the CPU
// and on the GPU from the same weights and batch, and requires the same
// losses up to float32 rounding (the kernels sum in different orders).
func TestTrainCUDAMatchesCPU(t *testing.T) {
	cudaOrSkip(t)
	for _, name := range TrainWorkloads {
		t.Run(name, func(t *testing.T) {
			c, err := NewWorkloadOn(name, 1, tensor.CPU)
			if err != nil {
				t.Fatal(err)
			}
			g, err := NewWorkloadOn(name, 1, gpu)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 4; step++ {
				lc, lg := c.Loss(), g.Loss()
				t.Logf("step %d: loss cpu %.7f cuda %.7f", step, lc, lg)
				if d := math.Abs(lc - lg); !(d <= 1e-3*math.Abs(lc)+1e-5) {
					t.Fatalf("step %d: loss %v on the GPU, %v on the CPU", step, lg, lc)
				}
				c.Step()
				g.Step()
			}
			if err := g.Sync(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkTrainStepCUDA times the training step on the GPU: the steps are
// queued on the device's stream and the clock stops once the last one has
// run (as PyTorch is timed with torch.cuda.synchronize). It also reports
// the driver allocations per step (0 in steady state: the caching
// allocator serves every buffer), the kernels launched per step and the
// peak of device memory in use.
func BenchmarkTrainStepCUDA(b *testing.B) {
	be := cudaOrSkip(b)
	for _, name := range TrainWorkloads {
		b.Run(name, func(b *testing.B) {
			w, err := NewWorkloadOn(name, 1, gpu)
			if err != nil {
				b.Fatal(err)
			}
			for range warmupSteps {
				w.Step()
			}
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
			m0, l0 := be.MemStats(), be.Launches()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.Step()
			}
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			m1, l1 := be.MemStats(), be.Launches()
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
			b.ReportMetric(float64(m1.DriverAllocs-m0.DriverAllocs)/float64(b.N), "cuMemAlloc/step")
			b.ReportMetric(float64(l1-l0)/float64(b.N), "launches/step")
			b.ReportMetric(float64(m1.Peak)/(1<<20), "peakMiB")
		})
	}
}
