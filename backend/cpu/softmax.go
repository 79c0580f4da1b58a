package cpu

// Softmax and log-softmax along one axis. Each row (the elements along
// axis, for fixed other indices) is computed in float64, float32 included,
// and rounded once into dst:
//
//	m = max(x)                  (NaN if any x is NaN)
//	softmax:     exp(x - m) / Σ exp(x - m)
//	log-softmax: (x - m) - log(Σ exp(x - m))
//
// Subtracting the maximum keeps exp from overflowing. Special values come
// out as in PyTorch: a row of all -Inf gives NaN (-Inf - -Inf), a row with
// +Inf gives NaN (Inf - Inf poisons the sum), a row with NaN gives NaN;
// -Inf next to finite values gives 0 (log-softmax: -Inf).
//
// When the axis is the contiguous one a row is gathered into scratch and
// computed there; when it is strided, smTile rows are computed side by side
// in three passes (max, sum, output), recomputing exp in the last, which
// reads memory in order. Both make the same float64 operations in the same
// order, so they agree bit for bit. Either way each element is read before
// its own result is written, so dst may be src itself.
//
// With the fast paths on, float32 rows contiguous in src and dst take
// internal/asm's SoftmaxRow instead (fast_softmax.go), within 3 ulp.

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
)

// Softmax implements backend.Backend for Float32 and Float64. A 0-d src is
// taken as one element.
func (*Backend) Softmax(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axis int, log bool) {
	d, s := buf(dst), buf(src)
	if d.dt != s.dt {
		panic(fmt.Sprintf("cpu: Softmax: dst dtype %v differs from src dtype %v", d.dt, s.dt))
	}
	if s.dt != backend.Float32 && s.dt != backend.Float64 {
		panic(fmt.Sprintf("cpu: Softmax on %v not supported", s.dt))
	}
	sl, dl = oneIfScalar(sl), oneIfScalar(dl)
	if axis < 0 || axis >= len(sl.Shape) {
		panic(fmt.Sprintf("cpu: Softmax: axis %d out of range for shape %v", axis, sl.Shape))
	}
	r := len(sl.Shape)
	if len(dl.Shape) != r || len(sl.Strides) != r || len(dl.Strides) != r {
		panic(fmt.Sprintf("cpu: Softmax: dst shape %v differs from src shape %v", dl.Shape, sl.Shape))
	}
	var oSh, oS, oD []int
	for ax := range sl.Shape {
		if dl.Shape[ax] != sl.Shape[ax] {
			panic(fmt.Sprintf("cpu: Softmax: dst shape %v differs from src shape %v", dl.Shape, sl.Shape))
		}
		if ax != axis {
			oSh = append(oSh, sl.Shape[ax])
			oS = append(oS, sl.Strides[ax])
			oD = append(oD, dl.Strides[ax])
		}
	}
	n := sl.Shape[axis]
	rows := backend.NumElements(oSh)
	if n == 0 || rows == 0 {
		return
	}
	shape, st := redCollapse(oSh, oS, oD)
	sm := smRows{shape: shape, strides: st, bases: []int{sl.Offset, dl.Offset},
		rows: rows, n: n, ss: sl.Strides[axis], ds: dl.Strides[axis], log: log}
	if s.dt == backend.Float32 {
		if softmaxF32Fast(d.F32, s.F32, sm) {
			return
		}
		softmax(d.F32, s.F32, sm)
	} else {
		softmax(d.F64, s.F64, sm)
	}
}

// smRows describes the rows of a softmax: the other axes (collapsed, with
// src and dst strides) and the axis itself (length n, strides ss and ds).
type smRows struct {
	shape   []int
	strides [][]int
	bases   []int
	rows, n int
	ss, ds  int
	log     bool
}

// smTile is the number of rows computed side by side when the axis is not
// the contiguous one (see softmax).
const smTile = 64

func softmax[T float32 | float64](dst, src []T, sm smRows) {
	last := len(sm.shape) - 1
	// Across a strided axis, read smTile rows side by side so that memory
	// is read in order (and rows a power of two apart do not fight over
	// cache sets); the results are bit-for-bit those of smRow.
	tiled := sm.shape[last] > 1 && sm.strides[0][last] < sm.ss
	parallelFor(sm.rows, 16*sm.n, func(lo, hi int) {
		var row, m, sum []float64
		if tiled {
			m, sum = make([]float64, smTile), make([]float64, smTile)
		} else {
			row = make([]float64, sm.n)
		}
		forRuns(sm.shape, sm.strides, sm.bases, lo, hi, func(offs []int, cnt int, inner []int) {
			if !tiled {
				for t := 0; t < cnt; t++ {
					smRow(dst, offs[1]+t*inner[1], sm.ds, src, offs[0]+t*inner[0], sm.ss, row, sm.log)
				}
				return
			}
			for t0 := 0; t0 < cnt; t0 += smTile {
				w := min(smTile, cnt-t0)
				smRowsTiled(dst, offs[1]+t0*inner[1], inner[1], sm.ds, src, offs[0]+t0*inner[0], inner[0], sm.ss,
					sm.n, m[:w], sum[:w], sm.log)
			}
		})
	})
}

// smRowsTiled computes len(m) rows side by side: row j starts at so +
// j*sstep in src (do + j*dstep in dst) and steps by ss (ds). m and sum are
// scratch. It makes the same float64 operations as smRow, in the same
// order, three passes over the rows: max, sum of exponentials, output.
func smRowsTiled[T float32 | float64](dst []T, do, dstep, ds int, src []T, so, sstep, ss, n int, m, sum []float64, log bool) {
	for j := range m {
		m[j], sum[j] = math.Inf(-1), 0
	}
	for i := 0; i < n; i++ {
		o := so + i*ss
		for j := range m {
			if x := float64(src[o+j*sstep]); x > m[j] || x != x {
				m[j] = x
			}
		}
	}
	for i := 0; i < n; i++ {
		o := so + i*ss
		for j := range m {
			sum[j] += math.Exp(float64(src[o+j*sstep]) - m[j])
		}
	}
	if log {
		for j := range sum {
			sum[j] = math.Log(sum[j])
		}
	}
	for i := 0; i < n; i++ {
		o, d := so+i*ss, do+i*ds
		for j := range m {
			x := float64(src[o+j*sstep])
			var y float64
			switch {
			case m[j] != m[j]:
				y = math.NaN()
			case log:
				y = (x - m[j]) - sum[j]
			default:
				y = math.Exp(x-m[j]) / sum[j]
			}
			dst[d+j*dstep] = T(y)
		}
	}
}

// smRow computes one row of len(row) elements; row is scratch.
func smRow[T float32 | float64](dst []T, do, ds int, src []T, so, ss int, row []float64, log bool) {
	m := math.Inf(-1)
	for i := range row {
		x := float64(src[so+i*ss])
		row[i] = x
		if x > m || x != x {
			m = x
		}
	}
	if m != m {
		// Every result is NaN; say so without relying on NaN - NaN.
		nan := T(math.NaN())
		for i := range row {
			dst[do+i*ds] = nan
		}
		return
	}
	sum := 0.0
	if log {
		for _, x := range row {
			sum += math.Exp(x - m)
		}
		ls := math.Log(sum)
		for i, x := range row {
			dst[do+i*ds] = T((x - m) - ls)
		}
		return
	}
	for i, x := range row {
		e := math.Exp(x - m)
		row[i] = e
		sum += e
	}
	for i, e := range row {
		dst[do+i*ds] = T(e / sum)
	}
}
