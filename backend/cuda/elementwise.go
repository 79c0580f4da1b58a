//go:build cuda

package cuda

// Elementwise kernels: Fill, Copy (and Cast), Unary, Binary (with the
// comparisons) and Where. The host merges the axes that every operand
// walks uniformly (a contiguous operand becomes one run, a broadcast scalar
// one axis of stride 0), and the kernel walks the merged shape with a
// grid-stride loop, taking a fast path when every operand has stride 1 on
// a single axis. Semantics are the CPU backend's; see kernels/*.cu.

import (
	"fmt"
	"math"
	"runtime"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cpu"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
)

// Kernel families, for kkey.
const (
	famFill uint8 = iota + 1
	famCopy
	famCast
	famUnary
	famBinary
	famWhere
	famReduce
	famArg
	famSoftmax
	famIxCheck
	famGather
	famScatter
	famGemm
	famFused
)

// ew launches an elementwise kernel over the layouts (dst first) of the
// buffers at ptrs.
func (be *Backend) ew(fn kfn, ls []backend.Layout, ptrs []uint64, bits ...uint64) {
	n := ls[0].Size()
	if n == 0 {
		return
	}
	strides := make([][]int, len(ls))
	offs := make([]int, len(ls))
	for j, l := range ls {
		strides[j] = l.Strides
		offs[j] = l.Offset
	}
	shape, st := coalesce(ls[0].Shape, strides...)
	var b [2]uint64
	copy(b[:], bits)
	be.ewRun(fn, shape, st, offs, ptrs, b)
}

// kfn is a kernel with its name, for messages.
type kfn struct {
	fn   cfunc
	name string
}

func (be *Backend) ewRun(k kfn, shape []int, st [][]int, offs []int, ptrs []uint64, bits [2]uint64) {
	if len(shape) > maxDims {
		// Too many axes for the kernel's arrays: one launch per index of
		// the outermost axis.
		sub := make([]int, len(offs))
		inner := make([][]int, len(st))
		for j := range st {
			inner[j] = st[j][1:]
		}
		for i := 0; i < shape[0]; i++ {
			for j := range offs {
				sub[j] = offs[j] + i*st[j][0]
			}
			be.ewRun(k, shape[1:], inner, sub, ptrs, bits)
		}
		return
	}
	var a ewArgs
	a.N = int64(backend.NumElements(shape))
	a.ND = int64(len(shape))
	for d, n := range shape {
		a.Shape[d] = int64(n)
	}
	contig := len(shape) == 1
	for j := range st {
		a.Off[j] = int64(offs[j])
		a.Ptr[j] = ptrs[j]
		for d, s := range st[j] {
			a.St[j][d] = int64(s)
		}
		if st[j][0] != 1 {
			contig = false
		}
	}
	if contig {
		a.Contig = 1
	}
	a.Bits, a.Bits2 = bits[0], bits[1]
	p, size := a.ptr()
	be.launch(k.fn, k.name, be.gridFor(a.N), 1, p, size)
}

// ---------------------------------------------------------------- Fill

// Fill implements backend.Backend. v is converted to dst's dtype exactly
// as the CPU backend converts it (the CPU does the conversion).
func (be *Backend) Fill(dst backend.Buffer, dl backend.Layout, v float64) {
	d := be.buf(dst)
	checkShapes("Fill", dl)
	k := be.kernel(kkey{famFill, uint8(d.dt.Size()), 0, 0}, kernels.Bits, func() string { return "fill_" + bitsName(d.dt) })
	be.ew(k, []backend.Layout{dl}, []uint64{d.addr(0)}, fillBits(d.dt, v))
	runtime.KeepAlive(d)
}

// fillBits returns the bits of v converted to dt, in the low bytes.
func fillBits(dt backend.DType, v float64) uint64 {
	h := cpu.NewBuffer(dt, 1)
	cpu.Default.Fill(h, backend.Contiguous([]int{1}), v)
	switch dt {
	case backend.Float32:
		return uint64(math.Float32bits(h.F32[0]))
	case backend.Float64:
		return math.Float64bits(h.F64[0])
	case backend.Float16, backend.BFloat16:
		return uint64(h.U16[0])
	case backend.Int32:
		return uint64(uint32(h.I32[0]))
	case backend.Int64:
		return uint64(h.I64[0])
	case backend.Bool:
		if h.B[0] {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("cuda: Fill on %v not supported", dt))
}

// ---------------------------------------------------------------- Copy

// Copy implements backend.Backend, converting as the CPU backend does.
func (be *Backend) Copy(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout) {
	d, s := be.buf(dst), be.buf(src)
	checkShapes("Copy", dl, sl)
	var k kfn
	if d.dt == s.dt {
		k = be.kernel(kkey{famCopy, uint8(d.dt.Size()), 0, 0}, kernels.Bits, func() string { return "copy_" + bitsName(d.dt) })
	} else {
		k = be.kernel(kkey{famCast, uint8(s.dt), uint8(d.dt), 0}, kernels.Cast, func() string { return "cast_" + suffix(s.dt) + "_" + suffix(d.dt) })
	}
	be.ew(k, []backend.Layout{dl, sl}, []uint64{d.addr(0), s.addr(0)})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
}

// ---------------------------------------------------------------- Unary

// Unary implements backend.Backend.
func (be *Backend) Unary(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout) {
	d, s := be.buf(dst), be.buf(src)
	if op.Info().Family != backend.FamilyUnary {
		panic(fmt.Sprintf("cuda: Unary: %v is not a unary op", op))
	}
	if d.dt != s.dt {
		panic(fmt.Sprintf("cuda: Unary %v: dst is %v but src is %v", op, d.dt, s.dt))
	}
	checkShapes("Unary "+op.String(), dl, sl)
	switch s.dt {
	case backend.Float32, backend.Float64:
	case backend.Int32, backend.Int64:
		if !op.IntOK() {
			panic(fmt.Sprintf("cuda: Unary %v on %v not supported", op, s.dt))
		}
	default:
		panic(fmt.Sprintf("cuda: Unary %v on %v not supported", op, s.dt))
	}
	k := be.kernel(kkey{famUnary, uint8(op), uint8(s.dt), 0}, kernels.Unary, func() string { return "u" + op.String() + "_" + suffix(s.dt) })
	be.ew(k, []backend.Layout{dl, sl}, []uint64{d.addr(0), s.addr(0)})
	runtime.KeepAlive(d)
	runtime.KeepAlive(s)
}

// ---------------------------------------------------------------- Binary

// Binary implements backend.Backend.
func (be *Backend) Binary(op backend.Op, dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, x, y := be.buf(dst), be.buf(a), be.buf(b)
	fam := op.Info().Family
	if fam != backend.FamilyBinary && fam != backend.FamilyCompare {
		panic(fmt.Sprintf("cuda: Binary: %v is not a binary op", op))
	}
	if x.dt != y.dt {
		panic(fmt.Sprintf("cuda: Binary %v: a is %v but b is %v", op, x.dt, y.dt))
	}
	checkShapes("Binary "+op.String(), dl, al, bl)
	ok := false
	if fam == backend.FamilyCompare {
		if d.dt != backend.Bool {
			panic(fmt.Sprintf("cuda: Binary %v: dst is %v, want bool", op, d.dt))
		}
		ok = x.dt != backend.Float16 && x.dt != backend.BFloat16
	} else {
		if d.dt != x.dt {
			panic(fmt.Sprintf("cuda: Binary %v: dst is %v but operands are %v", op, d.dt, x.dt))
		}
		switch x.dt {
		case backend.Float32, backend.Float64:
			ok = true
		case backend.Int32, backend.Int64:
			ok = op.IntOK()
		case backend.Bool:
			ok = op == backend.OpMaximum || op == backend.OpMinimum
		}
	}
	if !ok {
		panic(fmt.Sprintf("cuda: Binary %v on %v not supported", op, x.dt))
	}
	k := be.kernel(kkey{famBinary, uint8(op), uint8(x.dt), 0}, kernels.Binary, func() string { return "b" + op.String() + "_" + suffix(x.dt) })
	be.ew(k, []backend.Layout{dl, al, bl}, []uint64{d.addr(0), x.addr(0), y.addr(0)})
	runtime.KeepAlive(d)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}

// ---------------------------------------------------------------- Where

// Where implements backend.Backend for every dtype.
func (be *Backend) Where(dst backend.Buffer, dl backend.Layout, cond backend.Buffer, cl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, c, x, y := be.buf(dst), be.buf(cond), be.buf(a), be.buf(b)
	if c.dt != backend.Bool {
		panic(fmt.Sprintf("cuda: Where: cond is %v, want bool", c.dt))
	}
	if x.dt != d.dt || y.dt != d.dt {
		panic(fmt.Sprintf("cuda: Where: dst is %v but a is %v and b is %v", d.dt, x.dt, y.dt))
	}
	checkShapes("Where", dl, cl, al, bl)
	k := be.kernel(kkey{famWhere, uint8(d.dt.Size()), 0, 0}, kernels.Bits, func() string { return "where_" + bitsName(d.dt) })
	be.ew(k, []backend.Layout{dl, cl, al, bl}, []uint64{d.addr(0), c.addr(0), x.addr(0), y.addr(0)})
	runtime.KeepAlive(d)
	runtime.KeepAlive(c)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}
