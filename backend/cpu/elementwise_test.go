package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// The tests of this file compare the elementwise kernels with references
// written independently of the kernels' machinery: every element's buffer
// offset comes from ewtOffsets (per-element index arithmetic, not forRuns or
// the kernels' axis merging), and every value from float64 math.

// ---------------------------------------------------------------- layouts

type ewtKind int

const (
	ewtContig     ewtKind = iota // row-major from offset 0
	ewtOffset                    // row-major from offset 5, junk around
	ewtTransposed                // axes reversed over a row-major buffer
	ewtStrided                   // every stride doubled, offset 1: gaps between elements
	ewtBcast                     // stride 0 on the even axes (inputs only)
	ewtScalar                    // stride 0 everywhere (inputs only)
)

func (k ewtKind) String() string {
	return [...]string{"contig", "offset", "transposed", "strided", "bcast", "scalar"}[k]
}

func ewtRowMajor(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func ewtProd(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ewtLayout returns a layout of shape of the given kind and a buffer length
// that holds it (with spare elements around it for the offset kinds).
func ewtLayout(shape []int, kind ewtKind) (backend.Layout, int) {
	nd := len(shape)
	n := ewtProd(shape)
	sh := append([]int{}, shape...)
	switch kind {
	case ewtContig:
		return backend.Layout{Shape: sh, Strides: ewtRowMajor(shape)}, n
	case ewtOffset:
		return backend.Layout{Shape: sh, Strides: ewtRowMajor(shape), Offset: 5}, n + 8
	case ewtTransposed:
		rev := make([]int, nd)
		for i := range rev {
			rev[i] = shape[nd-1-i]
		}
		rs := ewtRowMajor(rev)
		st := make([]int, nd)
		for i := range st {
			st[i] = rs[nd-1-i]
		}
		return backend.Layout{Shape: sh, Strides: st}, n
	case ewtStrided:
		st := ewtRowMajor(shape)
		for i := range st {
			st[i] *= 2
		}
		return backend.Layout{Shape: sh, Strides: st, Offset: 1}, 2*n + 2
	case ewtBcast:
		store := append([]int{}, shape...)
		for i := 0; i < nd; i += 2 {
			store[i] = 1
		}
		st := ewtRowMajor(store)
		for i := 0; i < nd; i += 2 {
			st[i] = 0
		}
		return backend.Layout{Shape: sh, Strides: st, Offset: 2}, ewtProd(store) + 3
	case ewtScalar:
		return backend.Layout{Shape: sh, Strides: make([]int, nd), Offset: 1}, 2
	}
	panic("bad kind")
}

// ewtOffsets lists the buffer offset of every element of l in row-major
// order, by per-element index arithmetic.
func ewtOffsets(l backend.Layout) []int {
	n := ewtProd(l.Shape)
	out := make([]int, n)
	for flat := range n {
		rem, off := flat, l.Offset
		for ax := len(l.Shape) - 1; ax >= 0; ax-- {
			off += (rem % l.Shape[ax]) * l.Strides[ax]
			rem /= l.Shape[ax]
		}
		out[flat] = off
	}
	return out
}

var ewtShapes = [][]int{{}, {0}, {3, 0, 2}, {7}, {4, 5}, {2, 3, 4}, {3, 1, 5}, {2, 3, 2, 3}}

// ewtBig has over 100k elements, enough for parallelFor to split the work.
var ewtBig = []int{301, 401}

// ---------------------------------------------------------------- values

var ewtFloatSpecials = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
	1000, -1000, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-30, 3e38,
}

// ewtBuf returns a buffer of n random elements of dt. With specials, floats
// include NaN, ±Inf, ±0 and the like, and integers their extremes.
func ewtBuf(r *rand.Rand, dt backend.DType, n int, specials bool) *Buffer {
	b := NewBuffer(dt, n)
	for i := range n {
		switch dt {
		case backend.Int32, backend.Int64:
			v := int64(r.IntN(2001) - 1000)
			if specials && r.IntN(20) == 0 {
				lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
				if dt == backend.Int64 {
					lo, hi = math.MinInt64, math.MaxInt64
				}
				v = []int64{lo, hi, 0, -1, 1}[r.IntN(5)]
			}
			ewtSetI(b, i, v)
		case backend.Bool:
			b.B[i] = r.IntN(2) == 0
		default:
			ewtSet(b, i, ewtRandFloat(r, specials))
		}
	}
	return b
}

func ewtRandFloat(r *rand.Rand, specials bool) float64 {
	switch p := r.IntN(20); {
	case specials && p == 0:
		return ewtFloatSpecials[r.IntN(len(ewtFloatSpecials))]
	case p < 6: // a small grid, so that equal pairs and .5 ties occur
		return float64(r.IntN(17)-8) / 2
	default:
		return r.NormFloat64() * 3
	}
}

// ewtGet returns element i of b as a float64 (exactly, but for int64
// beyond 2^53).
func ewtGet(b *Buffer, i int) float64 {
	switch b.dt {
	case backend.Float32:
		return float64(b.F32[i])
	case backend.Float64:
		return b.F64[i]
	case backend.Float16:
		return float64(Float16ToFloat32(b.U16[i]))
	case backend.BFloat16:
		return float64(BFloat16ToFloat32(b.U16[i]))
	case backend.Int32:
		return float64(b.I32[i])
	case backend.Int64:
		return float64(b.I64[i])
	case backend.Bool:
		if b.B[i] {
			return 1
		}
		return 0
	}
	panic("bad dtype")
}

func ewtGetI(b *Buffer, i int) int64 {
	switch b.dt {
	case backend.Int32:
		return int64(b.I32[i])
	case backend.Int64:
		return b.I64[i]
	case backend.Bool:
		if b.B[i] {
			return 1
		}
		return 0
	}
	panic("not an integer buffer")
}

// ewtSet stores v into element i of a float buffer (rounding it).
func ewtSet(b *Buffer, i int, v float64) {
	switch b.dt {
	case backend.Float32:
		b.F32[i] = float32(v)
	case backend.Float64:
		b.F64[i] = v
	case backend.Float16:
		b.U16[i] = Float32ToFloat16(float32(v))
	case backend.BFloat16:
		b.U16[i] = Float32ToBFloat16(float32(v))
	default:
		panic("not a float buffer")
	}
}

// ewtSetI stores v into element i of an integer buffer (wrapping it).
func ewtSetI(b *Buffer, i int, v int64) {
	switch b.dt {
	case backend.Int32:
		b.I32[i] = int32(v)
	case backend.Int64:
		b.I64[i] = v
	default:
		panic("not an integer buffer")
	}
}

// ewtBits returns the raw bits of element i, so that NaNs compare equal.
func ewtBits(b *Buffer, i int) uint64 {
	switch b.dt {
	case backend.Float32:
		return uint64(math.Float32bits(b.F32[i]))
	case backend.Float64:
		return math.Float64bits(b.F64[i])
	case backend.Float16, backend.BFloat16:
		return uint64(b.U16[i])
	case backend.Int32:
		return uint64(uint32(b.I32[i]))
	case backend.Int64:
		return uint64(b.I64[i])
	case backend.Bool:
		if b.B[i] {
			return 1
		}
		return 0
	}
	panic("bad dtype")
}

func ewtSnapshot(b *Buffer) []uint64 {
	out := make([]uint64, b.Len())
	for i := range out {
		out[i] = ewtBits(b, i)
	}
	return out
}

// ewtCheckUntouched fails if an element of dst outside the written offsets
// changed from before.
func ewtCheckUntouched(t *testing.T, name string, dst *Buffer, before []uint64, written []int) {
	t.Helper()
	w := make([]bool, dst.Len())
	for _, o := range written {
		w[o] = true
	}
	for i := range w {
		if !w[i] && ewtBits(dst, i) != before[i] {
			t.Fatalf("%s: dst element %d outside the layout changed", name, i)
		}
	}
}

// ewtSame reports whether got matches want: equal (±0 alike), both NaN, or
// within rtol·|want| + atol when tol is set.
func ewtSame(got, want float64, rtol, atol float64) bool {
	if got == want || math.IsNaN(got) && math.IsNaN(want) {
		return true
	}
	if math.IsNaN(got) || math.IsNaN(want) || math.IsInf(want, 0) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(got-want) <= rtol*math.Abs(want)+atol
}

// ---------------------------------------------------------------- references

var ewtUnaryOps = []backend.Op{
	backend.OpNeg, backend.OpAbs, backend.OpSign, backend.OpExp, backend.OpLog,
	backend.OpSqrt, backend.OpRsqrt, backend.OpSin, backend.OpCos, backend.OpTanh,
	backend.OpSigmoid, backend.OpReLU, backend.OpGELU, backend.OpGELUTanh,
	backend.OpSiLU, backend.OpRecip, backend.OpSquare, backend.OpErf,
	backend.OpLog1p, backend.OpExpm1, backend.OpFloor, backend.OpCeil, backend.OpRound,
}

var ewtBinaryOps = []backend.Op{
	backend.OpAdd, backend.OpSub, backend.OpMul, backend.OpDiv, backend.OpPow,
	backend.OpMaximum, backend.OpMinimum,
	backend.OpEq, backend.OpNe, backend.OpLt, backend.OpLe, backend.OpGt, backend.OpGe,
}

func ewtRefUnary(op backend.Op, x float64) float64 {
	switch op {
	case backend.OpNeg:
		return -x
	case backend.OpAbs:
		return math.Abs(x)
	case backend.OpSign:
		if math.IsNaN(x) {
			return 0 // torch.sign(nan) is 0
		}
		if x > 0 {
			return 1
		} else if x < 0 {
			return -1
		}
		return 0
	case backend.OpExp:
		return math.Exp(x)
	case backend.OpLog:
		return math.Log(x)
	case backend.OpSqrt:
		return math.Sqrt(x)
	case backend.OpRsqrt:
		return 1 / math.Sqrt(x)
	case backend.OpSin:
		return math.Sin(x)
	case backend.OpCos:
		return math.Cos(x)
	case backend.OpTanh:
		return math.Tanh(x)
	case backend.OpSigmoid:
		return 1 / (1 + math.Exp(-x))
	case backend.OpReLU:
		if math.IsNaN(x) || x > 0 {
			return x
		}
		return 0
	case backend.OpGELU:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt(2)))
	case backend.OpGELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	case backend.OpSiLU:
		return x / (1 + math.Exp(-x))
	case backend.OpRecip:
		return 1 / x
	case backend.OpSquare:
		return x * x
	case backend.OpErf:
		return math.Erf(x)
	case backend.OpLog1p:
		return math.Log1p(x)
	case backend.OpExpm1:
		return math.Expm1(x)
	case backend.OpFloor:
		return math.Floor(x)
	case backend.OpCeil:
		return math.Ceil(x)
	case backend.OpRound: // half to even, from Floor
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return x
		}
		f := math.Floor(x)
		switch d := x - f; {
		case d < 0.5:
			return f
		case d > 0.5:
			return f + 1
		case math.Mod(f, 2) == 0:
			return f
		}
		return f + 1
	}
	panic("no reference for " + op.String())
}

// ewtTol returns the relative and absolute tolerance of op's float results:
// zero for ops whose kernel must match the reference exactly, small for the
// composite ones whose reference uses a different formula.
func ewtTol(op backend.Op, dt backend.DType) (rtol, atol float64) {
	switch op {
	case backend.OpSigmoid, backend.OpGELU, backend.OpGELUTanh, backend.OpSiLU:
		if dt == backend.Float32 {
			return 3e-7, 1e-12
		}
		return 1e-13, 1e-12
	}
	return 0, 0
}

func ewtRefUnaryInt(op backend.Op, x int64) int64 {
	switch op {
	case backend.OpNeg:
		return -x
	case backend.OpAbs:
		if x < 0 {
			return -x
		}
		return x
	case backend.OpSign:
		if x > 0 {
			return 1
		} else if x < 0 {
			return -1
		}
		return 0
	case backend.OpSquare:
		return x * x
	case backend.OpReLU:
		return max(x, 0)
	case backend.OpFloor, backend.OpCeil, backend.OpRound:
		return x
	}
	panic("no integer reference for " + op.String())
}

func ewtRefBinary(op backend.Op, a, b float64) float64 {
	switch op {
	case backend.OpAdd:
		return a + b
	case backend.OpSub:
		return a - b
	case backend.OpMul:
		return a * b
	case backend.OpDiv:
		return a / b
	case backend.OpPow:
		return math.Pow(a, b)
	case backend.OpMaximum, backend.OpMinimum:
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		if (a > b) == (op == backend.OpMaximum) {
			return a
		}
		return b
	}
	panic("no reference for " + op.String())
}

func ewtRefBinaryInt(op backend.Op, a, b int64) int64 {
	switch op {
	case backend.OpAdd:
		return a + b
	case backend.OpSub:
		return a - b
	case backend.OpMul:
		return a * b
	case backend.OpMaximum:
		return max(a, b)
	case backend.OpMinimum:
		return min(a, b)
	}
	panic("no integer reference for " + op.String())
}

func ewtRefCompare(op backend.Op, a, b float64) bool {
	switch op {
	case backend.OpEq:
		return a == b
	case backend.OpNe:
		return !(a == b)
	case backend.OpLt:
		return a < b
	case backend.OpLe:
		return a <= b
	case backend.OpGt:
		return b < a
	case backend.OpGe:
		return b <= a
	}
	panic("no reference for " + op.String())
}

func ewtRefCompareInt(op backend.Op, a, b int64) bool {
	switch op {
	case backend.OpEq:
		return a == b
	case backend.OpNe:
		return a != b
	case backend.OpLt:
		return a < b
	case backend.OpLe:
		return a <= b
	case backend.OpGt:
		return a > b
	case backend.OpGe:
		return a >= b
	}
	panic("no reference for " + op.String())
}

// ---------------------------------------------------------------- checkers

type ewtCombo struct{ dst, a, b, c ewtKind }

var ewtUnaryCombos = []ewtCombo{
	{dst: ewtContig, a: ewtContig},
	{dst: ewtContig, a: ewtTransposed},
	{dst: ewtTransposed, a: ewtContig},
	{dst: ewtStrided, a: ewtOffset},
	{dst: ewtOffset, a: ewtBcast},
	{dst: ewtContig, a: ewtScalar},
	{dst: ewtStrided, a: ewtStrided},
}

var ewtBinaryCombos = []ewtCombo{
	{dst: ewtContig, a: ewtContig, b: ewtContig},
	{dst: ewtContig, a: ewtOffset, b: ewtBcast},
	{dst: ewtTransposed, a: ewtContig, b: ewtStrided},
	{dst: ewtStrided, a: ewtTransposed, b: ewtScalar},
	{dst: ewtOffset, a: ewtBcast, b: ewtTransposed},
	{dst: ewtContig, a: ewtScalar, b: ewtScalar},
}

// ewtCheckUnary runs Unary(op) on random data laid out as in c and compares
// it element by element with the reference.
func ewtCheckUnary(t *testing.T, r *rand.Rand, op backend.Op, dt backend.DType, shape []int, c ewtCombo) {
	t.Helper()
	name := fmt.Sprintf("Unary %v %v %v dst=%v src=%v", op, dt, shape, c.dst, c.a)
	dl, dn := ewtLayout(shape, c.dst)
	sl, sn := ewtLayout(shape, c.a)
	src := ewtBuf(r, dt, sn, true)
	dst := ewtBuf(r, dt, dn, false)
	before := ewtSnapshot(dst)
	Default.Unary(op, dst, dl, src, sl)
	dOffs, sOffs := ewtOffsets(dl), ewtOffsets(sl)
	rtol, atol := ewtTol(op, dt)
	for i := range dOffs {
		do, so := dOffs[i], sOffs[i]
		if dt.IsInt() {
			want := ewtRefUnaryInt(op, ewtGetI(src, so))
			if dt == backend.Int32 {
				want = int64(int32(want))
			}
			if got := ewtGetI(dst, do); got != want {
				t.Fatalf("%s: element %d: %v(%d) = %d, want %d", name, i, op, ewtGetI(src, so), got, want)
			}
			continue
		}
		x := ewtGet(src, so)
		want := ewtRefUnary(op, x)
		if dt == backend.Float32 {
			want = float64(float32(want))
		}
		if got := ewtGet(dst, do); !ewtSame(got, want, rtol, atol) {
			t.Fatalf("%s: element %d: %v(%v) = %v, want %v", name, i, op, x, got, want)
		}
	}
	ewtCheckUntouched(t, name, dst, before, dOffs)
}

// ewtCheckBinary runs Binary(op) on random data laid out as in c and
// compares it element by element with the reference.
func ewtCheckBinary(t *testing.T, r *rand.Rand, op backend.Op, dt backend.DType, shape []int, c ewtCombo) {
	t.Helper()
	name := fmt.Sprintf("Binary %v %v %v dst=%v a=%v b=%v", op, dt, shape, c.dst, c.a, c.b)
	cmp := op.Info().Family == backend.FamilyCompare
	ddt := dt
	if cmp {
		ddt = backend.Bool
	}
	dl, dn := ewtLayout(shape, c.dst)
	al, an := ewtLayout(shape, c.a)
	bl, bn := ewtLayout(shape, c.b)
	a := ewtBuf(r, dt, an, true)
	b := ewtBuf(r, dt, bn, true)
	dst := ewtBuf(r, ddt, dn, false)
	before := ewtSnapshot(dst)
	Default.Binary(op, dst, dl, a, al, b, bl)
	dOffs, aOffs, bOffs := ewtOffsets(dl), ewtOffsets(al), ewtOffsets(bl)
	for i := range dOffs {
		do, ao, bo := dOffs[i], aOffs[i], bOffs[i]
		switch {
		case cmp && (dt.IsInt() || dt == backend.Bool):
			want := ewtRefCompareInt(op, ewtGetI(a, ao), ewtGetI(b, bo))
			if got := dst.B[do]; got != want {
				t.Fatalf("%s: element %d: %v(%d, %d) = %v, want %v", name, i, op, ewtGetI(a, ao), ewtGetI(b, bo), got, want)
			}
		case cmp:
			x, y := ewtGet(a, ao), ewtGet(b, bo)
			if got, want := dst.B[do], ewtRefCompare(op, x, y); got != want {
				t.Fatalf("%s: element %d: %v(%v, %v) = %v, want %v", name, i, op, x, y, got, want)
			}
		case dt == backend.Bool:
			x, y := a.B[ao], b.B[bo]
			want := x || y
			if op == backend.OpMinimum {
				want = x && y
			}
			if got := dst.B[do]; got != want {
				t.Fatalf("%s: element %d: %v(%v, %v) = %v, want %v", name, i, op, x, y, got, want)
			}
		case dt.IsInt():
			x, y := ewtGetI(a, ao), ewtGetI(b, bo)
			want := ewtRefBinaryInt(op, x, y)
			if dt == backend.Int32 {
				want = int64(int32(want))
			}
			if got := ewtGetI(dst, do); got != want {
				t.Fatalf("%s: element %d: %v(%d, %d) = %d, want %d", name, i, op, x, y, got, want)
			}
		default:
			x, y := ewtGet(a, ao), ewtGet(b, bo)
			want := ewtRefBinary(op, x, y)
			if dt == backend.Float32 {
				want = float64(float32(want))
			}
			if got := ewtGet(dst, do); !ewtSame(got, want, 0, 0) {
				t.Fatalf("%s: element %d: %v(%v, %v) = %v, want %v", name, i, op, x, y, got, want)
			}
		}
	}
	ewtCheckUntouched(t, name, dst, before, dOffs)
}

// ---------------------------------------------------------------- tests

var ewtComputeDTypes = []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64}

func TestUnary(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dt := range ewtComputeDTypes {
		for _, op := range ewtUnaryOps {
			if dt.IsInt() && !op.IntOK() {
				continue
			}
			for _, shape := range ewtShapes {
				for _, c := range ewtUnaryCombos {
					ewtCheckUnary(t, r, op, dt, shape, c)
				}
			}
		}
	}
}

func TestBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, dt := range append(ewtComputeDTypes, backend.Bool) {
		for _, op := range ewtBinaryOps {
			if dt.IsInt() && !op.IntOK() || dt == backend.Int32 && op == backend.OpPow {
				continue
			}
			if dt == backend.Bool && op != backend.OpMaximum && op != backend.OpMinimum &&
				op.Info().Family != backend.FamilyCompare {
				continue
			}
			for _, shape := range ewtShapes {
				for _, c := range ewtBinaryCombos {
					ewtCheckBinary(t, r, op, dt, shape, c)
				}
			}
		}
	}
}

// TestElementwiseLarge runs layouts of over 100k elements, which parallelFor
// splits across the workers.
func TestElementwiseLarge(t *testing.T) {
	if Workers() < 2 {
		t.Log("one worker: the parallel split is not exercised")
	}
	r := rand.New(rand.NewPCG(5, 6))
	unary := []ewtCombo{{dst: ewtContig, a: ewtContig}, {dst: ewtTransposed, a: ewtStrided}}
	for _, dt := range ewtComputeDTypes {
		ops := []backend.Op{backend.OpNeg, backend.OpSquare}
		if !dt.IsInt() {
			ops = append(ops, backend.OpExp, backend.OpGELU, backend.OpSigmoid)
		}
		for _, op := range ops {
			for _, c := range unary {
				ewtCheckUnary(t, r, op, dt, ewtBig, c)
			}
		}
	}
	binary := []ewtCombo{
		{dst: ewtContig, a: ewtContig, b: ewtContig},
		{dst: ewtContig, a: ewtContig, b: ewtBcast},
		{dst: ewtStrided, a: ewtTransposed, b: ewtScalar},
	}
	for _, dt := range ewtComputeDTypes {
		for _, op := range []backend.Op{backend.OpAdd, backend.OpMul, backend.OpMaximum, backend.OpLt} {
			for _, c := range binary {
				ewtCheckBinary(t, r, op, dt, ewtBig, c)
			}
		}
	}
	for _, dt := range []backend.DType{backend.Float32, backend.BFloat16} {
		ewtCheckWhere(t, r, dt, ewtBig, ewtCombo{dst: ewtContig, c: ewtContig, a: ewtContig, b: ewtContig})
		ewtCheckWhere(t, r, dt, ewtBig, ewtCombo{dst: ewtTransposed, c: ewtStrided, a: ewtBcast, b: ewtScalar})
	}
	for _, c := range []ewtCombo{{dst: ewtContig, a: ewtContig}, {dst: ewtTransposed, a: ewtOffset}} {
		ewtCheckCopy(t, r, backend.Float32, backend.Float32, ewtBig, c)
		ewtCheckCopy(t, r, backend.Float64, backend.BFloat16, ewtBig, c)
		ewtCheckCopy(t, r, backend.Float16, backend.Int32, ewtBig, c)
	}
	ewtCheckFill(t, backend.Float32, ewtBig, ewtStrided, 1.25)
	ewtCheckFill(t, backend.Float64, ewtBig, ewtContig, -3)
}

// TestElementwiseInPlace runs kernels whose dst is an input: same buffer, same layout.
func TestElementwiseInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, shape := range [][]int{{}, {4, 5}, {2, 3, 4}, ewtBig} {
		for _, kind := range []ewtKind{ewtContig, ewtTransposed, ewtStrided} {
			l, n := ewtLayout(shape, kind)
			offs := ewtOffsets(l)

			x := ewtBuf(r, backend.Float32, n, true)
			orig := ewtSnapshot(x)
			Default.Unary(backend.OpTanh, x, l, x, l)
			for _, o := range offs {
				in := float64(math.Float32frombits(uint32(orig[o])))
				if want := float64(float32(math.Tanh(in))); !ewtSame(float64(x.F32[o]), want, 0, 0) {
					t.Fatalf("in-place tanh %v %v: tanh(%v) = %v, want %v", shape, kind, in, x.F32[o], want)
				}
			}
			ewtCheckUntouched(t, "in-place tanh", x, orig, offs)

			a := ewtBuf(r, backend.Int64, n, true)
			bl, bn := ewtLayout(shape, ewtBcast)
			b := ewtBuf(r, backend.Int64, bn, true)
			orig = ewtSnapshot(a)
			Default.Binary(backend.OpSub, a, l, a, l, b, bl)
			bOffs := ewtOffsets(bl)
			for i, o := range offs {
				if want := int64(orig[o]) - b.I64[bOffs[i]]; a.I64[o] != want {
					t.Fatalf("in-place sub %v %v: element %d = %d, want %d", shape, kind, i, a.I64[o], want)
				}
			}

			c := ewtBuf(r, backend.Bool, n, false)
			y := ewtBuf(r, backend.Float64, n, true)
			z := ewtBuf(r, backend.Float64, n, true)
			orig = ewtSnapshot(y)
			Default.Where(y, l, c, l, y, l, z, l)
			for _, o := range offs {
				want := orig[o]
				if !c.B[o] {
					want = math.Float64bits(z.F64[o])
				}
				if got := math.Float64bits(y.F64[o]); got != want {
					t.Fatalf("in-place where %v %v: offset %d = %x, want %x", shape, kind, o, got, want)
				}
			}
		}
	}
}

func TestUnarySpecialValues(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		op      backend.Op
		in, out float64
	}{
		{backend.OpReLU, nan, nan},
		{backend.OpReLU, inf, inf},
		{backend.OpReLU, -inf, 0},
		{backend.OpReLU, -2, 0},
		{backend.OpSigmoid, 1000, 1},
		{backend.OpSigmoid, -1000, 0},
		{backend.OpSigmoid, inf, 1},
		{backend.OpSigmoid, -inf, 0},
		{backend.OpSigmoid, nan, nan},
		{backend.OpSigmoid, 0, 0.5},
		{backend.OpSiLU, 1000, 1000},
		{backend.OpSiLU, -1000, 0},
		{backend.OpSiLU, nan, nan},
		{backend.OpGELU, 1000, 1000},
		{backend.OpGELU, -1000, 0},
		{backend.OpGELU, nan, nan},
		{backend.OpGELUTanh, 1000, 1000},
		{backend.OpGELUTanh, -1000, 0},
		{backend.OpSign, nan, 0},
		{backend.OpSign, -3, -1},
		{backend.OpSign, inf, 1},
		{backend.OpSign, math.Copysign(0, -1), 0},
		{backend.OpRound, 0.5, 0},
		{backend.OpRound, 1.5, 2},
		{backend.OpRound, 2.5, 2},
		{backend.OpRound, -2.5, -2},
		{backend.OpRound, -3.5, -4},
		{backend.OpRound, 2.5000005, 3},
		{backend.OpRsqrt, 4, 0.5},
		{backend.OpRsqrt, 0, inf},
		{backend.OpRecip, -4, -0.25},
		{backend.OpAbs, -inf, inf},
		{backend.OpExp, -inf, 0},
		{backend.OpLog, 0, -inf},
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, c := range cases {
			src, dst := NewBuffer(dt, 1), NewBuffer(dt, 1)
			ewtSet(src, 0, c.in)
			l := backend.Layout{Shape: []int{}, Strides: []int{}}
			Default.Unary(c.op, dst, l, src, l)
			if got := ewtGet(dst, 0); !ewtSame(got, c.out, 0, 0) {
				t.Errorf("%v %v(%v) = %v, want %v", dt, c.op, c.in, got, c.out)
			}
		}
	}
	// GELU and GELUTanh at a few known points (PyTorch's values).
	for _, c := range []struct {
		op      backend.Op
		in, out float64
	}{
		{backend.OpGELU, 1, 0.8413447460685429},
		{backend.OpGELU, -1, -0.15865525393145707},
		{backend.OpGELUTanh, 1, 0.8411919906082768},
		{backend.OpSiLU, 1, 0.7310585786300049},
	} {
		src, dst := NewBuffer(backend.Float64, 1), NewBuffer(backend.Float64, 1)
		src.F64[0] = c.in
		l := backend.Contiguous([]int{1})
		Default.Unary(c.op, dst, l, src, l)
		if math.Abs(dst.F64[0]-c.out) > 1e-15 {
			t.Errorf("%v(%v) = %v, want %v", c.op, c.in, dst.F64[0], c.out)
		}
	}
	// Integer wrap-around.
	src, dst := NewBuffer(backend.Int32, 2), NewBuffer(backend.Int32, 2)
	src.I32[0], src.I32[1] = math.MinInt32, 1<<16
	l := backend.Contiguous([]int{2})
	Default.Unary(backend.OpAbs, dst, l, src, l)
	if dst.I32[0] != math.MinInt32 || dst.I32[1] != 1<<16 {
		t.Errorf("abs int32 %v = %v", src.I32, dst.I32)
	}
	Default.Unary(backend.OpSquare, dst, l, src, l)
	if dst.I32[0] != 0 || dst.I32[1] != 0 {
		t.Errorf("square int32 %v = %v, want wrapped [0 0]", src.I32, dst.I32)
	}
}

func TestBinarySpecialValues(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	xs := []float64{nan, 1, nan, -inf, inf, -inf, 0, 2}
	ys := []float64{1, nan, nan, 3, -inf, -inf, math.Copysign(0, -1), 2}
	want := map[backend.Op][]float64{
		backend.OpMaximum: {nan, nan, nan, 3, inf, -inf, 0, 2},
		backend.OpMinimum: {nan, nan, nan, -inf, -inf, -inf, math.Copysign(0, -1), 2},
	}
	wantCmp := map[backend.Op][]bool{
		backend.OpEq: {false, false, false, false, false, true, true, true},
		backend.OpNe: {true, true, true, true, true, false, false, false},
		backend.OpLt: {false, false, false, true, false, false, false, false},
		backend.OpLe: {false, false, false, true, false, true, true, true},
		backend.OpGt: {false, false, false, false, true, false, false, false},
		backend.OpGe: {false, false, false, false, true, true, true, true},
	}
	l := backend.Contiguous([]int{len(xs)})
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		a, b := NewBuffer(dt, len(xs)), NewBuffer(dt, len(xs))
		for i := range xs {
			ewtSet(a, i, xs[i])
			ewtSet(b, i, ys[i])
		}
		for op, w := range want {
			dst := NewBuffer(dt, len(xs))
			Default.Binary(op, dst, l, a, l, b, l)
			for i := range w {
				got := ewtGet(dst, i)
				if !ewtSame(got, w[i], 0, 0) || math.Signbit(got) != math.Signbit(w[i]) && !math.IsNaN(got) {
					t.Errorf("%v %v(%v, %v) = %v, want %v", dt, op, xs[i], ys[i], got, w[i])
				}
			}
		}
		for op, w := range wantCmp {
			dst := NewBuffer(backend.Bool, len(xs))
			Default.Binary(op, dst, l, a, l, b, l)
			for i := range w {
				if dst.B[i] != w[i] {
					t.Errorf("%v %v(%v, %v) = %v, want %v", dt, op, xs[i], ys[i], dst.B[i], w[i])
				}
			}
		}
	}
}

func TestWhere(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	combos := []ewtCombo{
		{dst: ewtContig, c: ewtContig, a: ewtContig, b: ewtContig},
		{dst: ewtTransposed, c: ewtBcast, a: ewtContig, b: ewtScalar},
		{dst: ewtStrided, c: ewtTransposed, a: ewtOffset, b: ewtBcast},
		{dst: ewtOffset, c: ewtScalar, a: ewtStrided, b: ewtTransposed},
	}
	for _, dt := range backend.DTypes() {
		for _, shape := range ewtShapes {
			for _, c := range combos {
				ewtCheckWhere(t, r, dt, shape, c)
			}
		}
	}
}

func ewtCheckWhere(t *testing.T, r *rand.Rand, dt backend.DType, shape []int, c ewtCombo) {
	t.Helper()
	name := fmt.Sprintf("Where %v %v dst=%v cond=%v a=%v b=%v", dt, shape, c.dst, c.c, c.a, c.b)
	dl, dn := ewtLayout(shape, c.dst)
	cl, cn := ewtLayout(shape, c.c)
	al, an := ewtLayout(shape, c.a)
	bl, bn := ewtLayout(shape, c.b)
	cond := ewtBuf(r, backend.Bool, cn, false)
	a, b := ewtBuf(r, dt, an, true), ewtBuf(r, dt, bn, true)
	dst := ewtBuf(r, dt, dn, false)
	before := ewtSnapshot(dst)
	Default.Where(dst, dl, cond, cl, a, al, b, bl)
	dOffs, cOffs, aOffs, bOffs := ewtOffsets(dl), ewtOffsets(cl), ewtOffsets(al), ewtOffsets(bl)
	for i := range dOffs {
		want := ewtBits(b, bOffs[i])
		if cond.B[cOffs[i]] {
			want = ewtBits(a, aOffs[i])
		}
		if got := ewtBits(dst, dOffs[i]); got != want {
			t.Fatalf("%s: element %d = %#x, want %#x", name, i, got, want)
		}
	}
	ewtCheckUntouched(t, name, dst, before, dOffs)
}

func TestFill(t *testing.T) {
	values := []float64{2.7, -2.7, 0, 1, 65519.99, 1e5, 1 + 1.0/256 + math.Ldexp(1, -40), math.Inf(-1), math.NaN()}
	for _, dt := range backend.DTypes() {
		for _, shape := range ewtShapes {
			for _, kind := range []ewtKind{ewtContig, ewtOffset, ewtTransposed, ewtStrided} {
				for _, v := range values {
					if dt.IsInt() && (math.IsNaN(v) || math.IsInf(v, 0)) {
						continue // implementation-dependent
					}
					ewtCheckFill(t, dt, shape, kind, v)
				}
			}
		}
	}
}

func ewtCheckFill(t *testing.T, dt backend.DType, shape []int, kind ewtKind, v float64) {
	t.Helper()
	name := fmt.Sprintf("Fill %v %v %v %v", dt, shape, kind, v)
	l, n := ewtLayout(shape, kind)
	dst := ewtBuf(rand.New(rand.NewPCG(uint64(n), 11)), dt, n, false)
	before := ewtSnapshot(dst)
	Default.Fill(dst, l, v)
	want := ewtRefConvert(dt, v, 0, false)
	offs := ewtOffsets(l)
	for i, o := range offs {
		if got := ewtBits(dst, o); got != want {
			t.Fatalf("%s: element %d = %#x, want %#x", name, i, got, want)
		}
	}
	ewtCheckUntouched(t, name, dst, before, offs)
}

func TestElementwisePanics(t *testing.T) {
	l := backend.Contiguous([]int{3})
	f32, i32, i64 := NewBuffer(backend.Float32, 3), NewBuffer(backend.Int32, 3), NewBuffer(backend.Int64, 3)
	f16, bl := NewBuffer(backend.Float16, 3), NewBuffer(backend.Bool, 3)
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"exp int32", func() { Default.Unary(backend.OpExp, i32, l, i32, l) }, "cpu: Unary exp on int32 not supported"},
		{"neg float16", func() { Default.Unary(backend.OpNeg, f16, l, f16, l) }, "cpu: Unary neg on float16 not supported"},
		{"neg bool", func() { Default.Unary(backend.OpNeg, bl, l, bl, l) }, "cpu: Unary neg on bool not supported"},
		{"div int64", func() { Default.Binary(backend.OpDiv, i64, l, i64, l, i64, l) }, "cpu: Binary div on int64 not supported"},
		{"pow int32", func() { Default.Binary(backend.OpPow, i32, l, i32, l, i32, l) }, "cpu: Binary pow on int32 not supported"},
		{"add bool", func() { Default.Binary(backend.OpAdd, bl, l, bl, l, bl, l) }, "cpu: Binary add on bool not supported"},
		{"lt float16", func() { Default.Binary(backend.OpLt, bl, l, f16, l, f16, l) }, "cpu: Binary lt on float16 not supported"},
		{"sum as unary", func() { Default.Unary(backend.OpSum, f32, l, f32, l) }, "not a unary op"},
		{"exp as binary", func() { Default.Binary(backend.OpExp, f32, l, f32, l, f32, l) }, "not a binary op"},
		{"mixed dtypes", func() { Default.Binary(backend.OpAdd, f32, l, f32, l, i32, l) }, "a is float32 but b is int32"},
		{"compare into float", func() { Default.Binary(backend.OpEq, f32, l, f32, l, f32, l) }, "want bool"},
		{"where cond", func() { Default.Where(f32, l, f32, l, f32, l, f32, l) }, "cond is float32"},
		{"shape", func() { Default.Unary(backend.OpNeg, f32, l, f32, backend.Contiguous([]int{1, 3})) }, "differs from dst shape"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Errorf("%s: no panic", c.name)
					return
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, c.want) {
					t.Errorf("%s: panic %q, want it to contain %q", c.name, msg, c.want)
				}
			}()
			c.f()
		}()
	}
}

func TestElementwiseCoalesce(t *testing.T) {
	// Contiguous and stride-0 operands merge into one axis; a transposed
	// one keeps its axes; size-1 axes vanish.
	ls := []backend.Layout{
		{Shape: []int{2, 1, 3, 4}, Strides: []int{12, 99, 4, 1}},
		{Shape: []int{2, 1, 3, 4}, Strides: []int{0, 5, 0, 0}},
	}
	shape, strides := ewCoalesce(ls)
	if fmt.Sprint(shape, strides) != "[24] [[1] [0]]" {
		t.Errorf("coalesce contiguous+scalar = %v %v", shape, strides)
	}
	ls[1].Strides = []int{1, 0, 8, 2} // the last two axes merge, the first does not
	shape, strides = ewCoalesce(ls)
	if fmt.Sprint(shape, strides) != "[2 12] [[12 1] [1 2]]" {
		t.Errorf("coalesce partial = %v %v", shape, strides)
	}
	ls[1].Strides = []int{1, 0, 2, 6} // transposed
	shape, strides = ewCoalesce(ls)
	if fmt.Sprint(shape, strides) != "[2 3 4] [[12 4 1] [1 2 6]]" {
		t.Errorf("coalesce contiguous+transposed = %v %v", shape, strides)
	}
}
