package cpu

// Reductions: Reduce (Sum, Prod, Max, Min over any set of axes) and
// ArgReduce (ArgMax, ArgMin along one axis).
//
// Reduce splits src's axes into kept axes (the outputs) and reduced axes,
// drops axes of length 1 and merges axes that step uniformly, so a
// contiguous reduction becomes one long run. Each output is the fold of its
// reduced elements in a fixed order:
//
//   - elements are visited in row-major order of the reduced axes;
//   - they are folded in blocks of reduceBlock consecutive elements, each
//     block into a fresh accumulator, and the block results are then folded
//     in order (a two-level cascade).
//
// Every code path follows that order — one output at a time along contiguous
// runs, a tile of outputs at once when the kept axis is the contiguous one,
// or one output split across goroutines block by block when there are few
// outputs — so the result is bit-for-bit the same whatever the layout, the
// path or the number of workers.
//
// Accumulators: float32 and float64 accumulate in float64 (a float32 result
// is rounded once, at the end); int32 and int64 accumulate in int64 and wrap
// like Go integers (an int32 result keeps the low 32 bits, which is the
// int32 wrapped result). Max and Min propagate NaN: an output with a NaN
// among its elements is NaN. The sum of no elements is 0 and the product 1;
// Max and Min of no elements panic (package tensor rejects them first).
//
// dst normally has src's dtype; an Int32 src may also reduce into an Int64
// dst (no wrap at 32 bits). Bool reduces with Max (any) and Min (all).
//
// With the fast paths on, float32 Sum, Max and Min over contiguous runs or
// outer axes take fast_reduce.go's vectorised kernels instead, whose sums
// are no longer bit-for-bit this order (see there for their bounds).

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
)

// reduceBlock is the number of consecutive reduced elements folded into one
// partial result (see the order above). It also sets the grain of a
// reduction split across goroutines.
const reduceBlock = 4096

// reduceTile is the number of outputs reduced side by side when the kept
// axis, not the reduced one, is the contiguous one (a column sum).
const reduceTile = 256

type redElem interface {
	float32 | float64 | int32 | int64
}

type redAcc interface{ float64 | int64 }

// redPlan is a reduction with its axes split, squeezed and merged.
type redPlan struct {
	outShape, outSrc, outDst []int // kept axes: lengths, src and dst strides
	inShape, inSrc           []int // reduced axes: lengths, src strides
	srcOff, dstOff           int
	nOut, nIn                int
}

func newRedPlan(what string, dl, sl backend.Layout, reduced []bool) *redPlan {
	r := len(sl.Shape)
	if len(sl.Strides) != r || len(dl.Shape) != r || len(dl.Strides) != r {
		panic(fmt.Sprintf("cpu: %s: dst shape %v (strides %v) and src shape %v (strides %v) have different ranks",
			what, dl.Shape, dl.Strides, sl.Shape, sl.Strides))
	}
	var oSh, oS, oD, iSh, iS []int
	p := &redPlan{srcOff: sl.Offset, dstOff: dl.Offset, nOut: 1, nIn: 1}
	for ax, n := range sl.Shape {
		if reduced[ax] {
			if dl.Shape[ax] != 1 {
				panic(fmt.Sprintf("cpu: %s: dst shape %v must have length 1 on reduced axis %d of src shape %v", what, dl.Shape, ax, sl.Shape))
			}
			p.nIn *= n
			iSh = append(iSh, n)
			iS = append(iS, sl.Strides[ax])
			continue
		}
		if dl.Shape[ax] != n {
			panic(fmt.Sprintf("cpu: %s: dst shape %v differs from src shape %v on kept axis %d", what, dl.Shape, sl.Shape, ax))
		}
		p.nOut *= n
		oSh = append(oSh, n)
		oS = append(oS, sl.Strides[ax])
		oD = append(oD, dl.Strides[ax])
	}
	var st [][]int
	p.outShape, st = redCollapse(oSh, oS, oD)
	p.outSrc, p.outDst = st[0], st[1]
	p.inShape, st = redCollapse(iSh, iS)
	p.inSrc = st[0]
	return p
}

// redCollapse drops axes of length 1 and merges each axis into the one
// inside it wherever every stride array steps over both as over one axis
// (outer stride = inner stride · inner length). Its result has at least one
// axis: a shape of no axes becomes [1] with stride 0.
func redCollapse(shape []int, strides ...[]int) ([]int, [][]int) {
	sh := make([]int, 0, len(shape)+1)
	st := make([][]int, len(strides))
	for d, n := range shape {
		if n == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 {
			merge := true
			for j := range strides {
				if st[j][k] != strides[j][d]*n {
					merge = false
					break
				}
			}
			if merge {
				sh[k] *= n
				for j := range strides {
					st[j][k] = strides[j][d]
				}
				continue
			}
		}
		sh = append(sh, n)
		for j := range strides {
			st[j] = append(st[j], strides[j][d])
		}
	}
	if len(sh) == 0 {
		sh = append(sh, 1)
		for j := range strides {
			st[j] = append(st[j], 0)
		}
	}
	return sh, st
}

// redOffset is the offset, under strides, of the flat row-major index i of
// shape.
func redOffset(i int, shape, strides []int) int {
	off := 0
	for d := len(shape) - 1; d >= 0; d-- {
		off += (i % shape[d]) * strides[d]
		i /= shape[d]
	}
	return off
}

// redWalker steps through a row-major index space one index at a time,
// keeping the offset of the current index; it allocates nothing per step.
type redWalker struct {
	shape, strides, idx []int
	off                 int
}

func newRedWalker(shape, strides []int) *redWalker {
	return &redWalker{shape: shape, strides: strides, idx: make([]int, len(shape))}
}

// seek moves to the flat index i; offsets are counted from base.
func (w *redWalker) seek(i, base int) {
	w.off = base
	for d := len(w.shape) - 1; d >= 0; d-- {
		n := w.shape[d]
		w.idx[d] = i % n
		w.off += w.idx[d] * w.strides[d]
		i /= n
	}
}

// step moves to the next index (past the last one it wraps to the first).
func (w *redWalker) step() {
	for d := len(w.shape) - 1; d >= 0; d-- {
		w.idx[d]++
		w.off += w.strides[d]
		if w.idx[d] < w.shape[d] {
			return
		}
		w.off -= w.shape[d] * w.strides[d]
		w.idx[d] = 0
	}
}

// Reduce implements backend.Backend; see the top of this file.
func (*Backend) Reduce(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axes []int) {
	d, s := buf(dst), buf(src)
	switch op {
	case backend.OpSum, backend.OpProd, backend.OpMax, backend.OpMin:
	default:
		panic(fmt.Sprintf("cpu: Reduce %v on %v not supported", op, s.dt))
	}
	reduced := make([]bool, len(sl.Shape))
	for _, a := range axes {
		if a < 0 || a >= len(sl.Shape) || reduced[a] {
			panic(fmt.Sprintf("cpu: Reduce %v: axes %v are not distinct axes of src shape %v", op, axes, sl.Shape))
		}
		reduced[a] = true
	}
	p := newRedPlan("Reduce", dl, sl, reduced)
	if p.nOut == 0 {
		return
	}
	if p.nIn == 0 && (op == backend.OpMax || op == backend.OpMin) {
		panic(fmt.Sprintf("cpu: Reduce %v of no elements (src shape %v, axes %v)", op, sl.Shape, axes))
	}
	switch {
	case s.dt == backend.Float32 && d.dt == backend.Float32:
		if reduceF32Fast(op, d.F32, s.F32, p) {
			return
		}
		reduceNum[float32, float64](op, d.F32, s.F32, p)
	case s.dt == backend.Float64 && d.dt == backend.Float64:
		reduceNum[float64, float64](op, d.F64, s.F64, p)
	case s.dt == backend.Int32 && d.dt == backend.Int32:
		reduceNum[int32, int64](op, d.I32, s.I32, p)
	case s.dt == backend.Int32 && d.dt == backend.Int64:
		reduceNum[int32, int64](op, d.I64, s.I32, p)
	case s.dt == backend.Int64 && d.dt == backend.Int64:
		reduceNum[int64, int64](op, d.I64, s.I64, p)
	case s.dt == backend.Bool && d.dt == backend.Bool && (op == backend.OpMax || op == backend.OpMin):
		reduceBool(op == backend.OpMax, d.B, s.B, p)
	case s.dt != d.dt:
		panic(fmt.Sprintf("cpu: Reduce %v from %v into %v not supported", op, s.dt, d.dt))
	default:
		panic(fmt.Sprintf("cpu: Reduce %v on %v not supported", op, s.dt))
	}
}

// redKernel reduces T elements with A accumulators into D outputs.
type redKernel[T redElem, A redAcc, D redElem] struct {
	op    backend.Op
	src   []T
	dst   []D
	p     *redPlan
	ident A
	// The reduced axes are walked as runs along the last one (length last,
	// stride lastStride) started at the offsets of the others.
	last, lastStride int
}

func reduceNum[T redElem, A redAcc, D redElem](op backend.Op, dst []D, src []T, p *redPlan) {
	li := len(p.inShape) - 1
	k := &redKernel[T, A, D]{op: op, src: src, dst: dst, p: p, ident: redIdentity[A](op),
		last: p.inShape[li], lastStride: p.inSrc[li]}
	lastOut := len(p.outShape) - 1
	switch {
	case p.nIn == 0:
		k.empty()
	case p.nIn > reduceBlock && p.nOut < 4*Workers():
		k.split()
	case p.outShape[lastOut] > 1 && p.outSrc[lastOut] < k.lastStride:
		k.tiled()
	default:
		k.perOutput()
	}
}

func redIdentity[A redAcc](op backend.Op) A {
	var z A
	switch op {
	case backend.OpSum:
		return 0
	case backend.OpProd:
		return 1
	}
	switch p := any(&z).(type) {
	case *float64:
		*p = math.Inf(1)
		if op == backend.OpMax {
			*p = math.Inf(-1)
		}
	case *int64:
		*p = math.MaxInt64
		if op == backend.OpMax {
			*p = math.MinInt64
		}
	}
	return z
}

// combine folds x into acc. x != x is true only for NaN.
func (k *redKernel[T, A, D]) combine(acc, x A) A {
	switch k.op {
	case backend.OpSum:
		return acc + x
	case backend.OpProd:
		return acc * x
	case backend.OpMax:
		if x > acc || x != x {
			return x
		}
	case backend.OpMin:
		if x < acc || x != x {
			return x
		}
	}
	return acc
}

// run folds the n elements src[off], src[off+s], ... into acc.
func (k *redKernel[T, A, D]) run(acc A, off, n, s int) A {
	src := k.src
	if s == 1 {
		xs := src[off : off+n]
		switch k.op {
		case backend.OpSum:
			for _, x := range xs {
				acc += A(x)
			}
		case backend.OpProd:
			for _, x := range xs {
				acc *= A(x)
			}
		case backend.OpMax:
			for _, x := range xs {
				if v := A(x); v > acc || v != v {
					acc = v
				}
			}
		case backend.OpMin:
			for _, x := range xs {
				if v := A(x); v < acc || v != v {
					acc = v
				}
			}
		}
		return acc
	}
	switch k.op {
	case backend.OpSum:
		for i := 0; i < n; i++ {
			acc += A(src[off+i*s])
		}
	case backend.OpProd:
		for i := 0; i < n; i++ {
			acc *= A(src[off+i*s])
		}
	case backend.OpMax:
		for i := 0; i < n; i++ {
			if v := A(src[off+i*s]); v > acc || v != v {
				acc = v
			}
		}
	case backend.OpMin:
		for i := 0; i < n; i++ {
			if v := A(src[off+i*s]); v < acc || v != v {
				acc = v
			}
		}
	}
	return acc
}

// partial folds the reduced elements [a, b) (flat row-major indices over the
// reduced axes) of the output whose first reduced element is at base. w
// walks the reduced axes but the last.
func (k *redKernel[T, A, D]) partial(w *redWalker, base, a, b int) A {
	n, s := k.last, k.lastStride
	acc := k.ident
	t := a % n
	w.seek(a/n, base)
	for pos := a; pos < b; {
		m := min(n-t, b-pos)
		acc = k.run(acc, w.off+t*s, m, s)
		pos += m
		t = 0
		w.step()
	}
	return acc
}

// total reduces all of one output's elements, block by block.
func (k *redKernel[T, A, D]) total(w *redWalker, base int) A {
	acc := k.ident
	for a := 0; a < k.p.nIn; a += reduceBlock {
		acc = k.combine(acc, k.partial(w, base, a, min(a+reduceBlock, k.p.nIn)))
	}
	return acc
}

func (k *redKernel[T, A, D]) walker() *redWalker {
	li := len(k.p.inShape) - 1
	return newRedWalker(k.p.inShape[:li], k.p.inSrc[:li])
}

func (k *redKernel[T, A, D]) outer() ([][]int, []int) {
	return [][]int{k.p.outSrc, k.p.outDst}, []int{k.p.srcOff, k.p.dstOff}
}

// empty writes the identity to every output (a reduction of no elements).
func (k *redKernel[T, A, D]) empty() {
	p := k.p
	v := D(k.ident)
	parallelFor(p.nOut, 1, func(lo, hi int) {
		forRuns(p.outShape, [][]int{p.outDst}, []int{p.dstOff}, lo, hi, func(offs []int, n int, inner []int) {
			for t := 0; t < n; t++ {
				k.dst[offs[0]+t*inner[0]] = v
			}
		})
	})
}

// perOutput reduces one output at a time, in parallel over the outputs.
func (k *redKernel[T, A, D]) perOutput() {
	p := k.p
	strides, bases := k.outer()
	parallelFor(p.nOut, p.nIn, func(lo, hi int) {
		w := k.walker()
		forRuns(p.outShape, strides, bases, lo, hi, func(offs []int, n int, inner []int) {
			for t := 0; t < n; t++ {
				k.dst[offs[1]+t*inner[1]] = D(k.total(w, offs[0]+t*inner[0]))
			}
		})
	})
}

// split reduces few outputs of many elements: every (output, block) pair is
// a separate piece of work, and the block results are folded afterwards.
func (k *redKernel[T, A, D]) split() {
	p := k.p
	nb := (p.nIn + reduceBlock - 1) / reduceBlock
	parts := make([]A, p.nOut*nb)
	parallelFor(len(parts), reduceBlock, func(lo, hi int) {
		w := k.walker()
		for it := lo; it < hi; it++ {
			o, b := it/nb, it%nb
			a := b * reduceBlock
			parts[it] = k.partial(w, p.srcOff+redOffset(o, p.outShape, p.outSrc), a, min(a+reduceBlock, p.nIn))
		}
	})
	for o := 0; o < p.nOut; o++ {
		acc := k.ident
		for _, x := range parts[o*nb : (o+1)*nb] {
			acc = k.combine(acc, x)
		}
		k.dst[p.dstOff+redOffset(o, p.outShape, p.outDst)] = D(acc)
	}
}

// tiled reduces up to reduceTile outputs side by side: for each reduced
// element it folds the row of outputs' elements at once, which reads memory
// in order when the kept axis is the contiguous one.
func (k *redKernel[T, A, D]) tiled() {
	p := k.p
	strides, bases := k.outer()
	parallelFor(p.nOut, p.nIn, func(lo, hi int) {
		w := k.walker()
		acc := make([]A, reduceTile)
		blk := make([]A, reduceTile)
		forRuns(p.outShape, strides, bases, lo, hi, func(offs []int, n int, inner []int) {
			for t0 := 0; t0 < n; t0 += reduceTile {
				m := min(reduceTile, n-t0)
				k.tile(w, acc[:m], blk[:m], offs[0]+t0*inner[0], inner[0])
				for j, v := range acc[:m] {
					k.dst[offs[1]+(t0+j)*inner[1]] = D(v)
				}
			}
		})
	})
}

// tile reduces the len(acc) outputs whose first elements are at base,
// base+step, ... into acc; blk is scratch of the same length.
func (k *redKernel[T, A, D]) tile(w *redWalker, acc, blk []A, base, step int) {
	for j := range acc {
		acc[j] = k.ident
	}
	n, s, nIn := k.last, k.lastStride, k.p.nIn
	for a := 0; a < nIn; a += reduceBlock {
		b := min(a+reduceBlock, nIn)
		for j := range blk {
			blk[j] = k.ident
		}
		t := a % n
		w.seek(a/n, base)
		for pos := a; pos < b; {
			m := min(n-t, b-pos)
			for u := t; u < t+m; u++ {
				k.vec(blk, w.off+u*s, step)
			}
			pos += m
			t = 0
			w.step()
		}
		for j, x := range blk {
			acc[j] = k.combine(acc[j], x)
		}
	}
}

// vec folds src[off + j*step] into blk[j] for every j.
func (k *redKernel[T, A, D]) vec(blk []A, off, step int) {
	src := k.src
	if step == 1 {
		xs := src[off : off+len(blk)]
		xs = xs[:len(blk)]
		switch k.op {
		case backend.OpSum:
			for j, x := range xs {
				blk[j] += A(x)
			}
		case backend.OpProd:
			for j, x := range xs {
				blk[j] *= A(x)
			}
		case backend.OpMax:
			for j, x := range xs {
				if v := A(x); v > blk[j] || v != v {
					blk[j] = v
				}
			}
		case backend.OpMin:
			for j, x := range xs {
				if v := A(x); v < blk[j] || v != v {
					blk[j] = v
				}
			}
		}
		return
	}
	switch k.op {
	case backend.OpSum:
		for j := range blk {
			blk[j] += A(src[off+j*step])
		}
	case backend.OpProd:
		for j := range blk {
			blk[j] *= A(src[off+j*step])
		}
	case backend.OpMax:
		for j := range blk {
			if v := A(src[off+j*step]); v > blk[j] || v != v {
				blk[j] = v
			}
		}
	case backend.OpMin:
		for j := range blk {
			if v := A(src[off+j*step]); v < blk[j] || v != v {
				blk[j] = v
			}
		}
	}
}

// reduceBool reduces Bool with Max (any element true) or Min (all true).
func reduceBool(isMax bool, dst, src []bool, p *redPlan) {
	li := len(p.inShape) - 1
	n, s := p.inShape[li], p.inSrc[li]
	runs := p.nIn / n
	parallelFor(p.nOut, p.nIn, func(lo, hi int) {
		w := newRedWalker(p.inShape[:li], p.inSrc[:li])
		forRuns(p.outShape, [][]int{p.outSrc, p.outDst}, []int{p.srcOff, p.dstOff}, lo, hi, func(offs []int, m int, inner []int) {
			for t := 0; t < m; t++ {
				// Max stops at the first true, Min at the first false.
				res := !isMax
				w.seek(0, offs[0]+t*inner[0])
			scan:
				for r := 0; r < runs; r++ {
					for i := 0; i < n; i++ {
						if src[w.off+i*s] == isMax {
							res = isMax
							break scan
						}
					}
					w.step()
				}
				dst[offs[1]+t*inner[1]] = res
			}
		})
	})
}

// ArgReduce implements backend.Backend. It writes the index along axis of
// the first maximum (OpArgMax) or minimum (OpArgMin); a NaN counts as both
// the maximum and the minimum, so the first NaN wins (as in PyTorch). src
// is Float32, Float64, Int32 or Int64; an axis of length 0 panics. A 0-d
// src is taken as one element (the answer is 0).
func (*Backend) ArgReduce(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axis int) {
	d, s := buf(dst), buf(src)
	if op != backend.OpArgMax && op != backend.OpArgMin {
		panic(fmt.Sprintf("cpu: ArgReduce %v on %v not supported", op, s.dt))
	}
	switch s.dt {
	case backend.Float32, backend.Float64, backend.Int32, backend.Int64:
	default:
		panic(fmt.Sprintf("cpu: ArgReduce %v on %v not supported", op, s.dt))
	}
	if d.dt != backend.Int64 {
		panic(fmt.Sprintf("cpu: ArgReduce %v: dst must be int64, not %v", op, d.dt))
	}
	sl, dl = oneIfScalar(sl), oneIfScalar(dl)
	if axis < 0 || axis >= len(sl.Shape) {
		panic(fmt.Sprintf("cpu: ArgReduce %v: axis %d out of range for src shape %v", op, axis, sl.Shape))
	}
	reduced := make([]bool, len(sl.Shape))
	reduced[axis] = true
	p := newRedPlan("ArgReduce "+op.String(), dl, sl, reduced)
	if p.nOut == 0 {
		return
	}
	if p.nIn == 0 {
		panic(fmt.Sprintf("cpu: ArgReduce %v over axis %d of length 0 (src shape %v)", op, axis, sl.Shape))
	}
	isMax := op == backend.OpArgMax
	switch s.dt {
	case backend.Float32:
		if !argReduceF32Fast(isMax, d.I64, s.F32, p) {
			argReduce(isMax, d.I64, s.F32, p)
		}
	case backend.Float64:
		argReduce(isMax, d.I64, s.F64, p)
	case backend.Int32:
		argReduce(isMax, d.I64, s.I32, p)
	case backend.Int64:
		argReduce(isMax, d.I64, s.I64, p)
	}
}

// oneIfScalar returns a 0-d layout as the 1-d layout of one element.
func oneIfScalar(l backend.Layout) backend.Layout {
	if len(l.Shape) > 0 {
		return l
	}
	return backend.Layout{Shape: []int{1}, Strides: []int{0}, Offset: l.Offset}
}

// argBetter reports whether x replaces best as the running extreme: never
// once best is NaN (the first NaN wins), always when x is NaN, and
// otherwise when x is strictly greater (smaller), so the first of equal
// extremes wins.
func argBetter[T redElem](isMax bool, x, best T) bool {
	if best != best {
		return false
	}
	if x != x {
		return true
	}
	if isMax {
		return x > best
	}
	return x < best
}

func argReduce[T redElem](isMax bool, dst []int64, src []T, p *redPlan) {
	n, s := p.inShape[0], p.inSrc[0] // one axis (length > 1) or [1] stride 0
	lastOut := len(p.outShape) - 1
	tiled := p.outShape[lastOut] > 1 && p.outSrc[lastOut] < s
	parallelFor(p.nOut, p.nIn, func(lo, hi int) {
		var best []T
		var where []int64
		if tiled {
			best = make([]T, reduceTile)
			where = make([]int64, reduceTile)
		}
		forRuns(p.outShape, [][]int{p.outSrc, p.outDst}, []int{p.srcOff, p.dstOff}, lo, hi, func(offs []int, m int, inner []int) {
			if !tiled {
				for t := 0; t < m; t++ {
					off := offs[0] + t*inner[0]
					b, bi := src[off], 0
					for i := 1; i < n && b == b; i++ {
						if x := src[off+i*s]; argBetter(isMax, x, b) {
							b, bi = x, i
						}
					}
					dst[offs[1]+t*inner[1]] = int64(bi)
				}
				return
			}
			// Side by side along the kept axis, which is the contiguous one.
			step := inner[0]
			for t0 := 0; t0 < m; t0 += reduceTile {
				w := min(reduceTile, m-t0)
				b, bi := best[:w], where[:w]
				base := offs[0] + t0*step
				for j := range b {
					b[j], bi[j] = src[base+j*step], 0
				}
				for i := 1; i < n; i++ {
					o := base + i*s
					for j := range b {
						if x := src[o+j*step]; argBetter(isMax, x, b[j]) {
							b[j], bi[j] = x, int64(i)
						}
					}
				}
				for j, v := range bi {
					dst[offs[1]+(t0+j)*inner[1]] = v
				}
			}
		})
	})
}
