package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// asm.SoftmaxRow and LogSoftmaxRow are within 3 ulp of float64 math; the
// reference rounds float64 math once, so they agree within 4 ulp (or within
// the subnormal range, where ulps are absolute). For log-softmax the
// reference takes log(Σ) where asm takes log1p(Σ - 1): when one element
// dominates its row, log(1 + ε) keeps only ε's absolute accuracy, about
// 1e-16, so results near 0 agree only that closely.
func TestFastSoftmaxMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shapes := [][]int{{0, 5}, {5, 0}, {1}, {1, 1}, {3, 1}, {7, 13}, {64, 10}, {300, 67}, {2, 3, 17}, {2, 1029}}
	for _, log := range []bool{false, true} {
		ok := fastWithinULP(4, 1e-37)
		if log {
			ok = fastWithinULP(4, 1e-15)
		}
		for _, shape := range shapes {
			for axis := range shape {
				for i, sk := range fastKinds {
					dk := fastOutKinds[i%len(fastOutKinds)]
					for _, specials := range []bool{false, true} {
						if backend.NumElements(shape) > 5000 && !specials {
							continue // keep the test short
						}
						name := fastName("log=", log, " shape ", shape, " axis ", axis, " src ", sk, " dst ", dk, " specials ", specials)
						sl, sn := ktLayout(shape, sk)
						dl, dn := ktLayout(shape, dk)
						src := fastVals(r, sn, 4, specials)
						want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) {
							Default.Softmax(d, dl, src, sl, axis, log)
						})
						fastCheckF32(t, name, want, got, ok)
						// In place.
						if sk != ktBroadcast {
							want, got = fastRefAndFast(src, func(d *Buffer) { Default.Softmax(d, sl, d, sl, axis, log) })
							fastCheckF32(t, name+" in place", want, got, ok)
						}
					}
				}
			}
		}
	}
	// Rows of special values and of huge values.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, row := range [][]float32{{-inf, -inf, -inf}, {1, inf, 2}, {1, nan, 2}, {0, -inf, 3}, {3e38, -3e38, 1}, {-100, 0, -120}, {1000, 1000}} {
		src := &Buffer{dt: backend.Float32, F32: row}
		l := backend.Contiguous([]int{1, len(row)})
		for _, log := range []bool{false, true} {
			want, got := fastRefAndFast(NewBuffer(backend.Float32, len(row)), func(d *Buffer) { Default.Softmax(d, l, src, l, 1, log) })
			fastCheckF32(t, fastName("row ", row, " log=", log), want, got, fastWithinULP(4, 1e-15))
		}
	}
}
