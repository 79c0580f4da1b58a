package cpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

// ewtHalfTable lists the non-negative finite values of a 16-bit format in
// bit order (which is value order): float16 decoded by x448/float16,
// bfloat16 by shifting into a float32.
type ewtHalfTable struct {
	vals   []float64
	inf    uint16 // bits of +Inf
	qnan   uint16 // bits of the canonical quiet NaN
	bf     bool
	decode func(uint16) float64
}

var (
	ewtTablesOnce sync.Once
	ewtF16Table   ewtHalfTable
	ewtBF16Table  ewtHalfTable
)

func ewtTables() (f16, bf16 *ewtHalfTable) {
	ewtTablesOnce.Do(func() {
		ewtF16Table = ewtHalfTable{inf: 0x7c00, qnan: 0x7e00,
			decode: func(h uint16) float64 { return float64(Float16ToFloat32(h)) }}
		ewtBF16Table = ewtHalfTable{inf: 0x7f80, qnan: 0x7fc0, bf: true,
			decode: func(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }}
		for _, tb := range []*ewtHalfTable{&ewtF16Table, &ewtBF16Table} {
			for h := uint16(0); h < tb.inf; h++ {
				tb.vals = append(tb.vals, tb.decode(h))
			}
		}
	})
	return &ewtF16Table, &ewtBF16Table
}

// ewtRefHalf rounds x to the nearest float16 (or bfloat16) by searching the
// table of all values: ties to the even bit pattern, overflow to Inf once
// |x| reaches the largest value plus half its spacing.
func ewtRefHalf(x float64, bf bool) uint16 {
	f16, bf16 := ewtTables()
	tb := f16
	if bf {
		tb = bf16
	}
	var sign uint16
	if math.Signbit(x) {
		sign = 0x8000
	}
	if math.IsNaN(x) {
		return sign | tb.qnan
	}
	a := math.Abs(x)
	n := len(tb.vals)
	top, below := tb.vals[n-1], tb.vals[n-2]
	if a >= top+(top-below)/2 {
		return sign | tb.inf
	}
	j := sort.SearchFloat64s(tb.vals, a) // first value >= a
	if j == n {
		return sign | uint16(n-1)
	}
	if tb.vals[j] == a || j == 0 {
		return sign | uint16(j)
	}
	lo, hi := a-tb.vals[j-1], tb.vals[j]-a
	switch {
	case lo < hi:
		return sign | uint16(j-1)
	case hi < lo:
		return sign | uint16(j)
	case j%2 == 0:
		return sign | uint16(j)
	}
	return sign | uint16(j-1)
}

func ewtIsNaN16(h uint16, bf bool) bool {
	if bf {
		return h&0x7fff > 0x7f80
	}
	return h&0x7fff > 0x7c00
}

// TestHalfRoundTrip converts every one of the 65536 bit patterns of both
// formats to float32 (and float64) and back.
func TestHalfRoundTrip(t *testing.T) {
	for _, bf := range []bool{false, true} {
		to32, from32, from64, fromI := Float16ToFloat32, Float32ToFloat16, float64ToFloat16, int64ToFloat16
		if bf {
			to32, from32, from64, fromI = BFloat16ToFloat32, Float32ToBFloat16, float64ToBFloat16, int64ToBFloat16
		}
		for i := range 1 << 16 {
			h := uint16(i)
			f := to32(h)
			if ewtIsNaN16(h, bf) {
				if !math.IsNaN(float64(f)) {
					t.Fatalf("bf16=%v: NaN %#04x decodes to %v", bf, h, f)
				}
				for _, back := range []uint16{from32(f), from64(float64(f))} {
					if !ewtIsNaN16(back, bf) || back&0x8000 != h&0x8000 {
						t.Fatalf("bf16=%v: NaN %#04x comes back as %#04x", bf, h, back)
					}
				}
				continue
			}
			if back := from32(f); back != h {
				t.Fatalf("bf16=%v: %#04x -> %v -> %#04x", bf, h, f, back)
			}
			if back := from64(float64(f)); back != h {
				t.Fatalf("bf16=%v: %#04x -> float64 %v -> %#04x", bf, h, f, back)
			}
			if f == float32(math.Trunc(float64(f))) && math.Abs(float64(f)) <= 1<<62 && f != 0 {
				if back := fromI(int64(f)); back != h {
					t.Fatalf("bf16=%v: %#04x -> int64 %d -> %#04x", bf, h, int64(f), back)
				}
			}
		}
	}
}

func TestHalfKnownValues(t *testing.T) {
	f16 := []struct {
		x    float32
		bits uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                           // largest finite
		{65519.996, 0x7bff},                       // just under the tie with Inf
		{65520, 0x7c00},                           // the tie rounds to even: Inf
		{float32(math.Ldexp(1, -14)), 0x0400},     // smallest normal
		{float32(math.Ldexp(1, -24)), 0x0001},     // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},     // half of it: tie to even, 0
		{float32(math.Ldexp(3, -26)), 0x0001},     // 0.75 of it
		{float32(math.Ldexp(3, -25)), 0x0002},     // 1.5 of it: tie to even, 2
		{1 + float32(math.Ldexp(1, -11)), 0x3c00}, // tie: to even (down)
		{1 + float32(math.Ldexp(3, -11)), 0x3c02}, // tie: to even (up)
		{0.1, 0x2e66},
		{float32(math.Inf(-1)), 0xfc00},
		{float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, c := range f16 {
		if got := Float32ToFloat16(c.x); got != c.bits {
			t.Errorf("Float32ToFloat16(%v) = %#04x, want %#04x", c.x, got, c.bits)
		}
		if got := float64ToFloat16(float64(c.x)); got != c.bits {
			t.Errorf("float64ToFloat16(%v) = %#04x, want %#04x", c.x, got, c.bits)
		}
	}
	if got := Float16ToFloat32(0x0001); got != float32(math.Ldexp(1, -24)) {
		t.Errorf("Float16ToFloat32(0x0001) = %v", got)
	}
	if got := Float16ToFloat32(0x7bff); got != 65504 {
		t.Errorf("Float16ToFloat32(0x7bff) = %v", got)
	}

	bf := []struct {
		x    float32
		bits uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{1 + float32(math.Ldexp(1, -8)), 0x3f80}, // tie: to even (down)
		{1 + float32(math.Ldexp(3, -8)), 0x3f82}, // tie: to even (up)
		{1 + float32(math.Ldexp(1, -8)) + float32(math.Ldexp(1, -20)), 0x3f81}, // above the tie
		{1 + float32(math.Ldexp(1, -7)), 0x3f81},                               // exact
		{math.MaxFloat32, 0x7f80},                                              // rounds past the largest: Inf
		{float32(math.Ldexp(1, -133)), 0x0001},                                 // smallest subnormal
		{float32(math.Ldexp(1, -149)), 0x0000},                                 // far below it
		{3.140625, 0x4049},
		{float32(math.Inf(1)), 0x7f80},
		{float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, c := range bf {
		if got := Float32ToBFloat16(c.x); got != c.bits {
			t.Errorf("Float32ToBFloat16(%v) = %#04x, want %#04x", c.x, got, c.bits)
		}
		if got := float64ToBFloat16(float64(c.x)); got != c.bits {
			t.Errorf("float64ToBFloat16(%v) = %#04x, want %#04x", c.x, got, c.bits)
		}
	}
	if got := BFloat16ToFloat32(0x3f81); got != 1+1.0/128 {
		t.Errorf("BFloat16ToFloat32(0x3f81) = %v", got)
	}

	// NaNs stay NaNs, quiet, with their sign; a payload only in the low
	// bits must not truncate to Inf.
	for _, u := range []uint32{0x7f800001, 0xff800001, 0x7fc00000, 0x7f80ffff, 0x7fffffff} {
		f := math.Float32frombits(u)
		b := Float32ToBFloat16(f)
		if !ewtIsNaN16(b, true) || b&0x0040 == 0 || uint32(b&0x8000)<<16 != u&0x80000000 {
			t.Errorf("Float32ToBFloat16(NaN %#08x) = %#04x, want a quiet NaN of the same sign", u, b)
		}
		h := Float32ToFloat16(f)
		if !ewtIsNaN16(h, false) || h&0x0200 == 0 {
			t.Errorf("Float32ToFloat16(NaN %#08x) = %#04x, want a quiet NaN", u, h)
		}
		d := float64(f)
		if b := float64ToBFloat16(d); !ewtIsNaN16(b, true) || b&0x0040 == 0 {
			t.Errorf("float64ToBFloat16(NaN) = %#04x", b)
		}
		if h := float64ToFloat16(d); !ewtIsNaN16(h, false) || h&0x0200 == 0 {
			t.Errorf("float64ToFloat16(NaN) = %#04x", h)
		}
	}
	if b := float64ToBFloat16(math.Float64frombits(0x7ff0000000000001)); !ewtIsNaN16(b, true) {
		t.Errorf("float64ToBFloat16(NaN with low payload) = %#04x, want NaN", b)
	}
}

// TestHalfRoundingReference compares every conversion into the 16-bit
// formats with the table search of ewtRefHalf at the places where rounding
// goes wrong: every midpoint between neighbours and the floats either side
// of it, and random float32 and float64 values.
func TestHalfRoundingReference(t *testing.T) {
	f16, bf16 := ewtTables()
	type conv struct {
		name   string
		f      func(float64) uint16
		only32 bool // takes a float32: test only values a float32 holds exactly
	}
	convs := map[bool][]conv{
		false: {
			{"Float32ToFloat16", func(x float64) uint16 { return Float32ToFloat16(float32(x)) }, true},
			{"float64ToFloat16", float64ToFloat16, false},
		},
		true: {
			{"Float32ToBFloat16", func(x float64) uint16 { return Float32ToBFloat16(float32(x)) }, true},
			{"float64ToBFloat16", float64ToBFloat16, false},
		},
	}
	check := func(bf bool, x float64) {
		want := ewtRefHalf(x, bf)
		for _, c := range convs[bf] {
			if c.only32 && float64(float32(x)) != x && !math.IsNaN(x) {
				continue
			}
			got := c.f(x)
			if math.IsNaN(x) && ewtIsNaN16(got, bf) && got&0x8000 == want&0x8000 {
				continue
			}
			if got != want {
				t.Fatalf("%s(%v = %#x) = %#04x, want %#04x", c.name, x, math.Float64bits(x), got, want)
			}
		}
	}
	for _, tb := range []*ewtHalfTable{f16, bf16} {
		vals := append(slices.Clone(tb.vals), 2*tb.vals[len(tb.vals)-1]-tb.vals[len(tb.vals)-2]) // one step past the top
		for j := 0; j+1 < len(vals); j++ {
			mid := (vals[j] + vals[j+1]) / 2
			for _, x := range []float64{
				mid,
				math.Nextafter(mid, 0), math.Nextafter(mid, math.Inf(1)),
				float64(math.Nextafter32(float32(mid), 0)), float64(math.Nextafter32(float32(mid), float32(math.Inf(1)))),
				vals[j],
			} {
				check(tb.bf, x)
				check(tb.bf, -x)
			}
		}
	}
	r := rand.New(rand.NewPCG(31, 32))
	for range 200000 {
		x32 := float64(math.Float32frombits(r.Uint32())) // any float32, NaNs included
		// float64s with random 53-bit significands over each format's range.
		x16 := math.Ldexp(1+r.Float64(), r.IntN(48)-30)
		xbf := math.Ldexp(1+r.Float64(), r.IntN(280)-140)
		if r.IntN(2) == 0 {
			x16, xbf = -x16, -xbf
		}
		for _, bf := range []bool{false, true} {
			check(bf, x32)
		}
		check(false, x16)
		check(true, xbf)
	}
}
