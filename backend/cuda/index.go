//go:build cuda

package cuda

// Gather, IndexSelect and ScatterAdd. Indices are checked on the device
// (kernels/index.cu): the check kernel leaves the first bad position of
// idx (row-major) and its value in an error slot, and the gather or
// scatter kernel queued behind it does nothing when its slot is set, so an
// out-of-range index leaves dst untouched, as on the CPU.
//
// The host does not wait for the check. Each index op takes the next of
// ixSlots slots and returns; the slots are read back, in one copy, at the
// next call that waits for the stream anyway (Synchronize, Read) or when
// they run out, and the first error, in the order the ops were queued, is
// returned from that call. This is how CUDA reports errors of queued work,
// and it keeps the host from stalling once per index op (a wait for the
// whole queue: 45% of a CNN step's host time on an H100 when each op
// waited). TESSERA_CUDA_SYNC_CHECKS=1, or SetSyncIndexChecks(true), makes
// every index op wait and return its own error, for debugging.
//
// ScatterAdd adds with atomics, so contributions to one element are summed
// in an unspecified order: float results may differ from the CPU's (which
// adds in row-major order of idx) by rounding when indices repeat.

import (
	"fmt"
	"math"
	"os"
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
	err := be.ixRun("Gather", x, il, sl.Shape[axis], axis, func(flag uint64) {
		be.gather(d, dl, s, sl, x, il, axis, flag)
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
	err := be.ixRun("IndexSelect", x, il, sl.Shape[axis], axis, func(flag uint64) {
		be.gather(d, dl, s, sl, x, bl, axis, flag)
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
	err := be.ixRun("ScatterAdd", x, il, dl.Shape[axis], axis, func(flag uint64) {
		dStr := slices.Clone(dl.Strides)
		dStr[axis] = 0
		k := be.kernel(kkey{famScatter, uint8(d.dt), 0, 0}, kernels.Index, func() string { return "scatter_add_" + suffix(d.dt) })
		be.ixLaunch(k, il.Shape, [3][]int{dStr, sl.Strides, il.Strides}, [3]int{dl.Offset, sl.Offset, il.Offset},
			[3]uint64{d.addr(0), s.addr(0), x.addr(0)}, dl.Strides[axis], 0, flag)
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
func (be *Backend) gather(d *Buffer, dl backend.Layout, s *Buffer, sl backend.Layout, x *Buffer, il backend.Layout, axis int, flag uint64) {
	sStr := slices.Clone(sl.Strides)
	sStr[axis] = 0
	k := be.kernel(kkey{famGather, uint8(d.dt.Size()), 0, 0}, kernels.Index, func() string { return "gather_" + bitsName(d.dt) })
	be.ixLaunch(k, dl.Shape, [3][]int{dl.Strides, sStr, il.Strides}, [3]int{dl.Offset, sl.Offset, il.Offset},
		[3]uint64{d.addr(0), s.addr(0), x.addr(0)}, sl.Strides[axis], 0, flag)
}

// ixLaunch queues an index kernel over the positions of shape.
func (be *Backend) ixLaunch(k kfn, shape []int, st [3][]int, off [3]int, ptrs [3]uint64, axStride, limit int, flag uint64) {
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
	a.Flag = flag
	p, size := a.ptr()
	be.launch(k.fn, k.name, be.gridFor(a.N), 1, p, size)
}

// ixSlots is the number of index ops that may be queued between two
// reads of their error slots.
const ixSlots = 1024

// ixPending describes the index op that owns a slot, for its error.
type ixPending struct {
	op          string
	shape       []int // idx's
	limit, axis int
}

// syncChecks is TESSERA_CUDA_SYNC_CHECKS=1: every index op waits for its
// check (SetSyncIndexChecks changes it per backend).
var syncChecks = os.Getenv("TESSERA_CUDA_SYNC_CHECKS") == "1"

// SetSyncIndexChecks makes each Gather, IndexSelect and ScatterAdd wait
// for its index check and return its own error (on), or return at once
// and leave the error to the next Synchronize or Read (off, the default
// unless TESSERA_CUDA_SYNC_CHECKS=1). Waiting costs a stall of the host
// per index op; use it to find which op got a bad index.
func (be *Backend) SetSyncIndexChecks(on bool) {
	be.ixMu.Lock()
	be.ixSync = on
	be.ixMu.Unlock()
}

// ixRun checks idx (layout il) against [0, limit) and runs queue, which
// queues the kernel that uses the indices with the error slot at flag.
// It returns an error only when it had to read the slots (they ran out,
// or checks are synchronous); see the file's comment.
func (be *Backend) ixRun(op string, x *Buffer, il backend.Layout, limit, axis int, queue func(flag uint64)) error {
	if il.Size() == 0 {
		return nil
	}
	be.ixMu.Lock()
	defer be.ixMu.Unlock()
	if len(be.ixPend) == ixSlots {
		if err := be.ixHarvest(); err != nil {
			return err
		}
	}
	flag := uint64(be.ixw.ptr) + 8*uint64(len(be.ixPend))
	be.ixPend = append(be.ixPend, ixPending{op: op, shape: slices.Clone(il.Shape), limit: limit, axis: axis})
	k := be.kernel(kkey{famIxCheck, 0, 0, 0}, kernels.Index, func() string { return "ixcheck" })
	zero := make([]int, len(il.Shape))
	be.ixLaunch(k, il.Shape, [3][]int{zero, zero, il.Strides}, [3]int{0, 0, il.Offset}, [3]uint64{0, 0, x.addr(0)}, 0, limit, flag)
	queue(flag)
	if be.ixSync || syncChecks {
		return be.ixHarvest()
	}
	return nil
}

// ixHarvest reads the slots of the queued index ops (waiting for them),
// re-arms them, and returns the first error. The caller holds ixMu.
func (be *Backend) ixHarvest() error {
	n := len(be.ixPend)
	if n == 0 {
		return nil
	}
	words := make([]uint64, n)
	err := be.with(func() error {
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&words[0]), be.ixw.ptr, int64(8*n), be.stream); err != nil {
			return err
		}
		if err := cu.MemsetD8Async(be.ixw.ptr, 0xff, int64(8*n), be.stream); err != nil {
			return err
		}
		return be.stream.Synchronize()
	})
	pend := be.ixPend
	be.ixPend = be.ixPend[:0]
	if err != nil {
		return fmt.Errorf("cuda: reading the index checks: %w", err)
	}
	for i, w := range words {
		if w != ^uint64(0) {
			return pend[i].err(w, be.ixSync || syncChecks)
		}
	}
	return nil
}

// err decodes a slot: the position of the first bad index (row-major over
// idx's shape) in the high 32 bits, its value in the low 32 (0x80000000
// when it does not fit an int32).
func (p ixPending) err(w uint64, own bool) error {
	pos, v := int(w>>32), int32(uint32(w))
	at := make([]int, len(p.shape))
	for d, i := len(at)-1, pos; d >= 0; d-- {
		at[d] = i % p.shape[d]
		i /= p.shape[d]
	}
	value := fmt.Sprint(v)
	if v == math.MinInt32 {
		value = "outside the int32 range"
	}
	when := ""
	if !own {
		when = " (queued earlier; index ops on CUDA report errors at the next Synchronize or Read: TESSERA_CUDA_SYNC_CHECKS=1 reports them at the op)"
	}
	return fmt.Errorf("cuda: %s: index %s at position %v of idx is out of range [0, %d) for axis %d%s: %w",
		p.op, value, at, p.limit, p.axis, when, backend.ErrIndexOutOfRange)
}
