package backendtest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// ---------------------------------------------------------------- Unary and Binary

// approxOps are computed with a math library whose rounding may differ
// between backends by an ulp or two.
var approxOps = map[backend.Op]bool{
	backend.OpExp: true, backend.OpLog: true, backend.OpSin: true, backend.OpCos: true,
	backend.OpTanh: true, backend.OpSigmoid: true, backend.OpGELU: true, backend.OpGELUTanh: true,
	backend.OpSiLU: true, backend.OpErf: true, backend.OpLog1p: true, backend.OpExpm1: true,
	backend.OpPow: true,
}

func opUlps(op backend.Op, dt backend.DType) int64 {
	if !approxOps[op] {
		return 0
	}
	if dt == backend.Float32 {
		return 2
	}
	return 16
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// unaryFloat is the reference of a unary op on a float dtype.
func unaryFloat(op backend.Op, dt backend.DType, b uint64) uint64 {
	x := bitsF64(dt, b)
	if dt == backend.Float32 {
		// Ops computed in the element type.
		x32 := math.Float32frombits(uint32(b))
		switch op {
		case backend.OpNeg:
			return uint64(math.Float32bits(-x32))
		case backend.OpRecip:
			return uint64(math.Float32bits(1 / x32))
		case backend.OpSquare:
			return uint64(math.Float32bits(x32 * x32))
		}
	}
	var y float64
	switch op {
	case backend.OpNeg:
		y = -x
	case backend.OpAbs:
		y = math.Abs(x)
	case backend.OpSign:
		switch {
		case x > 0:
			y = 1
		case x < 0:
			y = -1
		}
	case backend.OpExp:
		y = math.Exp(x)
	case backend.OpLog:
		y = math.Log(x)
	case backend.OpSqrt:
		y = math.Sqrt(x)
	case backend.OpRsqrt:
		y = 1 / math.Sqrt(x)
	case backend.OpSin:
		y = math.Sin(x)
	case backend.OpCos:
		y = math.Cos(x)
	case backend.OpTanh:
		y = math.Tanh(x)
	case backend.OpSigmoid:
		y = sigmoid(x)
	case backend.OpReLU:
		y = x
		if x <= 0 {
			y = 0
		}
	case backend.OpGELU:
		y = 0.5 * x * math.Erfc(-x/math.Sqrt2)
	case backend.OpGELUTanh:
		y = 0.5 * x * (1 + math.Tanh(0.7978845608028654*(x+0.044715*x*x*x)))
	case backend.OpSiLU:
		y = x * sigmoid(x)
	case backend.OpRecip:
		y = 1 / x
	case backend.OpSquare:
		y = x * x
	case backend.OpErf:
		y = math.Erf(x)
	case backend.OpLog1p:
		y = math.Log1p(x)
	case backend.OpExpm1:
		y = math.Expm1(x)
	case backend.OpFloor:
		y = math.Floor(x)
	case backend.OpCeil:
		y = math.Ceil(x)
	case backend.OpRound:
		y = math.RoundToEven(x)
	default:
		panic("backendtest: not a unary op")
	}
	return fromF64(dt, y)
}

// unaryInt is the reference of a unary op on an integer dtype (wrapping).
func unaryInt(op backend.Op, dt backend.DType, b uint64) uint64 {
	x := int64(b)
	var y int64
	switch op {
	case backend.OpNeg:
		y = -x
	case backend.OpAbs:
		y = x
		if x < 0 {
			y = -x
		}
	case backend.OpSign:
		switch {
		case x > 0:
			y = 1
		case x < 0:
			y = -1
		}
	case backend.OpSquare:
		y = x * x
	case backend.OpReLU:
		y = max(x, 0)
	case backend.OpFloor, backend.OpCeil, backend.OpRound:
		y = x
	default:
		panic("backendtest: not an integer unary op")
	}
	return fromInt(dt, y)
}

func testUnary(t *testing.T, be backend.Backend) {
	for _, op := range backend.Ops() {
		if op.Info().Family != backend.FamilyUnary {
			continue
		}
		dts := []backend.DType{backend.Float32, backend.Float64}
		if op.IntOK() {
			dts = append(dts, backend.Int32, backend.Int64)
		}
		for _, dt := range dts {
			op, dt := op, dt
			ref := func(v []uint64) uint64 { return unaryFloat(op, dt, v[0]) }
			if dt.IsInt() {
				ref = func(v []uint64) uint64 { return unaryInt(op, dt, v[0]) }
			}
			shapes := ewShapes
			if op == backend.OpNeg {
				shapes = append(shapes, deepShape)
			}
			ewRun(t, be, fmt.Sprintf("Unary %v %v", op, dt), dt, []backend.DType{dt}, []genKind{genSpecial}, opUlps(op, dt), shapes,
				func(d backend.Buffer, dl backend.Layout, in []backend.Buffer, ls []backend.Layout) {
					be.Unary(op, d, dl, in[0], ls[0])
				}, ref)
		}
	}
}

func fmax(a, b float64) float64 {
	switch {
	case a != a:
		return a
	case b != b:
		return b
	case a > b:
		return a
	case b > a:
		return b
	case math.Signbit(a):
		return b
	}
	return a
}

func fmin(a, b float64) float64 {
	switch {
	case a != a:
		return a
	case b != b:
		return b
	case a < b:
		return a
	case b < a:
		return b
	case math.Signbit(a):
		return a
	}
	return b
}

func binaryRef(op backend.Op, dt backend.DType, a, b uint64) uint64 {
	bit := func(c bool) uint64 {
		if c {
			return 1
		}
		return 0
	}
	if op.Info().Family == backend.FamilyCompare {
		if dt.IsFloat() {
			x, y := bitsF64(dt, a), bitsF64(dt, b)
			switch op {
			case backend.OpEq:
				return bit(x == y)
			case backend.OpNe:
				return bit(x != y)
			case backend.OpLt:
				return bit(x < y)
			case backend.OpLe:
				return bit(x <= y)
			case backend.OpGt:
				return bit(x > y)
			case backend.OpGe:
				return bit(x >= y)
			}
		}
		x, y := int64(a), int64(b) // integers, and bool as 0 < 1
		switch op {
		case backend.OpEq:
			return bit(x == y)
		case backend.OpNe:
			return bit(x != y)
		case backend.OpLt:
			return bit(x < y)
		case backend.OpLe:
			return bit(x <= y)
		case backend.OpGt:
			return bit(x > y)
		case backend.OpGe:
			return bit(x >= y)
		}
	}
	switch dt {
	case backend.Float32:
		x, y := math.Float32frombits(uint32(a)), math.Float32frombits(uint32(b))
		var z float32
		switch op {
		case backend.OpAdd:
			z = x + y
		case backend.OpSub:
			z = x - y
		case backend.OpMul:
			z = x * y
		case backend.OpDiv:
			z = x / y
		case backend.OpPow:
			z = float32(math.Pow(float64(x), float64(y)))
		case backend.OpMaximum:
			z = float32(fmax(float64(x), float64(y)))
		case backend.OpMinimum:
			z = float32(fmin(float64(x), float64(y)))
		}
		return uint64(math.Float32bits(z))
	case backend.Float64:
		x, y := math.Float64frombits(a), math.Float64frombits(b)
		var z float64
		switch op {
		case backend.OpAdd:
			z = x + y
		case backend.OpSub:
			z = x - y
		case backend.OpMul:
			z = x * y
		case backend.OpDiv:
			z = x / y
		case backend.OpPow:
			z = math.Pow(x, y)
		case backend.OpMaximum:
			z = fmax(x, y)
		case backend.OpMinimum:
			z = fmin(x, y)
		}
		return math.Float64bits(z)
	}
	x, y := int64(a), int64(b)
	var z int64
	switch op {
	case backend.OpAdd:
		z = x + y
	case backend.OpSub:
		z = x - y
	case backend.OpMul:
		z = x * y
	case backend.OpMaximum:
		z = max(x, y)
	case backend.OpMinimum:
		z = min(x, y)
	}
	return fromInt(dt, z)
}

func testBinary(t *testing.T, be backend.Backend) {
	for _, op := range backend.Ops() {
		fam := op.Info().Family
		if fam != backend.FamilyBinary && fam != backend.FamilyCompare {
			continue
		}
		dts := []backend.DType{backend.Float32, backend.Float64}
		if op.IntOK() {
			dts = append(dts, backend.Int32, backend.Int64)
		}
		if fam == backend.FamilyCompare || op == backend.OpMaximum || op == backend.OpMinimum {
			dts = append(dts, backend.Bool)
		}
		for _, dt := range dts {
			op, dt := op, dt
			out := dt
			if fam == backend.FamilyCompare {
				out = backend.Bool
			}
			shapes := ewShapes
			if op == backend.OpAdd && dt == backend.Float32 {
				shapes = append(shapes, deepShape)
			}
			ewRun(t, be, fmt.Sprintf("Binary %v %v", op, dt), out, []backend.DType{dt, dt}, repeat(genSpecial, 2), opUlps(op, dt), shapes,
				func(d backend.Buffer, dl backend.Layout, in []backend.Buffer, ls []backend.Layout) {
					be.Binary(op, d, dl, in[0], ls[0], in[1], ls[1])
				},
				func(v []uint64) uint64 { return binaryRef(op, dt, v[0], v[1]) })
		}
	}
}

func testWhere(t *testing.T, be backend.Backend) {
	for _, dt := range allDTypes {
		ewRun(t, be, "Where "+dt.String(), dt, []backend.DType{backend.Bool, dt, dt}, repeat(genSpecial, 3), 0, ewShapes,
			func(d backend.Buffer, dl backend.Layout, in []backend.Buffer, ls []backend.Layout) {
				be.Where(d, dl, in[0], ls[0], in[1], ls[1], in[2], ls[2])
			},
			func(v []uint64) uint64 {
				if v[0] != 0 {
					return v[1]
				}
				return v[2]
			})
	}
}

// ---------------------------------------------------------------- approximate checks

// checkBound compares whole buffers: element i must match exactly when
// bound[i] < 0, else lie within bound[i] of want (NaN matching NaN and an
// infinity itself).
func checkBound(t *testing.T, what string, got, want *host, bound []float64) {
	t.Helper()
	bad := 0
	var msg strings.Builder
	for i := range want.bits {
		ok := same(want.dt, got.bits[i], want.bits[i], 0)
		if !ok && bound[i] >= 0 {
			g, w := bitsF64(got.dt, got.bits[i]), bitsF64(want.dt, want.bits[i])
			ok = !math.IsNaN(g) && !math.IsInf(w, 0) && !math.IsNaN(w) && math.Abs(g-w) <= bound[i]
		}
		if !ok {
			if bad < 5 {
				fmt.Fprintf(&msg, "\n\telement %d: got %s, want %s (±%g)", i, show(got.dt, got.bits[i]), show(want.dt, want.bits[i]), bound[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ:%s", what, bad, len(want.bits), msg.String())
	}
}

func exactBounds(n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = -1
	}
	return b
}

// ulpOf is the spacing of dt's floats at v.
func ulpOf(dt backend.DType, v float64) float64 {
	v = math.Abs(v)
	if dt == backend.Float32 {
		f := float32(v)
		return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
	}
	return math.Nextafter(v, math.Inf(1)) - v
}

const eps64 = 0x1p-52

// ---------------------------------------------------------------- Reduce

func testReduce(t *testing.T, be backend.Backend) {
	type pair struct{ src, dst backend.DType }
	pairs := []pair{{backend.Float32, backend.Float32}, {backend.Float64, backend.Float64}, {backend.Int32, backend.Int32},
		{backend.Int32, backend.Int64}, {backend.Int64, backend.Int64}, {backend.Bool, backend.Bool}}
	cases := []struct {
		shape []int
		axes  [][]int
	}{
		{[]int{4, 5, 6}, [][]int{{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}}},
		{[]int{}, [][]int{{}}},
		{[]int{3, 0, 2}, [][]int{{1}, {0}, {0, 1, 2}}},
		{[]int{2, 5000}, [][]int{{1}, {0}}},
		{[]int{20000}, [][]int{{0}}},
		{[]int{70, 3, 40}, [][]int{{0, 2}, {1}}},
	}
	r := newRand("reduce")
	for _, op := range []backend.Op{backend.OpSum, backend.OpProd, backend.OpMax, backend.OpMin} {
		for _, p := range pairs {
			if p.src == backend.Bool && (op == backend.OpSum || op == backend.OpProd) {
				continue
			}
			kind := genSpecial
			if p.src.IsFloat() && op == backend.OpSum {
				kind = genPlain
			}
			if p.src.IsFloat() && op == backend.OpProd {
				kind = genPositive
			}
			for _, cs := range cases {
				for _, axes := range cs.axes {
					reduced := make([]bool, len(cs.shape))
					empty := false
					for _, a := range axes {
						reduced[a] = true
						if cs.shape[a] == 0 {
							empty = true
						}
					}
					if empty && (op == backend.OpMax || op == backend.OpMin) {
						continue
					}
					outShape := clone(cs.shape)
					for _, a := range axes {
						outShape[a] = 1
					}
					for c := 0; c < numLayoutCases; c++ {
						ok, ik := layoutCase(c, 1)
						sl, sn := ik[0].make(cs.shape)
						dl, dn := ok.make(outShape)
						sh := gen(r, p.src, sn, kind)
						dh := gen(r, p.dst, dn, genSpecial)
						s, d := upload(t, be, sh), upload(t, be, dh)
						be.Reduce(op, d, dl, s, sl, axes)
						got := download(t, be, d)
						want, bound := dh.clone(), exactBounds(dn)
						forEach(outShape, func(oi []int) {
							w, b := reduceRef(op, p.src, p.dst, sh, sl, cs.shape, reduced, oi)
							want.bits[at(dl, oi)] = w
							bound[at(dl, oi)] = b
						})
						checkBound(t, fmt.Sprintf("Reduce %v %v->%v shape %v axes %v src %s dst %s", op, p.src, p.dst, cs.shape, axes, ik[0].name, ok.name),
							got, want, bound)
						be.Free(s)
						be.Free(d)
					}
				}
			}
		}
	}
}

// reduceRef reduces the elements of the output at index oi.
func reduceRef(op backend.Op, sd, dd backend.DType, sh *host, sl backend.Layout, shape []int, reduced []bool, oi []int) (uint64, float64) {
	var inShape []int
	var inAxes []int
	for a, n := range shape {
		if reduced[a] {
			inShape = append(inShape, n)
			inAxes = append(inAxes, a)
		}
	}
	idx := clone(oi)
	var vals []uint64
	forEach(inShape, func(ii []int) {
		for j, a := range inAxes {
			idx[a] = ii[j]
		}
		vals = append(vals, sh.bits[at(sl, idx)])
	})
	if sd == backend.Bool {
		res := uint64(0)
		if op == backend.OpMin {
			res = 1
		}
		for _, v := range vals {
			if (op == backend.OpMax && v != 0) || (op == backend.OpMin && v == 0) {
				res = v
			}
		}
		return res, -1
	}
	if sd.IsInt() {
		var acc int64
		switch op {
		case backend.OpProd:
			acc = 1
		case backend.OpMax:
			acc = math.MinInt64
		case backend.OpMin:
			acc = math.MaxInt64
		}
		for _, v := range vals {
			x := int64(v)
			switch op {
			case backend.OpSum:
				acc += x
			case backend.OpProd:
				acc *= x
			case backend.OpMax:
				acc = max(acc, x)
			case backend.OpMin:
				acc = min(acc, x)
			}
		}
		return fromInt(dd, acc), -1
	}
	acc, abs := 0.0, 0.0
	switch op {
	case backend.OpProd:
		acc = 1
	case backend.OpMax:
		acc = math.Inf(-1)
	case backend.OpMin:
		acc = math.Inf(1)
	}
	for _, v := range vals {
		x := bitsF64(sd, v)
		switch op {
		case backend.OpSum:
			acc += x
			abs += math.Abs(x)
		case backend.OpProd:
			acc *= x
		case backend.OpMax:
			if x > acc || x != x {
				acc = x
			}
		case backend.OpMin:
			if x < acc || x != x {
				acc = x
			}
		}
	}
	n := float64(len(vals))
	switch op {
	case backend.OpSum:
		return fromF64(dd, acc), 2*n*eps64*abs + ulpOf(dd, acc)
	case backend.OpProd:
		return fromF64(dd, acc), 4*n*eps64*math.Abs(acc) + ulpOf(dd, acc)
	}
	return fromF64(dd, acc), -1
}

// ---------------------------------------------------------------- ArgReduce

func testArgReduce(t *testing.T, be backend.Backend) {
	r := newRand("argreduce")
	cases := []struct {
		shape []int
		axis  int
	}{{[]int{4, 5, 6}, 0}, {[]int{4, 5, 6}, 1}, {[]int{4, 5, 6}, 2}, {[]int{}, 0}, {[]int{1, 7}, 1}, {[]int{3, 700}, 1}, {[]int{300, 2}, 0}}
	for _, op := range []backend.Op{backend.OpArgMax, backend.OpArgMin} {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64} {
			for _, cs := range cases {
				outShape := clone(cs.shape)
				if len(outShape) > 0 {
					outShape[cs.axis] = 1
				}
				for c := 0; c < numLayoutCases; c++ {
					ok, ik := layoutCase(c, 1)
					sl, sn := ik[0].make(cs.shape)
					dl, dn := ok.make(outShape)
					// Few distinct values, so that ties are common; NaNs now and then.
					sh := newHost(dt, sn)
					for i := range sh.bits {
						v := float64(r.IntN(5) - 2)
						if dt.IsFloat() && r.IntN(40) == 0 {
							v = math.NaN()
						}
						sh.bits[i] = fromF64(dt, v)
					}
					dh := gen(r, backend.Int64, dn, genSpecial)
					s, d := upload(t, be, sh), upload(t, be, dh)
					be.ArgReduce(op, d, dl, s, sl, cs.axis)
					got := download(t, be, d)
					want := dh.clone()
					n := 1
					if len(cs.shape) > 0 {
						n = cs.shape[cs.axis]
					}
					forEach(outShape, func(oi []int) {
						idx := clone(oi)
						best, bi := 0.0, -1
						for i := 0; i < n; i++ {
							if len(idx) > 0 {
								idx[cs.axis] = i
							}
							x := bitsF64(dt, sh.bits[at(sl, idx)])
							better := bi < 0
							if !better && best == best {
								better = x != x || (op == backend.OpArgMax && x > best) || (op == backend.OpArgMin && x < best)
							}
							if better {
								best, bi = x, i
							}
						}
						want.bits[at(dl, oi)] = uint64(bi)
					})
					checkBuf(t, fmt.Sprintf("ArgReduce %v %v shape %v axis %d src %s dst %s", op, dt, cs.shape, cs.axis, ik[0].name, ok.name), got, want, 0)
					be.Free(s)
					be.Free(d)
				}
			}
		}
	}
}

// ---------------------------------------------------------------- Softmax

func testSoftmax(t *testing.T, be backend.Backend) {
	r := newRand("softmax")
	cases := []struct {
		shape []int
		axis  int
	}{{[]int{4, 5, 6}, 0}, {[]int{4, 5, 6}, 1}, {[]int{4, 5, 6}, 2}, {[]int{}, 0}, {[]int{3, 300}, 1}, {[]int{2, 0, 3}, 2}}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, log := range []bool{false, true} {
			for _, cs := range cases {
				for c := 0; c < numLayoutCases; c++ {
					ok, ik := layoutCase(c, 1)
					sl, sn := ik[0].make(cs.shape)
					dl, dn := ok.make(cs.shape)
					sh := gen(r, dt, sn, genPlain)
					// Special values in a few places: rows with them become
					// NaN (+Inf, NaN) or get 0 (-Inf).
					for i := range sh.bits {
						if r.IntN(97) == 0 {
							sh.bits[i] = fromF64(dt, []float64{math.Inf(-1), math.Inf(1), math.NaN(), 40}[r.IntN(4)])
						}
					}
					dh := gen(r, dt, dn, genSpecial)
					s, d := upload(t, be, sh), upload(t, be, dh)
					be.Softmax(d, dl, s, sl, cs.axis, log)
					got := download(t, be, d)
					want, bound := dh.clone(), exactBounds(dn)
					rowShape := clone(cs.shape)
					n := 1
					if len(rowShape) > 0 {
						n = rowShape[cs.axis]
						rowShape[cs.axis] = 1
					}
					forEach(rowShape, func(ri []int) {
						idx := clone(ri)
						xs := make([]float64, n)
						m := math.Inf(-1)
						for i := range xs {
							if len(idx) > 0 {
								idx[cs.axis] = i
							}
							xs[i] = bitsF64(dt, sh.bits[at(sl, idx)])
							if xs[i] > m || xs[i] != xs[i] {
								m = xs[i]
							}
						}
						sum := 0.0
						for _, x := range xs {
							sum += math.Exp(x - m)
						}
						for i, x := range xs {
							if len(idx) > 0 {
								idx[cs.axis] = i
							}
							var y float64
							switch {
							case m != m:
								y = math.NaN()
							case log:
								y = (x - m) - math.Log(sum)
							default:
								y = math.Exp(x-m) / sum
							}
							o := at(dl, idx)
							want.bits[o] = fromF64(dt, y)
							bound[o] = 8*float64(n)*eps64*(1+math.Abs(y)) + ulpOf(dt, y)
						}
					})
					checkBound(t, fmt.Sprintf("Softmax %v log=%v shape %v axis %d src %s dst %s", dt, log, cs.shape, cs.axis, ik[0].name, ok.name), got, want, bound)
					be.Free(s)
					be.Free(d)
				}
			}
		}
	}
}

// ---------------------------------------------------------------- MatMul

func testMatMul(t *testing.T, be backend.Backend) {
	r := newRand("matmul")
	type mmCase struct {
		b, m, k, n             int
		aT, bT, cT             bool // column-major matrices
		aBcast, bBcast, padded bool // stride 0 on the batch axis; padded rows
	}
	cases := []mmCase{
		{b: 1, m: 3, k: 4, n: 5},
		{b: 2, m: 33, k: 17, n: 65},
		{b: 3, m: 70, k: 130, n: 67},
		{b: 2, m: 33, k: 17, n: 65, bT: true},
		{b: 2, m: 33, k: 17, n: 65, aT: true},
		{b: 2, m: 33, k: 17, n: 65, cT: true},
		{b: 2, m: 33, k: 17, n: 65, aT: true, bT: true, cT: true},
		{b: 3, m: 9, k: 8, n: 7, aBcast: true},
		{b: 3, m: 9, k: 8, n: 7, bBcast: true, padded: true},
		{b: 2, m: 4, k: 0, n: 3},
		{b: 1, m: 1, k: 1, n: 1},
		{b: 4, m: 1, k: 9, n: 1},
		{b: 1, m: 5, k: 1, n: 6},
	}
	mk := func(b, rows, cols int, trans, bcast, padded bool) (backend.Layout, int) {
		pad := 0
		if padded {
			pad = 3
		}
		var st []int
		var per int
		if trans {
			ld := rows + pad
			st = []int{0, 1, ld}
			per = ld * cols
		} else {
			ld := cols + pad
			st = []int{0, ld, 1}
			per = rows * ld
		}
		nb := b
		if bcast {
			nb = 1
		} else {
			st[0] = per
		}
		return backend.Layout{Shape: []int{b, rows, cols}, Strides: st, Offset: 3}, nb*per + 5
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64} {
		for _, c := range cases {
			al, an := mk(c.b, c.m, c.k, c.aT, c.aBcast, c.padded)
			bl, bn := mk(c.b, c.k, c.n, c.bT, c.bBcast, c.padded)
			dl, dn := mk(c.b, c.m, c.n, c.cT, false, c.padded)
			kind := genPlain
			if dt.IsInt() {
				kind = genSpecial // wrapping products and sums are exact in any order
			}
			ah, bh, dh := gen(r, dt, an, kind), gen(r, dt, bn, kind), gen(r, dt, dn, genSpecial)
			a, b, d := upload(t, be, ah), upload(t, be, bh), upload(t, be, dh)
			be.MatMul(d, dl, a, al, b, bl)
			got := download(t, be, d)
			want, bound := dh.clone(), exactBounds(dn)
			eps := 0x1p-24
			if dt == backend.Float64 {
				eps = 0x1p-53
			}
			for p := 0; p < c.b; p++ {
				for i := 0; i < c.m; i++ {
					for j := 0; j < c.n; j++ {
						o := at(dl, []int{p, i, j})
						if dt.IsInt() {
							var acc int64
							for k := 0; k < c.k; k++ {
								acc += int64(ah.bits[at(al, []int{p, i, k})]) * int64(bh.bits[at(bl, []int{p, k, j})])
							}
							want.bits[o] = fromInt(dt, acc)
							continue
						}
						acc, abs := 0.0, 0.0
						for k := 0; k < c.k; k++ {
							x := bitsF64(dt, ah.bits[at(al, []int{p, i, k})]) * bitsF64(dt, bh.bits[at(bl, []int{p, k, j})])
							acc += x
							abs += math.Abs(x)
						}
						want.bits[o] = fromF64(dt, acc)
						bound[o] = float64(c.k+2)*eps*abs + ulpOf(dt, acc)
					}
				}
			}
			checkBound(t, fmt.Sprintf("MatMul %v %+v", dt, c), got, want, bound)
			be.Free(a)
			be.Free(b)
			be.Free(d)
		}
	}
}

// ---------------------------------------------------------------- Gather, IndexSelect, ScatterAdd

func testGather(t *testing.T, be backend.Backend) {
	r := newRand("gather")
	cases := []struct {
		src, idx []int
		axis     int
	}{
		{[]int{4, 5, 3}, []int{4, 2, 3}, 1},
		{[]int{4, 5, 3}, []int{6, 5, 3}, 0},
		{[]int{4, 5, 3}, []int{4, 5, 7}, 2},
		{[]int{4, 5, 3}, []int{3, 2, 2}, 1}, // idx shorter than src off the axis
		{[]int{}, []int{}, 0},
		{[]int{9}, []int{0}, 0},
	}
	for _, dt := range allDTypes {
		for _, cs := range cases {
			for c := 0; c < numLayoutCases; c++ {
				ok, ik := layoutCase(c, 2)
				sl, sn := ik[0].make(cs.src)
				il, in := ik[1].make(cs.idx)
				dl, dn := ok.make(cs.idx)
				limit := 1
				if len(cs.src) > 0 {
					limit = cs.src[cs.axis]
				}
				sh, dh := gen(r, dt, sn, genSpecial), gen(r, dt, dn, genSpecial)
				ih := newHost(backend.Int64, in)
				for i := range ih.bits {
					ih.bits[i] = uint64(r.IntN(limit))
				}
				s, x, d := upload(t, be, sh), upload(t, be, ih), upload(t, be, dh)
				if err := be.Gather(d, dl, s, sl, x, il, cs.axis); err != nil {
					t.Fatalf("Gather %v: %v", dt, err)
				}
				got := download(t, be, d)
				want := dh.clone()
				forEach(cs.idx, func(p []int) {
					q := clone(p)
					if len(q) > 0 {
						q[cs.axis] = int(ih.bits[at(il, p)])
					}
					want.bits[at(dl, p)] = sh.bits[at(sl, q)]
				})
				what := fmt.Sprintf("Gather %v src %v idx %v axis %d (%s, %s, dst %s)", dt, cs.src, cs.idx, cs.axis, ik[0].name, ik[1].name, ok.name)
				checkBuf(t, what, got, want, 0)
				if len(cs.idx) > 0 && backend.NumElements(cs.idx) > 3 && ik[1].out {
					checkIndexError(t, be, what, ih, il, cs.idx, limit, d, dh, func() error {
						return be.Gather(d, dl, s, sl, x, il, cs.axis)
					}, x)
				}
				be.Free(s)
				be.Free(x)
				be.Free(d)
			}
		}
	}
}

// checkIndexError plants out-of-range indices in idx (at two positions,
// the later one first) and expects the kernel to fail naming the first,
// leaving dst as it was (reset to dh before the call).
func checkIndexError(t *testing.T, be backend.Backend, what string, ih *host, il backend.Layout, shape []int, limit int,
	d backend.Buffer, dh *host, call func() error, x backend.Buffer) {
	t.Helper()
	if err := be.Write(d, 0, hostSlice(dh)); err != nil {
		t.Fatal(err)
	}
	bad := ih.clone()
	n := backend.NumElements(shape)
	posOf := func(flat int) []int {
		p := make([]int, len(shape))
		for a := len(shape) - 1; a >= 0; a-- {
			p[a] = flat % shape[a]
			flat /= shape[a]
		}
		return p
	}
	first, second := posOf(n/3), posOf(n-1)
	bad.bits[at(il, second)] = ^uint64(0) // -1
	bad.bits[at(il, first)] = uint64(limit + 2)
	if err := be.Write(x, 0, hostSlice(bad)); err != nil {
		t.Fatal(err)
	}
	err := call()
	if err == nil {
		// A backend that queues work may report it at the next Synchronize.
		err = be.Synchronize()
	}
	wantMsg := fmt.Sprintf("index %d at position %v", limit+2, first)
	if err == nil || !strings.Contains(err.Error(), wantMsg) || !errors.Is(err, backend.ErrIndexOutOfRange) {
		t.Errorf("%s with bad indices: error %v, want one containing %q and wrapping backend.ErrIndexOutOfRange", what, err, wantMsg)
	}
	if err := be.Synchronize(); err != nil {
		t.Errorf("%s: Synchronize after the error was reported: %v", what, err)
	}
	checkBuf(t, what+" after an index error", download(t, be, d), dh, 0)
	if err := be.Write(x, 0, hostSlice(ih)); err != nil {
		t.Fatal(err)
	}
}

func testIndexSelect(t *testing.T, be backend.Backend) {
	r := newRand("indexselect")
	for _, dt := range allDTypes {
		for axis := 0; axis < 3; axis++ {
			src := []int{4, 5, 3}
			for c := 0; c < numLayoutCases; c++ {
				ok, ik := layoutCase(c, 2)
				dst := clone(src)
				dst[axis] = 6
				sl, sn := ik[0].make(src)
				il, in := ik[1].make([]int{6})
				dl, dn := ok.make(dst)
				sh, dh := gen(r, dt, sn, genSpecial), gen(r, dt, dn, genSpecial)
				ih := newHost(backend.Int64, in)
				for i := range ih.bits {
					ih.bits[i] = uint64(r.IntN(src[axis]))
				}
				s, x, d := upload(t, be, sh), upload(t, be, ih), upload(t, be, dh)
				if err := be.IndexSelect(d, dl, s, sl, x, il, axis); err != nil {
					t.Fatalf("IndexSelect %v: %v", dt, err)
				}
				got := download(t, be, d)
				want := dh.clone()
				forEach(dst, func(p []int) {
					q := clone(p)
					q[axis] = int(ih.bits[at(il, []int{p[axis]})])
					want.bits[at(dl, p)] = sh.bits[at(sl, q)]
				})
				what := fmt.Sprintf("IndexSelect %v axis %d (%s, %s, dst %s)", dt, axis, ik[0].name, ik[1].name, ok.name)
				checkBuf(t, what, got, want, 0)
				if ik[1].out {
					checkIndexError(t, be, what, ih, il, []int{6}, src[axis], d, dh, func() error {
						return be.IndexSelect(d, dl, s, sl, x, il, axis)
					}, x)
				}
				be.Free(s)
				be.Free(x)
				be.Free(d)
			}
		}
	}
}

func testScatterAdd(t *testing.T, be backend.Backend) {
	r := newRand("scatteradd")
	cases := []struct {
		dst, idx []int
		axis     int
	}{
		{[]int{4, 5, 3}, []int{4, 7, 3}, 1},
		{[]int{4, 5, 3}, []int{9, 5, 3}, 0},
		{[]int{4, 5, 3}, []int{3, 2, 6}, 2}, // idx shorter than dst off the axis
		{[]int{}, []int{}, 0},
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64, backend.Float16, backend.BFloat16} {
		for _, cs := range cases {
			for c := 0; c < numLayoutCases; c++ {
				ok, ik := layoutCase(c, 2)
				il, in := ik[0].make(cs.idx)
				sl, sn := ik[1].make(cs.idx)
				dl, dn := ok.make(cs.dst)
				limit := 1
				if len(cs.dst) > 0 {
					limit = cs.dst[cs.axis]
				}
				// Whole numbers: every order of additions gives the same sums.
				sh, dh := gen(r, dt, sn, genSmallInt), gen(r, dt, dn, genSmallInt)
				ih := newHost(backend.Int64, in)
				for i := range ih.bits {
					ih.bits[i] = uint64(r.IntN(limit))
				}
				s, x, d := upload(t, be, sh), upload(t, be, ih), upload(t, be, dh)
				if err := be.ScatterAdd(d, dl, x, il, s, sl, cs.axis); err != nil {
					t.Fatalf("ScatterAdd %v: %v", dt, err)
				}
				got := download(t, be, d)
				want := dh.clone()
				forEach(cs.idx, func(p []int) {
					q := clone(p)
					if len(q) > 0 {
						q[cs.axis] = int(ih.bits[at(il, p)])
					}
					o := at(dl, q)
					if dt.IsInt() {
						want.bits[o] = fromInt(dt, int64(want.bits[o])+int64(sh.bits[at(sl, p)]))
					} else {
						want.bits[o] = fromF64(dt, bitsF64(dt, want.bits[o])+bitsF64(dt, sh.bits[at(sl, p)]))
					}
				})
				what := fmt.Sprintf("ScatterAdd %v dst %v idx %v axis %d (idx %s, src %s, dst %s)", dt, cs.dst, cs.idx, cs.axis, ik[0].name, ik[1].name, ok.name)
				checkBuf(t, what, got, want, 0)
				if backend.NumElements(cs.idx) > 3 && ik[0].out {
					checkIndexError(t, be, what, ih, il, cs.idx, limit, d, dh, func() error {
						return be.ScatterAdd(d, dl, x, il, s, sl, cs.axis)
					}, x)
				}
				be.Free(s)
				be.Free(x)
				be.Free(d)
			}
		}
	}
}
