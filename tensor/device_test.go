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

// ParseDevice takes the names a -device flag gives and, without the cuda
// tag, refuses CUDA with the rebuild hint.
func TestParseDevice(t *testing.T) {
	if d, err := tensor.ParseDevice("cpu"); err != nil || d != tensor.CPU {
		t.Fatalf("cpu: %v, %v", d, err)
	}
	for _, name := range []string{"cuda", "cuda:1"} {
		if _, err := tensor.ParseDevice(name); err == nil || !strings.Contains(err.Error(), "rebuild with -tags cuda") {
			t.Errorf("%s without the tag: %v", name, err)
		}
	}
	for _, name := range []string{"gpu", "cuda:", "cuda:-1", "cuda:x", ""} {
		if _, err := tensor.ParseDevice(name); err == nil || !strings.Contains(err.Error(), "want cpu, cuda or cuda:N") {
			t.Errorf("%q: %v", name, err)
		}
	}
}
