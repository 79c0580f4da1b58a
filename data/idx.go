package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is the content of an IDX file, the format of MNIST and Fashion-MNIST:
// a block of unsigned bytes in row-major order and its dimensions. Data has
// exactly the product of Dims bytes.
type IDX struct {
	Dims []int
	Data []byte
}

// The IDX header is two zero bytes, an element type, the number of
// dimensions, then each dimension as a big-endian uint32.
const (
	idxUbyte = 0x08 // the element type of MNIST's files; the only one read

	// IDXImagesMagic and IDXLabelsMagic are the magic numbers of MNIST's
	// image files (unsigned bytes, 3 dimensions) and label files (unsigned
	// bytes, 1 dimension).
	IDXImagesMagic = 0x00000803
	IDXLabelsMagic = 0x00000801

	// idxMaxDims and idxMaxBytes bound what a header may declare.
	idxMaxDims  = 8
	idxMaxBytes = 1<<31 - 1

	// idxFirstChunk is the most ReadIDX allocates for data it has not seen,
	// from an input of unknown size.
	idxFirstChunk = 64 << 10
)

// ErrIDXFormat is wrapped by every error ReadIDX returns for input that is
// not a valid IDX file (wrong magic, bad dimensions, truncated, trailing
// data); errors of the underlying reader are returned wrapped as they are.
var ErrIDXFormat = errors.New("malformed IDX data")

// ReadIDX reads an IDX file of unsigned bytes from r, gzip-compressed or not
// (gzip is recognised by its magic bytes 1f 8b). It checks the magic number,
// the dimensions and that the data has exactly the declared length; after
// the data it expects the end of the input (for gzip, this also verifies
// the checksum).
//
// Whatever the header declares, ReadIDX allocates little more than the input
// can hold: when r tells its size (a regular file, or a reader with a Len
// method such as bytes.Reader), at most what that many bytes can decompress
// to; otherwise its buffer grows as data arrives, to at most about twice
// what has arrived.
func ReadIDX(r io.Reader) (*IDX, error) {
	// When r can tell how much it holds, allocate at once what that input
	// can possibly hold; otherwise grow the buffer as data arrives.
	hint := int64(idxFirstChunk)
	size, known := inputSize(r)
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, idxReadError("gzip header", err)
		}
		defer zr.Close()
		if known {
			hint = max(hint, min(size, idxMaxBytes)*maxDeflateRatio)
		}
		return readIDX(zr, hint)
	}
	if known {
		hint = max(hint, size)
	}
	return readIDX(br, hint)
}

// maxDeflateRatio bounds how much DEFLATE data expands: a match copies at
// most 258 bytes and costs at least 2 bits, so one byte of input yields at
// most 1032.
const maxDeflateRatio = 1032

// inputSize returns how many bytes r has left to read, when it can tell:
// readers with a Len method (bytes.Reader, bytes.Buffer, strings.Reader)
// and regular files.
func inputSize(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off > fi.Size() {
			return 0, false
		}
		return fi.Size() - off, true
	}
	return 0, false
}

// readIDX reads an uncompressed IDX stream from r, allocating at first no
// more than hint bytes for its data.
func readIDX(r io.Reader, hint int64) (*IDX, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, idxReadError("magic number", err)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("data: ReadIDX: %w: magic number %#08x does not start with two zero bytes", ErrIDXFormat, binary.BigEndian.Uint32(head[:]))
	}
	if head[2] != idxUbyte {
		return nil, fmt.Errorf("data: ReadIDX: %w: element type %#02x is not unsigned byte (0x08), the only type read", ErrIDXFormat, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > idxMaxDims {
		return nil, fmt.Errorf("data: ReadIDX: %w: %d dimensions (want 1 to %d)", ErrIDXFormat, nd, idxMaxDims)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, idxReadError("dimensions", err)
	}
	dims := make([]int, nd)
	size := uint64(1) // the product of the non-zero dimensions
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		if dims[i] > 0 {
			if size *= uint64(dims[i]); size > idxMaxBytes {
				return nil, fmt.Errorf("data: ReadIDX: %w: dimensions %v declare more than %d bytes", ErrIDXFormat, dims[:i+1], idxMaxBytes)
			}
		}
	}
	total := int(size)
	if slices.Contains(dims, 0) {
		total = 0
	}

	// Beyond the hint, read the data in growing chunks, so that what we
	// allocate is at most about twice what has arrived.
	data := make([]byte, 0, min(int64(total), hint))
	for len(data) < total {
		if len(data) == cap(data) {
			data = slices.Grow(data, min(total-len(data), cap(data)))
		}
		n, err := io.ReadFull(r, data[len(data):min(cap(data), total)])
		data = data[:len(data)+n]
		if err != nil {
			return nil, idxReadError(fmt.Sprintf("data (%d of %d bytes read)", len(data), total), err)
		}
	}
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return nil, fmt.Errorf("data: ReadIDX: %w: trailing data after %d bytes of %v", ErrIDXFormat, total, dims)
	case err != io.EOF:
		return nil, idxReadError("end of input", err)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// idxReadError reports a failure to read part of an IDX file: the input
// ending early or a corrupt gzip stream is a format error; anything else
// comes from the reader.
func idxReadError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("data: ReadIDX: %w: truncated %s: %w", ErrIDXFormat, what, io.ErrUnexpectedEOF)
	}
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return fmt.Errorf("data: ReadIDX: %w: reading %s: gzip: %w", ErrIDXFormat, what, err)
	}
	return fmt.Errorf("data: ReadIDX: reading %s: %w", what, err)
}

// WriteIDX writes m to w as an uncompressed IDX file of unsigned bytes
// (wrap w in a gzip.Writer to compress it).
func WriteIDX(w io.Writer, m *IDX) error {
	if len(m.Dims) < 1 || len(m.Dims) > idxMaxDims {
		return fmt.Errorf("data: WriteIDX: %d dimensions (want 1 to %d)", len(m.Dims), idxMaxDims)
	}
	head := make([]byte, 4+4*len(m.Dims))
	head[2], head[3] = idxUbyte, byte(len(m.Dims))
	total := uint64(1)
	for i, d := range m.Dims {
		if d < 0 || uint64(d) > 1<<32-1 {
			return fmt.Errorf("data: WriteIDX: dimension %d out of range", d)
		}
		total *= uint64(d)
		if total > idxMaxBytes {
			return fmt.Errorf("data: WriteIDX: dimensions %v hold more than %d bytes", m.Dims, idxMaxBytes)
		}
		binary.BigEndian.PutUint32(head[4+4*i:], uint32(d))
	}
	if uint64(len(m.Data)) != total {
		return fmt.Errorf("data: WriteIDX: dimensions %v hold %d bytes, data has %d", m.Dims, total, len(m.Data))
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("data: WriteIDX: %w", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		return fmt.Errorf("data: WriteIDX: %w", err)
	}
	return nil
}
