package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/x448/float16"

	"github.com/tessera-ml/tessera/tensor"
)

// stDTypeTensors is one tensor of every dtype plus the awkward cases (0-d,
// empty, non-contiguous). It must match dtype_tensors() in
// testdata/gen_fixtures.py, which wrote testdata/torch_dtypes.safetensors
// from the same values with torch.
func stDTypeTensors() map[string]*tensor.Tensor {
	f32 := make([]float32, 12)
	for i := range f32 {
		f32[i] = (float32(i) - 5) * 0.25
	}
	f64 := make([]float64, 6)
	for i := range f64 {
		f64[i] = float64(i) / 3
	}
	return map[string]*tensor.Tensor{
		"f32":        tensor.FromSlice(f32, 3, 4),
		"f64":        tensor.FromSlice(f64, 2, 3),
		"f16":        tensor.FromSlice([]float32{-1.5, 0, 0.5, 65504, 0x1p-24, -0x1p-14, 1.0 / 1024}).Cast(tensor.Float16),
		"bf16":       tensor.FromSlice([]float32{-1.5, 0, 0.25, 256, 0x1p-10, 0x1p127}, 2, 3).Cast(tensor.BFloat16),
		"i32":        tensor.FromSlice([]int32{-3, -2, -1, 0, 1, 2}, 2, 3),
		"i64":        tensor.FromSlice([]int64{-1 << 40, 0, 7, 1 << 62}),
		"mask":       tensor.FromSlice([]bool{true, false, true, true, false}),
		"scalar":     tensor.Scalar(3.5),
		"empty":      tensor.Zeros([]int{0, 3}),
		"empty_bool": tensor.Zeros([]int{0}, tensor.WithDType(tensor.Bool)),
		"transposed": tensor.FromSlice([]float32{0, 1, 2, 3, 4, 5}, 3, 2).T(),
	}
}

// stRaw returns t's elements as little-endian bytes, read through the
// backend (so float16 and bfloat16 come out as their exact bits).
func stRaw(t *testing.T, x *tensor.Tensor) []byte {
	t.Helper()
	c := x.Contiguous()
	host := hostSlice(c.DType(), c.Numel())
	if c.Numel() > 0 {
		if err := c.Backend().Read(c.Buffer(), c.Offset(), host); err != nil {
			t.Fatal(err)
		}
	}
	return appendLE(nil, host, 0, c.Numel())
}

// stSame fails t unless got has want's dtype, shape and bytes.
func stSame(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: missing", name)
	}
	if got.DType() != want.DType() || !slices.Equal(got.Shape(), want.Shape()) {
		t.Fatalf("%s: got %v %v, want %v %v", name, got.DType(), got.Shape(), want.DType(), want.Shape())
	}
	if g, w := stRaw(t, got), stRaw(t, want); !bytes.Equal(g, w) {
		t.Fatalf("%s: bytes differ\n got %x\nwant %x", name, g, w)
	}
}

func stWrite(t *testing.T, tensors map[string]*tensor.Tensor, md map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, md); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func stRead(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stFile assembles a file from a header and a data buffer.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestSafetensorsRoundTripDTypes(t *testing.T) {
	want := stDTypeTensors()
	md := map[string]string{"format": "pt", "note": "naïve \"quoted\"\n\ttab \x01 <&>"}
	b := stWrite(t, want, md)
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || b[8+n-1] != '}' && b[8+n-1] != ' ' {
		t.Fatalf("header length %d is not padded to 8", n)
	}
	f := stRead(t, b)
	if len(f.Names) != len(want) || len(f.Tensors) != len(want) {
		t.Fatalf("read %d names, %d tensors; want %d", len(f.Names), len(f.Tensors), len(want))
	}
	for name, w := range want {
		stSame(t, name, f.Tensor(name), w)
	}
	if !maps.Equal(f.Metadata, md) {
		t.Fatalf("metadata %q, want %q", f.Metadata, md)
	}
	// Values, not only bits, survive: half types through float32.
	if got := f.Tensor("f16").Float32s(); !slices.Equal(got, []float32{-1.5, 0, 0.5, 65504, 0x1p-24, -0x1p-14, 1.0 / 1024}) {
		t.Fatalf("f16 values %v", got)
	}
	if got := f.Tensor("bf16").Float32s(); !slices.Equal(got, []float32{-1.5, 0, 0.25, 256, 0x1p-10, 0x1p127}) {
		t.Fatalf("bf16 values %v", got)
	}
	if got := f.Tensor("transposed").Float32s(); !slices.Equal(got, []float32{0, 2, 4, 1, 3, 5}) {
		t.Fatalf("transposed values %v", got)
	}
	if s := f.Tensor("scalar"); s.Dim() != 0 || s.Item() != 3.5 {
		t.Fatalf("scalar %v", s)
	}
	// The same tensors always give the same bytes.
	if b2 := stWrite(t, want, md); !bytes.Equal(b, b2) {
		t.Fatal("two writes of the same tensors differ")
	}
	// Rewriting what was read gives the same bytes.
	if b3 := stWrite(t, f.Tensors, f.Metadata); !bytes.Equal(b, b3) {
		t.Fatal("rewriting a read file changed its bytes")
	}
}

func TestSafetensorsNonContiguous(t *testing.T) {
	base := tensor.Arange(0, 24, 1, tensor.WithDType(tensor.Float64)).Reshape(2, 3, 4)
	views := map[string]*tensor.Tensor{
		"permuted":  base.Permute(2, 0, 1),
		"stepped":   base.Slice(2, 0, 4, 2),
		"narrowed":  base.Narrow(1, 1, 2),
		"expanded":  tensor.FromSlice([]int32{1, 2, 3}).Unsqueeze(0).Expand(4, 3),
		"half_perm": base.Cast(tensor.BFloat16).Permute(1, 2, 0),
		"bool_t":    base.GtScalar(10).Transpose(0, 2),
	}
	for name, v := range views {
		if v.IsContiguous() {
			t.Fatalf("%s: test view is contiguous", name)
		}
	}
	f := stRead(t, stWrite(t, views, nil))
	if f.Metadata != nil {
		t.Fatalf("metadata %v from a file without", f.Metadata)
	}
	for name, v := range views {
		stSame(t, name, f.Tensor(name), v.Contiguous())
		if !f.Tensor(name).IsContiguous() {
			t.Fatalf("%s: read tensor is not contiguous", name)
		}
	}
}

func TestSafetensorsNames(t *testing.T) {
	// Any UTF-8 string names a tensor, with JSON escapes where needed.
	names := []string{"", "a.b.c", "naïve", "tab\there", "quote\"back\\slash", "ctl\x00\x1f", "日本語", "\u2028"}
	tensors := map[string]*tensor.Tensor{}
	for i, n := range names {
		tensors[n] = tensor.Full([]int{1}, float64(i))
	}
	f := stRead(t, stWrite(t, tensors, map[string]string{}))
	if f.Metadata == nil || len(f.Metadata) != 0 {
		t.Fatalf("empty metadata came back as %#v", f.Metadata)
	}
	for i, n := range names {
		if got := f.Tensor(n); got == nil || got.Item() != float64(i) {
			t.Fatalf("name %q: got %v", n, got)
		}
	}
	// File order is the writer's: by name within a dtype.
	if !slices.IsSorted(f.Names) {
		t.Fatalf("names %q are not in writer order", f.Names)
	}
}

func TestSafetensorsWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors map[string]*tensor.Tensor
		md      map[string]string
		want    string
	}{
		{"nil", map[string]*tensor.Tensor{"a": nil}, nil, `tensor "a" is nil`},
		{"reserved", map[string]*tensor.Tensor{"__metadata__": tensor.Ones([]int{1})}, nil, "reserved"},
		{"utf8 name", map[string]*tensor.Tensor{"\xff": tensor.Ones([]int{1})}, nil, "not valid UTF-8"},
		{"utf8 metadata", nil, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, tc.tensors, tc.md)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", tc.name, buf.Len())
		}
	}
	// An error from the writer is returned, wrapped.
	boom := errors.New("disk full")
	err := Write(&stFailWriter{w: io.Discard, left: 20, err: boom}, stDTypeTensors(), nil)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want it to wrap %v", err, boom)
	}
}

// The reference implementation's own test vectors
// (huggingface/safetensors, safetensors/src/tensor.rs).
func TestSafetensorsReferenceBytes(t *testing.T) {
	data := tensor.FromSlice([]float32{0, 1, 2, 3, 4, 5}, 1, 2, 3)
	var payload []byte
	for _, v := range []float32{0, 1, 2, 3, 4, 5} {
		payload = binary.LittleEndian.AppendUint32(payload, math.Float32bits(v))
	}
	for _, tc := range []struct {
		name    string
		tensors map[string]*tensor.Tensor
		md      map[string]string
		want    []byte
	}{
		{"serialization", map[string]*tensor.Tensor{"attn.0": data}, nil,
			stFile(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, payload)},
		{"forced alignment", map[string]*tensor.Tensor{"attn0": data.Reshape(1, 1, 2, 3)}, nil,
			stFile(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, payload)},
		{"empty", nil, nil, stFile(`{}      `, nil)},
		{"empty with metadata", nil, map[string]string{"framework": "pt"},
			stFile(`{"__metadata__":{"framework":"pt"}}     `, nil)},
	} {
		if got := stWrite(t, tc.tensors, tc.md); !bytes.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		stRead(t, tc.want)
	}
}

// TestSafetensorsTorchDTypes reads the file torch wrote (through
// testdata/gen_fixtures.py) and checks that Tessera writes the same bytes.
// With TESSERA_ST_OUT set it also leaves its own file there, for the
// generator to read back with Python.
func TestSafetensorsTorchDTypes(t *testing.T) {
	torchFile, err := os.ReadFile("testdata/torch_dtypes.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile("testdata/torch_dtypes.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := stDTypeTensors()
	for name, w := range want {
		stSame(t, name, f.Tensor(name), w)
	}
	// Half-precision bits as torch rounds them.
	if got, w := stRaw(t, f.Tensor("f16"))[6:8], binary.LittleEndian.AppendUint16(nil, float16.Fromfloat32(65504).Bits()); !bytes.Equal(got, w) {
		t.Fatalf("f16[3] bits %x, want %x", got, w)
	}
	wantOrder := []string{"i64", "f64", "empty", "f32", "scalar", "transposed", "i32", "bf16", "f16", "empty_bool", "mask"}
	if !slices.Equal(f.Names, wantOrder) {
		t.Fatalf("names %q, want %q", f.Names, wantOrder)
	}
	md := map[string]string{"format": "pt"}
	if !maps.Equal(f.Metadata, md) {
		t.Fatalf("metadata %v", f.Metadata)
	}
	if got := stWrite(t, want, md); !bytes.Equal(got, torchFile) {
		t.Fatalf("Tessera's file differs from torch's:\n got %q\nwant %q", got, torchFile)
	}
	if dir := os.Getenv("TESSERA_ST_OUT"); dir != "" {
		if err := WriteFile(filepath.Join(dir, "tessera_dtypes.safetensors"), want, md); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSafetensorsUnsupportedDType(t *testing.T) {
	_, err := ReadFile("testdata/torch_unsupported.safetensors")
	if !errors.Is(err, ErrUnsupportedDType) || !strings.Contains(err.Error(), `unsupported dtype I16: tensor "i16"`) {
		t.Fatalf("got %v", err)
	}
	for _, dt := range []string{"U8", "I8", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64"} {
		b := stFile(`{"x":{"dtype":"`+dt+`","shape":[0],"data_offsets":[0,0]}}`, nil)
		if _, err := Read(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrUnsupportedDType) || !strings.Contains(err.Error(), dt) {
			t.Errorf("%s: got %v", dt, err)
		}
	}
}

// stHostile is a file that Read must reject with an error containing want.
type stHostile struct {
	name string
	file []byte
	want string
}

func stHostileCases() []stHostile {
	f32x2 := make([]byte, 8)
	valid := stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32x2)
	lenOnly := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	e := func(entry string) string { return `{"a":` + entry + `}` }
	deep := `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`
	return []stHostile{
		{"empty file", nil, "too short"},
		{"seven bytes", []byte{1, 2, 3, 4, 5, 6, 7}, "too short"},
		{"header past end", lenOnly(100, "{}"), "runs past the end"},
		{"header length huge", lenOnly(1<<62, "{}"), "exceeds the limit"},
		{"header length max", lenOnly(math.MaxUint64, "{}"), "exceeds the limit"},
		{"header just over limit", lenOnly(MaxHeaderSize+1, "{}"), "exceeds the limit"},
		{"zero header", lenOnly(0, ""), "does not start with '{'"},
		{"truncated", valid[:len(valid)-1], "run past the 7-byte data buffer"},
		{"extra data", append(slices.Clone(valid), 0), "cover 8 bytes of the 9-byte"},
		{"bad json", stFile(`{"a":`, nil), "not valid JSON"},
		{"bad json 2", stFile(`{"a":{"dtype":"F32",}}`, nil), "not valid JSON"},
		{"not an object", stFile(`[1,2]`, nil), "does not start with '{'"},
		{"leading space", stFile(` {}`, nil), "does not start with '{'"},
		{"invalid utf8", stFile("{\"\xff\":1}", nil), "UTF-8"},
		{"trailing data", stFile(`{}x`, nil), "data after"},
		{"second object", stFile(`{}{}`, nil), "data after"},
		{"duplicate name", stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil), `key "a" twice`},
		{"duplicate metadata", stFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "twice"},
		{"duplicate metadata key", stFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), "twice"},
		{"duplicate field", stFile(e(`{"dtype":"F32","dtype":"F64","shape":[0],"data_offsets":[0,0]}`), nil), "twice"},
		{"metadata not object", stFile(`{"__metadata__":[]}`, nil), "not a JSON object"},
		{"metadata number", stFile(`{"__metadata__":{"k":1}}`, nil), "not a string"},
		{"entry not object", stFile(`{"a":5}`, nil), "not a JSON object"},
		{"unknown dtype", stFile(e(`{"dtype":"F128","shape":[0],"data_offsets":[0,0]}`), nil), `unknown dtype "F128"`},
		{"dtype number", stFile(e(`{"dtype":3,"shape":[0],"data_offsets":[0,0]}`), nil), "dtype is not a string"},
		{"no dtype", stFile(e(`{"shape":[0],"data_offsets":[0,0]}`), nil), "has no dtype"},
		{"no shape", stFile(e(`{"dtype":"F32","data_offsets":[0,0]}`), nil), "has no shape"},
		{"no offsets", stFile(e(`{"dtype":"F32","shape":[0]}`), nil), "has no data_offsets"},
		{"shape null", stFile(e(`{"dtype":"F32","shape":null,"data_offsets":[0,0]}`), nil), "not an array"},
		{"shape negative", stFile(e(`{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}`), nil), "non-negative integer"},
		{"shape float", stFile(e(`{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}`), nil), "non-negative integer"},
		{"shape exponent", stFile(e(`{"dtype":"F32","shape":[1e3],"data_offsets":[0,0]}`), nil), "non-negative integer"},
		{"shape string", stFile(e(`{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}`), f32x2), "non-negative integer"},
		{"shape too big", stFile(e(`{"dtype":"F32","shape":[100000000000000000000],"data_offsets":[0,0]}`), nil), "non-negative integer"},
		{"shape overflow", stFile(e(`{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}`), f32x2), "too many elements"},
		{"bytes overflow", stFile(e(`{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}`), f32x2), "too many elements"},
		{"offsets three", stFile(e(`{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}`), f32x2), "3 entries"},
		{"offsets negative", stFile(e(`{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}`), f32x2), "non-negative integer"},
		{"offsets huge", stFile(e(`{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}`), f32x2), "non-negative integer"},
		{"offsets reversed", stFile(e(`{"dtype":"F32","shape":[0],"data_offsets":[8,0]}`), f32x2), "end before they begin"},
		{"offsets past data", stFile(e(`{"dtype":"F32","shape":[4],"data_offsets":[0,16]}`), f32x2), "run past the 8-byte data buffer"},
		{"offsets far past data", stFile(e(`{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}`), f32x2), "run past"},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), "leave bytes [4, 8) unused"},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), "overlap"},
		{"same range twice", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32x2), "overlap"},
		{"not covering", stFile(e(`{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), make([]byte, 16)), "cover 8 bytes of the 16-byte"},
		{"not starting at 0", stFile(e(`{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), f32x2), "leave bytes [0, 4) unused"},
		{"bytes vs shape", stFile(e(`{"dtype":"F32","shape":[3],"data_offsets":[0,8]}`), f32x2), "take 12 bytes"},
		{"bytes vs dtype", stFile(e(`{"dtype":"F64","shape":[2],"data_offsets":[0,8]}`), f32x2), "take 16 bytes"},
		{"deep nesting", stFile(deep, nil), "not valid JSON"},
		{"unsupported", stFile(e(`{"dtype":"U8","shape":[8],"data_offsets":[0,8]}`), f32x2), "unsupported dtype U8"},
	}
}

func TestSafetensorsHostile(t *testing.T) {
	for _, tc := range stHostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil || f != nil {
				t.Fatalf("got %v, %v; want an error", f, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupportedDType) {
				t.Fatalf("error %q wraps neither ErrFormat nor ErrUnsupportedDType", err)
			}
		})
	}
}

// stErrReaderAt fails every read.
type stErrReaderAt struct{ err error }

func (r stErrReaderAt) ReadAt([]byte, int64) (int, error) { return 0, r.err }

func TestSafetensorsReaderErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	if _, err := Read(stErrReaderAt{boom}, 1000); !errors.Is(err, boom) {
		t.Fatalf("got %v, want it to wrap %v", err, boom)
	}
	// A reader shorter than the size it is said to have.
	valid := stWrite(t, stDTypeTensors(), nil)
	short := io.NewSectionReader(bytes.NewReader(valid), 0, int64(len(valid))-3)
	if _, err := Read(short, int64(len(valid))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

// A hostile header may claim terabytes; Read must reject it without
// allocating more than the file holds.
func TestSafetensorsReadAllocBound(t *testing.T) {
	small := make([]byte, 64)
	cases := [][]byte{
		stFile(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`, small),
		stFile(`{"a":{"dtype":"F64","shape":[1073741824,1073741824],"data_offsets":[0,64]}}`, small),
		binary.LittleEndian.AppendUint64(nil, MaxHeaderSize),
		binary.LittleEndian.AppendUint64(nil, 1<<62),
	}
	for i, file := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Read(bytes.NewReader(file), int64(len(file))); err == nil {
			t.Fatalf("case %d: no error", i)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
			t.Errorf("case %d: Read of a %d-byte file allocated %d bytes", i, len(file), got)
		}
	}
}

// stFailWriter passes left bytes to w, then fails with err.
type stFailWriter struct {
	w    io.Writer
	left int
	err  error
}

func (f *stFailWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, f.err
	}
	f.left -= len(p)
	return f.w.Write(p)
}

func stDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSafetensorsWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	old := map[string]*tensor.Tensor{"w": tensor.Full([]int{2, 2}, 7)}
	if err := WriteFile(path, old, nil); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("new file has mode %v, want 0644", fi.Mode())
	}

	boom := errors.New("injected failure")
	big := map[string]*tensor.Tensor{"w": tensor.Full([]int{600, 1000}, 1), "b": tensor.Ones([]int{3})}
	for _, tc := range []struct {
		name    string
		tensors map[string]*tensor.Tensor
		fail    int // bytes the temp file takes before failing; -1: no failure
		want    error
	}{
		// 2.4 MB through a 1 MB buffer: fails inside Write, mid-tensor.
		{"midway", big, 1500 << 10, boom},
		// Fails when the buffer is flushed at the end.
		{"at flush", old, 30, boom},
		// Fails before any data: a nil tensor.
		{"bad tensor", map[string]*tensor.Tensor{"w": nil}, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fail >= 0 {
				wrapTempWriter = func(w io.Writer) io.Writer { return &stFailWriter{w: w, left: tc.fail, err: tc.want} }
				defer func() { wrapTempWriter = func(w io.Writer) io.Writer { return w } }()
			}
			err := WriteFile(path, tc.tensors, nil)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, oldBytes) {
				t.Fatal("the previous file was changed")
			}
			if names := stDirNames(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
				t.Fatalf("directory holds %q", names)
			}
		})
	}

	// A successful write replaces the file and keeps its mode.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, big, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stSame(t, "w", f.Tensor("w"), big["w"])
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 kept", fi.Mode())
	}
	if names := stDirNames(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Fatalf("directory holds %q", names)
	}

	// Errors creating or renaming leave nothing behind.
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), old, nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, old, nil); err == nil { // rename over a non-empty directory
		t.Fatal("write over a directory succeeded")
	}
	if names := stDirNames(t, dir); !slices.Equal(names, []string{"model.safetensors", "sub"}) {
		t.Fatalf("directory holds %q", names)
	}
}
