package cpu

import (
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// Fast paths of the float32 elementwise kernels beyond the plain
// substitution of an asm kernel (fast.go):
//
//   - Add, Sub and Mul with a broadcast scalar operand (stride 0 along a
//     run, as AddScalar, MulScalar and RSubScalar make) run
//     asm.AddScalar / asm.MulScalar on the other operand instead of
//     filling a block with copies of the scalar. a - s is computed as
//     a + (-s) and s - b as (-b) + s, which IEEE defines to be the same
//     values (signed zeros included).
//   - Comparisons with a scalar operand compare against the scalar
//     directly; comparisons and Where on float32 are branch-free loops.
//   - Neg is asm.MulScalar(x, -1) and Square asm.Mul(x, x), both exact.
//   - GELU and GELUTanh use asm.GELU / asm.GELUTanh (within 3 ulp of
//     float64 math) and SiLU is x·asm.Sigmoid(x), with the reference's
//     special values: GELU(-Inf) and GELUTanh(-Inf) are NaN, as
//     -Inf·0 is (the asm kernels give the limit, -0).
//
// Everything else — strided operands, other ops — goes through the same
// block gathering as the reference kernels.

// fastScalarF32 returns, for Add, Sub and Mul, kernels of d = a op s
// (scalar second) and d = s op b (scalar first), or nils.
func fastScalarF32(op backend.Op) (second, first func(d, x []float32, s float32)) {
	switch op {
	case backend.OpAdd:
		return asm.AddScalar, asm.AddScalar
	case backend.OpMul:
		return asm.MulScalar, asm.MulScalar
	case backend.OpSub:
		return func(d, a []float32, s float32) { asm.AddScalar(d, a, -s) },
			func(d, b []float32, s float32) {
				asm.MulScalar(d, b, -1)
				asm.AddScalar(d, d, s)
			}
	}
	return nil, nil
}

// ewMap2F32 is ewMap2 for a float32 binary op with an asm kernel k, taking
// the scalar kernels of op for runs where one operand is broadcast.
func ewMap2F32(op backend.Op, dst []float32, dl backend.Layout, a []float32, al backend.Layout, b []float32, bl backend.Layout, cost int, k func(d, a, b []float32)) {
	second, first := fastScalarF32(op)
	if second == nil {
		ewMap2(dst, dl, a, al, b, bl, cost, k)
		return
	}
	ewMap2Scalar(dst, dl, a, al, b, bl, cost, second, first, k)
}

// ewMap2Scalar is ewMap2 for float32 operands where a run whose a or b is
// a broadcast scalar goes to first(d, b, a) or second(d, a, b) instead of
// k: the scalar-operand loops of arithmetic and comparisons.
func ewMap2Scalar[D any](dst []D, dl backend.Layout, a []float32, al backend.Layout, b []float32, bl backend.Layout, cost int,
	second, first func(d []D, x []float32, s float32), k func(d []D, a, b []float32)) {
	ewWalk([]backend.Layout{dl, al, bl}, cost, func(sc *ewScratch) ewRunFunc {
		out := ewDst[D]{data: dst, sc: sc}
		x := ewSrc[float32]{data: a, sc: sc}
		y := ewSrc[float32]{data: b, sc: sc}
		return func(offs []int, n int, inner []int) {
			aS := inner[1] == 0 && inner[2] != 0
			bS := inner[2] == 0 && inner[1] != 0
			step := ewBlock
			if inner[0] == 1 && (inner[1] == 1 || aS) && (inner[2] == 1 || bS) {
				step = n
			}
			for i := 0; i < n; i += step {
				m := min(step, n-i)
				do := offs[0] + i*inner[0]
				d := out.view(do, inner[0], m)
				switch {
				case bS:
					second(d, x.view(offs[1]+i*inner[1], inner[1], m), b[offs[2]])
				case aS:
					first(d, y.view(offs[2]+i*inner[2], inner[2], m), a[offs[1]])
				default:
					k(d, x.view(offs[1]+i*inner[1], inner[1], m), y.view(offs[2]+i*inner[2], inner[2], m))
				}
				out.flush(do, inner[0], m)
			}
		}
	})
}

// compareF32Fast runs a float32 comparison with scalar-operand loops where
// a run has a broadcast operand, and reports whether it did.
func compareF32Fast(op backend.Op, dst []bool, dl backend.Layout, a []float32, al backend.Layout, b []float32, bl backend.Layout) bool {
	if fastOff.Load() {
		return false
	}
	k := ewCompare[float32](op)
	second := cmpScalarF32(op)
	first := cmpScalarF32(cmpFlip(op))
	ewMap2Scalar(dst, dl, a, al, b, bl, ewCostCheap, second, first, k)
	return true
}

// cmpFlip returns the comparison op' with s op x == x op' s.
func cmpFlip(op backend.Op) backend.Op {
	switch op {
	case backend.OpLt:
		return backend.OpGt
	case backend.OpLe:
		return backend.OpGe
	case backend.OpGt:
		return backend.OpLt
	case backend.OpGe:
		return backend.OpLe
	}
	return op
}

// cmpScalarF32 returns the kernel of d[i] = x[i] op s.
func cmpScalarF32(op backend.Op) func(d []bool, x []float32, s float32) {
	switch op {
	case backend.OpEq:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v == s
			}
		}
	case backend.OpNe:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v != s
			}
		}
	case backend.OpLt:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v < s
			}
		}
	case backend.OpLe:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v <= s
			}
		}
	case backend.OpGt:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v > s
			}
		}
	case backend.OpGe:
		return func(d []bool, x []float32, s float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = v >= s
			}
		}
	}
	panic("cpu: Binary: " + op.String() + " is not a comparison")
}

// whereF32Fast runs a float32 Where with branch-free loops, taking a
// broadcast a or b as a scalar, and reports whether it did.
func whereF32Fast(dst []float32, dl backend.Layout, cond []bool, cl backend.Layout, a []float32, al backend.Layout, b []float32, bl backend.Layout) bool {
	if fastOff.Load() {
		return false
	}
	ewWalk([]backend.Layout{dl, cl, al, bl}, ewCostCheap, func(sc *ewScratch) ewRunFunc {
		out := ewDst[float32]{data: dst, sc: sc}
		c := ewSrc[bool]{data: cond, sc: sc}
		x := ewSrc[float32]{data: a, sc: sc}
		y := ewSrc[float32]{data: b, sc: sc}
		return func(offs []int, n int, inner []int) {
			aS, bS := inner[2] == 0, inner[3] == 0
			step := ewBlock
			if inner[0] == 1 && inner[1] == 1 && (inner[2] == 1 || aS) && (inner[3] == 1 || bS) {
				step = n
			}
			for i := 0; i < n; i += step {
				m := min(step, n-i)
				do := offs[0] + i*inner[0]
				d := out.view(do, inner[0], m)
				cv := c.view(offs[1]+i*inner[1], inner[1], m)
				switch {
				case aS && bS:
					whereF32Scalars(d, cv, a[offs[2]], b[offs[3]])
				case aS:
					whereF32(d, cv, math.Float32bits(a[offs[2]]), nil, 0, y.view(offs[3]+i*inner[3], inner[3], m))
				case bS:
					whereF32(d, cv, 0, x.view(offs[2]+i*inner[2], inner[2], m), math.Float32bits(b[offs[3]]), nil)
				default:
					whereF32(d, cv, 0, x.view(offs[2]+i*inner[2], inner[2], m), 0, y.view(offs[3]+i*inner[3], inner[3], m))
				}
				out.flush(do, inner[0], m)
			}
		}
	})
	return true
}

// whereF32 sets d[i] to a[i] where c[i] and to b[i] elsewhere; a nil a
// (b) stands for the scalar with bits sa (sb). It selects bits with a mask,
// without branches.
func whereF32(d []float32, c []bool, sa uint32, a []float32, sb uint32, b []float32) {
	c = c[:len(d)]
	switch {
	case a == nil:
		b = b[:len(d)]
		for i, v := range c {
			m := -b2u(v)
			d[i] = math.Float32frombits(sa&m | math.Float32bits(b[i])&^m)
		}
	case b == nil:
		a = a[:len(d)]
		for i, v := range c {
			m := -b2u(v)
			d[i] = math.Float32frombits(math.Float32bits(a[i])&m | sb&^m)
		}
	default:
		a, b = a[:len(d)], b[:len(d)]
		for i, v := range c {
			m := -b2u(v)
			d[i] = math.Float32frombits(math.Float32bits(a[i])&m | math.Float32bits(b[i])&^m)
		}
	}
}

func whereF32Scalars(d []float32, c []bool, a, b float32) {
	sa, sb := math.Float32bits(a), math.Float32bits(b)
	c = c[:len(d)]
	for i, v := range c {
		m := -b2u(v)
		d[i] = math.Float32frombits(sa&m | sb&^m)
	}
}

// geluFast wraps asm.GELU or asm.GELUTanh so that -Inf gives NaN, as the
// reference's x·Φ(x) does. asm.Sum is finite when x holds no infinity or
// NaN, which is the usual case and costs one fast pass.
func geluFast(k func(d, x []float32)) func(d, x []float32) {
	return func(d, x []float32) {
		if finite32(asm.Sum(x)) {
			k(d, x)
			return
		}
		negInf := float32(math.Inf(-1))
		for len(x) > 0 {
			i := 0
			for i < len(x) && x[i] != negInf {
				i++
			}
			k(d[:i], x[:i])
			if i < len(x) {
				d[i] = float32(math.NaN())
				i++
			}
			d, x = d[i:], x[i:]
		}
	}
}

// siluChunk is the number of elements siluF32 takes at a time.
const siluChunk = 256

// siluF32 sets d[i] = x[i]·σ(x[i]) with σ from asm.Sigmoid (2 ulp), one
// more rounding for the product. Below siluLow σ(x) nears the subnormal
// range, where it loses relative precision, so those elements are computed
// in float64 as the reference does.
func siluF32(d, x []float32) {
	const siluLow = -80
	var buf [siluChunk]float32
	x = x[:len(d)]
	for len(x) > 0 {
		n := min(len(x), siluChunk)
		s, xs, ds := buf[:n], x[:n], d[:n]
		asm.Sigmoid(s, xs)
		for i, v := range xs {
			if v < siluLow {
				ds[i] = float32(float64(v) * ewSigmoid(float64(v)))
				continue
			}
			ds[i] = v * s[i]
		}
		d, x = d[n:], x[n:]
	}
}
