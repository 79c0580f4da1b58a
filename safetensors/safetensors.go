// Package safetensors reads and writes the safetensors format of Hugging
// Face (https://huggingface.co/docs/safetensors), the checkpoint format that
// Tessera shares with PyTorch.
//
// A file is an 8-byte little-endian unsigned header length N, N bytes of a
// UTF-8 JSON object, and the data buffer:
//
//	{"__metadata__": {"format": "pt"},
//	 "fc.weight": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}, ...}
//
// Each tensor's bytes are little-endian and row-major (C order) at
// data_offsets, counted from the start of the buffer. The tensors cover the
// buffer exactly, without gaps or overlaps, and the header may be padded with
// spaces so that the buffer starts on an 8-byte boundary.
//
// Write produces the same bytes as the reference writer (the Rust crate
// behind Python's safetensors.torch.save_file): tensors sorted by descending
// dtype alignment, then by name; compact JSON with the metadata first; the
// header padded with spaces to a multiple of 8 bytes. Metadata keys are
// sorted (the reference writer's order is that of a hash map, so files with
// more than one metadata key differ from it only in that order).
//
// Read treats its input as hostile: every length and offset is checked
// against the file size before anything is allocated, so a truncated,
// corrupt or malicious file yields an error wrapping ErrFormat, never a
// panic or an allocation larger than the file.
//
// Tessera's dtypes map to F32, F64, F16, BF16, I32, I64 and BOOL. The other
// dtypes of the format (U8, I8, I16, U16, U32, U64, the F8 and smaller float
// types, C64) are recognised, and rejected with an error wrapping
// ErrUnsupportedDType.
package safetensors

import (
	"errors"
	"fmt"

	"github.com/tessera-ml/tessera/tensor"
)

// MaxHeaderSize is the largest JSON header accepted, as in the reference
// implementation (100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the header key that holds the free-form string metadata.
const metadataKey = "__metadata__"

// ErrFormat is wrapped by every error that reports a malformed file.
var ErrFormat = errors.New("safetensors: invalid file")

// ErrUnsupportedDType is wrapped by errors about a dtype the format knows but
// Tessera cannot represent (U8, F8_E4M3, ...).
var ErrUnsupportedDType = errors.New("safetensors: unsupported dtype")

// formatError builds an error wrapping ErrFormat.
func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// stDType describes one dtype name of the format.
type stDType struct {
	name string
	// rank orders dtypes by alignment as the reference writer's enum does;
	// the writer emits higher ranks first.
	rank int
	// tessera is the Tessera dtype, when there is one.
	tessera   tensor.DType
	supported bool
}

// fileDTypes lists every dtype name of the format, in the reference's enum
// order (increasing alignment). Only the ranks of supported dtypes matter for
// writing; their relative order is the same in every release of the
// reference.
var fileDTypes = []stDType{
	{name: "BOOL", tessera: tensor.Bool, supported: true},
	{name: "F4"},
	{name: "F6_E2M3"},
	{name: "F6_E3M2"},
	{name: "U8"},
	{name: "I8"},
	{name: "F8_E5M2"},
	{name: "F8_E4M3"},
	{name: "F8_E8M0"},
	{name: "I16"},
	{name: "U16"},
	{name: "F16", tessera: tensor.Float16, supported: true},
	{name: "BF16", tessera: tensor.BFloat16, supported: true},
	{name: "I32", tessera: tensor.Int32, supported: true},
	{name: "U32"},
	{name: "F32", tessera: tensor.Float32, supported: true},
	{name: "C64"},
	{name: "F64", tessera: tensor.Float64, supported: true},
	{name: "I64", tessera: tensor.Int64, supported: true},
	{name: "U64"},
}

var (
	dtypeByName    = map[string]stDType{}
	dtypeByTessera = map[tensor.DType]stDType{}
)

func init() {
	for i, d := range fileDTypes {
		d.rank = i
		dtypeByName[d.name] = d
		if d.supported {
			dtypeByTessera[d.tessera] = d
		}
	}
}

// File is the content of a safetensors file.
type File struct {
	// Names lists the tensors in file order (by data offset).
	Names []string
	// Tensors maps each name to a new CPU tensor holding its data.
	Tensors map[string]*tensor.Tensor
	// Metadata is the header's "__metadata__" object (nil when absent).
	Metadata map[string]string
}

// Tensor returns the tensor called name, or nil.
func (f *File) Tensor(name string) *tensor.Tensor { return f.Tensors[name] }
