package cpu

import "math"

// Fast path of float32 ArgMax and ArgMin over a middle axis.
//
// When the reduced axis has a stride > 1 and the kept axis inside it is
// contiguous in src (at least argFastRun long), as for the window axis of
// a max pool ([N, C, K, L] reduced over K), each output row
// out[o, j] = argmax_k src[o, k, j] is found row by row: a running best row
// and index row are compared against row k elementwise, in tiles of at
// most argFastTile outputs. Everything else takes argReduce.
//
// The comparison is argBetter's: x replaces best when best is not NaN and
// x is NaN or strictly greater (smaller), so the first extreme among
// equals (-0 and +0 included) and the first NaN win; the results are the
// reference's exactly. The best row holds int32 keys (argKey) rather than
// the values, so that the comparison is one integer compare and the
// updates conditional moves.

// argFastRun is the shortest contiguous run of outputs the fast path takes.
const argFastRun = 8

// argFastTile is the widest row of outputs handled at once.
const argFastTile = 1024

// argReduceF32Fast finds the arg extremes of float32 with the row kernel
// when the layout allows it (see above) and reports whether it did.
func argReduceF32Fast(isMax bool, dst []int64, src []float32, p *redPlan) bool {
	if fastOff.Load() || len(p.inShape) != 1 || p.nOut == 0 {
		return false
	}
	n, s := p.inShape[0], p.inSrc[0]
	last := len(p.outShape) - 1
	m := p.outShape[last]
	if n < 2 || s <= 1 || p.outSrc[last] != 1 || m < argFastRun {
		return false
	}
	outShape, outSrc, outDst := p.outShape[:last], p.outSrc[:last], p.outDst[:last]
	ds := p.outDst[last]
	tile := min(m, argFastTile)
	perRun := (m + tile - 1) / tile
	nTiles := p.nOut / m * perRun
	nan := int32(math.MaxInt32)
	if !isMax {
		nan = math.MinInt32
	}
	parallelFor(nTiles, n*tile, func(lo, hi int) {
		sc := getScratch()
		defer putScratch(sc)
		best := scratchOf[int32](sc, tile)
		var where []int64
		if ds != 1 {
			where = scratchOf[int64](sc, tile)
		}
		for ti := lo; ti < hi; ti++ {
			o, t0 := ti/perRun, ti%perRun*tile
			w := min(tile, m-t0)
			so := p.srcOff + redOffset(o, outShape, outSrc) + t0
			do := p.dstOff + redOffset(o, outShape, outDst) + t0*ds
			b := best[:w]
			var bi []int64
			if ds == 1 {
				bi = dst[do : do+w : do+w]
			} else {
				bi = where[:w]
			}
			argRowKeys(b, src[so:so+w], nan)
			clear(bi)
			for i := 1; i < n; i++ {
				o := so + i*s
				row := src[o : o+w : o+w]
				if isMax {
					argRowMax(b, bi, row, int64(i))
				} else {
					argRowMin(b, bi, row, int64(i))
				}
			}
			if ds != 1 {
				for j, v := range bi {
					dst[do+j*ds] = v
				}
			}
		}
	})
	return true
}

// argKey maps x to an int32 that orders as argBetter does: by value, -0
// equal to +0 (x+0 is +0 for either zero), and every NaN equal to nan
// (math.MaxInt32 for ArgMax, math.MinInt32 for ArgMin), beyond every
// number. A strict integer comparison of keys then keeps the first of
// equal extremes and the first NaN, and compiles to conditional moves
// rather than branches, as which row wins is not predictable.
func argKey(x float32, nan int32) int32 {
	u := int32(math.Float32bits(x + 0))
	k := u ^ (u>>31)&math.MaxInt32
	if x != x {
		k = nan
	}
	return k
}

// argRowKeys sets keys to the keys of row.
func argRowKeys(keys []int32, row []float32, nan int32) {
	row = row[:len(keys)]
	for j, x := range row {
		keys[j] = argKey(x, nan)
	}
}

// argRowMax folds row (index i) into the running maxima, whose keys are
// best, and their indices where.
func argRowMax(best []int32, where []int64, row []float32, i int64) {
	where = where[:len(best)]
	row = row[:len(best)]
	for j, b := range best {
		k, w := argKey(row[j], math.MaxInt32), where[j]
		if k > b {
			b, w = k, i
		}
		best[j], where[j] = b, w
	}
}

// argRowMin is argRowMax for minima.
func argRowMin(best []int32, where []int64, row []float32, i int64) {
	where = where[:len(best)]
	row = row[:len(best)]
	for j, b := range best {
		k, w := argKey(row[j], math.MinInt32), where[j]
		if k < b {
			b, w = k, i
		}
		best[j], where[j] = b, w
	}
}
