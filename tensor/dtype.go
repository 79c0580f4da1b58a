package tensor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tessera-ml/tessera/backend"
)

// DType is a tensor's element type.
type DType = backend.DType

// The element types. Float32 is the default.
const (
	Float32  = backend.Float32
	Float64  = backend.Float64
	Float16  = backend.Float16
	BFloat16 = backend.BFloat16
	Int32    = backend.Int32
	Int64    = backend.Int64
	Bool     = backend.Bool
)

// Device names where a tensor's data lives.
type Device = backend.Device

// CPU is the host.
var CPU = Device{Type: backend.CPU}

// CUDA returns the CUDA device with ordinal i.
func CUDA(i int) Device { return Device{Type: backend.CUDA, Index: i} }

// ParseDevice returns the device named "cpu", "cuda" (ordinal 0) or
// "cuda:N", as a -device flag gives it, or an error when the name is not
// one of those or the device cannot be used: in a build without the cuda
// tag the error says to rebuild with -tags cuda; without a GPU it says
// there is none.
func ParseDevice(name string) (Device, error) {
	var d Device
	switch {
	case name == "cpu":
		d = CPU
	case name == "cuda":
		d = CUDA(0)
	case strings.HasPrefix(name, "cuda:"):
		i, err := strconv.Atoi(name[len("cuda:"):])
		if err != nil || i < 0 {
			return Device{}, fmt.Errorf("tensor: bad device %q (want cpu, cuda or cuda:N)", name)
		}
		d = CUDA(i)
	default:
		return Device{}, fmt.Errorf("tensor: unknown device %q (want cpu, cuda or cuda:N)", name)
	}
	if _, err := backend.Get(d); err != nil {
		return Device{}, fmt.Errorf("tensor: device %s: %w", d, err)
	}
	return d, nil
}

// PromoteTypes returns the dtype that a binary op on a and b computes in,
// following PyTorch's category order bool < integer < floating point: within
// a category the wider type wins, and float16 with bfloat16 gives float32.
func PromoteTypes(a, b DType) DType {
	if a == b {
		return a
	}
	rank := func(d DType) int {
		switch d {
		case Bool:
			return 0
		case Int32:
			return 1
		case Int64:
			return 2
		case Float16, BFloat16:
			return 3
		case Float32:
			return 4
		}
		return 5 // Float64
	}
	if a.IsHalf() && b.IsHalf() {
		return Float32
	}
	if rank(a) >= rank(b) {
		return a
	}
	return b
}

// computeType is the dtype a kernel runs in for values of dtype d: half
// precision is computed in float32.
func computeType(d DType) DType {
	if d.IsHalf() {
		return Float32
	}
	return d
}

// category orders dtypes as PyTorch's type promotion does: bool < integer <
// floating point.
func category(d DType) int {
	switch {
	case d == Bool:
		return 0
	case d.IsInt():
		return 1
	}
	return 2
}

// ResultType returns the dtype an elementwise op on ts computes in, with
// PyTorch's rule for 0-d tensors: they take part only when their category
// is higher than that of every tensor with dimensions, so float32 [3] plus a
// float64 0-d tensor stays float32, but int64 [3] plus it gives float64.
func ResultType(ts ...*Tensor) DType {
	var dim, zero DType
	haveDim, haveZero := false, false
	for _, t := range ts {
		if t.Dim() > 0 {
			if !haveDim {
				dim, haveDim = t.dtype, true
			} else {
				dim = PromoteTypes(dim, t.dtype)
			}
		} else {
			if !haveZero {
				zero, haveZero = t.dtype, true
			} else {
				zero = PromoteTypes(zero, t.dtype)
			}
		}
	}
	switch {
	case !haveDim:
		return zero
	case !haveZero || category(zero) <= category(dim):
		return dim
	}
	return zero
}
