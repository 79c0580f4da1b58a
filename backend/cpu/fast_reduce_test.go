package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// Fast float32 Max and Min are exact (but for the sign of a zero among
// zeros of both signs); a fast Sum is within 1e-5·Σ|x| of the reference,
// and exactly the reference where the result is not finite.
func TestFastReduceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	type tc struct {
		shape []int
		axes  []int
	}
	cases := []tc{
		{[]int{0, 9}, []int{0}}, {[]int{9, 0}, []int{0}}, {[]int{9, 0}, []int{1}},
		{[]int{1}, []int{0}}, {[]int{13}, []int{0}}, {[]int{20000}, []int{0}},
		{[]int{256, 37}, []int{0}}, {[]int{256, 37}, []int{1}}, {[]int{256, 37}, []int{0, 1}},
		{[]int{3, 4, 33}, []int{0, 2}}, {[]int{3, 4, 33}, []int{1}}, {[]int{3, 4, 33}, []int{0, 1}},
		{[]int{5000, 3}, []int{0}}, {[]int{3, 5000}, []int{1}}, {[]int{130, 1030}, []int{0}},
		{[]int{70, 9, 11}, []int{0}}, {[]int{9, 70, 11}, []int{0, 2}}, {[]int{2, 9, 1, 11}, []int{1, 2}},
		{[]int{1, 1, 12}, []int{0, 1}}, {[]int{2100, 20}, []int{0}}, {[]int{1100, 3, 10}, []int{0, 1}}, {[]int{32, 20, 30}, []int{0}},
	}
	for _, c := range cases {
		reduced := make([]bool, len(c.shape))
		dshape := append([]int(nil), c.shape...)
		for _, a := range c.axes {
			reduced[a] = true
			dshape[a] = 1
		}
		for i, sk := range fastKinds {
			dk := fastOutKinds[i%len(fastOutKinds)]
			for _, specials := range []bool{false, true} {
				sl, sn := ktLayout(c.shape, sk)
				dl, dn := ktLayout(dshape, dk)
				src := fastVals(r, sn, 1, specials)
				abs := fastClone(src)
				for j, v := range abs.F32 {
					abs.F32[j] = float32(math.Abs(float64(v)))
				}
				for _, op := range []backend.Op{backend.OpSum, backend.OpMax, backend.OpMin} {
					if op != backend.OpSum && backend.NumElements(c.shape) == 0 {
						continue // Max and Min of nothing panic
					}
					name := fastName(op, " shape ", c.shape, " axes ", c.axes, " src ", sk, " dst ", dk, " specials ", specials)
					init := fastVals(r, dn, 1, false)
					want, got := fastRefAndFast(init, func(d *Buffer) { Default.Reduce(op, d, dl, src, sl, c.axes) })
					if op != backend.OpSum {
						fastCheckF32(t, name, want, got, func(g, w float32) bool { return fastSameF32(g, w, true) })
						continue
					}
					mag := fastClone(init)
					withFast(false, func() { Default.Reduce(op, mag, dl, abs, sl, c.axes) })
					bad := 0
					for j := range want.F32 {
						w, g := want.F32[j], got.F32[j]
						fine := fastSameF32(g, w, true)
						if !fine && !math.IsInf(float64(w), 0) && w == w {
							fine = math.Abs(float64(g)-float64(w)) <= 1e-5*float64(mag.F32[j])
						}
						if !fine {
							if bad < 3 {
								t.Errorf("%s: element %d: fast %v, reference %v (Σ|x| %v)", name, j, g, w, mag.F32[j])
							}
							bad++
						}
					}
					if bad > 0 {
						t.Fatalf("%s: %d elements differ", name, bad)
					}
				}
			}
		}
	}
}

// A float32 partial sum that overflows is redone in float64, as the
// reference adds: both paths give the reference's finite result.
func TestFastReduceOverflow(t *testing.T) {
	const rows, cols = 200, 40
	src := NewBuffer(backend.Float32, rows*cols)
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			v := float32(3e38)
			if (r+j)%2 == 1 {
				v = -v
			}
			src.F32[r*cols+j] = v
		}
	}
	// Every column sums to 0 in float64, but even columns now start
	// +, +, -, -: their float32 partial sums overflow.
	for j := 0; j < cols; j += 2 {
		src.F32[1*cols+j], src.F32[2*cols+j] = 3e38, -3e38
	}
	sl := backend.Contiguous([]int{rows, cols})
	for _, axes := range [][]int{{0}, {1}} {
		dshape := []int{rows, cols}
		dshape[axes[0]] = 1
		dl := backend.Contiguous(dshape)
		want, got := fastRefAndFast(NewBuffer(backend.Float32, dl.Size()), func(d *Buffer) {
			Default.Reduce(backend.OpSum, d, dl, src, sl, axes)
		})
		fastCheckF32(t, fastName("overflow axes ", axes), want, got, fastExact)
		if axes[0] == 0 && got.F32[0] != 0 {
			t.Errorf("column 0 sums to %v, want 0", got.F32[0])
		}
	}
	big := &Buffer{dt: backend.Float32, F32: make([]float32, 4096*3)}
	for i := range big.F32 {
		big.F32[i] = 3e38
	}
	big.F32[len(big.F32)-1] = float32(math.Inf(-1))
	bl := backend.Contiguous([]int{len(big.F32)})
	want, got := fastRefAndFast(NewBuffer(backend.Float32, 1), func(d *Buffer) {
		Default.Reduce(backend.OpSum, d, backend.Contiguous([]int{1}), big, bl, []int{0})
	})
	fastCheckF32(t, "sum to -Inf", want, got, fastExact)
	if got.F32[0] != float32(math.Inf(-1)) {
		t.Errorf("sum to -Inf gave %v", got.F32[0])
	}
}
