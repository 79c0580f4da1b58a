package cpu

import (
	"math"
	"math/bits"

	"github.com/x448/float16"
)

// Conversions between float32/float64 and the two 16-bit storage formats.
//
// Float16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits);
// BFloat16 is the upper half of a float32 (1 sign, 8 exponent, 7 fraction
// bits). Every conversion into a 16-bit format rounds to nearest, ties to
// even, overflows to ±Inf, keeps the sign of zero and turns a NaN into a
// quiet NaN of the same sign (never into an infinity). Conversions out of
// them are exact.

// Float32ToFloat16 returns the float16 bits nearest to f (ties to even).
func Float32ToFloat16(f float32) uint16 { return float16.Fromfloat32(f).Bits() }

// Float16ToFloat32 returns the value of the float16 bits h (exact).
func Float16ToFloat32(h uint16) float32 { return float16.Frombits(h).Float32() }

// Float32ToBFloat16 returns the bfloat16 bits nearest to f (ties to even).
// A NaN stays a (quiet) NaN.
func Float32ToBFloat16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: truncate and set the quiet bit
		return uint16(u>>16) | 0x0040
	}
	// Add just under half a unit of the kept part, plus one if the kept
	// part is odd, so that exact ties go to the even neighbour. A carry out
	// of the fraction bumps the exponent, which is the right answer (up to
	// +Inf for values past the largest bfloat16).
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// BFloat16ToFloat32 returns the value of the bfloat16 bits b (exact).
func BFloat16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// Formats of the 16-bit floats, for halfRound: exponent and fraction widths.
const (
	f16ExpBits, f16FracBits   = 5, 10
	bf16ExpBits, bf16FracBits = 8, 7
)

// float64ToFloat16 rounds x directly to float16. Going through float32
// would round twice and can miss a tie (1+2⁻¹¹+2⁻⁴⁰ must round up).
func float64ToFloat16(x float64) uint16 { return float64ToHalf(x, f16ExpBits, f16FracBits) }

// float64ToBFloat16 rounds x directly to bfloat16 (see float64ToFloat16).
func float64ToBFloat16(x float64) uint16 { return float64ToHalf(x, bf16ExpBits, bf16FracBits) }

// int64ToFloat16 rounds i to float16 exactly once (float64(i) may already
// have rounded when |i| > 2⁵³).
func int64ToFloat16(i int64) uint16 { return int64ToHalf(i, f16ExpBits, f16FracBits) }

// int64ToBFloat16 rounds i to bfloat16 exactly once.
func int64ToBFloat16(i int64) uint16 { return int64ToHalf(i, bf16ExpBits, bf16FracBits) }

func float64ToHalf(x float64, expBits, fracBits uint) uint16 {
	u := math.Float64bits(x)
	neg := u>>63 != 0
	e := int(u>>52) & 0x7ff
	frac := u & (1<<52 - 1)
	if e == 0x7ff {
		inf := uint16(1<<expBits-1) << fracBits
		var sign uint16
		if neg {
			sign = 1 << (expBits + fracBits)
		}
		if frac == 0 {
			return sign | inf
		}
		// Quiet NaN keeping the top of the payload.
		return sign | inf | 1<<(fracBits-1) | uint16(frac>>(52-fracBits))
	}
	if e == 0 { // zero or float64 subnormal
		return halfRound(neg, frac, -1074, expBits, fracBits)
	}
	return halfRound(neg, frac|1<<52, e-1075, expBits, fracBits)
}

func int64ToHalf(i int64, expBits, fracBits uint) uint16 {
	neg := i < 0
	m := uint64(i)
	if neg {
		m = -m // two's complement magnitude; MinInt64 gives 1<<63, as wanted
	}
	return halfRound(neg, m, 0, expBits, fracBits)
}

// halfRound returns the bits of the binary format with expBits exponent and
// fracBits fraction bits (at most 15 bits together) nearest to
// ±mant·2^exp2, ties to even, overflowing to ±Inf.
func halfRound(neg bool, mant uint64, exp2 int, expBits, fracBits uint) uint16 {
	var sign uint64
	if neg {
		sign = 1 << (expBits + fracBits)
	}
	if mant == 0 {
		return uint16(sign)
	}
	bias := 1<<(expBits-1) - 1
	maxExp := uint64(1)<<expBits - 1
	l := bits.Len64(mant)
	e := l - 1 + exp2 + bias       // biased exponent of the value
	shift := l - 1 - int(fracBits) // low bits of mant below the last kept bit
	if e < 1 {
		// Subnormal: the unit in the last place stays at 2^(1-bias-fracBits).
		shift += 1 - e
		e = 0
	}
	var q uint64
	switch {
	case shift <= 0:
		q = mant << -shift // exact
	case shift > 64:
		q = 0 // below half the smallest subnormal
	default:
		q = mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint64(1) << (shift - 1)
		if rem > half || rem == half && q&1 == 1 {
			q++
		}
	}
	// A normal q carries the implicit leading bit at 1<<fracBits, so adding
	// it to (e-1)<<fracBits yields the biased exponent field; a rounding
	// carry moves into the exponent on its own.
	r := q
	if e > 0 {
		r = uint64(e-1)<<fracBits + q
	}
	if r >= maxExp<<fracBits {
		r = maxExp << fracBits // ±Inf
	}
	return uint16(sign | r)
}
