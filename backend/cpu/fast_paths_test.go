package cpu

// Shared helpers of the TestFast* tests of fast_*.go: each runs an op with
// the fast paths off (the reference kernels) and on, on the same inputs and
// on destinations that start out identical, and compares the whole
// destination buffers, so elements outside dst's layout must stay as they
// were too.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// fastKinds are the layouts of the fast-path tests (ktLayout's kinds);
// fastOutKinds those a destination may have.
var (
	fastKinds    = []ktKind{ktContig, ktOffset, ktReversed, ktSwapLast, ktPadded, ktBroadcast}
	fastOutKinds = []ktKind{ktContig, ktOffset, ktSwapLast, ktPadded}
)

// fastVals returns a float32 buffer of n normal values times scale; with
// specials, about one element in 29 is NaN, ±Inf or ±0.
func fastVals(r *rand.Rand, n int, scale float64, specials bool) *Buffer {
	b := NewBuffer(backend.Float32, n)
	sp := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for i := range b.F32 {
		b.F32[i] = float32(scale * r.NormFloat64())
		if specials && r.IntN(29) == 0 {
			b.F32[i] = sp[r.IntN(len(sp))]
		}
	}
	return b
}

// fastClone returns a copy of b.
func fastClone(b *Buffer) *Buffer {
	c := *b
	c.F32, c.F64, c.U16 = slices.Clone(b.F32), slices.Clone(b.F64), slices.Clone(b.U16)
	c.I32, c.I64, c.B = slices.Clone(b.I32), slices.Clone(b.I64), slices.Clone(b.B)
	return &c
}

// fastRefAndFast runs op on a copy of dst with the fast paths off and on a
// copy with them on, and returns both results.
func fastRefAndFast(dst *Buffer, op func(d *Buffer)) (want, got *Buffer) {
	want, got = fastClone(dst), fastClone(dst)
	withFast(false, func() { op(want) })
	withFast(true, func() { op(got) })
	return want, got
}

// fastSameF32 reports whether got is want, NaN matching any NaN and, with
// anyZero, -0 matching +0.
func fastSameF32(got, want float32, anyZero bool) bool {
	if got != got || want != want {
		return got != got && want != want
	}
	if got != want {
		return false
	}
	return anyZero || math.Signbit(float64(got)) == math.Signbit(float64(want))
}

// fastCheckF32 compares two float32 buffers element by element with ok.
func fastCheckF32(t *testing.T, name string, want, got *Buffer, ok func(g, w float32) bool) {
	t.Helper()
	bad := 0
	for i := range want.F32 {
		if !ok(got.F32[i], want.F32[i]) {
			if bad < 3 {
				t.Errorf("%s: element %d: fast %v, reference %v", name, i, got.F32[i], want.F32[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d elements differ", name, bad)
	}
}

// fastWithinULP accepts results within n ulp of the reference (NaN for NaN,
// an infinity for the same infinity) or closer than abs to it.
func fastWithinULP(n, abs float64) func(g, w float32) bool {
	return func(g, w float32) bool {
		if g != g || w != w || math.IsInf(float64(w), 0) || math.IsInf(float64(g), 0) {
			return fastSameF32(g, w, true)
		}
		return ulpDiff(g, w) <= n || math.Abs(float64(g)-float64(w)) <= abs
	}
}

func fastExact(g, w float32) bool { return fastSameF32(g, w, false) }

func fastName(parts ...any) string { return fmt.Sprint(parts...) }
