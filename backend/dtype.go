package backend

import "fmt"

// DType is the element type of a buffer.
type DType uint8

// The element types Tessera knows. Float32 is the default for new tensors.
const (
	Float32 DType = iota
	Float64
	Float16
	BFloat16
	Int32
	Int64
	Bool
	numDTypes
)

var dtypeInfo = [numDTypes]struct {
	name string
	size int
}{
	Float32:  {"float32", 4},
	Float64:  {"float64", 8},
	Float16:  {"float16", 2},
	BFloat16: {"bfloat16", 2},
	Int32:    {"int32", 4},
	Int64:    {"int64", 8},
	Bool:     {"bool", 1},
}

// DTypes lists every dtype, in declaration order.
func DTypes() []DType {
	out := make([]DType, numDTypes)
	for i := range out {
		out[i] = DType(i)
	}
	return out
}

// Valid reports whether d is one of the declared dtypes.
func (d DType) Valid() bool { return d < numDTypes }

// String returns PyTorch's name for the dtype ("float32", "int64", ...).
func (d DType) String() string {
	if !d.Valid() {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypeInfo[d].name
}

// Size is the number of bytes one element occupies.
func (d DType) Size() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfo[d].size
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == Float16 || d == BFloat16
}

// IsHalf reports whether d is a 16-bit float (stored, but computed in float32).
func (d DType) IsHalf() bool { return d == Float16 || d == BFloat16 }

// IsInt reports whether d is a signed integer type.
func (d DType) IsInt() bool { return d == Int32 || d == Int64 }

// ParseDType maps a name such as "float32" or "bool" to its DType.
func ParseDType(name string) (DType, error) {
	for i := DType(0); i < numDTypes; i++ {
		if dtypeInfo[i].name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("backend: unknown dtype %q", name)
}
