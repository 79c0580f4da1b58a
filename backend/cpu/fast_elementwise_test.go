package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// fastScalarLayout is a layout of shape whose every stride is 0: one
// element broadcast, as a Go scalar next to a tensor reaches the kernels.
func fastScalarLayout(shape []int, off int) backend.Layout {
	return backend.Layout{Shape: append([]int(nil), shape...), Strides: make([]int, len(shape)), Offset: off}
}

var fastEwShapes = [][]int{{0, 4}, {1}, {7}, {5, 13}, {3, 4, 45}, {300, 129}}

// Add, Sub and Mul with a broadcast scalar, on either side, give the
// reference's bits (NaN payloads aside), as do the other fast binary ops on
// every layout.
func TestFastBinaryScalarMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ops := []backend.Op{backend.OpAdd, backend.OpSub, backend.OpMul, backend.OpDiv, backend.OpMaximum, backend.OpMinimum}
	scalars := []float32{2.5, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1))}
	for o, op := range ops {
		for _, shape := range fastEwShapes {
			for i, ak := range fastKinds {
				if backend.NumElements(shape) > 5000 && (i+o)%3 != 0 {
					continue // keep the test short: some layouts on the large shape
				}
				al, an := ktLayout(shape, ak)
				dl, dn := ktLayout(shape, fastOutKinds[i%len(fastOutKinds)])
				a := fastVals(r, an, 3, true)
				for k, s := range scalars {
					if backend.NumElements(shape) > 5000 && k != i%len(scalars) {
						continue // one scalar per layout on the large shape
					}
					b := &Buffer{dt: backend.Float32, F32: []float32{7, s}}
					sl := fastScalarLayout(shape, 1)
					for _, first := range []bool{false, true} {
						name := fastName(op, " shape ", shape, " a ", ak, " scalar ", s, " first ", first)
						want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) {
							if first {
								Default.Binary(op, d, dl, b, sl, a, al)
							} else {
								Default.Binary(op, d, dl, a, al, b, sl)
							}
						})
						fastCheckF32(t, name, want, got, fastExact)
					}
				}
				// Both operands scalar, and a second operand of any kind.
				b := &Buffer{dt: backend.Float32, F32: []float32{3}}
				want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) {
					Default.Binary(op, d, dl, b, fastScalarLayout(shape, 0), b, fastScalarLayout(shape, 0))
				})
				fastCheckF32(t, fastName(op, " shape ", shape, " both scalar"), want, got, fastExact)
				bl, bn := ktLayout(shape, fastKinds[(i+2)%len(fastKinds)])
				b = fastVals(r, bn, 3, true)
				want, got = fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) { Default.Binary(op, d, dl, a, al, b, bl) })
				fastCheckF32(t, fastName(op, " shape ", shape, " a ", ak), want, got, fastExact)
			}
		}
	}
}

// Comparisons and Where give exactly the reference's results.
func TestFastCompareWhereMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	ops := []backend.Op{backend.OpEq, backend.OpNe, backend.OpLt, backend.OpLe, backend.OpGt, backend.OpGe}
	for _, shape := range fastEwShapes {
		for i, ak := range fastKinds {
			al, an := ktLayout(shape, ak)
			bl, bn := ktLayout(shape, fastKinds[(i+1)%len(fastKinds)])
			dl, dn := ktLayout(shape, fastOutKinds[i%len(fastOutKinds)])
			a, b := fastVals(r, an, 1, true), fastVals(r, bn, 1, true)
			for k := 0; k < len(a.F32); k += 3 {
				a.F32[k] = 0.5 // ties with the scalar
			}
			s := &Buffer{dt: backend.Float32, F32: []float32{0.5, float32(math.NaN())}}
			for k, op := range ops {
				if backend.NumElements(shape) > 5000 && k != i%len(ops) {
					continue // one comparison per layout on the large shape
				}
				for _, c := range []struct {
					name   string
					x, y   *Buffer
					xl, yl backend.Layout
				}{
					{"a op b", a, b, al, bl},
					{"a op s", a, s, al, fastScalarLayout(shape, 0)},
					{"s op a", s, a, fastScalarLayout(shape, 0), al},
					{"a op NaN", a, s, al, fastScalarLayout(shape, 1)},
					{"s op s", s, s, fastScalarLayout(shape, 0), fastScalarLayout(shape, 0)},
				} {
					want, got := fastRefAndFast(fastRandBuf(r, backend.Bool, dn), func(d *Buffer) { Default.Binary(op, d, dl, c.x, c.xl, c.y, c.yl) })
					if k := fastSameBuf(got, want); k >= 0 {
						t.Fatalf("%v %s shape %v a %v: element %d differs", op, c.name, shape, ak, k)
					}
				}
			}
			// Where with a condition of another layout and scalar operands.
			cl, cn := ktLayout(shape, fastKinds[(i+3)%len(fastKinds)])
			cond := fastRandBuf(r, backend.Bool, cn)
			neg := &Buffer{dt: backend.Float32, F32: []float32{float32(math.Inf(-1))}}
			for _, c := range []struct {
				name   string
				x, y   *Buffer
				xl, yl backend.Layout
			}{
				{"a, b", a, b, al, bl},
				{"a, -Inf", a, neg, al, fastScalarLayout(shape, 0)},
				{"-Inf, b", neg, b, fastScalarLayout(shape, 0), bl},
				{"scalars", s, neg, fastScalarLayout(shape, 1), fastScalarLayout(shape, 0)},
			} {
				want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) { Default.Where(d, dl, cond, cl, c.x, c.xl, c.y, c.yl) })
				if k := fastSameBuf(got, want); k >= 0 {
					t.Fatalf("Where %s shape %v a %v: element %d differs", c.name, shape, ak, k)
				}
			}
		}
	}
}

// GELU, GELUTanh and SiLU through internal/asm are within a few ulp of the
// reference, with its special values; Neg and Square are exact. The reference's GELUTanh loses
// accuracy for x below about -9 (1 + tanh cancels in float64, 1e-16 against
// results near 1e-10), hence the absolute slack.
func TestFastUnaryMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, op := range []backend.Op{backend.OpGELU, backend.OpGELUTanh, backend.OpSiLU, backend.OpNeg, backend.OpSquare} {
		ok := fastWithinULP(4, 1e-14)
		if op == backend.OpNeg || op == backend.OpSquare {
			ok = fastExact
		}
		for _, shape := range fastEwShapes {
			for i, sk := range fastKinds {
				if backend.NumElements(shape) > 5000 && i%3 != 0 {
					continue // keep the test short: some layouts on the large shape
				}
				sl, sn := ktLayout(shape, sk)
				dl, dn := ktLayout(shape, fastOutKinds[i%len(fastOutKinds)])
				for _, scale := range []float64{1, 5, 40} {
					src := fastVals(r, sn, scale, scale == 5)
					want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) { Default.Unary(op, d, dl, src, sl) })
					fastCheckF32(t, fastName(op, " shape ", shape, " src ", sk, " scale ", scale), want, got, ok)
				}
			}
		}
		// Special values and the far tails, in place too.
		x := []float32{float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
			-200, -100, -88, -80.5, -79.5, -30, -12, -9, 9, 30, 1e-30, -1e-30, 3e38, -3e38}
		src := &Buffer{dt: backend.Float32, F32: x}
		l := backend.Contiguous([]int{len(x)})
		want, got := fastRefAndFast(NewBuffer(backend.Float32, len(x)), func(d *Buffer) { Default.Unary(op, d, l, src, l) })
		fastCheckF32(t, fastName(op, " specials"), want, got, ok)
		want, got = fastRefAndFast(src, func(d *Buffer) { Default.Unary(op, d, l, d, l) })
		fastCheckF32(t, fastName(op, " specials in place"), want, got, ok)
	}
}
