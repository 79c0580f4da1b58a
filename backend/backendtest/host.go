package backendtest

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// host is a buffer's contents on the host: one word of bits per element
// (float32/float64 bits, the 16 bits of a half, an integer sign-extended
// to 64 bits, 0 or 1 for bool).
type host struct {
	dt   backend.DType
	bits []uint64
}

func newHost(dt backend.DType, n int) *host { return &host{dt: dt, bits: make([]uint64, n)} }

func (h *host) clone() *host {
	return &host{dt: h.dt, bits: append([]uint64(nil), h.bits...)}
}

// f returns element i as a float64 (exact except for int64 past 2^53).
func (h *host) f(i int) float64 { return bitsF64(h.dt, h.bits[i]) }

// i returns element i as an int64 (integers and bool).
func (h *host) i(i int) int64 { return int64(h.bits[i]) }

func bitsF64(dt backend.DType, b uint64) float64 {
	switch dt {
	case backend.Float32:
		return float64(math.Float32frombits(uint32(b)))
	case backend.Float64:
		return math.Float64frombits(b)
	case backend.Float16:
		return f16ToF64(uint16(b))
	case backend.BFloat16:
		return float64(math.Float32frombits(uint32(b) << 16))
	case backend.Int32, backend.Int64, backend.Bool:
		return float64(int64(b))
	}
	panic("backendtest: bad dtype")
}

// f16ToF64 decodes IEEE binary16 bits exactly.
func f16ToF64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return sign * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * 0x1p-24
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

// fromF64 returns the bits of v converted to dt as the contract says
// (floats round to nearest even, integers truncate, bool is v != 0).
func fromF64(dt backend.DType, v float64) uint64 {
	switch dt {
	case backend.Float32:
		return uint64(math.Float32bits(float32(v)))
	case backend.Float64:
		return math.Float64bits(v)
	case backend.Float16, backend.BFloat16:
		if math.IsNaN(v) {
			return uint64(roundHalf(dt, nil, false, true, v))
		}
		return uint64(roundHalf(dt, new(big.Float).SetFloat64(v), math.Signbit(v), false, v))
	case backend.Int32:
		return uint64(int64(int32(v)))
	case backend.Int64:
		return uint64(int64(v))
	case backend.Bool:
		if v != 0 {
			return 1
		}
		return 0
	}
	panic("backendtest: bad dtype")
}

// fromInt returns the bits of the integer v in dt (wrapping to int32).
func fromInt(dt backend.DType, v int64) uint64 {
	switch dt {
	case backend.Int32:
		return uint64(int64(int32(v)))
	case backend.Int64:
		return uint64(v)
	case backend.Bool:
		if v != 0 {
			return 1
		}
		return 0
	case backend.Float16, backend.BFloat16:
		return uint64(roundHalf(dt, new(big.Float).SetInt64(v), v < 0, false, 0))
	case backend.Float32:
		return uint64(math.Float32bits(float32(v)))
	case backend.Float64:
		return math.Float64bits(float64(v))
	}
	panic("backendtest: bad dtype")
}

// halfTable lists the finite non-negative values of a 16-bit format in
// increasing order, indexed by their bits, plus the first power of two
// past the largest (the bits of +Inf), exactly as big.Floats.
type halfTable []*big.Float

var (
	tablesOnce sync.Once
	f16Table   halfTable
	bf16Table  halfTable
)

func tables() {
	tablesOnce.Do(func() {
		for b := 0; b <= 0x7c00; b++ {
			v := f16ToF64(uint16(b))
			if b == 0x7c00 {
				v = 65536
			}
			f16Table = append(f16Table, new(big.Float).SetFloat64(v))
		}
		for b := 0; b <= 0x7f80; b++ {
			v := float64(math.Float32frombits(uint32(b) << 16))
			if b == 0x7f80 {
				v = math.Ldexp(1, 128)
			}
			bf16Table = append(bf16Table, new(big.Float).SetFloat64(v))
		}
	})
}

// roundHalf rounds the exact value x (sign neg) to the 16-bit format dt
// by search among all its values: nearest, ties to the even bits, past the
// largest to Inf. A NaN (nan set; v is the float64 input) becomes a quiet
// NaN of the same sign; the payload is not checked by the suite.
func roundHalf(dt backend.DType, x *big.Float, neg, nan bool, v float64) uint16 {
	tables()
	tab, infBits, sign, quiet := f16Table, uint16(0x7c00), uint16(0x8000), uint16(0x0200)
	if dt == backend.BFloat16 {
		tab, infBits, quiet = bf16Table, 0x7f80, 0x0040
	}
	if nan {
		s := uint16(0)
		if math.Signbit(v) {
			s = sign
		}
		return s | infBits | quiet
	}
	m := new(big.Float).SetPrec(300).Abs(x)
	var r uint16
	if m.IsInf() {
		r = infBits
	} else {
		// Largest table entry <= m.
		i := sort.Search(len(tab), func(i int) bool { return tab[i].Cmp(m) > 0 }) - 1
		if i == len(tab)-1 {
			r = infBits
		} else {
			lo, hi := tab[i], tab[i+1]
			dlo := new(big.Float).SetPrec(300).Sub(m, lo)
			dhi := new(big.Float).SetPrec(300).Sub(hi, m)
			switch c := dlo.Cmp(dhi); {
			case c < 0:
				r = uint16(i)
			case c > 0:
				r = uint16(i + 1)
			case i%2 == 0:
				r = uint16(i)
			default:
				r = uint16(i + 1)
			}
		}
	}
	if neg {
		r |= sign
	}
	return r
}

// isNaN reports whether bits b of dt are a NaN.
func isNaN(dt backend.DType, b uint64) bool {
	switch dt {
	case backend.Float32:
		return math.IsNaN(float64(math.Float32frombits(uint32(b))))
	case backend.Float64:
		return math.IsNaN(math.Float64frombits(b))
	case backend.Float16:
		return b&0x7c00 == 0x7c00 && b&0x3ff != 0
	case backend.BFloat16:
		return b&0x7f80 == 0x7f80 && b&0x7f != 0
	}
	return false
}

// ---------------------------------------------------------------- device transfer

func hostSlice(h *host) any {
	n := len(h.bits)
	switch h.dt {
	case backend.Float32:
		s := make([]float32, n)
		for i, b := range h.bits {
			s[i] = math.Float32frombits(uint32(b))
		}
		return s
	case backend.Float64:
		s := make([]float64, n)
		for i, b := range h.bits {
			s[i] = math.Float64frombits(b)
		}
		return s
	case backend.Float16, backend.BFloat16:
		s := make([]uint16, n)
		for i, b := range h.bits {
			s[i] = uint16(b)
		}
		return s
	case backend.Int32:
		s := make([]int32, n)
		for i, b := range h.bits {
			s[i] = int32(b)
		}
		return s
	case backend.Int64:
		s := make([]int64, n)
		for i, b := range h.bits {
			s[i] = int64(b)
		}
		return s
	case backend.Bool:
		s := make([]bool, n)
		for i, b := range h.bits {
			s[i] = b != 0
		}
		return s
	}
	panic("backendtest: bad dtype")
}

func fromSlice(dt backend.DType, s any) *host {
	switch v := s.(type) {
	case []float32:
		h := newHost(dt, len(v))
		for i, x := range v {
			h.bits[i] = uint64(math.Float32bits(x))
		}
		return h
	case []float64:
		h := newHost(dt, len(v))
		for i, x := range v {
			h.bits[i] = math.Float64bits(x)
		}
		return h
	case []uint16:
		h := newHost(dt, len(v))
		for i, x := range v {
			h.bits[i] = uint64(x)
		}
		return h
	case []int32:
		h := newHost(dt, len(v))
		for i, x := range v {
			h.bits[i] = uint64(int64(x))
		}
		return h
	case []int64:
		h := newHost(dt, len(v))
		for i, x := range v {
			h.bits[i] = uint64(x)
		}
		return h
	case []bool:
		h := newHost(dt, len(v))
		for i, x := range v {
			if x {
				h.bits[i] = 1
			}
		}
		return h
	}
	panic("backendtest: bad slice")
}

// upload makes a device buffer holding h.
func upload(t testing.TB, be backend.Backend, h *host) backend.Buffer {
	t.Helper()
	b, err := be.Alloc(h.dt, len(h.bits))
	if err != nil {
		t.Fatalf("Alloc(%v, %d): %v", h.dt, len(h.bits), err)
	}
	if len(h.bits) > 0 {
		if err := be.Write(b, 0, hostSlice(h)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	return b
}

// download reads a whole device buffer.
func download(t testing.TB, be backend.Backend, b backend.Buffer) *host {
	t.Helper()
	h := newHost(b.DType(), b.Len())
	s := hostSlice(h)
	if b.Len() > 0 {
		if err := be.Read(b, 0, s); err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	return fromSlice(b.DType(), s)
}

// ---------------------------------------------------------------- random data

// gen makes n random elements of dt; kind picks the distribution.
type genKind int

const (
	genPlain    genKind = iota // floats in [-3, 3], ints in [-100, 100]
	genSpecial                 // plain plus NaN, ±Inf, ±0, huge and tiny values, integer extremes
	genPositive                // (0.5, 1.5): products that neither overflow nor vanish
	genSmallInt                // whole numbers in [-4, 4] of any dtype: sums are exact
	genCastable                // floats in (-1000, 1000): any integer dtype holds their truncation
)

func gen(r *rand.Rand, dt backend.DType, n int, kind genKind) *host {
	h := newHost(dt, n)
	for i := range h.bits {
		h.bits[i] = genOne(r, dt, kind)
	}
	return h
}

var specials = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e30, -1e30, 1e-30, 0.5, -0.5, 2.5, -1.5, 1}

func genOne(r *rand.Rand, dt backend.DType, kind genKind) uint64 {
	if dt == backend.Bool {
		return uint64(r.IntN(2))
	}
	if dt.IsInt() {
		switch kind {
		case genSpecial:
			if r.IntN(8) == 0 {
				ex := []int64{math.MinInt32, math.MaxInt32, math.MinInt64, math.MaxInt64, 0, -1}
				return fromInt(dt, ex[r.IntN(len(ex))])
			}
		case genPositive:
			return fromInt(dt, int64(1+r.IntN(2)))
		case genSmallInt:
			return fromInt(dt, int64(r.IntN(9)-4))
		}
		return fromInt(dt, int64(r.IntN(201)-100))
	}
	var v float64
	switch kind {
	case genSpecial:
		if r.IntN(5) == 0 {
			v = specials[r.IntN(len(specials))]
			break
		}
		v = r.Float64()*6 - 3
	case genPositive:
		v = 0.5 + r.Float64()
	case genSmallInt:
		v = float64(r.IntN(9) - 4)
	case genCastable:
		v = r.Float64()*2000 - 1000
	default:
		v = r.Float64()*6 - 3
	}
	return fromF64(dt, v)
}

// ---------------------------------------------------------------- layouts

// layoutKind is one way to lay a logical shape out in a buffer. Each makes
// a layout of shape and the length of buffer it needs (with guard elements
// past the end).
type layoutKind struct {
	name string
	out  bool // usable for outputs (no two positions share an element)
	make func(shape []int) (backend.Layout, int)
}

var layoutKinds = []layoutKind{
	{"contiguous", true, func(shape []int) (backend.Layout, int) {
		l := backend.Contiguous(clone(shape))
		return l, l.Size()
	}},
	{"offset", true, func(shape []int) (backend.Layout, int) {
		l := backend.Contiguous(clone(shape))
		l.Offset = 5
		return l, l.Size() + 8
	}},
	{"transposed", true, func(shape []int) (backend.Layout, int) {
		// Column-major: the first axis varies fastest.
		st := make([]int, len(shape))
		s := 1
		for i := range shape {
			st[i] = s
			s *= max(shape[i], 1)
		}
		return backend.Layout{Shape: clone(shape), Strides: st, Offset: 2}, s + 3
	}},
	{"strided", true, func(shape []int) (backend.Layout, int) {
		// Every stride doubled: a gap after each element.
		st := backend.ContiguousStrides(shape)
		for i := range st {
			st[i] *= 2
		}
		return backend.Layout{Shape: clone(shape), Strides: st, Offset: 1}, 2*backend.NumElements(shape) + 2
	}},
	{"broadcast", false, func(shape []int) (backend.Layout, int) {
		// Stride 0 on the first axis longer than 1 (a broadcast operand).
		st := backend.ContiguousStrides(shape)
		n := backend.NumElements(shape)
		for i, d := range shape {
			if d > 1 {
				rest := clone(shape)
				rest[i] = 1
				st = backend.ContiguousStrides(rest)
				st[i] = 0
				n = backend.NumElements(rest)
				break
			}
		}
		return backend.Layout{Shape: clone(shape), Strides: st, Offset: 1}, n + 2
	}},
}

// layoutCase returns the layout kinds of case i for k inputs and an
// output: the output cycles through the output kinds and input j through
// all kinds, shifted by j, so that every kind meets every operand.
func layoutCase(i, k int) (out layoutKind, in []layoutKind) {
	outs := layoutKinds[:4]
	out = outs[i%len(outs)]
	for j := 0; j < k; j++ {
		in = append(in, layoutKinds[(i+j)%len(layoutKinds)])
	}
	return out, in
}

const numLayoutCases = 5

func clone(s []int) []int { return append([]int{}, s...) }

// forEach calls f with every index of shape in row-major order.
func forEach(shape []int, f func(idx []int)) {
	n := backend.NumElements(shape)
	idx := make([]int, len(shape))
	for c := 0; c < n; c++ {
		f(idx)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

func at(l backend.Layout, idx []int) int {
	o := l.Offset
	for d, i := range idx {
		o += i * l.Strides[d]
	}
	return o
}

func describe(l backend.Layout) string {
	return fmt.Sprintf("shape %v strides %v offset %d", l.Shape, l.Strides, l.Offset)
}
