//go:build cuda

package tensor_test

import (
	"os"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// TestCUDADeferredIndexError: on CUDA an index op with an index out of
// range reports at the next read of a result, as an IndexError.
func TestCUDADeferredIndexError(t *testing.T) {
	dev, err := tensor.ParseDevice("cuda")
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	x := tensor.Arange(0, 10, 1).To(dev)
	ix := tensor.FromSlice([]int64{2, 10}).To(dev)
	var y *tensor.Tensor
	if err := tensor.Try(func() { y = x.IndexSelect(0, ix) }); err != nil {
		if os.Getenv("TESSERA_CUDA_SYNC_CHECKS") != "1" {
			t.Fatalf("IndexSelect reported %v at once; CUDA index checks are asynchronous", err)
		}
		return // synchronous checks asked for: the op's own error is right
	}
	e := mustPanic(t, func() { y.Float32s() })
	if e.Kind != tensor.IndexError {
		t.Fatalf("reading the result: %v (kind %v), want an IndexError", e, e.Kind)
	}
	if got := tensor.Arange(0, 3, 1).To(dev).Float32s(); got[2] != 2 {
		t.Fatalf("the next read: %v", got)
	}
}

// TestCUDAWindowOps: the window ops on CUDA (composite fallbacks until the
// backend has window kernels) give the CPU's results.
func TestCUDAWindowOps(t *testing.T) {
	dev, err := tensor.ParseDevice("cuda")
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	g := tensor.NewGenerator(9)
	for _, w := range []tensor.Window2d{
		{InH: 6, InW: 7, OutH: 3, OutW: 4, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{InH: 5, InW: 6, OutH: 3, OutW: 3, KH: 3, KW: 2, SH: 2, SW: 2, PadT: 1, PadL: 1, DH: 1, DW: 2},
	} {
		x := tensor.RandN(g, []int{2, 3, w.InH, w.InW})
		cols := tensor.RandN(g, []int{2, 3, w.KH * w.KW, w.OutH * w.OutW})
		gm := tensor.RandN(g, []int{2, 3, w.OutH, w.OutW})
		_, at := tensor.WindowMax2d(x, w)
		for _, c := range []struct {
			op       string
			cpu, gpu *tensor.Tensor
		}{
			{"Unfold2d", tensor.Unfold2d(x, w), tensor.Unfold2d(x.To(dev), w)},
			{"Fold2d", tensor.Fold2d(cols, w), tensor.Fold2d(cols.To(dev), w)},
			{"WindowMax2d", first(tensor.WindowMax2d(x, w)), first(tensor.WindowMax2d(x.To(dev), w))},
			{"WindowMax2d positions", second(tensor.WindowMax2d(x, w)), second(tensor.WindowMax2d(x.To(dev), w))},
			{"WindowMax2dGrad", tensor.WindowMax2dGrad(gm, at, w), tensor.WindowMax2dGrad(gm.To(dev), at.To(dev), w)},
		} {
			a, b := c.cpu.Cast(tensor.Float64).Float64s(), c.gpu.Cast(tensor.Float64).Float64s()
			for i := range a {
				if d := a[i] - b[i]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("%s %+v: element %d: CPU %v, CUDA %v", c.op, w, i, a[i], b[i])
				}
			}
		}
	}
}

func first(a, _ *tensor.Tensor) *tensor.Tensor  { return a }
func second(_, b *tensor.Tensor) *tensor.Tensor { return b }
