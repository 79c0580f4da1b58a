package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tessera-ml/tessera/tensor"
)

// entry is one tensor as the header describes it.
type entry struct {
	name       string
	dt         stDType
	shape      []int
	begin, end uint64 // relative to the start of the data buffer
	index      int    // position in the header, to keep ties in order
}

// ReadFile reads the safetensors file at path.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	file, err := Read(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return file, nil
}

// Read reads a safetensors file of size bytes from r and returns its tensors
// as new CPU tensors.
//
// The file is checked in full before any tensor data is read: the header
// length against size and MaxHeaderSize, the header as strict JSON (UTF-8,
// no duplicate keys, nothing but spaces after the object), each tensor's
// dtype, shape and data_offsets, and that the tensors tile the data buffer
// exactly. A file that fails a check gives an error wrapping ErrFormat (or
// ErrUnsupportedDType); no allocation exceeds size, so size must be the true
// size of the data behind r.
func Read(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, formatError("%d bytes is too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if err := readAt(r, lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, formatError("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, formatError("header length %d runs past the end of the %d-byte file", n, size)
	}
	header := make([]byte, n)
	if err := readAt(r, header, 8); err != nil {
		return nil, err
	}
	entries, metadata, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	dataStart := 8 + int64(n)
	if err := validate(entries, uint64(size-dataStart)); err != nil {
		return nil, err
	}

	f := &File{
		Names:    make([]string, len(entries)),
		Tensors:  make(map[string]*tensor.Tensor, len(entries)),
		Metadata: metadata,
	}
	var chunk []byte
	for i, e := range entries {
		t, err := readTensor(r, dataStart, e, &chunk)
		if err != nil {
			return nil, err
		}
		f.Names[i] = e.name
		f.Tensors[e.name] = t
	}
	return f, nil
}

// readAt fills b from r at off; a short read means the file is truncated.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	if len(b) == 0 {
		return nil
	}
	k, err := r.ReadAt(b, off)
	if k == len(b) {
		return nil // ReadAt may report io.EOF with a full read at the end
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatError("file truncated: %d bytes at offset %d, only %d there", len(b), off, k)
	}
	return fmt.Errorf("safetensors: %w", err)
}

// parseHeader parses the JSON header into entries (in header order) and the
// metadata.
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, formatError("header is not valid UTF-8")
	}
	if len(h) == 0 || h[0] != '{' {
		return nil, nil, formatError("header does not start with '{'")
	}
	var entries []entry
	var metadata map[string]string
	dec := json.NewDecoder(bytes.NewReader(h))
	err := walkObject(dec, "header", func(key string, raw json.RawMessage) error {
		if key == metadataKey {
			md, err := parseMetadata(raw)
			metadata = md
			return err
		}
		e, err := parseEntry(key, raw)
		e.index = len(entries)
		entries = append(entries, e)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if rest := bytes.TrimLeft(h[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, formatError("header has data after its JSON object")
	}
	return entries, metadata, nil
}

// walkObject reads one JSON object from dec and calls f with each member,
// rejecting duplicate keys.
func walkObject(dec *json.Decoder, what string, f func(key string, raw json.RawMessage) error) error {
	tok, err := dec.Token()
	if err != nil {
		return formatError("%s is not valid JSON: %v", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return formatError("%s is not a JSON object", what)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return formatError("%s is not valid JSON: %v", what, err)
		}
		key, ok := tok.(string)
		if !ok {
			return formatError("%s is not valid JSON", what)
		}
		if seen[key] {
			return formatError("%s has the key %q twice", what, key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return formatError("%s is not valid JSON: %v", what, err)
		}
		if err := f(key, bytes.TrimSpace(raw)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return formatError("%s is not valid JSON: %v", what, err)
	}
	return nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	md := map[string]string{}
	err := walkObject(json.NewDecoder(bytes.NewReader(raw)), metadataKey, func(key string, v json.RawMessage) error {
		if len(v) == 0 || v[0] != '"' {
			return formatError("%s[%q] is not a string", metadataKey, key)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return formatError("%s[%q]: %v", metadataKey, key, err)
		}
		md[key] = s
		return nil
	})
	return md, err
}

// parseEntry parses {"dtype": ..., "shape": [...], "data_offsets": [b, e]};
// other members are ignored, as the reference reader ignores them.
func parseEntry(name string, raw json.RawMessage) (entry, error) {
	e := entry{name: name}
	what := fmt.Sprintf("tensor %q", name)
	var haveDType, haveShape, haveOffsets bool
	err := walkObject(json.NewDecoder(bytes.NewReader(raw)), what, func(key string, v json.RawMessage) error {
		switch key {
		case "dtype":
			var s string
			if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
				return formatError("%s: dtype is not a string", what)
			}
			dt, ok := dtypeByName[s]
			if !ok {
				return formatError("%s: unknown dtype %q", what, s)
			}
			e.dt, haveDType = dt, true
		case "shape":
			dims, err := parseInts(v, what+": shape")
			if err != nil {
				return err
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return formatError("%s: dimension %d is too large", what, d)
				}
				e.shape[i] = int(d)
			}
			haveShape = true
		case "data_offsets":
			offs, err := parseInts(v, what+": data_offsets")
			if err != nil {
				return err
			}
			if len(offs) != 2 {
				return formatError("%s: data_offsets has %d entries, want 2", what, len(offs))
			}
			e.begin, e.end, haveOffsets = offs[0], offs[1], true
		}
		return nil
	})
	switch {
	case err != nil:
		return e, err
	case !haveDType:
		return e, formatError("%s has no dtype", what)
	case !haveShape:
		return e, formatError("%s has no shape", what)
	case !haveOffsets:
		return e, formatError("%s has no data_offsets", what)
	}
	return e, nil
}

// parseInts parses a JSON array of non-negative integers that fit in int64.
func parseInts(raw json.RawMessage, what string) ([]uint64, error) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, formatError("%s is not an array of integers", what)
	}
	out := make([]uint64, len(items))
	for i, it := range items {
		v, err := strconv.ParseInt(string(bytes.TrimSpace(it)), 10, 64)
		if err != nil || v < 0 {
			return nil, formatError("%s: %s is not a non-negative integer below 2^63", what, it)
		}
		out[i] = uint64(v)
	}
	return out, nil
}

// validate checks that the entries tile [0, dataLen) exactly and that each
// one's byte count matches its dtype and shape, then sorts them by offset.
func validate(entries []entry, dataLen uint64) error {
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.begin != b.begin:
			return cmpU64(a.begin, b.begin)
		case a.end != b.end:
			return cmpU64(a.end, b.end)
		}
		return a.index - b.index
	})
	var next uint64
	for _, e := range entries {
		switch {
		case e.end < e.begin:
			return formatError("invalid offset for tensor %q: data_offsets [%d, %d] end before they begin", e.name, e.begin, e.end)
		case e.end > dataLen:
			return formatError("invalid offset for tensor %q: data_offsets [%d, %d] run past the %d-byte data buffer", e.name, e.begin, e.end, dataLen)
		case e.begin > next:
			return formatError("invalid offset for tensor %q: data_offsets [%d, %d] leave bytes [%d, %d) unused", e.name, e.begin, e.end, next, e.begin)
		case e.begin < next:
			return formatError("invalid offset for tensor %q: data_offsets [%d, %d] overlap the previous tensor, which ends at %d", e.name, e.begin, e.end, next)
		}
		next = e.end
	}
	if next != dataLen {
		return formatError("tensors cover %d bytes of the %d-byte data buffer", next, dataLen)
	}
	for _, e := range entries {
		numel := uint64(1)
		for _, d := range e.shape {
			if d != 0 && numel > math.MaxInt/uint64(d) {
				return formatError("tensor %q: shape %v has too many elements", e.name, e.shape)
			}
			numel *= uint64(d)
		}
		if !e.dt.supported {
			return fmt.Errorf("%w %s: tensor %q (Tessera has F32, F64, F16, BF16, I32, I64 and BOOL)", ErrUnsupportedDType, e.dt.name, e.name)
		}
		size := uint64(e.dt.tessera.Size())
		if numel > math.MaxInt/size {
			return formatError("tensor %q: shape %v has too many elements", e.name, e.shape)
		}
		if numel*size != e.end-e.begin {
			return formatError("tensor %q: dtype %s and shape %v take %d bytes, data_offsets [%d, %d] hold %d",
				e.name, e.dt.name, e.shape, numel*size, e.begin, e.end, e.end-e.begin)
		}
	}
	return nil
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// readTensor reads e's bytes, a chunk at a time, into a new CPU tensor.
func readTensor(r io.ReaderAt, dataStart int64, e entry, chunk *[]byte) (*tensor.Tensor, error) {
	size := e.dt.tessera.Size()
	n := int((e.end - e.begin) / uint64(size))
	host := hostSlice(e.dt.tessera, n)
	step := max(1, chunkBytes/size)
	for i := 0; i < n; i += step {
		j := min(n, i+step)
		if cap(*chunk) < (j-i)*size {
			*chunk = make([]byte, (j-i)*size)
		}
		b := (*chunk)[:(j-i)*size]
		if err := readAt(r, b, dataStart+int64(e.begin)+int64(i*size)); err != nil {
			return nil, err
		}
		decodeLE(host, i, b)
	}
	var t *tensor.Tensor
	var err error
	if perr := tensor.Try(func() {
		t = tensor.Zeros(e.shape, tensor.WithDType(e.dt.tessera))
		if n > 0 {
			err = t.Backend().Write(t.Buffer(), t.Offset(), host)
		}
	}); perr != nil {
		err = perr
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: tensor %q: %w", e.name, err)
	}
	return t, nil
}

// decodeLE decodes the little-endian bytes b into host[i:] (bool: x != 0).
func decodeLE(host any, i int, b []byte) {
	le := binary.LittleEndian
	switch h := host.(type) {
	case []float32:
		for k := range h[i : i+len(b)/4] {
			h[i+k] = math.Float32frombits(le.Uint32(b[4*k:]))
		}
	case []float64:
		for k := range h[i : i+len(b)/8] {
			h[i+k] = math.Float64frombits(le.Uint64(b[8*k:]))
		}
	case []uint16:
		for k := range h[i : i+len(b)/2] {
			h[i+k] = le.Uint16(b[2*k:])
		}
	case []int32:
		for k := range h[i : i+len(b)/4] {
			h[i+k] = int32(le.Uint32(b[4*k:]))
		}
	case []int64:
		for k := range h[i : i+len(b)/8] {
			h[i+k] = int64(le.Uint64(b[8*k:]))
		}
	case []bool:
		for k, c := range b {
			h[i+k] = c != 0
		}
	}
}
