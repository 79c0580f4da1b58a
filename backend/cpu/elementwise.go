package cpu

// Elementwise kernels: Fill, Unary, Binary (with comparisons) and Where; Copy
// and Cast live in cast.go. They share one driver:
//
//   - ewWalk merges the axes that every operand walks uniformly (so a
//     contiguous or broadcast-to-scalar operand becomes one long run), splits
//     the elements across the worker pool with parallelFor and walks each
//     chunk with forRuns;
//   - within a run, ewSrc and ewDst present each operand as a plain slice of
//     up to ewBlock elements (the buffer itself when its stride is 1, a
//     gathered copy otherwise), so every op is one tight loop over slices,
//     written once as a generic function.
//
// Semantics of the float ops (float32 is computed through float64 math and
// rounded once):
//
//   - Sign(NaN) = NaN, Sign(±0) = +0.
//   - ReLU(NaN) = NaN, ReLU(-0) = +0.
//   - Maximum and Minimum propagate NaN (like torch.maximum); for ±0 they
//     follow math.Max and math.Min (Maximum(-0, +0) = +0, Minimum = -0).
//   - Round is half to even. Sigmoid is evaluated as 1/(1+e^-x) for x >= 0
//     and e^x/(1+e^x) for x < 0, so it never overflows (Sigmoid(±1000) is
//     1 and 0). SiLU = x·Sigmoid(x). GELU = x·Φ(x) computed as
//     0.5·x·erfc(-x/√2), which equals 0.5·x·(1+erf(x/√2)) but keeps its
//     accuracy in the negative tail. GELUTanh =
//     0.5·x·(1+tanh(√(2/π)·(x+0.044715·x³))). SiLU and GELU of -Inf are NaN
//     (-Inf·0), as in PyTorch.
//   - Integer Neg, Abs, Sign, Square, Add, Sub, Mul wrap like Go integers
//     (Abs(MinInt32) = MinInt32). On Bool, Maximum is OR and Minimum is AND.
//   - Comparisons are IEEE (NaN compares unequal to everything, Ne is true);
//     on Bool, false < true.

import (
	"fmt"
	"math"
	"slices"

	"github.com/tessera-ml/tessera/backend"
)

type ewFloat interface{ ~float32 | ~float64 }

type ewInt interface{ ~int32 | ~int64 }

type ewNum interface {
	~float32 | ~float64 | ~int32 | ~int64
}

// ewBlock is the number of elements a strided operand is gathered into (or
// a strided destination scattered from) at a time.
const ewBlock = 512

// Parallel cost per element of cheap ops and of ops that call into math.
const (
	ewCostCheap = 1
	ewCostMath  = 8
)

// ewRunFunc processes one run of n elements: operand j's elements sit at
// offs[j] + i*inner[j] for i in [0, n). The slices are valid only during the
// call.
type ewRunFunc func(offs []int, n int, inner []int)

// ewWalk calls, for every element of the common shape of the layouts ls,
// a run function made by newRun. newRun is called once per parallel chunk,
// with that chunk's scratch space (pooled: it goes back when the chunk is
// done, so a steady state of kernels allocates none).
func ewWalk(ls []backend.Layout, cost int, newRun func(sc *ewScratch) ewRunFunc) {
	n := ls[0].Size()
	if n == 0 {
		return
	}
	k := len(ls)
	contig := true
	for _, l := range ls {
		if !l.IsContiguous() {
			contig = false
			break
		}
	}
	if contig {
		parallelFor(n, cost, func(lo, hi int) {
			sc := getScratch()
			offs, inner := sc.ints(k), sc.ints(k)
			for j, l := range ls {
				offs[j] = l.Offset + lo
				inner[j] = 1
			}
			newRun(sc)(offs, hi-lo, inner)
			putScratch(sc)
		})
		return
	}
	shape, strides := ewCoalesce(ls)
	bases := make([]int, k)
	for j, l := range ls {
		bases[j] = l.Offset
	}
	parallelFor(n, cost, func(lo, hi int) {
		sc := getScratch()
		forRuns(shape, strides, bases, lo, hi, newRun(sc))
		putScratch(sc)
	})
}

// ewCoalesce drops the axes of size 1 of the layouts' common shape and
// merges each axis into the one inside it wherever every layout steps over
// both as over one axis (outer stride = inner stride · inner size).
func ewCoalesce(ls []backend.Layout) (shape []int, strides [][]int) {
	strides = make([][]int, len(ls))
	for ax, d := range ls[0].Shape {
		if d == 1 {
			continue
		}
		if last := len(shape) - 1; last >= 0 {
			merge := true
			for j, l := range ls {
				if strides[j][last] != l.Strides[ax]*d {
					merge = false
					break
				}
			}
			if merge {
				shape[last] *= d
				for j, l := range ls {
					strides[j][last] = l.Strides[ax]
				}
				continue
			}
		}
		shape = append(shape, d)
		for j, l := range ls {
			strides[j] = append(strides[j], l.Strides[ax])
		}
	}
	return shape, strides
}

// ewStep is the number of elements a run is processed in at a time: all of
// it when every operand has unit stride, else ewBlock.
func ewStep(n int, inner []int) int {
	for _, s := range inner {
		if s != 1 {
			return ewBlock
		}
	}
	return n
}

// ewSrc presents blocks of a strided input as slices.
type ewSrc[T any] struct {
	data, buf []T
	sc        *ewScratch // where buf comes from (nil: the heap)
}

// view returns the m elements at off, off+stride, ...
func (s *ewSrc[T]) view(off, stride, m int) []T {
	if stride == 1 {
		return s.data[off : off+m : off+m]
	}
	if s.buf == nil {
		s.buf = scratchOf[T](s.sc, ewBlock)
	}
	b := s.buf[:m]
	if stride == 0 {
		v := s.data[off]
		for i := range b {
			b[i] = v
		}
		return b
	}
	for i := range b {
		b[i] = s.data[off+i*stride]
	}
	return b
}

// ewDst presents blocks of a strided output as slices.
type ewDst[T any] struct {
	data, buf []T
	sc        *ewScratch
}

// view returns the slice to write the m elements at off, off+stride, ...
// into; flush must follow the writes.
func (d *ewDst[T]) view(off, stride, m int) []T {
	if stride == 1 {
		return d.data[off : off+m : off+m]
	}
	if d.buf == nil {
		d.buf = scratchOf[T](d.sc, ewBlock)
	}
	return d.buf[:m]
}

func (d *ewDst[T]) flush(off, stride, m int) {
	if stride == 1 {
		return
	}
	for i, v := range d.buf[:m] {
		d.data[off+i*stride] = v
	}
}

// ewMap1 runs k over dst = f(src) block by block.
func ewMap1[D, S any](dst []D, dl backend.Layout, src []S, sl backend.Layout, cost int, k func(d []D, s []S)) {
	ewWalk([]backend.Layout{dl, sl}, cost, func(sc *ewScratch) ewRunFunc {
		out := ewDst[D]{data: dst, sc: sc}
		in := ewSrc[S]{data: src, sc: sc}
		return func(offs []int, n int, inner []int) {
			step := ewStep(n, inner)
			for i := 0; i < n; i += step {
				m := min(step, n-i)
				do := offs[0] + i*inner[0]
				k(out.view(do, inner[0], m), in.view(offs[1]+i*inner[1], inner[1], m))
				out.flush(do, inner[0], m)
			}
		}
	})
}

// ewMap2 runs k over dst = f(a, b) block by block.
func ewMap2[D, S any](dst []D, dl backend.Layout, a []S, al backend.Layout, b []S, bl backend.Layout, cost int, k func(d []D, a, b []S)) {
	ewWalk([]backend.Layout{dl, al, bl}, cost, func(sc *ewScratch) ewRunFunc {
		out := ewDst[D]{data: dst, sc: sc}
		x := ewSrc[S]{data: a, sc: sc}
		y := ewSrc[S]{data: b, sc: sc}
		return func(offs []int, n int, inner []int) {
			step := ewStep(n, inner)
			for i := 0; i < n; i += step {
				m := min(step, n-i)
				do := offs[0] + i*inner[0]
				k(out.view(do, inner[0], m),
					x.view(offs[1]+i*inner[1], inner[1], m),
					y.view(offs[2]+i*inner[2], inner[2], m))
				out.flush(do, inner[0], m)
			}
		}
	})
}

// ewCheckShapes panics unless every layout has dl's shape and one stride per axis.
func ewCheckShapes(what string, dl backend.Layout, ls ...backend.Layout) {
	if len(dl.Strides) != len(dl.Shape) {
		panic(fmt.Sprintf("cpu: %s: dst layout has shape %v but %d strides", what, dl.Shape, len(dl.Strides)))
	}
	for _, l := range ls {
		if !slices.Equal(l.Shape, dl.Shape) {
			panic(fmt.Sprintf("cpu: %s: operand shape %v differs from dst shape %v", what, l.Shape, dl.Shape))
		}
		if len(l.Strides) != len(l.Shape) {
			panic(fmt.Sprintf("cpu: %s: layout has shape %v but %d strides", what, l.Shape, len(l.Strides)))
		}
	}
}

func ewUnsupported(kernel string, op backend.Op, dt backend.DType) string {
	return fmt.Sprintf("cpu: %s %v on %v not supported", kernel, op, dt)
}

// ---------------------------------------------------------------- Fill

// Fill implements backend.Backend. v is converted as Copy converts a
// float64: rounded to nearest for floats, truncated toward zero for
// integers (out of range: as Go's conversion), v != 0 for Bool.
func (*Backend) Fill(dst backend.Buffer, dl backend.Layout, v float64) {
	d := buf(dst)
	ewCheckShapes("Fill", dl)
	switch d.dt {
	case backend.Float32:
		ewFill(d.F32, dl, float32(v))
	case backend.Float64:
		ewFill(d.F64, dl, v)
	case backend.Float16:
		ewFill(d.U16, dl, float64ToFloat16(v))
	case backend.BFloat16:
		ewFill(d.U16, dl, float64ToBFloat16(v))
	case backend.Int32:
		ewFill(d.I32, dl, int32(v))
	case backend.Int64:
		ewFill(d.I64, dl, int64(v))
	case backend.Bool:
		ewFill(d.B, dl, v != 0)
	default:
		panic(fmt.Sprintf("cpu: Fill on %v not supported", d.dt))
	}
}

func ewFill[T any](dst []T, dl backend.Layout, v T) {
	ewWalk([]backend.Layout{dl}, ewCostCheap, func(sc *ewScratch) ewRunFunc {
		return func(offs []int, n int, inner []int) {
			o, s := offs[0], inner[0]
			if s == 1 {
				d := dst[o : o+n]
				for i := range d {
					d[i] = v
				}
				return
			}
			for i := range n {
				dst[o+i*s] = v
			}
		}
	})
}

// ---------------------------------------------------------------- Unary

// Unary implements backend.Backend.
func (*Backend) Unary(op backend.Op, dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout) {
	d, s := buf(dst), buf(src)
	if op.Info().Family != backend.FamilyUnary || op.Info().Arity != 1 {
		panic(fmt.Sprintf("cpu: Unary: %v is not a unary op", op))
	}
	if d.dt != s.dt {
		panic(fmt.Sprintf("cpu: Unary %v: dst is %v but src is %v", op, d.dt, s.dt))
	}
	ewCheckShapes("Unary "+op.String(), dl, sl)
	cost := ewOpCost(op)
	switch s.dt {
	case backend.Float32:
		k := fastUnaryF32(op)
		if k == nil {
			k = ewUnaryFloat[float32](op)
		}
		ewMap1(d.F32, dl, s.F32, sl, cost, k)
		return
	case backend.Float64:
		ewMap1(d.F64, dl, s.F64, sl, cost, ewUnaryFloat[float64](op))
		return
	case backend.Int32:
		if k := ewUnaryInt[int32](op); k != nil {
			ewMap1(d.I32, dl, s.I32, sl, cost, k)
			return
		}
	case backend.Int64:
		if k := ewUnaryInt[int64](op); k != nil {
			ewMap1(d.I64, dl, s.I64, sl, cost, k)
			return
		}
	}
	panic(ewUnsupported("Unary", op, s.dt))
}

func ewOpCost(op backend.Op) int {
	switch op {
	case backend.OpNeg, backend.OpAbs, backend.OpSign, backend.OpReLU, backend.OpRecip,
		backend.OpSquare, backend.OpFloor, backend.OpCeil, backend.OpRound,
		backend.OpAdd, backend.OpSub, backend.OpMul, backend.OpDiv,
		backend.OpMaximum, backend.OpMinimum,
		backend.OpEq, backend.OpNe, backend.OpLt, backend.OpLe, backend.OpGt, backend.OpGe:
		return ewCostCheap
	}
	return ewCostMath
}

// ewApply makes a kernel that applies f, computed in float64, elementwise.
func ewApply[T ewFloat](f func(float64) float64) func(d, s []T) {
	return func(d, s []T) {
		s = s[:len(d)]
		for i, x := range s {
			d[i] = T(f(float64(x)))
		}
	}
}

// ewUnaryFloat returns the kernel of op on a float type. Every unary op is
// defined on floats.
func ewUnaryFloat[T ewFloat](op backend.Op) func(d, s []T) {
	switch op {
	case backend.OpNeg:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = -x
			}
		}
	case backend.OpAbs:
		return ewApply[T](math.Abs)
	case backend.OpSign:
		return ewApply[T](ewSign)
	case backend.OpExp:
		return ewApply[T](math.Exp)
	case backend.OpLog:
		return ewApply[T](math.Log)
	case backend.OpSqrt:
		return ewApply[T](math.Sqrt)
	case backend.OpRsqrt:
		return ewApply[T](func(x float64) float64 { return 1 / math.Sqrt(x) })
	case backend.OpSin:
		return ewApply[T](math.Sin)
	case backend.OpCos:
		return ewApply[T](math.Cos)
	case backend.OpTanh:
		return ewApply[T](math.Tanh)
	case backend.OpSigmoid:
		return ewApply[T](ewSigmoid)
	case backend.OpReLU:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				if x <= 0 {
					x = 0 // NaN fails the test and passes through
				}
				d[i] = x
			}
		}
	case backend.OpGELU:
		return ewApply[T](func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) })
	case backend.OpGELUTanh:
		return ewApply[T](ewGELUTanh)
	case backend.OpSiLU:
		return ewApply[T](func(x float64) float64 { return x * ewSigmoid(x) })
	case backend.OpRecip:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = 1 / x
			}
		}
	case backend.OpSquare:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = x * x
			}
		}
	case backend.OpErf:
		return ewApply[T](math.Erf)
	case backend.OpLog1p:
		return ewApply[T](math.Log1p)
	case backend.OpExpm1:
		return ewApply[T](math.Expm1)
	case backend.OpFloor:
		return ewApply[T](math.Floor)
	case backend.OpCeil:
		return ewApply[T](math.Ceil)
	case backend.OpRound:
		return ewApply[T](math.RoundToEven)
	}
	panic(fmt.Sprintf("cpu: Unary: %v is not a unary op", op))
}

// ewSign is -1, 0 or 1; 0 for NaN, as torch.sign gives.
func ewSign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// ewSigmoid is 1/(1+e^-x) without overflow: e^-|x| is at most 1.
func ewSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x) // NaN lands here too and stays NaN
	return e / (1 + e)
}

func ewGELUTanh(x float64) float64 {
	const k = 0.7978845608028654 // √(2/π)
	return 0.5 * x * (1 + math.Tanh(k*(x+0.044715*x*x*x)))
}

// ewUnaryInt returns the kernel of op on an integer type, or nil when op is
// not defined on integers.
func ewUnaryInt[T ewInt](op backend.Op) func(d, s []T) {
	switch op {
	case backend.OpNeg:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = -x
			}
		}
	case backend.OpAbs:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				if x < 0 {
					x = -x
				}
				d[i] = x
			}
		}
	case backend.OpSign:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				switch {
				case x > 0:
					d[i] = 1
				case x < 0:
					d[i] = -1
				default:
					d[i] = 0
				}
			}
		}
	case backend.OpSquare:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = x * x
			}
		}
	case backend.OpReLU:
		return func(d, s []T) {
			s = s[:len(d)]
			for i, x := range s {
				d[i] = max(x, 0)
			}
		}
	case backend.OpFloor, backend.OpCeil, backend.OpRound:
		// Integers are already whole: these are copies (torch keeps the dtype).
		return func(d, s []T) { copy(d, s[:len(d)]) }
	}
	return nil
}

// ---------------------------------------------------------------- Binary

// Binary implements backend.Backend.
func (*Backend) Binary(op backend.Op, dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, x, y := buf(dst), buf(a), buf(b)
	fam := op.Info().Family
	if (fam != backend.FamilyBinary && fam != backend.FamilyCompare) || op.Info().Arity != 2 {
		panic(fmt.Sprintf("cpu: Binary: %v is not a binary op", op))
	}
	if x.dt != y.dt {
		panic(fmt.Sprintf("cpu: Binary %v: a is %v but b is %v", op, x.dt, y.dt))
	}
	ewCheckShapes("Binary "+op.String(), dl, al, bl)
	cost := ewOpCost(op)
	if fam == backend.FamilyCompare {
		if d.dt != backend.Bool {
			panic(fmt.Sprintf("cpu: Binary %v: dst is %v, want bool", op, d.dt))
		}
		switch x.dt {
		case backend.Float32:
			if compareF32Fast(op, d.B, dl, x.F32, al, y.F32, bl) {
				return
			}
			ewMap2(d.B, dl, x.F32, al, y.F32, bl, cost, ewCompare[float32](op))
		case backend.Float64:
			ewMap2(d.B, dl, x.F64, al, y.F64, bl, cost, ewCompare[float64](op))
		case backend.Int32:
			ewMap2(d.B, dl, x.I32, al, y.I32, bl, cost, ewCompare[int32](op))
		case backend.Int64:
			ewMap2(d.B, dl, x.I64, al, y.I64, bl, cost, ewCompare[int64](op))
		case backend.Bool:
			ewMap2(d.B, dl, x.B, al, y.B, bl, cost, ewCompareBool(op))
		default:
			panic(ewUnsupported("Binary", op, x.dt))
		}
		return
	}
	if d.dt != x.dt {
		panic(fmt.Sprintf("cpu: Binary %v: dst is %v but operands are %v", op, d.dt, x.dt))
	}
	switch x.dt {
	case backend.Float32:
		if k := fastBinaryF32(op); k != nil {
			ewMap2F32(op, d.F32, dl, x.F32, al, y.F32, bl, cost, k)
			return
		}
		ewMap2(d.F32, dl, x.F32, al, y.F32, bl, cost, ewBinaryFloat[float32](op))
		return
	case backend.Float64:
		ewMap2(d.F64, dl, x.F64, al, y.F64, bl, cost, ewBinaryFloat[float64](op))
		return
	case backend.Int32:
		if k := ewBinaryInt[int32](op); k != nil {
			ewMap2(d.I32, dl, x.I32, al, y.I32, bl, cost, k)
			return
		}
	case backend.Int64:
		if k := ewBinaryInt[int64](op); k != nil {
			ewMap2(d.I64, dl, x.I64, al, y.I64, bl, cost, k)
			return
		}
	case backend.Bool:
		if k := ewBinaryBool(op); k != nil {
			ewMap2(d.B, dl, x.B, al, y.B, bl, cost, k)
			return
		}
	}
	panic(ewUnsupported("Binary", op, x.dt))
}

// ewBinaryFloat returns the kernel of a non-comparison binary op on floats.
func ewBinaryFloat[T ewFloat](op backend.Op) func(d, a, b []T) {
	switch op {
	case backend.OpAdd:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] + b[i]
			}
		}
	case backend.OpSub:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] - b[i]
			}
		}
	case backend.OpMul:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] * b[i]
			}
		}
	case backend.OpDiv:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] / b[i]
			}
		}
	case backend.OpPow:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = T(math.Pow(float64(a[i]), float64(b[i])))
			}
		}
	case backend.OpMaximum:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = ewFMax(a[i], b[i])
			}
		}
	case backend.OpMinimum:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = ewFMin(a[i], b[i])
			}
		}
	}
	panic(fmt.Sprintf("cpu: Binary: %v is not a binary op", op))
}

// ewFMax is math.Max: NaN if either is NaN, +0 over -0.
func ewFMax[T ewFloat](a, b T) T {
	switch {
	case a != a:
		return a
	case b != b:
		return b
	case a > b:
		return a
	case b > a:
		return b
	case math.Signbit(float64(a)): // equal: only ±0 can differ
		return b
	}
	return a
}

// ewFMin is math.Min: NaN if either is NaN, -0 over +0.
func ewFMin[T ewFloat](a, b T) T {
	switch {
	case a != a:
		return a
	case b != b:
		return b
	case a < b:
		return a
	case b < a:
		return b
	case math.Signbit(float64(a)):
		return a
	}
	return b
}

// ewBinaryInt returns the kernel of op on an integer type, or nil when op is
// not defined on integers.
func ewBinaryInt[T ewInt](op backend.Op) func(d, a, b []T) {
	switch op {
	case backend.OpAdd:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] + b[i]
			}
		}
	case backend.OpSub:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] - b[i]
			}
		}
	case backend.OpMul:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] * b[i]
			}
		}
	case backend.OpMaximum:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = max(a[i], b[i])
			}
		}
	case backend.OpMinimum:
		return func(d, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = min(a[i], b[i])
			}
		}
	}
	return nil
}

// ewBinaryBool returns the kernel of op on Bool (Maximum is OR, Minimum is
// AND), or nil.
func ewBinaryBool(op backend.Op) func(d, a, b []bool) {
	switch op {
	case backend.OpMaximum:
		return func(d, a, b []bool) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] || b[i]
			}
		}
	case backend.OpMinimum:
		return func(d, a, b []bool) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] && b[i]
			}
		}
	}
	return nil
}

// ewCompare returns the kernel of a comparison on a numeric type.
func ewCompare[T ewNum](op backend.Op) func(d []bool, a, b []T) {
	switch op {
	case backend.OpEq:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] == b[i]
			}
		}
	case backend.OpNe:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] != b[i]
			}
		}
	case backend.OpLt:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] < b[i]
			}
		}
	case backend.OpLe:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] <= b[i]
			}
		}
	case backend.OpGt:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] > b[i]
			}
		}
	case backend.OpGe:
		return func(d []bool, a, b []T) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = a[i] >= b[i]
			}
		}
	}
	panic(fmt.Sprintf("cpu: Binary: %v is not a comparison", op))
}

// ewCompareBool returns the kernel of a comparison on Bool (false < true).
func ewCompareBool(op backend.Op) func(d []bool, a, b []bool) {
	var f func(x, y bool) bool
	switch op {
	case backend.OpEq:
		f = func(x, y bool) bool { return x == y }
	case backend.OpNe:
		f = func(x, y bool) bool { return x != y }
	case backend.OpLt:
		f = func(x, y bool) bool { return !x && y }
	case backend.OpLe:
		f = func(x, y bool) bool { return !x || y }
	case backend.OpGt:
		f = func(x, y bool) bool { return x && !y }
	case backend.OpGe:
		f = func(x, y bool) bool { return x || !y }
	default:
		panic(fmt.Sprintf("cpu: Binary: %v is not a comparison", op))
	}
	return func(d []bool, a, b []bool) {
		a, b = a[:len(d)], b[:len(d)]
		for i := range d {
			d[i] = f(a[i], b[i])
		}
	}
}

// ---------------------------------------------------------------- Where

// Where implements backend.Backend for every dtype of a, b and dst.
func (*Backend) Where(dst backend.Buffer, dl backend.Layout, cond backend.Buffer, cl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, c, x, y := buf(dst), buf(cond), buf(a), buf(b)
	if c.dt != backend.Bool {
		panic(fmt.Sprintf("cpu: Where: cond is %v, want bool", c.dt))
	}
	if x.dt != d.dt || y.dt != d.dt {
		panic(fmt.Sprintf("cpu: Where: dst is %v but a is %v and b is %v", d.dt, x.dt, y.dt))
	}
	ewCheckShapes("Where", dl, cl, al, bl)
	switch d.dt {
	case backend.Float32:
		if whereF32Fast(d.F32, dl, c.B, cl, x.F32, al, y.F32, bl) {
			return
		}
		ewWhere(d.F32, dl, c.B, cl, x.F32, al, y.F32, bl)
	case backend.Float64:
		ewWhere(d.F64, dl, c.B, cl, x.F64, al, y.F64, bl)
	case backend.Float16, backend.BFloat16:
		ewWhere(d.U16, dl, c.B, cl, x.U16, al, y.U16, bl)
	case backend.Int32:
		ewWhere(d.I32, dl, c.B, cl, x.I32, al, y.I32, bl)
	case backend.Int64:
		ewWhere(d.I64, dl, c.B, cl, x.I64, al, y.I64, bl)
	case backend.Bool:
		ewWhere(d.B, dl, c.B, cl, x.B, al, y.B, bl)
	default:
		panic(fmt.Sprintf("cpu: Where on %v not supported", d.dt))
	}
}

func ewWhere[T any](dst []T, dl backend.Layout, cond []bool, cl backend.Layout, a []T, al backend.Layout, b []T, bl backend.Layout) {
	ewWalk([]backend.Layout{dl, cl, al, bl}, ewCostCheap, func(sc *ewScratch) ewRunFunc {
		out := ewDst[T]{data: dst, sc: sc}
		c := ewSrc[bool]{data: cond, sc: sc}
		x := ewSrc[T]{data: a, sc: sc}
		y := ewSrc[T]{data: b, sc: sc}
		return func(offs []int, n int, inner []int) {
			step := ewStep(n, inner)
			for i := 0; i < n; i += step {
				m := min(step, n-i)
				do := offs[0] + i*inner[0]
				d := out.view(do, inner[0], m)
				cv := c.view(offs[1]+i*inner[1], inner[1], m)
				av := x.view(offs[2]+i*inner[2], inner[2], m)
				bv := y.view(offs[3]+i*inner[3], inner[3], m)
				for j := range d {
					if cv[j] {
						d[j] = av[j]
					} else {
						d[j] = bv[j]
					}
				}
				out.flush(do, inner[0], m)
			}
		}
	})
}
