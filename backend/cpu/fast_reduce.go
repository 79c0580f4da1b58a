package cpu

import (
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// Fast paths of float32 Sum, Max and Min (Mean is built on Sum).
//
// Two layouts are vectorised; everything else takes the reference kernels
// of reduce.go:
//
//   - the reduced elements of each output lie in contiguous runs (at least
//     redFastRun long), as for a sum over the last axis: each run, in
//     segments of at most reduceBlock elements, is folded by asm.Sum or
//     asm.ReduceMax (Min as -ReduceMax(-x); negation is exact) and the
//     segment results are folded in float64 in order;
//   - the outputs lie in contiguous runs of src (at least redFastRun long,
//     along any kept axis) and the reduced axes are outer ones, as for a bias gradient summed
//     over the batch or a max pool over its window: rows of outputs are
//     accumulated with asm.Add (asm.Max, asm.Min) into a float32 row,
//     redColBlock reduced elements at a time, and the block rows are folded
//     in float64 in order (see cols).
//
// Max and Min are exact: NaN propagates, and only the sign of a zero
// result may differ from the reference (these give +0 for a maximum and -0
// for a minimum among zeros of both signs, as Go's max and min do). A sum
// is no longer rounded once from float64, but the float32 part of it
// covers at most reduceBlock elements (asm.Sum's bound is then 78·2⁻²⁴·Σ|x|)
// or redColBlock rows (redColBlock·2⁻²⁴·Σ|x|); a float32 partial that is
// not finite (an infinity or NaN among its elements, or an overflow) is
// recomputed in float64, so special values and overflow come out as in the
// reference. Results do not depend on the number of workers.

// redFastRun is the shortest contiguous run a fast path takes.
const redFastRun = 8

// redColBlock is the number of reduced elements accumulated in float32
// before a row of partial sums is folded in float64 (the column path).
const redColBlock = 64

// redColGroup is the number of blocks of redColBlock reduced elements one
// piece of parallel work takes (the column path).
const redColGroup = 16

// redColTile is the widest row of outputs accumulated at once.
const redColTile = 1024

// redMinChunk is the scratch length of Min's negated copies.
const redMinChunk = 512

// reduceF32Fast reduces float32 with internal/asm when the layout allows
// it (see above) and reports whether it did.
func reduceF32Fast(op backend.Op, dst, src []float32, p *redPlan) bool {
	if fastOff.Load() || p.nIn == 0 || p.nOut == 0 {
		return false
	}
	switch op {
	case backend.OpSum, backend.OpMax, backend.OpMin:
	default:
		return false
	}
	li := len(p.inShape) - 1
	k := &redF32{op: op, src: src, p: p}
	if p.inSrc[li] == 1 && p.inShape[li] >= redFastRun {
		k.inner(dst)
		return true
	}
	// The kept axis that is contiguous in src, innermost first (a sum of
	// transposed gradients over the batch has it outside).
	for ax := len(p.outShape) - 1; ax >= 0; ax-- {
		if p.outSrc[ax] == 1 && p.outShape[ax] >= redFastRun {
			k.cols(dst, ax)
			return true
		}
	}
	return false
}

type redF32 struct {
	op  backend.Op
	src []float32
	p   *redPlan
}

func (k *redF32) ident() float64 {
	switch k.op {
	case backend.OpMax:
		return math.Inf(-1)
	case backend.OpMin:
		return math.Inf(1)
	}
	return 0
}

// combine folds x into acc (max and min propagate NaN).
func (k *redF32) combine(acc, x float64) float64 {
	switch k.op {
	case backend.OpMax:
		return max(acc, x)
	case backend.OpMin:
		return min(acc, x)
	}
	return acc + x
}

// finite32 reports whether x is neither infinite nor NaN.
func finite32(x float32) bool { return x-x == 0 }

// seg folds the contiguous elements xs into acc; scratch holds
// redMinChunk elements.
func (k *redF32) seg(acc float64, xs, scratch []float32) float64 {
	switch k.op {
	case backend.OpSum:
		if s := asm.Sum(xs); finite32(s) {
			return acc + float64(s)
		}
		for _, x := range xs {
			acc += float64(x)
		}
		return acc
	case backend.OpMax:
		return max(acc, float64(asm.ReduceMax(xs)))
	}
	for len(xs) > 0 {
		c := min(len(xs), len(scratch))
		neg := scratch[:c]
		asm.MulScalar(neg, xs[:c], -1)
		acc = min(acc, -float64(asm.ReduceMax(neg)))
		xs = xs[c:]
	}
	return acc
}

// partial folds the reduced elements [a, b) (flat row-major indices over
// the reduced axes) of the output whose first reduced element is at base;
// w walks the reduced axes but the last, whose stride is 1.
func (k *redF32) partial(w *redWalker, base, a, b int, scratch []float32) float64 {
	n := k.p.inShape[len(k.p.inShape)-1]
	acc := k.ident()
	t := a % n
	w.seek(a/n, base)
	for pos := a; pos < b; {
		m := min(n-t, b-pos, reduceBlock)
		o := w.off + t
		acc = k.seg(acc, k.src[o:o+m:o+m], scratch)
		pos += m
		if t += m; t == n {
			t = 0
			w.step()
		}
	}
	return acc
}

func (k *redF32) walker() *redWalker {
	li := len(k.p.inShape) - 1
	return newRedWalker(k.p.inShape[:li], k.p.inSrc[:li])
}

// inner reduces outputs whose reduced elements lie in contiguous runs: in
// parallel over the outputs, or, for few outputs of many elements, over
// blocks of reduceBlock elements whose results are then folded in order.
func (k *redF32) inner(dst []float32) {
	p := k.p
	if p.nIn > reduceBlock && p.nOut < 4*Workers() {
		nb := (p.nIn + reduceBlock - 1) / reduceBlock
		parts := make([]float64, p.nOut*nb)
		parallelFor(len(parts), reduceBlock, func(lo, hi int) {
			w, scratch := k.walker(), make([]float32, redMinChunk)
			for it := lo; it < hi; it++ {
				o, b := it/nb, it%nb
				a := b * reduceBlock
				parts[it] = k.partial(w, p.srcOff+redOffset(o, p.outShape, p.outSrc), a, min(a+reduceBlock, p.nIn), scratch)
			}
		})
		for o := 0; o < p.nOut; o++ {
			acc := k.ident()
			for _, x := range parts[o*nb : (o+1)*nb] {
				acc = k.combine(acc, x)
			}
			dst[p.dstOff+redOffset(o, p.outShape, p.outDst)] = float32(acc)
		}
		return
	}
	parallelFor(p.nOut, p.nIn, func(lo, hi int) {
		w, scratch := k.walker(), make([]float32, redMinChunk)
		forRuns(p.outShape, [][]int{p.outSrc, p.outDst}, []int{p.srcOff, p.dstOff}, lo, hi, func(offs []int, n int, inner []int) {
			for t := 0; t < n; t++ {
				dst[offs[1]+t*inner[1]] = float32(k.partial(w, offs[0]+t*inner[0], 0, p.nIn, scratch))
			}
		})
	})
}

// cols reduces outputs that lie in contiguous runs of src, along the kept
// axis axis (not necessarily the innermost one: dst may be strided along
// it), over outer reduced axes. The outputs are cut into tiles of at most
// redColTile along axis, and the reduced elements into blocks of
// redColBlock, grouped redColGroup blocks at a time. A work item is a tile
// and a group: it accumulates each block's rows into a float32 row with
// asm.Add (asm.Max, asm.Min) and folds the block rows in order, in float64
// for sums. Items run in parallel; when a tile has several groups their
// results are folded in order afterwards. The groups are fixed, so the
// result does not depend on the number of workers, and the scratch is
// small: nothing as large as src or dst is allocated.
func (k *redF32) cols(dst []float32, axis int) {
	p := k.p
	var outShape, outSrc, outDst []int // the kept axes but axis
	for ax := range p.outShape {
		if ax != axis {
			outShape = append(outShape, p.outShape[ax])
			outSrc = append(outSrc, p.outSrc[ax])
			outDst = append(outDst, p.outDst[ax])
		}
	}
	runLen, ds := p.outShape[axis], p.outDst[axis]
	tile := min(runLen, redColTile)
	perRun := (runLen + tile - 1) / tile
	nTiles := p.nOut / runLen * perRun
	const group = redColGroup * redColBlock // reduced elements per item
	nGroups := (p.nIn + group - 1) / group
	// where returns tile ti's first src and dst offsets and its width.
	where := func(ti int) (so, do, width int) {
		o, t0 := ti/perRun, ti%perRun*tile
		so = p.srcOff + redOffset(o, outShape, outSrc) + t0
		do = p.dstOff + redOffset(o, outShape, outDst) + t0*ds
		return so, do, min(tile, runLen-t0)
	}
	var parts []float64 // [tile][group][tile width], when nGroups > 1
	if nGroups > 1 {
		// Pooled scratch: every item writes its own part before the
		// fold reads it.
		psc := getScratch()
		defer putScratch(psc)
		parts = scratchOf[float64](psc, nTiles*nGroups*tile)
	}
	parallelFor(nTiles*nGroups, group*tile, func(lo, hi int) {
		w := newRedWalker(p.inShape, p.inSrc)
		sc := getScratch()
		defer putScratch(sc)
		part := scratchOf[float32](sc, tile)
		var acc []float64
		if k.op == backend.OpSum {
			acc = scratchOf[float64](sc, tile)
		}
		for it := lo; it < hi; it++ {
			ti, g := it/nGroups, it%nGroups
			so, do, width := where(ti)
			a, b := g*group, min((g+1)*group, p.nIn)
			if k.op == backend.OpSum {
				k.colSum(w, so, width, a, b, part[:width], acc[:width])
				if parts == nil {
					for j, v := range acc[:width] {
						dst[do+j*ds] = float32(v)
					}
				} else {
					copy(parts[it*tile:], acc[:width])
				}
				continue
			}
			k.colExtreme(w, so, width, a, b, part[:width])
			if parts == nil {
				for j, v := range part[:width] {
					dst[do+j*ds] = v
				}
			} else {
				for j, v := range part[:width] {
					parts[it*tile+j] = float64(v)
				}
			}
		}
	})
	if parts == nil {
		return
	}
	parallelFor(nTiles, nGroups*tile, func(lo, hi int) {
		for ti := lo; ti < hi; ti++ {
			_, do, width := where(ti)
			res := parts[ti*nGroups*tile : ti*nGroups*tile+width]
			for g := 1; g < nGroups; g++ {
				o := (ti*nGroups + g) * tile
				for j, v := range parts[o : o+width] {
					res[j] = k.combine(res[j], v)
				}
			}
			for j, v := range res {
				dst[do+j*ds] = float32(v)
			}
		}
	})
}

// colSum sums the reduced elements [a, b) of the width outputs whose first
// elements are at so (contiguous) into acc, redColBlock rows at a time in
// float32 (part is scratch) and the block rows in float64. A block's
// column whose float32 sum is not finite is redone in float64, as the
// reference adds it.
func (k *redF32) colSum(w *redWalker, so, width, a, b int, part []float32, acc []float64) {
	src := k.src
	clear(acc)
	for a0 := a; a0 < b; a0 += redColBlock {
		a1 := min(a0+redColBlock, b)
		w.seek(a0, so)
		copy(part, src[w.off:w.off+width])
		for r := a0 + 1; r < a1; r++ {
			w.step()
			asm.Add(part, part, src[w.off:w.off+width:w.off+width])
		}
		for j, v := range part {
			if finite32(v) {
				acc[j] += float64(v)
				continue
			}
			w.seek(a0, so+j)
			for r := a0; r < a1; r++ {
				acc[j] += float64(src[w.off])
				w.step()
			}
		}
	}
}

// colExtreme folds the reduced elements [a, b) of the width outputs whose
// first elements are at so (contiguous) into part with asm.Max or asm.Min.
func (k *redF32) colExtreme(w *redWalker, so, width, a, b int, part []float32) {
	vec := asm.Max
	if k.op == backend.OpMin {
		vec = asm.Min
	}
	src := k.src
	w.seek(a, so)
	copy(part, src[w.off:w.off+width])
	for r := a + 1; r < b; r++ {
		w.step()
		vec(part, part, src[w.off:w.off+width:w.off+width])
	}
}
