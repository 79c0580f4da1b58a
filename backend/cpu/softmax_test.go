package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// ktRefSoftmax is softmax (or log-softmax) of one row, in float64, by the
// textbook stable formula.
func ktRefSoftmax(row []float64, log bool) []float64 {
	m := math.Inf(-1)
	for _, x := range row {
		if math.IsNaN(x) {
			m = math.NaN()
			break
		}
		m = math.Max(m, x)
	}
	sum := 0.0
	for _, x := range row {
		sum += math.Exp(x - m)
	}
	out := make([]float64, len(row))
	for i, x := range row {
		if log {
			out[i] = x - m - math.Log(sum)
		} else {
			out[i] = math.Exp(x-m) / sum
		}
	}
	return out
}

// ktCheckSoftmax runs one Softmax and compares every element with the
// reference. Tolerance: the kernel computes in float64 like the reference
// (a different summation order is allowed), so float64 results must agree
// to 1e-12 relative (1e-12 absolute near 0), float32 results to their
// final rounding plus that: 2⁻²³·|want| + 1e-12. With inPlace, dst is src.
func ktCheckSoftmax(t *testing.T, r *rand.Rand, dt backend.DType, shape []int, axis int, log bool, sk, dk ktKind, scale float64, inPlace bool) {
	t.Helper()
	name := fmt.Sprintf("Softmax(log=%v) %v shape %v axis %d src %v dst %v in-place %v", log, dt, shape, axis, sk, dk, inPlace)
	sl, sn := ktLayout(shape, sk)
	vals := ktRandVals(r, dt, sn, 0)
	for i := range vals {
		vals[i] *= scale
		if dt == backend.Float32 {
			vals[i] = float64(float32(vals[i]))
		}
	}
	src := ktBuf(t, dt, vals)
	dst, dl := src, sl
	if !inPlace {
		var dn int
		dl, dn = ktLayout(shape, dk)
		dst = ktBuf(t, dt, ktRandVals(r, dt, dn, 0))
	}
	f, _ := ktRead(t, src)
	before := ktBits(t, dst)
	if msg := ktPanics(func() { ktBe.Softmax(dst, dl, src, sl, axis, log) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	got, _ := ktRead(t, dst)
	n := 1
	if len(shape) > 0 {
		n = shape[axis]
	}
	oshape := slices.Clone(shape)
	if len(shape) > 0 {
		oshape[axis] = 1
	}
	row := make([]float64, n)
	idx := make([]int, len(shape))
	bad := 0
	ktEach(oshape, func(o []int) {
		copy(idx, o)
		for i := 0; i < n; i++ {
			if len(shape) > 0 {
				idx[axis] = i
			}
			row[i] = f[ktOff(sl, idx)]
		}
		want := ktRefSoftmax(row, log)
		for i := 0; i < n; i++ {
			if len(shape) > 0 {
				idx[axis] = i
			}
			g := got[ktOff(dl, idx)]
			tol := 1e-12 * math.Max(1, math.Abs(want[i]))
			if dt == backend.Float32 {
				tol += 0x1p-23 * math.Abs(want[i])
			}
			if !ktClose(g, want[i], tol) {
				if bad < 3 {
					t.Errorf("%s: element %v = %v, want %v", name, idx, g, want[i])
				}
				bad++
			}
		}
	})
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
	ktCheckUntouched(t, name, dst, before, dl)
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	shapes := [][]int{{}, {1}, {6}, {0}, {3, 0}, {0, 3}, {4, 7}, {3, 4, 5}, {2, 3, 1, 5}}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, log := range []bool{false, true} {
			for _, shape := range shapes {
				for axis := 0; axis < max(len(shape), 1); axis++ {
					for i, sk := range ktInKinds {
						dk := ktOutKinds[(i+axis)%len(ktOutKinds)]
						ktCheckSoftmax(t, r, dt, shape, axis, log, sk, dk, 3, false)
					}
					ktCheckSoftmax(t, r, dt, shape, axis, log, ktPadded, ktPadded, 3, true)
				}
			}
			// Large: parallel rows, along the contiguous axis and across it;
			// large inputs that would overflow exp without the shift.
			ktCheckSoftmax(t, r, dt, []int{200, 300}, 1, log, ktContig, ktContig, 3, false)
			ktCheckSoftmax(t, r, dt, []int{200, 300}, 0, log, ktContig, ktSwapLast, 3, false)
			ktCheckSoftmax(t, r, dt, []int{50, 40, 30}, 1, log, ktReversed, ktPadded, 300, false)
			ktCheckSoftmax(t, r, dt, []int{100, 700}, 1, log, ktOffset, ktOffset, 1000, true)
		}
	}
}

// Special values, as PyTorch gives them: all -Inf → NaN, +Inf → NaN, NaN →
// NaN, -Inf among finite values → 0 (log: -Inf), huge values stay finite.
func TestSoftmaxSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		in, soft, logsoft []float64
	}{
		{[]float64{-inf, -inf}, []float64{nan, nan}, []float64{nan, nan}},
		{[]float64{1, inf}, []float64{nan, nan}, []float64{nan, nan}},
		{[]float64{1, nan, 2}, []float64{nan, nan, nan}, []float64{nan, nan, nan}},
		{[]float64{0, -inf}, []float64{1, 0}, []float64{0, -inf}},
		{[]float64{1000, 1000}, []float64{0.5, 0.5}, []float64{-math.Ln2, -math.Ln2}},
		{[]float64{-1000, 0}, []float64{0, 1}, []float64{-1000, 0}},
		{[]float64{3e38, -3e38}, []float64{1, 0}, []float64{0, -6e38}},
	} {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			for _, log := range []bool{false, true} {
				want := tc.soft
				if log {
					want = tc.logsoft
				}
				if dt == backend.Float32 && math.Abs(want[len(want)-1]) > math.MaxFloat32 && !math.IsInf(want[len(want)-1], 0) {
					continue // -6e38 is not a float32
				}
				l := backend.Contiguous([]int{len(tc.in)})
				src := ktBuf(t, dt, tc.in)
				dst := ktBuf(t, dt, make([]float64, len(tc.in)))
				ktBe.Softmax(dst, l, src, l, 0, log)
				got, _ := ktRead(t, dst)
				for i := range want {
					if !ktClose(got[i], want[i], 1e-6*math.Max(1, math.Abs(want[i]))) {
						t.Errorf("softmax(log=%v) %v of %v = %v, want %v", log, dt, tc.in, got, want)
						break
					}
				}
			}
		}
	}
	l := backend.Contiguous([]int{2})
	x := ktBuf(t, backend.Int32, []float64{1, 2})
	if msg := ktPanics(func() { ktBe.Softmax(x, l, x, l, 0, false) }); msg != "cpu: Softmax on int32 not supported" {
		t.Errorf("Softmax on int32 panicked with %q", msg)
	}
}

// Rows read side by side (axis strided) and one at a time (axis
// contiguous) make the same float64 operations: identical bits.
func TestSoftmaxPathsAgree(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	const n, c = 150, 70
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		vals := ktRandVals(r, dt, n*c, 0)
		vals[5*c+3] = math.Inf(-1)
		vals[7*c+9] = math.NaN()
		trans := make([]float64, n*c)
		for i := 0; i < n; i++ {
			for j := 0; j < c; j++ {
				trans[j*n+i] = vals[i*c+j]
			}
		}
		src, srcT := ktBuf(t, dt, vals), ktBuf(t, dt, trans)
		for _, log := range []bool{false, true} {
			tiled := backend.Contiguous([]int{n, c}) // softmax along axis 0: strided
			rows := backend.Contiguous([]int{c, n})  // the same along axis 1: contiguous
			d1 := ktBuf(t, dt, make([]float64, n*c))
			d2 := ktBuf(t, dt, make([]float64, n*c))
			ktBe.Softmax(d1, tiled, src, tiled, 0, log)
			ktBe.Softmax(d2, rows, srcT, rows, 1, log)
			a, b := ktBits(t, d1), ktBits(t, d2)
			for i := 0; i < n; i++ {
				for j := 0; j < c; j++ {
					if a[i*c+j] != b[j*n+i] {
						t.Fatalf("%v log=%v: element [%d,%d]: tiled %#x, row at a time %#x", dt, log, i, j, a[i*c+j], b[j*n+i])
					}
				}
			}
		}
	}
}
