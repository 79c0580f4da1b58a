package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// fastRandBuf returns a buffer of dtype dt and length n with random
// contents (specials included for floats; any bits for halves).
func fastRandBuf(r *rand.Rand, dt backend.DType, n int) *Buffer {
	b := NewBuffer(dt, n)
	switch dt {
	case backend.Float32:
		b = fastVals(r, n, 1e3, true)
	case backend.Float64:
		for i := range b.F64 {
			b.F64[i] = 1e3 * r.NormFloat64()
		}
		b.F64[0] = math.NaN()
	case backend.Float16, backend.BFloat16:
		for i := range b.U16 {
			b.U16[i] = uint16(r.Uint32())
		}
	case backend.Int32:
		for i := range b.I32 {
			b.I32[i] = int32(r.Uint32())
		}
	case backend.Int64:
		for i := range b.I64 {
			b.I64[i] = int64(r.Uint64())
		}
	case backend.Bool:
		for i := range b.B {
			b.B[i] = r.IntN(2) == 1
		}
	}
	return b
}

// fastSameBuf reports the first element where got and want differ (NaNs of
// any payload match), or -1.
func fastSameBuf(got, want *Buffer) int {
	isNaN16 := func(h uint16, bf bool) bool {
		if bf {
			return h&0x7fff > 0x7f80
		}
		return h&0x7fff > 0x7c00
	}
	for i := 0; i < want.Len(); i++ {
		same := true
		switch want.dt {
		case backend.Float32:
			same = fastSameF32(got.F32[i], want.F32[i], false)
		case backend.Float64:
			g, w := got.F64[i], want.F64[i]
			same = math.Float64bits(g) == math.Float64bits(w) || g != g && w != w
		case backend.Float16, backend.BFloat16:
			bf := want.dt == backend.BFloat16
			same = got.U16[i] == want.U16[i] || isNaN16(got.U16[i], bf) && isNaN16(want.U16[i], bf)
		case backend.Int32:
			same = got.I32[i] == want.I32[i]
		case backend.Int64:
			same = got.I64[i] == want.I64[i]
		case backend.Bool:
			same = got.B[i] == want.B[i]
		}
		if !same {
			return i
		}
	}
	return -1
}

// The fast copies and conversions give the reference's bits (NaN payloads
// aside) for every layout pair.
func TestFastCopyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	shapes := [][]int{{0, 3}, {1}, {7}, {33, 65}, {3, 20, 50}, {64, 64}, {9, 1, 31}, {2, 8, 3, 9}, {300, 250}}
	pairs := [][2]backend.DType{
		{backend.Float32, backend.Float32}, {backend.Float64, backend.Float64}, {backend.Float16, backend.Float16},
		{backend.Int32, backend.Int32}, {backend.Int64, backend.Int64}, {backend.Bool, backend.Bool},
		{backend.Bool, backend.Float32}, {backend.Float16, backend.Float32}, {backend.BFloat16, backend.Float32},
		{backend.Float32, backend.Float16}, {backend.Float32, backend.BFloat16}, {backend.Float32, backend.Float64},
		{backend.Float64, backend.Float32},
	}
	for p, pr := range pairs {
		for _, shape := range shapes {
			if backend.NumElements(shape) > 5000 && p%3 != 0 {
				continue // large (parallel) shapes for a third of the pairs
			}
			for i, sk := range fastKinds {
				for j, dk := range fastOutKinds {
					// Keep the test short (it runs under -race too): every
					// layout pair on small shapes, a few on large ones.
					if n := backend.NumElements(shape); n > 5000 && (i+j)%6 != 0 || n > 1000 && (i+j)%2 == 1 {
						continue
					}
					sl, sn := ktLayout(shape, sk)
					dl, dn := ktLayout(shape, dk)
					src := fastRandBuf(r, pr[0], sn)
					want, got := fastRefAndFast(fastRandBuf(r, pr[1], dn), func(d *Buffer) { Default.Copy(d, dl, src, sl) })
					if k := fastSameBuf(got, want); k >= 0 {
						t.Fatalf("Copy %v→%v shape %v src %v dst %v: element %d differs", pr[0], pr[1], shape, sk, dk, k)
					}
				}
			}
		}
	}
}

// The branch-free Bool → Float32 loop gives exactly 0 and 1.
func TestFastBoolToF32(t *testing.T) {
	s := []bool{true, false, false, true, true}
	d := make([]float32, len(s))
	boolToF32(d, s)
	for i, b := range s {
		if want := map[bool]float32{false: 0, true: 1}[b]; math.Float32bits(d[i]) != math.Float32bits(want) {
			t.Fatalf("element %d: %v for %v", i, d[i], b)
		}
	}
}
