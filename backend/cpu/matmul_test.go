package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// ktCheckMatMul multiplies random operands laid out as ak, bk, ck and
// compares every element with a float64 (floats) or wrapping int64
// (integers) triple loop.
//
// Tolerance for floats: the kernel accumulates in the element type, so an
// element may be off by at most K·u·Σ_k|a_ik·b_kj| (u = 2⁻²⁴ for float32,
// 2⁻⁵³ for float64; a fused multiply-add only lowers it). The check allows
// twice that. Integers must be exact.
func ktCheckMatMul(t *testing.T, r *rand.Rand, dt backend.DType, nb, m, k, n int, ak, bk, ck ktKind) {
	t.Helper()
	name := fmt.Sprintf("MatMul %v [%d,%d,%d]@[%d,%d,%d] a %v b %v dst %v", dt, nb, m, k, nb, k, n, ak, bk, ck)
	al, an := ktLayout([]int{nb, m, k}, ak)
	bl, bn := ktLayout([]int{nb, k, n}, bk)
	cl, cn := ktLayout([]int{nb, m, n}, ck)
	a := ktBuf(t, dt, ktRandVals(r, dt, an, 9))
	b := ktBuf(t, dt, ktRandVals(r, dt, bn, 9))
	c := ktBuf(t, dt, ktRandVals(r, dt, cn, 9))
	before := ktBits(t, c)
	if msg := ktPanics(func() { ktBe.MatMul(c, cl, a, al, b, bl) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	af, ai := ktRead(t, a)
	bf, bi := ktRead(t, b)
	cf, ci := ktRead(t, c)
	bad := 0
	for p := 0; p < nb; p++ {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var sum, mag float64
				var isum int64
				for kk := 0; kk < k; kk++ {
					ao := al.Offset + p*al.Strides[0] + i*al.Strides[1] + kk*al.Strides[2]
					bo := bl.Offset + p*bl.Strides[0] + kk*bl.Strides[1] + j*bl.Strides[2]
					if ai != nil {
						isum += ai[ao] * bi[bo]
						continue
					}
					sum += af[ao] * bf[bo]
					mag += math.Abs(af[ao] * bf[bo])
				}
				co := ktOff(cl, []int{p, i, j})
				var ok bool
				var got, want any
				switch dt {
				case backend.Int32:
					got, want = ci[co], int64(int32(isum))
					ok = ci[co] == int64(int32(isum))
				case backend.Int64:
					got, want = ci[co], isum
					ok = ci[co] == isum
				default:
					tol := 2 * float64(k) * ktUnit(dt) * mag
					got, want = cf[co], sum
					ok = math.Abs(cf[co]-sum) <= tol
				}
				if !ok {
					if bad < 3 {
						t.Errorf("%s: dst[%d,%d,%d] = %v, want %v", name, p, i, j, got, want)
					}
					bad++
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
	ktCheckUntouched(t, name, c, before, cl)
}

var ktMatMulDTypes = []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64}

// Small and degenerate shapes (K = 0 gives zeros; empty B, M or N writes
// nothing), every dtype, every combination of operand layouts (transposes
// as swapped strides, offsets, padding, a stride-0 batch that repeats one
// matrix).
func TestMatMulSmall(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	shapes := [][4]int{
		{1, 1, 1, 1}, {2, 3, 4, 5}, {3, 7, 0, 5}, {0, 2, 3, 4}, {2, 0, 3, 4}, {1, 5, 3, 0},
		{2, 1, 9, 1}, {3, 6, 1, 7}, {2, 5, 7, 1},
	}
	for _, dt := range ktMatMulDTypes {
		for _, s := range shapes {
			for i, ak := range ktInKinds {
				for j, bk := range ktInKinds {
					ck := ktOutKinds[(i+j)%len(ktOutKinds)]
					ktCheckMatMul(t, r, dt, s[0], s[1], s[2], s[3], ak, bk, ck)
				}
			}
		}
	}
}

// Shapes that cross every block boundary (32 rows, 256 columns, a K slab
// of 128, the 4-way unrolled K loop's tail) and are big enough for the
// parallel path, in the layouts that take different paths: b packed or
// not, dst written directly or through scratch.
func TestMatMulBlocked(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	type combo struct{ a, b, c ktKind }
	combos := []combo{
		{ktContig, ktContig, ktContig},
		{ktSwapLast, ktSwapLast, ktSwapLast}, // aᵀ, bᵀ (packed), dstᵀ (scratch)
		{ktOffset, ktBroadcast, ktPadded},    // one b for every batch, padded dst
		{ktBroadcast, ktPadded, ktOffset},
	}
	for _, dt := range ktMatMulDTypes {
		for i, cb := range combos {
			ktCheckMatMul(t, r, dt, 2, 37, 133, 261, cb.a, cb.b, cb.c)
			if i%2 == 0 {
				ktCheckMatMul(t, r, dt, 3, 64, 64, 64, cb.a, cb.b, cb.c)
				ktCheckMatMul(t, r, dt, 1, 1, 300, 600, cb.a, cb.b, cb.c) // a row vector: parallel over columns
				ktCheckMatMul(t, r, dt, 1, 300, 257, 1, cb.a, cb.b, cb.c) // a column
			}
		}
	}
}

// IEEE special values propagate: nothing is skipped for a zero operand.
func TestMatMulSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		a := ktBuf(t, dt, []float64{0, 1, 2, nan}) // [[0 1] [2 NaN]]
		b := ktBuf(t, dt, []float64{inf, 1, 1, 1}) // [[Inf 1] [1 1]]
		c := ktBuf(t, dt, []float64{7, 7, 7, 7})
		l := backend.Contiguous([]int{1, 2, 2})
		ktBe.MatMul(c, l, a, l, b, l)
		got, _ := ktRead(t, c)
		// [0·Inf+1·1, 0·1+1·1; 2·Inf+NaN, 2+NaN]
		want := []float64{nan, 1, nan, nan}
		for i := range want {
			if !ktClose(got[i], want[i], 0) {
				t.Errorf("%v: dst = %v, want %v", dt, got, want)
				break
			}
		}
	}
	l := backend.Contiguous([]int{1, 1, 1})
	for _, dt := range []backend.DType{backend.Float16, backend.Bool} {
		x := ktBuf(t, dt, []float64{1})
		want := fmt.Sprintf("cpu: MatMul on %v not supported", dt)
		if msg := ktPanics(func() { ktBe.MatMul(x, l, x, l, x, l) }); msg != want {
			t.Errorf("MatMul on %v panicked with %q, want %q", dt, msg, want)
		}
	}
}
