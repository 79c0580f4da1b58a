package cpu

// Index kernels: Gather (torch.gather), IndexSelect (torch.index_select)
// and ScatterAdd (torch.Tensor.scatter_add_).
//
// Every index is checked before anything is written: an index outside
// [0, length of the indexed axis) makes the kernel return an error that
// names the op, the first offending index (in row-major order of idx), its
// position and the valid range, and leaves dst untouched.
//
// Gather and IndexSelect move elements of any dtype (Float16 and BFloat16
// as their bits). ScatterAdd adds in the element type: Float32, Float64,
// Int32 and Int64 (wrapping), and Float16 and BFloat16 with one rounding
// per addition (the sum of two halves is exact in float64 and is rounded
// once back to the half format). Contributions to one dst element are added
// in row-major order of idx, and the kernel is parallel only along one axis
// other than axis (never two goroutines on one dst element; a dst layout
// whose positions may overlap runs serially), so the result does not depend
// on the number of workers.
//
// As in PyTorch, idx (and, for ScatterAdd, dst) may be shorter than src on
// the axes other than axis; only the positions idx covers take part.

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/tessera-ml/tessera/backend"
)

// Gather implements backend.Backend:
// dst[..., i, ...] = src[..., idx[..., i, ...], ...] along axis. A 0-d
// layout is taken as one element.
func (*Backend) Gather(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, idx backend.Buffer, il backend.Layout, axis int) error {
	d, s, x := buf(dst), buf(src), buf(idx)
	ixTypes("Gather", d, s, x)
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	r := len(dl.Shape)
	ixRank("Gather", axis, dl, sl, il)
	for ax := 0; ax < r; ax++ {
		if il.Shape[ax] != dl.Shape[ax] || (ax != axis && sl.Shape[ax] < dl.Shape[ax]) {
			panic(fmt.Sprintf("cpu: Gather: idx shape %v and dst shape %v must be equal and no longer than src shape %v off axis %d",
				il.Shape, dl.Shape, sl.Shape, axis))
		}
	}
	if err := ixValidate("Gather", x.I64, il, sl.Shape[axis], axis); err != nil {
		return err
	}
	ixGather(d, dl, s, sl, x.I64, il, axis)
	return nil
}

// IndexSelect implements backend.Backend: dst is src with the slices along
// axis picked by the 1-D (or 0-d) idx, dst.Shape[axis] = len(idx).
func (*Backend) IndexSelect(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, idx backend.Buffer, il backend.Layout, axis int) error {
	d, s, x := buf(dst), buf(src), buf(idx)
	ixTypes("IndexSelect", d, s, x)
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	if len(il.Shape) != 1 || len(il.Strides) != 1 {
		panic(fmt.Sprintf("cpu: IndexSelect: idx must be 1-D, has shape %v", il.Shape))
	}
	r := len(dl.Shape)
	ixRank("IndexSelect", axis, dl, sl)
	for ax := 0; ax < r; ax++ {
		want := sl.Shape[ax]
		if ax == axis {
			want = il.Shape[0]
		}
		if dl.Shape[ax] != want {
			panic(fmt.Sprintf("cpu: IndexSelect: dst shape %v must be src shape %v with length %d on axis %d",
				dl.Shape, sl.Shape, il.Shape[0], axis))
		}
	}
	if err := ixValidate("IndexSelect", x.I64, il, sl.Shape[axis], axis); err != nil {
		return err
	}
	// Read idx as a layout of dst's shape that steps only along axis.
	bl := backend.Layout{Shape: dl.Shape, Strides: make([]int, r), Offset: il.Offset}
	bl.Strides[axis] = il.Strides[0]
	ixGather(d, dl, s, sl, x.I64, bl, axis)
	return nil
}

// ScatterAdd implements backend.Backend: dst[..., idx[..., i, ...], ...] +=
// src[..., i, ...] along axis, for every position of idx.
func (*Backend) ScatterAdd(dst backend.Buffer, dl backend.Layout, idx backend.Buffer, il backend.Layout, src backend.Buffer, sl backend.Layout, axis int) error {
	d, s, x := buf(dst), buf(src), buf(idx)
	ixTypes("ScatterAdd", d, s, x)
	switch d.dt {
	case backend.Float32, backend.Float64, backend.Int32, backend.Int64, backend.Float16, backend.BFloat16:
	default:
		panic(fmt.Sprintf("cpu: ScatterAdd on %v not supported", d.dt))
	}
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	r := len(dl.Shape)
	ixRank("ScatterAdd", axis, dl, sl, il)
	for ax := 0; ax < r; ax++ {
		if sl.Shape[ax] < il.Shape[ax] || (ax != axis && dl.Shape[ax] < il.Shape[ax]) {
			panic(fmt.Sprintf("cpu: ScatterAdd: idx shape %v must be no longer than src shape %v, and than dst shape %v off axis %d",
				il.Shape, sl.Shape, dl.Shape, axis))
		}
	}
	if err := ixValidate("ScatterAdd", x.I64, il, dl.Shape[axis], axis); err != nil {
		return err
	}
	if il.Size() == 0 {
		return nil
	}
	sc := ixScatter{idx: x.I64, il: il, sl: sl, dOff: dl.Offset, dAx: dl.Strides[axis], part: -1}
	sc.dStr = slices.Clone(dl.Strides)
	sc.dStr[axis] = 0
	if ixNonOverlapping(dl) {
		// Split the work along the longest axis other than axis: positions
		// that differ there update different dst elements.
		for ax, n := range il.Shape {
			if ax != axis && n > 1 && (sc.part < 0 || n > il.Shape[sc.part]) {
				sc.part = ax
			}
		}
	}
	switch d.dt {
	case backend.Float32:
		scatterAddF32(sc, d.F32, s.F32)
	case backend.Float64:
		scatterAdd(sc, d.F64, s.F64)
	case backend.Int32:
		scatterAdd(sc, d.I32, s.I32)
	case backend.Int64:
		scatterAdd(sc, d.I64, s.I64)
	case backend.Float16:
		scatterAddHalf(sc, d.U16, s.U16, Float16ToFloat32, float64ToFloat16)
	case backend.BFloat16:
		scatterAddHalf(sc, d.U16, s.U16, BFloat16ToFloat32, float64ToBFloat16)
	}
	return nil
}

func ixTypes(op string, d, s, x *Buffer) {
	if x.dt != backend.Int64 {
		panic(fmt.Sprintf("cpu: %s: idx must be int64, not %v", op, x.dt))
	}
	if d.dt != s.dt {
		panic(fmt.Sprintf("cpu: %s: dst dtype %v differs from src dtype %v", op, d.dt, s.dt))
	}
}

func ixRank(op string, axis int, dl backend.Layout, ls ...backend.Layout) {
	r := len(dl.Shape)
	for _, l := range append(ls, dl) {
		if len(l.Shape) != r || len(l.Strides) != r {
			panic(fmt.Sprintf("cpu: %s: layouts of shapes %v and %v have different ranks", op, dl.Shape, l.Shape))
		}
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("cpu: %s: axis %d out of range for shape %v", op, axis, dl.Shape))
	}
}

// ixCheck returns an error naming the first index of idx (row-major over
// il) outside [0, limit), or nil.
func ixCheck(op string, idx []int64, il backend.Layout, limit, axis int) error {
	n := il.Size()
	var mu sync.Mutex
	first, bad := -1, int64(0)
	parallelFor(n, 1, func(lo, hi int) {
		pos, done := lo, false
		forRuns(il.Shape, [][]int{il.Strides}, []int{il.Offset}, lo, hi, func(offs []int, m int, inner []int) {
			if done {
				return
			}
			for t := 0; t < m; t++ {
				if v := idx[offs[0]+t*inner[0]]; v < 0 || v >= int64(limit) {
					mu.Lock()
					if first < 0 || pos+t < first {
						first, bad = pos+t, v
					}
					mu.Unlock()
					done = true
					return
				}
			}
			pos += m
		})
	})
	if first < 0 {
		return nil
	}
	at := make([]int, len(il.Shape))
	for d, i := len(at)-1, first; d >= 0; d-- {
		at[d] = i % il.Shape[d]
		i /= il.Shape[d]
	}
	return fmt.Errorf("cpu: %s: index %d at position %v of idx is out of range [0, %d) for axis %d: %w",
		op, bad, at, limit, axis, backend.ErrIndexOutOfRange)
}

// ixGather copies dst[p] = src[p with axis replaced by idx[p]] for every
// position p of dst; the indices are known to be in range.
func ixGather(d *Buffer, dl backend.Layout, s *Buffer, sl backend.Layout, idx []int64, il backend.Layout, axis int) {
	sStr := slices.Clone(sl.Strides)
	sStr[axis] = 0
	g := ixGatherer{dl: dl, sOff: sl.Offset, sStr: sStr, sAx: sl.Strides[axis], idx: idx, il: il}
	switch d.dt {
	case backend.Float32:
		gatherRun(g, d.F32, s.F32)
	case backend.Float64:
		gatherRun(g, d.F64, s.F64)
	case backend.Float16, backend.BFloat16:
		gatherRun(g, d.U16, s.U16)
	case backend.Int32:
		gatherRun(g, d.I32, s.I32)
	case backend.Int64:
		gatherRun(g, d.I64, s.I64)
	case backend.Bool:
		gatherRun(g, d.B, s.B)
	default:
		panic(fmt.Sprintf("cpu: gather on %v not supported", d.dt))
	}
}

// ixGatherer is a gather in offsets: src's strides with 0 on axis (sStr)
// and the stride of axis (sAx), and idx's layout over dst's shape.
type ixGatherer struct {
	dl        backend.Layout
	sOff, sAx int
	sStr      []int
	idx       []int64
	il        backend.Layout
}

func gather[T any](g ixGatherer, dst, src []T) {
	idx, sAx := g.idx, g.sAx
	strides := [][]int{g.dl.Strides, g.sStr, g.il.Strides}
	bases := []int{g.dl.Offset, g.sOff, g.il.Offset}
	parallelFor(g.dl.Size(), 2, func(lo, hi int) {
		forRuns(g.dl.Shape, strides, bases, lo, hi, func(offs []int, n int, inner []int) {
			do, so, io := offs[0], offs[1], offs[2]
			ds, ss, is := inner[0], inner[1], inner[2]
			if is == 0 {
				// One index for the whole run (an IndexSelect row).
				so += int(idx[io]) * sAx
				if ds == 1 && ss == 1 {
					copy(dst[do:do+n], src[so:so+n])
					return
				}
				for t := 0; t < n; t++ {
					dst[do+t*ds] = src[so+t*ss]
				}
				return
			}
			for t := 0; t < n; t++ {
				dst[do+t*ds] = src[so+t*ss+int(idx[io+t*is])*sAx]
			}
		})
	})
}

// ixScatter is a scatter-add in offsets: dst's strides with 0 on axis (dStr)
// and the stride of axis (dAx); the work is split along axis part of idx,
// or not at all when part < 0.
type ixScatter struct {
	idx       []int64
	il, sl    backend.Layout
	dOff, dAx int
	dStr      []int
	part      int
}

// ixRunFunc adds one run of n positions of idx: the src element at
// so + t*ss goes to the dst element at do + t*ds + idx[io + t*is]*dAx.
type ixRunFunc func(do, ds, so, ss, io, is, n int)

// walk calls run for every run of positions of idx, in row-major order
// within each parallel piece.
func (sc ixScatter) walk(run ixRunFunc) {
	strides := [][]int{sc.dStr, sc.sl.Strides, sc.il.Strides}
	// piece adds the positions whose index on axis part is in [lo, hi).
	piece := func(lo, hi int) {
		shape := sc.il.Shape
		bases := []int{sc.dOff, sc.sl.Offset, sc.il.Offset}
		if sc.part >= 0 {
			shape = slices.Clone(shape)
			shape[sc.part] = hi - lo
			for j, st := range strides {
				bases[j] += lo * st[sc.part]
			}
		}
		forRuns(shape, strides, bases, 0, backend.NumElements(shape), func(offs []int, n int, inner []int) {
			run(offs[0], inner[0], offs[1], inner[1], offs[2], inner[2], n)
		})
	}
	if sc.part < 0 {
		piece(0, 1)
		return
	}
	n := sc.il.Shape[sc.part]
	parallelFor(n, 2*sc.il.Size()/n, piece)
}

type ixNum interface {
	float32 | float64 | int32 | int64
}

func scatterAdd[T ixNum](sc ixScatter, dst, src []T) {
	idx, dAx := sc.idx, sc.dAx
	sc.walk(func(do, ds, so, ss, io, is, n int) {
		for t := 0; t < n; t++ {
			dst[do+t*ds+int(idx[io+t*is])*dAx] += src[so+t*ss]
		}
	})
}

// scatterAddHalf adds 16-bit floats: each sum of two halves is exact in
// float64 and is rounded once back to the half format.
func scatterAddHalf(sc ixScatter, dst, src []uint16, dec func(uint16) float32, enc func(float64) uint16) {
	idx, dAx := sc.idx, sc.dAx
	sc.walk(func(do, ds, so, ss, io, is, n int) {
		for t := 0; t < n; t++ {
			o := do + t*ds + int(idx[io+t*is])*dAx
			dst[o] = enc(float64(dec(dst[o])) + float64(dec(src[so+t*ss])))
		}
	})
}

// ixNonOverlapping reports whether no two positions of l address the same
// element (a sufficient test: sorted by stride, each axis of length > 1
// steps past everything the smaller axes reach).
func ixNonOverlapping(l backend.Layout) bool {
	type axis struct{ n, st int }
	var axes []axis
	for i, n := range l.Shape {
		if n > 1 {
			axes = append(axes, axis{n, l.Strides[i]})
		}
	}
	sort.Slice(axes, func(i, j int) bool { return axes[i].st < axes[j].st })
	reach := 0
	for _, a := range axes {
		if a.st <= reach {
			return false
		}
		reach += (a.n - 1) * a.st
	}
	return true
}
