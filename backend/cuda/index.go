//go:build cuda

package cuda

// Gather, IndexSelect and ScatterAdd. Indices are checked on the device
// (kernels/index.cu): the check kernel leaves the first bad position of
// idx (row-major) in an error word, the gather or scatter kernel queued
// behind it does nothing when the word is set, and the host reads the word
// after both, so an out-of-range index returns an error and leaves dst
// untouched, as on the CPU. Reading the word waits for the stream: each
// index op synchronises once.
//
// ScatterAdd adds with atomics, so contributions to one element are summed
// in an unspecified order: float results may differ from the CPU's (which
// adds in row-major order of idx) by rounding when indices repeat.

import (
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
	"gorgonia.org/cu"
)

// Gather implements backend.Backend.
func (be *Backend) Gather(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, idx backend.Buffer, il backend.Layout, axis int) error {
	d, s, x := be.buf(dst), be.buf(src), be.buf(idx)
	ixTypes("Gather", d, s, x)
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	ixRank("Gather", axis, dl, sl, il)
	for ax := range dl.Shape {
		if il.Shape[ax] != dl.Shape[ax] || (ax != axis && sl.Shape[ax] < dl.Shape[ax]) {
			panic(fmt.Sprintf("cuda: Gather: idx shape %v and dst shape %v must be equal and no longer than src shape %v off axis %d",
				il.Shape, dl.Shape, sl.Shape, axis))
		}
	}
	err := be.ixRun("Gather", x, il, sl.Shape[axis], axis, func() {
		be.gather(d, dl, s, sl, x, il, axis)
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
	runtime.KeepAlive(x)
	return err
}

// IndexSelect implements backend.Backend.
func (be *Backend) IndexSelect(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout, idx backend.Buffer, il backend.Layout, axis int) error {
	d, s, x := be.buf(dst), be.buf(src), be.buf(idx)
	ixTypes("IndexSelect", d, s, x)
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	if len(il.Shape) != 1 || len(il.Strides) != 1 {
		panic(fmt.Sprintf("cuda: IndexSelect: idx must be 1-D, has shape %v", il.Shape))
	}
	ixRank("IndexSelect", axis, dl, sl)
	for ax := range dl.Shape {
		want := sl.Shape[ax]
		if ax == axis {
			want = il.Shape[0]
		}
		if dl.Shape[ax] != want {
			panic(fmt.Sprintf("cuda: IndexSelect: dst shape %v must be src shape %v with length %d on axis %d",
				dl.Shape, sl.Shape, il.Shape[0], axis))
		}
	}
	// Read idx as a layout of dst's shape that steps only along axis.
	bl := backend.Layout{Shape: dl.Shape, Strides: make([]int, len(dl.Shape)), Offset: il.Offset}
	bl.Strides[axis] = il.Strides[0]
	err := be.ixRun("IndexSelect", x, il, sl.Shape[axis], axis, func() {
		be.gather(d, dl, s, sl, x, bl, axis)
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
	runtime.KeepAlive(x)
	return err
}

// ScatterAdd implements backend.Backend.
func (be *Backend) ScatterAdd(dst backend.Buffer, dl backend.Layout, idx backend.Buffer, il backend.Layout, src backend.Buffer, sl backend.Layout, axis int) error {
	d, s, x := be.buf(dst), be.buf(src), be.buf(idx)
	ixTypes("ScatterAdd", d, s, x)
	switch d.dt {
	case backend.Float32, backend.Float64, backend.Int32, backend.Int64, backend.Float16, backend.BFloat16:
	default:
		panic(fmt.Sprintf("cuda: ScatterAdd on %v not supported", d.dt))
	}
	dl, sl, il = oneIfScalar(dl), oneIfScalar(sl), oneIfScalar(il)
	ixRank("ScatterAdd", axis, dl, sl, il)
	for ax := range dl.Shape {
		if sl.Shape[ax] < il.Shape[ax] || (ax != axis && dl.Shape[ax] < il.Shape[ax]) {
			panic(fmt.Sprintf("cuda: ScatterAdd: idx shape %v must be no longer than src shape %v, and than dst shape %v off axis %d",
				il.Shape, sl.Shape, dl.Shape, axis))
		}
	}
	err := be.ixRun("ScatterAdd", x, il, dl.Shape[axis], axis, func() {
		dStr := slices.Clone(dl.Strides)
		dStr[axis] = 0
		k := be.kernel(kkey{famScatter, uint8(d.dt), 0, 0}, kernels.Index, func() string { return "scatter_add_" + suffix(d.dt) })
		be.ixLaunch(k, il.Shape, [3][]int{dStr, sl.Strides, il.Strides}, [3]int{dl.Offset, sl.Offset, il.Offset},
			[3]uint64{d.addr(0), s.addr(0), x.addr(0)}, dl.Strides[axis], 0)
	})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
	runtime.KeepAlive(x)
	return err
}

func ixTypes(op string, d, s, x *Buffer) {
	if x.dt != backend.Int64 {
		panic(fmt.Sprintf("cuda: %s: idx must be int64, not %v", op, x.dt))
	}
	if d.dt != s.dt {
		panic(fmt.Sprintf("cuda: %s: dst dtype %v differs from src dtype %v", op, d.dt, s.dt))
	}
}

func ixRank(op string, axis int, dl backend.Layout, ls ...backend.Layout) {
	r := len(dl.Shape)
	for _, l := range append(ls, dl) {
		if len(l.Shape) != r || len(l.Strides) != r {
			panic(fmt.Sprintf("cuda: %s: layouts of shapes %v and %v have different ranks", op, dl.Shape, l.Shape))
		}
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("cuda: %s: axis %d out of range for shape %v", op, axis, dl.Shape))
	}
}

// gather queues dst[p] = src[p with axis replaced by idx[p]] over dst's
// positions (idx read through il, a layout of dst's shape).
func (be *Backend) gather(d *Buffer, dl backend.Layout, s *Buffer, sl backend.Layout, x *Buffer, il backend.Layout, axis int) {
	sStr := slices.Clone(sl.Strides)
	sStr[axis] = 0
	k := be.kernel(kkey{famGather, uint8(d.dt.Size()), 0, 0}, kernels.Index, func() string { return "gather_" + bitsName(d.dt) })
	be.ixLaunch(k, dl.Shape, [3][]int{dl.Strides, sStr, il.Strides}, [3]int{dl.Offset, sl.Offset, il.Offset},
		[3]uint64{d.addr(0), s.addr(0), x.addr(0)}, sl.Strides[axis], 0)
}

// ixLaunch queues an index kernel over the positions of shape.
func (be *Backend) ixLaunch(k kfn, shape []int, st [3][]int, off [3]int, ptrs [3]uint64, axStride, limit int) {
	n := backend.NumElements(shape)
	if n == 0 {
		return
	}
	sh, mst := coalesce(shape, st[0], st[1], st[2])
	if len(sh) > maxDims {
		panic(fmt.Sprintf("cuda: %s: more than %d axes that cannot be merged (%v)", k.name, maxDims, shape))
	}
	var a ixArgs
	a.N, a.ND = int64(n), int64(len(sh))
	for d := range sh {
		a.Shape[d] = int64(sh[d])
		for j := 0; j < 3; j++ {
			a.St[j][d] = int64(mst[j][d])
		}
	}
	for j := 0; j < 3; j++ {
		a.Off[j] = int64(off[j])
		a.Ptr[j] = ptrs[j]
	}
	a.AxStride, a.Limit = int64(axStride), int64(limit)
	a.Flag = uint64(be.ixw.ptr)
	p, size := a.ptr()
	be.launch(k.fn, k.name, be.gridFor(a.N), 1, p, size)
}

// ixRun checks idx (layout il) against [0, limit) and runs queue, which
// queues the kernel that uses the indices; it returns the error naming the
// first index out of range.
func (be *Backend) ixRun(op string, x *Buffer, il backend.Layout, limit, axis int, queue func()) error {
	if il.Size() == 0 {
		return nil
	}
	be.ixMu.Lock()
	defer be.ixMu.Unlock()
	if err := be.with(func() error { return cu.MemsetD8Async(be.ixw.ptr, 0xff, 8, be.stream) }); err != nil {
		return fmt.Errorf("cuda: %s: %w", op, err)
	}
	k := be.kernel(kkey{famIxCheck, 0, 0, 0}, kernels.Index, func() string { return "ixcheck" })
	zero := make([]int, len(il.Shape))
	be.ixLaunch(k, il.Shape, [3][]int{zero, zero, il.Strides}, [3]int{0, 0, il.Offset}, [3]uint64{0, 0, x.addr(0)}, 0, limit)
	queue()
	var word uint64
	err := be.with(func() error {
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&word), be.ixw.ptr, 8, be.stream); err != nil {
			return err
		}
		return be.stream.Synchronize()
	})
	if err != nil {
		return fmt.Errorf("cuda: %s: %w", op, err)
	}
	if word == ^uint64(0) {
		return nil
	}
	pos := int(word)
	at := make([]int, len(il.Shape))
	off := il.Offset
	for d, i := len(at)-1, pos; d >= 0; d-- {
		at[d] = i % il.Shape[d]
		i /= il.Shape[d]
		off += at[d] * il.Strides[d]
	}
	bad := make([]int64, 1)
	if err := be.Read(x, off, bad); err != nil {
		return fmt.Errorf("cuda: %s: index at position %v of idx is out of range [0, %d) for axis %d (reading it: %v)", op, at, limit, axis, err)
	}
	return fmt.Errorf("cuda: %s: index %d at position %v of idx is out of range [0, %d) for axis %d",
		op, bad[0], at, limit, axis)
}
