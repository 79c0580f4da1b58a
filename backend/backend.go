// Package backend is the contract between tensors and kernels.
//
// A Backend owns buffers on one device and runs kernels on them. Kernels
// receive buffers plus Layouts and never see a tensor; all shape logic —
// validation, broadcasting (expressed as stride-0 axes), type promotion and
// output shapes — is resolved by package tensor before a kernel runs, so a
// kernel may assume its arguments are consistent.
//
// Kernels compute on Float32, Float64, Int32, Int64 and Bool buffers (see
// Op.IntOK for which ops accept integers). Float16 and BFloat16 are storage
// types: Copy, Cast, Fill and the index kernels move them, and package
// tensor computes on them in float32.
//
// Host code never reaches into a buffer: Read and Write copy between a buffer
// and host memory (and synchronise, on devices that run asynchronously).
package backend

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// DeviceType names a kind of device.
type DeviceType uint8

const (
	CPU DeviceType = iota
	CUDA
)

func (t DeviceType) String() string {
	switch t {
	case CPU:
		return "cpu"
	case CUDA:
		return "cuda"
	}
	return fmt.Sprintf("device(%d)", uint8(t))
}

// Device is one device: a type and an ordinal (0 for the CPU).
type Device struct {
	Type  DeviceType
	Index int
}

// String prints "cpu" or "cuda:N", like PyTorch.
func (d Device) String() string {
	if d.Type == CPU {
		return "cpu"
	}
	return fmt.Sprintf("%s:%d", d.Type, d.Index)
}

// Buffer is an opaque handle to device memory holding Len elements of DType.
// Only the Backend that made it may look inside.
type Buffer interface {
	DType() DType
	Len() int
}

// Backend runs kernels on one device. Every kernel writes into a dst buffer
// laid out by dst Layout; src layouts have the same shape as dst unless the
// method says otherwise. Output layouts never overlap their inputs' elements
// unless they are exactly equal (in-place elementwise ops are allowed).
type Backend interface {
	Device() Device
	Name() string

	// Alloc returns a zero-filled buffer of n elements. It fails only for
	// device memory exhaustion.
	Alloc(dt DType, n int) (Buffer, error)
	// Free releases a buffer early; using it afterwards is undefined. Buffers
	// not freed are reclaimed by the garbage collector on the CPU.
	Free(b Buffer)
	// Write copies host values into b[off:]. src is a slice of the Go
	// type matching b's dtype: []float32, []float64, []uint16 (Float16 and
	// BFloat16 bits), []int32, []int64 or []bool.
	Write(b Buffer, off int, src any) error
	// Read copies b[off:off+len(dst)] into dst, a slice as for Write.
	Read(b Buffer, off int, dst any) error

	// Fill sets every element of dst to v (converted to dst's dtype).
	Fill(dst Buffer, dl Layout, v float64)
	// Copy copies src to dst elementwise, converting dtypes if they differ
	// (Cast). Float to int conversion truncates toward zero; to Bool is x != 0.
	Copy(dst Buffer, dl Layout, src Buffer, sl Layout)
	// Unary computes dst = op(src). dst and src have the same dtype.
	Unary(op Op, dst Buffer, dl Layout, src Buffer, sl Layout)
	// Binary computes dst = op(a, b). a and b have the same dtype; dst has it
	// too, or Bool for comparisons.
	Binary(op Op, dst Buffer, dl Layout, a Buffer, al Layout, b Buffer, bl Layout)
	// Where computes dst = cond ? a : b; cond is Bool, a, b and dst share a dtype.
	Where(dst Buffer, dl Layout, cond Buffer, cl Layout, a Buffer, al Layout, b Buffer, bl Layout)
	// Reduce reduces src over the axes listed (sorted, distinct) into dst,
	// whose layout has src's rank with size 1 on the reduced axes. Sum of
	// no elements is 0, Prod 1; Max and Min of no elements are never asked.
	// Max and Min propagate NaN.
	Reduce(op Op, dst Buffer, dl Layout, src Buffer, sl Layout, axes []int)
	// ArgReduce writes to the Int64 dst (src's rank, size 1 on axis) the index
	// along axis of the first maximum (OpArgMax) or minimum (OpArgMin); a NaN
	// counts as the extreme.
	ArgReduce(op Op, dst Buffer, dl Layout, src Buffer, sl Layout, axis int)
	// MatMul computes dst[p] = a[p] @ b[p] for rank-3 layouts
	// a [B, M, K], b [B, K, N], dst [B, M, N]. Transposes and batch
	// broadcasting arrive as strides (a stride of 0 on B repeats a matrix).
	MatMul(dst Buffer, dl Layout, a Buffer, al Layout, b Buffer, bl Layout)
	// Softmax computes a numerically stable softmax (or log-softmax) of src
	// along axis into dst.
	Softmax(dst Buffer, dl Layout, src Buffer, sl Layout, axis int, log bool)
	// Gather sets dst[..., i, ...] = src[..., idx[..., i, ...], ...] along
	// axis (torch.gather): idx (Int64) has dst's layout shape; src differs
	// from dst only along axis. It returns an error naming the first index
	// outside [0, src.Shape[axis]) and wrapping ErrIndexOutOfRange, and
	// leaves dst untouched. A backend that queues work (CUDA) may return
	// the error from its next Synchronize or Read instead; so may
	// IndexSelect and ScatterAdd.
	Gather(dst Buffer, dl Layout, src Buffer, sl Layout, idx Buffer, il Layout, axis int) error
	// IndexSelect sets dst to the slices of src picked by the 1-D Int64 idx
	// along axis (torch.index_select).
	IndexSelect(dst Buffer, dl Layout, src Buffer, sl Layout, idx Buffer, il Layout, axis int) error
	// ScatterAdd adds src[..., i, ...] into dst[..., idx[..., i, ...], ...]
	// along axis (torch.Tensor.scatter_add_): idx (Int64) and src share a
	// shape; dst differs from it only along axis. dst is updated in place.
	ScatterAdd(dst Buffer, dl Layout, idx Buffer, il Layout, src Buffer, sl Layout, axis int) error
	// Synchronize waits until all queued work has finished.
	Synchronize() error
}

// UninitAllocator is implemented by backends that can hand out a buffer
// without zeroing it, for outputs a kernel overwrites completely. Callers
// must write every element before reading any.
type UninitAllocator interface {
	AllocUninit(dt DType, n int) (Buffer, error)
}

// Axpby is implemented by backends with a fused scaled add:
// dst = alpha·a + beta·b over one layout shape, in one pass. dst may be
// exactly a or b (the in-place updates of optimizers). Package tensor falls
// back to Binary ops on backends without it.
type Axpby interface {
	Axpby(dst Buffer, dl Layout, alpha float64, a Buffer, al Layout, beta float64, b Buffer, bl Layout)
}

// AdamArgs are the scalars of one fused Adam or AdamW update (see Adam).
type AdamArgs struct {
	Decay        float64 // p's factor before the update: AdamW's 1 − lr·wd (1: none)
	Beta1, Beta2 float64
	StepSize     float64 // lr / (1 − β1^t)
	BC2Sqrt      float64 // √(1 − β2^t)
	Eps          float64
}

// Adam is implemented by backends with a fused Adam/AdamW update of one
// parameter: p, its gradient g and the running averages m and v, n
// contiguous elements each from the given offsets, one dtype (Float32 or
// Float64). Per element, in that dtype, with each constant rounded to it
// first (the rounding of package optim's composite update):
//
//	p = p·Decay                       (skipped when Decay is 1)
//	m = Beta1·m + (1−Beta1)·g
//	v = v·Beta2 + (1−Beta2)·(g·g)
//	p = p + (−StepSize)·(m / (√v / BC2Sqrt + Eps))
//
// One pass instead of about fourteen kernels per parameter.
type Adam interface {
	AdamUpdate(p Buffer, pOff int, g Buffer, gOff int, m Buffer, mOff int, v Buffer, vOff int, n int, a AdamArgs)
}

// Window2d is the geometry of a 2-D sliding window over planes of
// InH×InW elements stored contiguously (one plane per batch element and
// channel), with zero padding: output position (oh, ow) with kernel tap
// (ki, kj) reads row oh·SH − PadT + ki·DH and column ow·SW − PadL + kj·DW,
// and a tap outside the plane reads padding. K = KH·KW taps, L = OutH·OutW
// output positions.
type Window2d struct {
	InH, InW, OutH, OutW int
	KH, KW               int // kernel
	SH, SW               int // stride
	PadT, PadL           int // top and left padding (OutH and OutW imply the rest)
	DH, DW               int // dilation
}

// ColStrides places the columns of Unfold2d and Fold2d: entry (n, c, k, l)
// (batch element, channel, kernel tap, output position) sits at
// n·N + c·C + k·K + l from the buffer offset. {C·K·L, K·L, L} is the
// row-major [N, C, K, L]; {L, K·N·L, N·L} stores [C, K, N, L], in which
// the columns of the whole batch form one C·K × N·L matrix.
type ColStrides struct{ N, C, K int }

// Windows is implemented by backends with direct sliding-window kernels
// (im2col, col2im and max pooling) over contiguous planes
// [n, c, InH, InW], for Float32 and Float64; src and dst start at the
// given element offsets. Package tensor builds the same results from
// IndexSelect, ScatterAdd, ArgMax and Gather on backends without it.
type Windows interface {
	// Unfold2d writes the columns of src to dst at ds: entry (n, c, k, l)
	// is the element of plane (n, c) that tap k of output position l
	// reads, 0 in the padding.
	Unfold2d(dst Buffer, dOff int, ds ColStrides, src Buffer, sOff int, n, c int, w Window2d)
	// Fold2d is Unfold2d's adjoint: it overwrites dst [n, c, InH, InW]
	// with the sum, for each element, of the src entries (at ss) that
	// Unfold2d would have read from it. Each element is summed in one
	// fixed order, so results do not depend on the worker count.
	Fold2d(dst Buffer, dOff int, src Buffer, sOff int, ss ColStrides, n, c int, w Window2d)
	// WindowMax2d writes, for each window of the planes [planes, InH·InW]
	// of src, its maximum to max (src's dtype) and the maximum's in-plane
	// position (row·InW + column) to at (Int64), both [planes, L]. The
	// maximum is taken over the taps inside the plane in row-major tap
	// order, as torch's max_pool2d takes it: the first of equal maxima,
	// except that a NaN replaces any value before it (so the last NaN
	// wins); a window whose elements are all −∞ gives its first element
	// inside the plane. Every window must hold an element of the plane.
	WindowMax2d(max Buffer, mOff int, at Buffer, aOff int, src Buffer, sOff int, planes int, w Window2d)
	// WindowMax2dGrad is WindowMax2d's adjoint: it overwrites dst
	// [planes, InH·InW] with zeros plus, for each window, g [planes, L]
	// added at the window's position at (Int64 [planes, L], in-plane
	// positions; one outside the plane panics). Windows are added in
	// order, so results do not depend on the worker count.
	WindowMax2dGrad(dst Buffer, dOff int, g Buffer, gOff int, at Buffer, aOff int, planes int, w Window2d)
}

// Rows is implemented by backends with fused kernels over contiguous rows
// of n elements, for Float32 and Float64 (rows·n elements from each
// offset; rstd holds one value per row): the normalisation of LayerNorm
// and GroupNorm and the backward passes of it and of softmax, each one
// pass per row instead of five to seven elementwise and reduction ops.
// Package tensor composes the same results from ordinary ops on backends
// without it.
type Rows interface {
	// NormalizeRows sets, per row, y = (x − mean)·rstd with
	// rstd = 1/√(var + eps) and var the biased variance.
	NormalizeRows(y Buffer, yOff int, rstd Buffer, rOff int, x Buffer, xOff int, rows, n int, eps float64)
	// NormalizeRowsGrad sets, per row, dx = (g − mean(g) − y·mean(g·y))·rstd:
	// the gradient that reaches x when g reaches y = NormalizeRows(x).
	NormalizeRowsGrad(dx Buffer, dOff int, g Buffer, gOff int, y Buffer, yOff int, rstd Buffer, rOff int, rows, n int)
	// SoftmaxRowsGrad sets, per row, dx = y·(g − Σ g·y): the gradient that
	// reaches x when g reaches y = softmax(x).
	SoftmaxRowsGrad(dx Buffer, dOff int, g Buffer, gOff int, y Buffer, yOff int, rows, n int)
}

// ErrIndexOutOfRange is wrapped by the errors of Gather, IndexSelect and
// ScatterAdd (or of a later Synchronize or Read) for an index outside the
// indexed axis.
var ErrIndexOutOfRange = errors.New("index out of range")

// ErrNoCUDA is returned when a CUDA device is asked for in a build without
// the cuda tag.
var ErrNoCUDA = errors.New("tessera was built without CUDA support: rebuild with -tags cuda")

// Factory opens the backend of one device of a type.
type Factory func(index int) (Backend, error)

var (
	regMu     sync.Mutex
	factories = map[DeviceType]Factory{}
	opened    = map[Device]Backend{}
)

// Register makes a device type available. Backends call it from init.
func Register(t DeviceType, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	factories[t] = f
}

// Get returns the (shared) backend of d, opening it on first use.
func Get(d Device) (Backend, error) {
	regMu.Lock()
	defer regMu.Unlock()
	if be, ok := opened[d]; ok {
		return be, nil
	}
	f, ok := factories[d.Type]
	if !ok {
		if d.Type == CUDA {
			return nil, ErrNoCUDA
		}
		return nil, fmt.Errorf("backend: no backend registered for device %v", d)
	}
	be, err := f(d.Index)
	if err != nil {
		return nil, fmt.Errorf("backend: open %v: %w", d, err)
	}
	opened[d] = be
	return be, nil
}

// Registered lists the device types with a registered backend.
func Registered() []DeviceType {
	regMu.Lock()
	defer regMu.Unlock()
	var out []DeviceType
	for t := range factories {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Fused is implemented by backends with fused backward kernels for ops
// whose gradient would otherwise take many elementwise passes. Package
// tensor falls back to composing ordinary ops on backends without it.
type Fused interface {
	// GELUGrad sets dst = g·gelu'(x) for the erf-form GELU, gelu'(x) =
	// Φ(x) + x·φ(x); g, x and dst share a float dtype and a shape.
	GELUGrad(dst Buffer, dl Layout, g Buffer, gl Layout, x Buffer, xl Layout)
	// ReLUGrad sets dst = g where x > 0, else 0 (NaN x gives 0): ReLU's
	// backward as one select instead of compare, cast and multiply.
	ReLUGrad(dst Buffer, dl Layout, g Buffer, gl Layout, x Buffer, xl Layout)
}
