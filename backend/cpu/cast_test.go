package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// ewtCastBuf returns n random elements of dt for a Copy source. With toInt
// the floats stay finite and well inside int32; otherwise they span the
// float16 subnormals to past float16's largest value and include specials.
func ewtCastBuf(r *rand.Rand, dt backend.DType, n int, toInt bool) *Buffer {
	b := NewBuffer(dt, n)
	for i := range n {
		switch {
		case dt == backend.Bool:
			b.B[i] = r.IntN(2) == 0
		case dt.IsInt():
			v := int64(r.IntN(200001) - 100000)
			if r.IntN(8) == 0 { // large, still exact in float64; wraps in int32
				v = int64(r.Uint64() >> (11 + r.IntN(40)))
				if r.IntN(2) == 0 {
					v = -v
				}
			}
			ewtSetI(b, i, v)
		default:
			var x float64
			switch p := r.IntN(25); {
			case !toInt && p == 0:
				x = ewtFloatSpecials[r.IntN(len(ewtFloatSpecials))]
			case p < 6:
				x = float64(r.IntN(17)-8) / 2
			case toInt:
				x = r.NormFloat64() * 1e4
			default:
				x = r.NormFloat64() * math.Pow(10, r.Float64()*15-9)
			}
			ewtSet(b, i, x)
		}
	}
	return b
}

// ewtRefConvert returns the bits of the dst-dtype value nearest a float
// value f (or equal to the integer i when isInt), as Copy must produce them.
func ewtRefConvert(dt backend.DType, f float64, i int64, isInt bool) uint64 {
	if isInt {
		switch dt {
		case backend.Float32:
			return uint64(math.Float32bits(float32(i)))
		case backend.Float64:
			return math.Float64bits(float64(i))
		case backend.Float16, backend.BFloat16:
			return uint64(ewtRefHalf(float64(i), dt == backend.BFloat16)) // exact: |i| <= 2^53
		case backend.Int32:
			return uint64(uint32(int32(i)))
		case backend.Int64:
			return uint64(i)
		case backend.Bool:
			if i != 0 {
				return 1
			}
			return 0
		}
	}
	switch dt {
	case backend.Float32:
		return uint64(math.Float32bits(float32(f)))
	case backend.Float64:
		return math.Float64bits(f)
	case backend.Float16, backend.BFloat16:
		return uint64(ewtRefHalf(f, dt == backend.BFloat16))
	case backend.Int32:
		return uint64(uint32(int32(math.Trunc(f))))
	case backend.Int64:
		return uint64(int64(math.Trunc(f)))
	case backend.Bool:
		if f != 0 {
			return 1
		}
		return 0
	}
	panic("bad dtype")
}

// ewtSameBits compares raw bits, letting any NaN match any NaN of a float dtype.
func ewtSameBits(dt backend.DType, got, want uint64) bool {
	if got == want {
		return true
	}
	switch dt {
	case backend.Float32:
		return math.IsNaN(float64(math.Float32frombits(uint32(got)))) && math.IsNaN(float64(math.Float32frombits(uint32(want))))
	case backend.Float64:
		return math.IsNaN(math.Float64frombits(got)) && math.IsNaN(math.Float64frombits(want))
	case backend.Float16:
		return got&0x7fff > 0x7c00 && want&0x7fff > 0x7c00
	case backend.BFloat16:
		return got&0x7fff > 0x7f80 && want&0x7fff > 0x7f80
	}
	return false
}

func ewtCheckCopy(t *testing.T, r *rand.Rand, sdt, ddt backend.DType, shape []int, c ewtCombo) {
	t.Helper()
	name := fmt.Sprintf("Copy %v->%v %v dst=%v src=%v", sdt, ddt, shape, c.dst, c.a)
	dl, dn := ewtLayout(shape, c.dst)
	sl, sn := ewtLayout(shape, c.a)
	src := ewtCastBuf(r, sdt, sn, ddt.IsInt())
	dst := ewtBuf(r, ddt, dn, false)
	before := ewtSnapshot(dst)
	Default.Copy(dst, dl, src, sl)
	dOffs, sOffs := ewtOffsets(dl), ewtOffsets(sl)
	srcInt := sdt.IsInt() || sdt == backend.Bool
	for k := range dOffs {
		do, so := dOffs[k], sOffs[k]
		var want uint64
		if sdt == ddt {
			want = ewtBits(src, so)
		} else if srcInt {
			want = ewtRefConvert(ddt, 0, ewtGetI(src, so), true)
		} else {
			want = ewtRefConvert(ddt, ewtGet(src, so), 0, false)
		}
		if got := ewtBits(dst, do); !ewtSameBits(ddt, got, want) {
			t.Fatalf("%s: element %d: %v -> %#x, want %#x", name, k, ewtGet(src, so), got, want)
		}
	}
	ewtCheckUntouched(t, name, dst, before, dOffs)
}

// TestCopyAllPairs casts between every pair of the seven dtypes (and copies
// each to itself) over every layout kind.
func TestCopyAllPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	combos := []ewtCombo{
		{dst: ewtContig, a: ewtContig},
		{dst: ewtContig, a: ewtTransposed},
		{dst: ewtTransposed, a: ewtOffset},
		{dst: ewtStrided, a: ewtBcast},
		{dst: ewtOffset, a: ewtScalar},
		{dst: ewtStrided, a: ewtStrided},
	}
	shapes := append(ewtShapes, []int{40, 50})
	for _, sdt := range backend.DTypes() {
		for _, ddt := range backend.DTypes() {
			for _, shape := range shapes {
				for _, c := range combos {
					ewtCheckCopy(t, r, sdt, ddt, shape, c)
				}
			}
		}
	}
}

func TestCopySpecialValues(t *testing.T) {
	one := func(sdt, ddt backend.DType, set func(b *Buffer)) *Buffer {
		src, dst := NewBuffer(sdt, 1), NewBuffer(ddt, 1)
		set(src)
		l := backend.Layout{Shape: []int{}, Strides: []int{}}
		Default.Copy(dst, l, src, l)
		return dst
	}
	nan, inf := math.NaN(), math.Inf(1)
	negZero := math.Copysign(0, -1)

	// Float to float16/bfloat16/bool specials.
	for _, sdt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, c := range []struct {
			x         float64
			f16, bf16 uint16
			b         bool
		}{
			{nan, 0x7e00, 0x7fc0, true},
			{inf, 0x7c00, 0x7f80, true},
			{-inf, 0xfc00, 0xff80, true},
			{negZero, 0x8000, 0x8000, false},
			{65520, 0x7c00, 0x4780, true},             // f16: the tie above 65504 rounds to Inf
			{1e-8, 0x0000, 0x322c, true},              // f16: below half the smallest subnormal
			{-3.0517578125e-05, 0x8200, 0xb800, true}, // -2^-15, an f16 subnormal
		} {
			set := func(b *Buffer) { ewtSet(b, 0, c.x) }
			if got := one(sdt, backend.Float16, set).U16[0]; !ewtSameBits(backend.Float16, uint64(got), uint64(c.f16)) {
				t.Errorf("%v %v -> float16 = %#04x, want %#04x", sdt, c.x, got, c.f16)
			}
			if got := one(sdt, backend.BFloat16, set).U16[0]; !ewtSameBits(backend.BFloat16, uint64(got), uint64(c.bf16)) {
				t.Errorf("%v %v -> bfloat16 = %#04x, want %#04x", sdt, c.x, got, c.bf16)
			}
			if got := one(sdt, backend.Bool, set).B[0]; got != c.b {
				t.Errorf("%v %v -> bool = %v, want %v", sdt, c.x, got, c.b)
			}
		}
	}

	// float64 rounds to float16/bfloat16 once, not through float32.
	x := 1 + math.Ldexp(1, -11) + math.Ldexp(1, -40)
	if got := one(backend.Float64, backend.Float16, func(b *Buffer) { b.F64[0] = x }).U16[0]; got != 0x3c01 {
		t.Errorf("float64 1+2^-11+2^-40 -> float16 = %#04x, want 0x3c01", got)
	}
	x = 1 + math.Ldexp(1, -8) + math.Ldexp(1, -40)
	if got := one(backend.Float64, backend.BFloat16, func(b *Buffer) { b.F64[0] = x }).U16[0]; got != 0x3f81 {
		t.Errorf("float64 1+2^-8+2^-40 -> bfloat16 = %#04x, want 0x3f81", got)
	}

	// int64 rounds to bfloat16 once, not through float64.
	for _, c := range []struct {
		i    int64
		want uint16
	}{
		{1<<62 + 1<<54 + 1, Float32ToBFloat16(float32(1<<62 + 1<<55))}, // just above a tie: up
		{1<<62 + 1<<54, Float32ToBFloat16(float32(1 << 62))},           // a tie: to even
		{1<<62 + 3<<54, Float32ToBFloat16(float32(1<<62 + 1<<56))},     // a tie: to even (up)
		{math.MinInt64, 0xdf00},
		{math.MaxInt64, 0x5f00},
		{-3, 0xc040},
	} {
		if got := one(backend.Int64, backend.BFloat16, func(b *Buffer) { b.I64[0] = c.i }).U16[0]; got != c.want {
			t.Errorf("int64 %d -> bfloat16 = %#04x, want %#04x", c.i, got, c.want)
		}
	}
	for _, c := range []struct {
		i    int64
		want uint16
	}{
		{math.MinInt64, 0xfc00}, {65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {2049, 0x6800}, {2051, 0x6802}, {-7, 0xc700},
	} {
		if got := one(backend.Int64, backend.Float16, func(b *Buffer) { b.I64[0] = c.i }).U16[0]; got != c.want {
			t.Errorf("int64 %d -> float16 = %#04x, want %#04x", c.i, got, c.want)
		}
		if c.i >= math.MinInt32 {
			if got := one(backend.Int32, backend.Float16, func(b *Buffer) { b.I32[0] = int32(c.i) }).U16[0]; got != c.want {
				t.Errorf("int32 %d -> float16 = %#04x, want %#04x", c.i, got, c.want)
			}
		}
	}

	// Wrapping and truncation.
	if got := one(backend.Int64, backend.Int32, func(b *Buffer) { b.I64[0] = 1<<32 + 5 }).I32[0]; got != 5 {
		t.Errorf("int64 2^32+5 -> int32 = %d, want 5", got)
	}
	for _, c := range []struct {
		x    float64
		want int64
	}{{2.9, 2}, {-2.9, -2}, {0.5, 0}, {-0.5, 0}, {1e15 + 0.5, 1e15}} {
		if got := one(backend.Float64, backend.Int64, func(b *Buffer) { b.F64[0] = c.x }).I64[0]; got != c.want {
			t.Errorf("float64 %v -> int64 = %d, want %d", c.x, got, c.want)
		}
	}
	if got := one(backend.Float16, backend.Int32, func(b *Buffer) { b.U16[0] = 0xc8b4 }).I32[0]; got != -9 {
		t.Errorf("float16 -9.40625 -> int32 = %d, want -9", got)
	}
	// NaN and Inf into integers are implementation-dependent but must not panic.
	for _, x := range []float64{nan, inf, -inf, 1e30} {
		for _, ddt := range []backend.DType{backend.Int32, backend.Int64} {
			one(backend.Float64, ddt, func(b *Buffer) { b.F64[0] = x })
			one(backend.Float32, ddt, func(b *Buffer) { b.F32[0] = float32(x) })
		}
	}

	// Bool to the 16-bit floats.
	if got := one(backend.Bool, backend.Float16, func(b *Buffer) { b.B[0] = true }).U16[0]; got != 0x3c00 {
		t.Errorf("true -> float16 = %#04x, want 0x3c00", got)
	}
	if got := one(backend.Bool, backend.BFloat16, func(b *Buffer) { b.B[0] = true }).U16[0]; got != 0x3f80 {
		t.Errorf("true -> bfloat16 = %#04x, want 0x3f80", got)
	}
	// float16 <-> bfloat16.
	if got := one(backend.Float16, backend.BFloat16, func(b *Buffer) { b.U16[0] = 0x3c01 }).U16[0]; got != 0x3f80 {
		t.Errorf("float16 1+2^-10 -> bfloat16 = %#04x, want 0x3f80", got)
	}
	if got := one(backend.BFloat16, backend.Float16, func(b *Buffer) { b.U16[0] = 0x4780 }).U16[0]; got != 0x7c00 {
		t.Errorf("bfloat16 65536 -> float16 = %#04x, want 0x7c00 (Inf)", got)
	}
}
