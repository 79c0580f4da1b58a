//go:build !cuda

package tensor_test

import (
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// Without the cuda tag, asking for a CUDA tensor is a DeviceError that says
// how to get one.
func TestCUDAWithoutTag(t *testing.T) {
	e := mustPanic(t, func() { tensor.Zeros([]int{2, 3}, tensor.WithDevice(tensor.CUDA(0))) })
	if e.Kind != tensor.DeviceError || !strings.Contains(e.Error(), "rebuild with -tags cuda") {
		t.Fatalf("got %v (kind %v)", e, e.Kind)
	}
	e = mustPanic(t, func() { tensor.Ones([]int{2}).To(tensor.CUDA(0)) })
	if e.Kind != tensor.DeviceError {
		t.Fatalf("To(cuda) without the tag: %v", e)
	}
}
