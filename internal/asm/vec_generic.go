package asm

import (
	"math"

	"github.com/x448/float16"
)

// The plain-Go twins of the kernels in vec.go: the fallback under the
// purego tag and on other architectures, and the reference the tests hold
// the assembly to. Each is the loop in its kernel's doc comment.

func addGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func subGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] - b[i]
	}
}

func mulGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func divGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] / b[i]
	}
}

func maxGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = max(a[i], b[i])
	}
}

func minGo(dst, a, b []float32) {
	for i := range dst {
		dst[i] = min(a[i], b[i])
	}
}

func addScalarGo(dst, a []float32, s float32) {
	for i := range dst {
		dst[i] = a[i] + s
	}
}

func mulScalarGo(dst, a []float32, s float32) {
	for i := range dst {
		dst[i] = a[i] * s
	}
}

func axpyGo(alpha float32, x, y []float32) {
	for i := range y {
		y[i] = fma32(alpha, x[i], y[i])
	}
}

// fma32 returns a*b + c rounded once to float32, as VFMADD does.
//
// a*b is exact in float64 and s = a*b + c is that sum rounded to float64,
// with err the exact remainder (TwoSum). Rounding s to float32 gives the
// right answer unless s lies exactly halfway between two float32 values
// while err is not zero: then the exact sum is on err's side of the tie.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bb := s - p
	err := (p - (s - bb)) + (float64(c) - bb)
	f := float32(s)
	if err == 0 || math.IsNaN(s) || math.IsInf(s, 0) || float64(f) == s {
		return f
	}
	// The float32 neighbours lo < s < hi.
	var lo, hi float32
	if float64(f) < s {
		lo, hi = f, math.Nextafter32(f, float32(math.Inf(1)))
	} else {
		lo, hi = math.Nextafter32(f, float32(math.Inf(-1))), f
	}
	if s-widen32(lo) != widen32(hi)-s {
		return f
	}
	if err > 0 {
		return hi
	}
	return lo
}

// widen32 is float64(f) with ±Inf replaced by ±2^128.
func widen32(f float32) float64 {
	if math.IsInf(float64(f), 0) {
		return math.Copysign(0x1p128, float64(f))
	}
	return float64(f)
}

func reluGo(dst, x []float32) {
	for i, v := range x {
		if v <= 0 {
			v = 0
		}
		dst[i] = v
	}
}

func reluGradGo(dst, g, x []float32) {
	for i := range dst {
		dst[i] = 0
		if x[i] > 0 {
			dst[i] = g[i]
		}
	}
}

func expGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

func logGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Log(float64(v)))
	}
}

func tanhGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

func sigmoidGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

func geluTanhGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = geluTanh64(v)
	}
}

// geluTanh64 is the tanh-form GELU of x in float64, rounded to float32:
// x·sigmoid(u), u = 2·sqrt(2/π)·(x + 0.044715x³), with gelu(-Inf) = -0.
func geluTanh64(x float32) float32 {
	if math.IsInf(float64(x), -1) {
		return float32(math.Copysign(0, -1))
	}
	v := float64(x)
	u := 2 * math.Sqrt(2/math.Pi) * (v + 0.044715*v*v*v)
	return float32(v / (1 + math.Exp(-u)))
}

func geluGo(dst, x []float32) {
	for i, v := range x {
		dst[i] = gelu64(v)
	}
}

// gelu64 is x·Φ(x) in float64, rounded to float32, with gelu(-Inf) = -0.
func gelu64(x float32) float32 {
	if math.IsInf(float64(x), -1) {
		return float32(math.Copysign(0, -1))
	}
	v := float64(x)
	return float32(v * 0.5 * math.Erfc(-v/math.Sqrt2))
}

func geluGradGo(dst, g, x []float32) {
	g, x = g[:len(dst)], x[:len(dst)]
	for i := range dst {
		dst[i] = float32(float64(g[i]) * GELUGrad64(float64(x[i])))
	}
}

// GELUGrad64 is gelu'(x) = Φ(x) + x·φ(x) for the erf-form GELU, in float64:
// 1 at +Inf, 0 at -Inf, NaN for NaN. It is GELUGrad's reference, and the CPU
// backend's for the layouts GELUGrad does not take.
func GELUGrad64(x float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return 1
	case math.IsInf(x, -1):
		return 0
	}
	return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

func sumGo(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func dotGo(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func reduceMaxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func softmaxRowGo(dst, src []float32) {
	m := reduceMaxGo(src)
	if math.IsInf(float64(m), 1) {
		fillNaN(dst)
		return
	}
	rest, ones := expShiftSumGo(nil, src, m)
	s := float64(ones) + rest
	for i, v := range src {
		dst[i] = float32(math.Exp(float64(v)-float64(m)) / s)
	}
}

func logSoftmaxRowGo(dst, src []float32) {
	m := reduceMaxGo(src)
	if math.IsInf(float64(m), 1) {
		fillNaN(dst)
		return
	}
	rest, ones := expShiftSumGo(nil, src, m)
	ls := math.Log1p(float64(ones-1) + rest)
	for i, v := range src {
		dst[i] = float32(float64(v) - float64(m) - ls)
	}
}

// expShiftSumGo sets dst[i] = e^(src[i]-shift) unless dst is nil, and
// returns the number of src[i] equal to shift (whose e^0 = 1) and the
// float64 sum of e^(src[i]-shift) over the others.
func expShiftSumGo(dst, src []float32, shift float32) (rest float64, ones int) {
	for i, v := range src {
		e := math.Exp(float64(v) - float64(shift))
		if dst != nil {
			dst[i] = float32(e)
		}
		if v == shift {
			ones++
		} else {
			rest += e
		}
	}
	return rest, ones
}

func shiftSub2Go(dst, src []float32, s1, s2 float32) {
	for i, v := range src {
		dst[i] = (v - s1) - s2
	}
}

func f16ToF32Go(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = float16.Frombits(h).Float32()
	}
}

func f32ToF16Go(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = float16.Fromfloat32(v).Bits()
	}
}

func bf16ToF32Go(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

func f32ToBF16Go(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = bf16FromFloat32(v)
	}
}

// bf16FromFloat32 rounds v to bfloat16 bits, to nearest even; a NaN keeps
// its sign and the top of its payload and is made quiet.
func bf16FromFloat32(v float32) uint16 {
	b := math.Float32bits(v)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// maxPool2x2Go is MaxPool2x2's scan without branches on the data (random
// data would mispredict a third of them): in each pair the second wins
// when greater or NaN, and the lower pair's winner beats the upper's the
// same way. The winners are picked by index, so that the maximum is the
// element itself (−0 stays −0).
func maxPool2x2Go(mx []float32, at []int64, r0, r1 []float32, pos0, pos1 int32) {
	for j := range at {
		a, b, c, d := r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]
		s0 := b2i(b > a) | b2i(b != b)
		s1 := b2i(d > c) | b2i(d != d)
		m := [2]float32{r0[2*j+int(s0)], r1[2*j+int(s1)]}
		lower := b2i(m[1] > m[0]) | b2i(m[1] != m[1])
		i0, i1 := int64(pos0)+int64(2*j)+s0, int64(pos1)+int64(2*j)+s1
		at[j] = i0 + lower*(i1-i0)
		mx[j] = m[lower]
	}
}

// b2i is 1 for true and 0 for false; the compiler makes it a SETcc.
func b2i(b bool) int64 {
	var i int64
	if b {
		i = 1
	}
	return i
}

func copyRowsGo(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	for r := range rows {
		copy(dst[r*dstStride:][:width], src[r*srcStride:][:width])
	}
}

func addRowsGo(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	for r := range rows {
		d, s := dst[r*dstStride:][:width], src[r*srcStride:][:width]
		for j := range d {
			d[j] += s[j]
		}
	}
}
