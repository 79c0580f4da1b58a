package safetensors

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/tessera-ml/tessera/tensor"
)

// chunkBytes is how much tensor data Write encodes, and Read decodes, at a
// time.
const chunkBytes = 1 << 20

// planned is one tensor as Write lays it out.
type planned struct {
	name       string
	t          *tensor.Tensor
	dt         stDType
	begin, end int64
}

// Write writes tensors and metadata to w in the safetensors format.
//
// The order of the tensors in the file is fixed (descending dtype alignment,
// then name), so the same tensors always give the same bytes. Each tensor is
// written in row-major order whatever its strides, and is copied to the host
// first when it lives on another device. metadata may be nil (no
// "__metadata__" entry) or hold any UTF-8 strings.
//
// Names must be valid UTF-8, may not be "__metadata__", and tensors may not
// be nil. An error reading a tensor's data, or from w, stops the write; what
// was written by then is not a valid file (WriteFile never leaves one
// behind).
func Write(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	var err error
	if perr := tensor.Try(func() { err = write(w, tensors, metadata) }); perr != nil {
		return fmt.Errorf("safetensors: %w", perr)
	}
	return err
}

func write(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	header, plan, err := prepare(tensors, metadata)
	if err != nil {
		return err
	}
	prefix := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(header)), uint64(len(header)))
	if _, err := w.Write(append(prefix, header...)); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	var chunk []byte
	for _, p := range plan {
		if chunk, err = writeTensor(w, p, chunk); err != nil {
			return err
		}
	}
	return nil
}

// prepare checks the arguments, orders the tensors and builds the padded
// JSON header.
func prepare(tensors map[string]*tensor.Tensor, metadata map[string]string) ([]byte, []planned, error) {
	plan := make([]planned, 0, len(tensors))
	for name, t := range tensors {
		switch {
		case t == nil:
			return nil, nil, fmt.Errorf("safetensors: tensor %q is nil", name)
		case name == metadataKey:
			return nil, nil, fmt.Errorf("safetensors: %q is reserved for metadata and cannot name a tensor", name)
		case !utf8.ValidString(name):
			return nil, nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", name)
		}
		dt, ok := dtypeByTessera[t.DType()]
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %v, which the format cannot hold", name, t.DType())
		}
		plan = append(plan, planned{name: name, t: t, dt: dt})
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, fmt.Errorf("safetensors: metadata %q: %q is not valid UTF-8", k, v)
		}
	}
	// The reference writer's order: larger alignment first, then by name
	// (byte-wise, as Rust compares strings).
	slices.SortFunc(plan, func(a, b planned) int {
		if a.dt.rank != b.dt.rank {
			return b.dt.rank - a.dt.rank
		}
		return strings.Compare(a.name, b.name)
	})

	h := []byte{'{'}
	if metadata != nil {
		h = appendJSONString(h, metadataKey)
		h = append(h, ':', '{')
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	var off int64
	for i := range plan {
		p := &plan[i]
		n := int64(p.t.Numel()) * int64(p.dt.tessera.Size())
		p.begin, p.end = off, off+n
		off += n
		if len(h) > 1 {
			h = append(h, ',')
		}
		h = appendJSONString(h, p.name)
		h = append(h, `:{"dtype":"`...)
		h = append(h, p.dt.name...)
		h = append(h, `","shape":[`...)
		for j, d := range p.t.Shape() {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, p.begin, 10)
		h = append(h, ',')
		h = strconv.AppendInt(h, p.end, 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	// Pad with spaces so that the data starts 8-byte aligned.
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header of %d bytes exceeds the format's limit of %d", len(h), MaxHeaderSize)
	}
	return h, plan, nil
}

// appendJSONString appends s as a JSON string escaped as serde_json and
// Python's json module (ensure_ascii=False) escape it: quote, backslash and
// control characters only, the common ones in short form, the others as
// \u00xx with lower-case hex.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// writeTensor writes p's elements in row-major little-endian order, a chunk
// at a time, reusing chunk as the encoding buffer.
func writeTensor(w io.Writer, p planned, chunk []byte) ([]byte, error) {
	c := p.t.Contiguous()
	n := c.Numel()
	if n == 0 {
		return chunk, nil
	}
	host := hostSlice(c.DType(), n)
	if err := c.Backend().Read(c.Buffer(), c.Offset(), host); err != nil {
		return chunk, fmt.Errorf("safetensors: reading tensor %q: %w", p.name, err)
	}
	size := c.DType().Size()
	if int64(n)*int64(size) != p.end-p.begin {
		return chunk, fmt.Errorf("safetensors: tensor %q changed size while being written", p.name)
	}
	step := max(1, chunkBytes/size)
	for i := 0; i < n; i += step {
		j := min(n, i+step)
		chunk = appendLE(chunk[:0], host, i, j)
		if _, err := w.Write(chunk); err != nil {
			return chunk, fmt.Errorf("safetensors: writing tensor %q: %w", p.name, err)
		}
	}
	return chunk, nil
}

// hostSlice makes the Go slice that backend.Backend.Read fills for dt.
func hostSlice(dt tensor.DType, n int) any {
	switch dt {
	case tensor.Float32:
		return make([]float32, n)
	case tensor.Float64:
		return make([]float64, n)
	case tensor.Float16, tensor.BFloat16:
		return make([]uint16, n)
	case tensor.Int32:
		return make([]int32, n)
	case tensor.Int64:
		return make([]int64, n)
	case tensor.Bool:
		return make([]bool, n)
	}
	panic(fmt.Sprintf("safetensors: no host slice for dtype %v", dt))
}

// appendLE appends host[i:j] to b as little-endian bytes (bool as 0 or 1).
func appendLE(b []byte, host any, i, j int) []byte {
	le := binary.LittleEndian
	switch h := host.(type) {
	case []float32:
		for _, v := range h[i:j] {
			b = le.AppendUint32(b, math.Float32bits(v))
		}
	case []float64:
		for _, v := range h[i:j] {
			b = le.AppendUint64(b, math.Float64bits(v))
		}
	case []uint16:
		for _, v := range h[i:j] {
			b = le.AppendUint16(b, v)
		}
	case []int32:
		for _, v := range h[i:j] {
			b = le.AppendUint32(b, uint32(v))
		}
	case []int64:
		for _, v := range h[i:j] {
			b = le.AppendUint64(b, uint64(v))
		}
	case []bool:
		for _, v := range h[i:j] {
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b
}

// wrapTempWriter lets tests put a failing writer between WriteFile and its
// temporary file.
var wrapTempWriter = func(w io.Writer) io.Writer { return w }

// WriteFile writes tensors and metadata to the file at path, atomically: the
// data goes to a temporary file in the same directory, which is synced and
// then renamed over path, and the directory is synced. On any error the
// temporary file is removed and path is left as it was, so path never holds
// a partial file. A new file gets mode 0644; an existing one keeps its mode.
func WriteFile(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		// Also runs when a panic unwinds through here.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(wrapTempWriter(f), chunkBytes)
	if err := Write(bw, tensors, metadata); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
	}
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	done = true
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// directory (EINVAL), and Windows, are let off.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("safetensors: syncing directory: %w", err)
	}
	return nil
}
