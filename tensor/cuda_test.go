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
