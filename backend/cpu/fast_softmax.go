package cpu

import (
	"github.com/tessera-ml/tessera/internal/asm"
)

// softmaxF32Fast computes a float32 softmax (or log-softmax) with
// internal/asm's SoftmaxRow (LogSoftmaxRow) when every row is contiguous in
// both src and dst, in parallel over the rows; it reports false, doing
// nothing, otherwise. The results are within 3 ulp of the reference's
// float64 rows, with the same special values (a row with NaN or +Inf, or of
// all -Inf, is NaN). A row may be computed in place (dst the same as src).
func softmaxF32Fast(dst, src []float32, sm smRows) bool {
	n := sm.n
	if fastOff.Load() || (n > 1 && (sm.ss != 1 || sm.ds != 1)) {
		return false
	}
	row := asm.SoftmaxRow
	if sm.log {
		row = asm.LogSoftmaxRow
	}
	parallelFor(sm.rows, 4*n, func(lo, hi int) {
		forRuns(sm.shape, sm.strides, sm.bases, lo, hi, func(offs []int, cnt int, inner []int) {
			so, do, si, di := offs[0], offs[1], inner[0], inner[1]
			for t := 0; t < cnt; t++ {
				s, d := so+t*si, do+t*di
				row(dst[d:d+n:d+n], src[s:s+n:s+n])
			}
		})
	})
	return true
}
