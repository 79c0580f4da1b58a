package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
)

// idxBytes encodes m as an IDX file, gzipped when zip is set.
func idxBytes(t testing.TB, m *IDX, zip bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := io.Writer(&buf)
	var zw *gzip.Writer
	if zip {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	if err := WriteIDX(w, m); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// header returns an IDX header with the given type byte and dimensions.
func header(typ byte, dims ...uint32) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func TestIDXRoundTrip(t *testing.T) {
	for _, m := range []*IDX{
		{Dims: []int{5}, Data: seq(5)},
		{Dims: []int{3, 28, 28}, Data: seq(3 * 28 * 28)},
		{Dims: []int{2, 3, 4, 5}, Data: seq(120)},
		{Dims: []int{0, 28, 28}, Data: []byte{}},
		{Dims: []int{200000}, Data: seq(200000)}, // more than the first chunk
	} {
		for _, zip := range []bool{false, true} {
			b := idxBytes(t, m, zip)
			if !zip && len(b) != 4+4*len(m.Dims)+len(m.Data) {
				t.Fatalf("%v: WriteIDX wrote %d bytes", m.Dims, len(b))
			}
			// One byte at a time too, to exercise short reads.
			for _, r := range []io.Reader{bytes.NewReader(b), iotest.OneByteReader(bytes.NewReader(b))} {
				got, err := ReadIDX(r)
				if err != nil {
					t.Fatalf("%v gzip=%v: %v", m.Dims, zip, err)
				}
				if !slices.Equal(got.Dims, m.Dims) || !bytes.Equal(got.Data, m.Data) {
					t.Fatalf("%v gzip=%v: read back dims %v and %d bytes", m.Dims, zip, got.Dims, len(got.Data))
				}
			}
		}
	}
}

func TestIDXMagicNumbers(t *testing.T) {
	img := idxBytes(t, &IDX{Dims: []int{1, 28, 28}, Data: seq(784)}, false)
	lab := idxBytes(t, &IDX{Dims: []int{1}, Data: []byte{7}}, false)
	if got := binary.BigEndian.Uint32(img); got != IDXImagesMagic {
		t.Errorf("images magic %#08x, want %#08x", got, IDXImagesMagic)
	}
	if got := binary.BigEndian.Uint32(lab); got != IDXLabelsMagic {
		t.Errorf("labels magic %#08x, want %#08x", got, IDXLabelsMagic)
	}
}

func TestReadIDXRejects(t *testing.T) {
	valid := idxBytes(t, &IDX{Dims: []int{2, 3}, Data: seq(6)}, false)
	zipped := idxBytes(t, &IDX{Dims: []int{2, 3}, Data: seq(6)}, true)
	badCRC := slices.Clone(zipped)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	cases := map[string][]byte{
		"empty":               nil,
		"one byte":            {0},
		"short magic":         {0, 0, 8},
		"nonzero magic":       append([]byte{1, 0, 8, 1, 0, 0, 0, 1}, 9),
		"int element type":    append(header(0x0c, 1), 0, 0, 0, 1),
		"float element type":  append(header(0x0d, 1), 0, 0, 0, 1),
		"zero dimensions":     header(0x08),
		"nine dimensions":     header(0x08, 1, 1, 1, 1, 1, 1, 1, 1, 1),
		"truncated dims":      header(0x08, 60000, 28, 28)[:10],
		"no data":             header(0x08, 60000, 28, 28),
		"truncated data":      valid[:len(valid)-1],
		"trailing data":       append(slices.Clone(valid), 0),
		"too large":           header(0x08, 1<<16, 1<<16),
		"too large 4d":        header(0x08, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
		"too large then zero": header(0x08, 0xffffffff, 0xffffffff, 0),
		"gzip header only":    zipped[:10],
		"gzip truncated":      zipped[:len(zipped)-9],
		"gzip bad crc":        badCRC,
		"gzip magic only":     {0x1f, 0x8b},
		"gzip garbage":        {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, b := range cases {
		m, err := ReadIDX(bytes.NewReader(b))
		if err == nil {
			t.Errorf("%s: no error, read %v", name, m.Dims)
			continue
		}
		if !errors.Is(err, ErrIDXFormat) {
			t.Errorf("%s: error %q does not wrap ErrIDXFormat", name, err)
		}
	}
}

func TestReadIDXReaderError(t *testing.T) {
	valid := idxBytes(t, &IDX{Dims: []int{100}, Data: seq(100)}, false)
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(valid[:50]), iotest.ErrReader(boom))
	_, err := ReadIDX(r)
	if !errors.Is(err, boom) || errors.Is(err, ErrIDXFormat) {
		t.Fatalf("error %v: want the reader's error, not a format error", err)
	}
}

// A header that declares far more data than follows must not make ReadIDX
// allocate what it declares.
func TestReadIDXHostileHeaderAllocation(t *testing.T) {
	for _, b := range [][]byte{
		header(0x08, 1<<15, 1<<15, 1), // 1 GiB declared
		append(header(0x08, 60000, 28, 28), seq(1000)...),
	} {
		for _, zip := range []bool{false, true} {
			in := b
			if zip {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(b)
				zw.Close()
				in = buf.Bytes()
			}
			// A reader that tells its size and one that does not.
			for _, r := range []io.Reader{bytes.NewReader(in), struct{ io.Reader }{bytes.NewReader(in)}} {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err := ReadIDX(r)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, ErrIDXFormat) {
					t.Fatalf("error %v, want a format error", err)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
					t.Errorf("gzip=%v %T: %d bytes of input declaring %v made ReadIDX allocate %d bytes", zip, r, len(in), b[4:16], alloc)
				}
			}
		}
	}
}

func TestWriteIDXRejects(t *testing.T) {
	for _, m := range []*IDX{
		{Dims: nil, Data: nil},
		{Dims: []int{2, 2}, Data: seq(3)},
		{Dims: []int{-1}, Data: nil},
		{Dims: []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, Data: seq(1)},
		{Dims: []int{1 << 16, 1 << 16}, Data: nil},
	} {
		if err := WriteIDX(io.Discard, m); err == nil {
			t.Errorf("WriteIDX(%v, %d bytes): no error", m.Dims, len(m.Data))
		}
	}
}

// FuzzReadIDX checks that ReadIDX never panics, that what it accepts is
// consistent, and that it writes back to the same bytes.
//
//	go test ./data -run '^$' -fuzz FuzzReadIDX -fuzztime 30s
func FuzzReadIDX(f *testing.F) {
	for _, m := range []*IDX{
		{Dims: []int{4}, Data: seq(4)},
		{Dims: []int{2, 3, 3}, Data: seq(18)},
		{Dims: []int{0}, Data: nil},
	} {
		f.Add(idxBytes(f, m, false))
		f.Add(idxBytes(f, m, true))
	}
	f.Add(header(0x08, 60000, 28, 28))
	f.Add(header(0x08, 0xffffffff, 0xffffffff))
	f.Add(header(0x0c, 1))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dims %v hold %d bytes, data has %d", m.Dims, n, len(m.Data))
		}
		if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
			return // gzip: the same content has many encodings
		}
		var out bytes.Buffer
		if err := WriteIDX(&out, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), b) {
			t.Fatalf("wrote back %x, read %x", out.Bytes(), b)
		}
	})
}
