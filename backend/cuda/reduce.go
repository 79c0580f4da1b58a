//go:build cuda

package cuda

// Reduce, ArgReduce and Softmax. The host splits src's axes into kept
// axes (one output each) and reduced axes, drops axes of length 1 and
// merges axes that step uniformly (as the CPU backend does), then:
//
//   - few reduced elements per output (≤ perThreadMax): one thread folds
//     each output;
//   - otherwise one block per output (a grid-stride loop over outputs);
//   - few outputs of many elements: each output is split over nsplit
//     blocks that write partial results in the accumulator type to a
//     scratch buffer, and a second launch folds the partials.
//
// ArgReduce and Softmax run one block per output row.

import (
	"fmt"
	"runtime"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
)

// perThreadMax is the most reduced elements per output that one thread
// folds alone.
const perThreadMax = 64

// redPlan is a reduction with its axes split and merged.
type redPlan struct {
	outShape, outSrc, outDst []int
	inShape, inSrc           []int
	srcOff, dstOff           int
}

func newRedPlan(what string, dl, sl backend.Layout, reduced []bool) redPlan {
	r := len(sl.Shape)
	if len(sl.Strides) != r || len(dl.Shape) != r || len(dl.Strides) != r {
		panic(fmt.Sprintf("cuda: %s: dst shape %v and src shape %v have different ranks", what, dl.Shape, sl.Shape))
	}
	var oSh, oS, oD, iSh, iS []int
	for ax, n := range sl.Shape {
		if reduced[ax] {
			if dl.Shape[ax] != 1 {
				panic(fmt.Sprintf("cuda: %s: dst shape %v must have length 1 on reduced axis %d of src shape %v", what, dl.Shape, ax, sl.Shape))
			}
			iSh = append(iSh, n)
			iS = append(iS, sl.Strides[ax])
			continue
		}
		if dl.Shape[ax] != n {
			panic(fmt.Sprintf("cuda: %s: dst shape %v differs from src shape %v on kept axis %d", what, dl.Shape, sl.Shape, ax))
		}
		oSh = append(oSh, n)
		oS = append(oS, sl.Strides[ax])
		oD = append(oD, dl.Strides[ax])
	}
	p := redPlan{srcOff: sl.Offset, dstOff: dl.Offset}
	var st [][]int
	p.outShape, st = coalesce(oSh, oS, oD)
	p.outSrc, p.outDst = st[0], st[1]
	p.inShape, st = coalesce(iSh, iS)
	p.inSrc = st[0]
	return p
}

func (p redPlan) nOut() int { return backend.NumElements(p.outShape) }
func (p redPlan) nIn() int  { return backend.NumElements(p.inShape) }

// split calls f for each sub-plan with at most maxDims kept axes (one per
// index of the outermost kept axis while there are too many).
func (p redPlan) split(f func(redPlan)) {
	if len(p.outShape) <= maxDims {
		f(p)
		return
	}
	for i := 0; i < p.outShape[0]; i++ {
		q := p
		q.outShape, q.outSrc, q.outDst = p.outShape[1:], p.outSrc[1:], p.outDst[1:]
		q.srcOff += i * p.outSrc[0]
		q.dstOff += i * p.outDst[0]
		q.split(f)
	}
}

// args fills the parts of a redArgs that come from the plan.
func (p redPlan) args(what string, src, dst uint64) redArgs {
	if len(p.inShape) > maxDims {
		panic(fmt.Sprintf("cuda: %s: more than %d reduced axes that cannot be merged (%v)", what, maxDims, p.inShape))
	}
	var a redArgs
	a.NOut, a.NIn = int64(p.nOut()), int64(p.nIn())
	a.NDOut, a.NDIn = int64(len(p.outShape)), int64(len(p.inShape))
	for d := range p.outShape {
		a.OutShape[d], a.OutSrc[d], a.OutDst[d] = int64(p.outShape[d]), int64(p.outSrc[d]), int64(p.outDst[d])
	}
	for d := range p.inShape {
		a.InShape[d], a.InSrc[d] = int64(p.inShape[d]), int64(p.inSrc[d])
	}
	a.SrcOff, a.DstOff = int64(p.srcOff), int64(p.dstOff)
	a.Src, a.Dst = src, dst
	a.NSplit = 1
	return a
}

// outGrid is the number of blocks of a one-block-per-output launch.
func (be *Backend) outGrid(nOut int64) int {
	g := int64(be.sms) * 16
	if nOut < g {
		g = nOut
	}
	if g < 1 {
		g = 1
	}
	return int(g)
}

// accType is the dtype partial results are kept in.
func accType(dt backend.DType) backend.DType {
	switch dt {
	case backend.Float32, backend.Float64:
		return backend.Float64
	case backend.Int32, backend.Int64:
		return backend.Int64
	}
	return dt
}

// Reduce implements backend.Backend.
func (be *Backend) Reduce(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axes []int) {
	d, s := be.buf(dst), be.buf(src)
	switch op {
	case backend.OpSum, backend.OpProd, backend.OpMax, backend.OpMin:
	default:
		panic(fmt.Sprintf("cuda: Reduce %v not supported", op))
	}
	ok := false
	switch {
	case s.dt == d.dt:
		switch s.dt {
		case backend.Float32, backend.Float64, backend.Int32, backend.Int64:
			ok = true
		case backend.Bool:
			ok = op == backend.OpMax || op == backend.OpMin
		}
	case s.dt == backend.Int32 && d.dt == backend.Int64:
		ok = true
	}
	if !ok {
		panic(fmt.Sprintf("cuda: Reduce %v from %v into %v not supported", op, s.dt, d.dt))
	}
	reduced := make([]bool, len(sl.Shape))
	for _, a := range axes {
		if a < 0 || a >= len(sl.Shape) || reduced[a] {
			panic(fmt.Sprintf("cuda: Reduce %v: axes %v are not distinct axes of src shape %v", op, axes, sl.Shape))
		}
		reduced[a] = true
	}
	plan := newRedPlan("Reduce", dl, sl, reduced)
	if plan.nOut() == 0 {
		return
	}
	if plan.nIn() == 0 && (op == backend.OpMax || op == backend.OpMin) {
		panic(fmt.Sprintf("cuda: Reduce %v of no elements (src shape %v, axes %v)", op, sl.Shape, axes))
	}
	acc := accType(s.dt)
	name := func(from, to backend.DType) kfn {
		return be.kernel(kkey{famReduce, uint8(op), uint8(from), uint8(to)}, kernels.Reduce, func() string {
			return "r" + op.String() + "_" + suffix(from) + "_" + suffix(to)
		})
	}
	plan.split(func(p redPlan) {
		a := p.args("Reduce", s.addr(0), d.addr(0))
		nOut, nIn := a.NOut, a.NIn
		if nIn <= perThreadMax {
			a.Flag = 1
			k := name(s.dt, d.dt)
			ap, size := a.ptr()
			be.launch(k.fn, k.name, be.gridFor(nOut), 1, ap, size)
			return
		}
		nsplit := int64(1)
		if want := int64(be.sms) * 4; nOut < want {
			nsplit = min((want+nOut-1)/nOut, nIn/(8*blockSize), 65535)
		}
		if nsplit <= 1 {
			k := name(s.dt, d.dt)
			ap, size := a.ptr()
			be.launch(k.fn, k.name, be.outGrid(nOut), 1, ap, size)
			return
		}
		// Two passes through partials [nOut, nsplit] in the accumulator type.
		blk, err := be.alloc.get(nOut * nsplit * int64(acc.Size()))
		if err != nil {
			panic(fmt.Sprintf("cuda: Reduce: scratch: %v", err))
		}
		defer be.alloc.put(blk)
		a.Dst, a.NSplit, a.Partial = uint64(blk.ptr), nsplit, 1
		k := name(s.dt, acc)
		ap, size := a.ptr()
		be.launch(k.fn, k.name, be.outGrid(nOut), int(nsplit), ap, size)

		f := p
		f.outSrc = make([]int, len(p.outShape))
		stride := int(nsplit)
		for i := len(p.outShape) - 1; i >= 0; i-- {
			f.outSrc[i] = stride
			stride *= p.outShape[i]
		}
		f.inShape, f.inSrc, f.srcOff = []int{int(nsplit)}, []int{1}, 0
		b := f.args("Reduce", uint64(blk.ptr), d.addr(0))
		k = name(acc, d.dt)
		bp, size := b.ptr()
		if nsplit <= perThreadMax {
			b.Flag = 1
			be.launch(k.fn, k.name, be.gridFor(nOut), 1, bp, size)
		} else {
			be.launch(k.fn, k.name, be.outGrid(nOut), 1, bp, size)
		}
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
}

// ArgReduce implements backend.Backend: the index of the first maximum
// (minimum) along axis; a NaN counts as the extreme, the first NaN wins.
func (be *Backend) ArgReduce(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axis int) {
	d, s := be.buf(dst), be.buf(src)
	if op != backend.OpArgMax && op != backend.OpArgMin {
		panic(fmt.Sprintf("cuda: ArgReduce %v not supported", op))
	}
	switch s.dt {
	case backend.Float32, backend.Float64, backend.Int32, backend.Int64:
	default:
		panic(fmt.Sprintf("cuda: ArgReduce %v on %v not supported", op, s.dt))
	}
	if d.dt != backend.Int64 {
		panic(fmt.Sprintf("cuda: ArgReduce %v: dst must be int64, not %v", op, d.dt))
	}
	sl, dl = oneIfScalar(sl), oneIfScalar(dl)
	if axis < 0 || axis >= len(sl.Shape) {
		panic(fmt.Sprintf("cuda: ArgReduce %v: axis %d out of range for src shape %v", op, axis, sl.Shape))
	}
	reduced := make([]bool, len(sl.Shape))
	reduced[axis] = true
	plan := newRedPlan("ArgReduce", dl, sl, reduced)
	if plan.nOut() == 0 {
		return
	}
	if plan.nIn() == 0 {
		panic(fmt.Sprintf("cuda: ArgReduce %v over axis %d of length 0 (src shape %v)", op, axis, sl.Shape))
	}
	k := be.kernel(kkey{famArg, uint8(op), uint8(s.dt), 0}, kernels.Reduce, func() string { return "r" + op.String() + "_" + suffix(s.dt) })
	plan.split(func(p redPlan) {
		a := p.args("ArgReduce", s.addr(0), d.addr(0))
		ap, size := a.ptr()
		be.launch(k.fn, k.name, be.outGrid(a.NOut), 1, ap, size)
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
}

// Softmax implements backend.Backend for Float32 and Float64, computing in
// double as the CPU does.
func (be *Backend) Softmax(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, axis int, log bool) {
	d, s := be.buf(dst), be.buf(src)
	if d.dt != s.dt {
		panic(fmt.Sprintf("cuda: Softmax: dst dtype %v differs from src dtype %v", d.dt, s.dt))
	}
	if s.dt != backend.Float32 && s.dt != backend.Float64 {
		panic(fmt.Sprintf("cuda: Softmax on %v not supported", s.dt))
	}
	sl, dl = oneIfScalar(sl), oneIfScalar(dl)
	if axis < 0 || axis >= len(sl.Shape) {
		panic(fmt.Sprintf("cuda: Softmax: axis %d out of range for shape %v", axis, sl.Shape))
	}
	checkShapes("Softmax", dl, sl)
	n := sl.Shape[axis]
	if n == 0 || sl.Size() == 0 {
		return
	}
	// The rows are the kept axes; the axis itself is not merged with
	// anything, since dst and src step along it separately.
	var oSh, oS, oD []int
	for ax := range sl.Shape {
		if ax != axis {
			oSh = append(oSh, sl.Shape[ax])
			oS = append(oS, sl.Strides[ax])
			oD = append(oD, dl.Strides[ax])
		}
	}
	p := redPlan{srcOff: sl.Offset, dstOff: dl.Offset, inShape: []int{n}, inSrc: []int{sl.Strides[axis]}}
	var st [][]int
	p.outShape, st = coalesce(oSh, oS, oD)
	p.outSrc, p.outDst = st[0], st[1]
	k := be.kernel(kkey{famSoftmax, uint8(s.dt), 0, 0}, kernels.Reduce, func() string { return "softmax_" + suffix(s.dt) })
	p.split(func(q redPlan) {
		a := q.args("Softmax", s.addr(0), d.addr(0))
		a.DstIn = int64(dl.Strides[axis])
		if log {
			a.Flag = 1
		}
		ap, size := a.ptr()
		be.launch(k.fn, k.name, be.outGrid(a.NOut), 1, ap, size)
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
}
