package cpu

// Tests of Reduce and ArgReduce against naive references, plus the helpers
// (prefixed kt) that the MatMul, Softmax and index tests share. The
// references walk multi-indices with their own index arithmetic (ktEach,
// ktOff), never forRuns, and buffers are filled and read only through
// Backend.Write and Backend.Read.

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// ---------------------------------------------------------------- helpers

var ktBe backend.Backend = Default

// ktKind is a way of laying out a shape in a buffer.
type ktKind int

const (
	ktContig    ktKind = iota // row-major at offset 0
	ktOffset                  // row-major at an offset
	ktReversed                // axes stored in reverse order (a full transpose), at an offset
	ktSwapLast                // the last two axes swapped in storage (a matrix transpose)
	ktPadded                  // gaps between elements and between rows, at an offset
	ktBroadcast               // the first axis of length > 1 has stride 0 (inputs only)
)

var ktInKinds = []ktKind{ktContig, ktOffset, ktReversed, ktSwapLast, ktPadded, ktBroadcast}
var ktOutKinds = []ktKind{ktContig, ktOffset, ktReversed, ktSwapLast, ktPadded}

func (k ktKind) String() string {
	return [...]string{"contig", "offset", "reversed", "swaplast", "padded", "broadcast"}[k]
}

// ktLayout lays shape out as kind says and returns the layout and the
// buffer length it needs (with a little slack past its end).
func ktLayout(shape []int, kind ktKind) (backend.Layout, int) {
	r := len(shape)
	st := make([]int, r)
	off := 0
	order := make([]int, r) // axes from innermost to outermost in storage
	for i := range order {
		order[i] = r - 1 - i
	}
	switch kind {
	case ktOffset:
		off = 5
	case ktReversed:
		off = 3
		slices.Reverse(order)
	case ktSwapLast:
		off = 1
		if r >= 2 {
			order[0], order[1] = order[1], order[0]
		}
	case ktPadded:
		off = 2
	case ktBroadcast:
		off = 4
	}
	zero := -1
	if kind == ktBroadcast {
		for d, n := range shape {
			if n > 1 {
				zero = d
				break
			}
		}
	}
	s := 1
	if kind == ktPadded {
		s = 2
	}
	for _, d := range order {
		if d == zero {
			continue
		}
		st[d] = s
		s *= max(shape[d], 1)
		if kind == ktPadded {
			s++
		}
	}
	l := backend.Layout{Shape: slices.Clone(shape), Strides: st, Offset: off}
	_, hi := l.Span()
	return l, hi + 3
}

// ktEach calls fn with every multi-index of shape in row-major order (once,
// with an empty index, for a 0-d shape; never for an empty shape). fn must
// not keep idx.
func ktEach(shape []int, fn func(idx []int)) {
	for _, n := range shape {
		if n == 0 {
			return
		}
	}
	idx := make([]int, len(shape))
	for {
		fn(idx)
		d := len(shape) - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// ktOff is the buffer offset of the multi-index idx under l.
func ktOff(l backend.Layout, idx []int) int {
	o := l.Offset
	for d, i := range idx {
		o += i * l.Strides[d]
	}
	return o
}

// ktFlat is the row-major flat index of idx in shape.
func ktFlat(shape, idx []int) int {
	f := 0
	for d, i := range idx {
		f = f*shape[d] + i
	}
	return f
}

func ktProd(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ktBuf allocates a buffer and writes vals into it (converted to dt: floats
// rounded, ints truncated, Bool as v != 0, halves as the bits uint16(v)).
func ktBuf(t testing.TB, dt backend.DType, vals []float64) backend.Buffer {
	t.Helper()
	b, err := ktBe.Alloc(dt, len(vals))
	if err != nil {
		t.Fatal(err)
	}
	var host any
	switch dt {
	case backend.Float32:
		h := make([]float32, len(vals))
		for i, v := range vals {
			h[i] = float32(v)
		}
		host = h
	case backend.Float64:
		host = slices.Clone(vals)
	case backend.Float16, backend.BFloat16:
		h := make([]uint16, len(vals))
		for i, v := range vals {
			h[i] = uint16(v)
		}
		host = h
	case backend.Int32:
		h := make([]int32, len(vals))
		for i, v := range vals {
			h[i] = int32(v)
		}
		host = h
	case backend.Int64:
		h := make([]int64, len(vals))
		for i, v := range vals {
			h[i] = int64(v)
		}
		host = h
	case backend.Bool:
		h := make([]bool, len(vals))
		for i, v := range vals {
			h[i] = v != 0
		}
		host = h
	}
	if err := ktBe.Write(b, 0, host); err != nil {
		t.Fatal(err)
	}
	return b
}

// ktBufI is ktBuf for integer values that float64 cannot hold exactly.
func ktBufI(t testing.TB, dt backend.DType, vals []int64) backend.Buffer {
	t.Helper()
	b, err := ktBe.Alloc(dt, len(vals))
	if err != nil {
		t.Fatal(err)
	}
	var host any
	switch dt {
	case backend.Int32:
		h := make([]int32, len(vals))
		for i, v := range vals {
			h[i] = int32(v)
		}
		host = h
	case backend.Int64:
		host = slices.Clone(vals)
	default:
		t.Fatalf("ktBufI: %v", dt)
	}
	if err := ktBe.Write(b, 0, host); err != nil {
		t.Fatal(err)
	}
	return b
}

// ktRead reads a buffer back as float64 values (Bool as 0/1, halves as
// their bits) and as exact int64 values (for Int32/Int64; nil otherwise).
func ktRead(t testing.TB, b backend.Buffer) ([]float64, []int64) {
	t.Helper()
	n := b.Len()
	f := make([]float64, n)
	var iv []int64
	var err error
	switch b.DType() {
	case backend.Float32:
		h := make([]float32, n)
		err = ktBe.Read(b, 0, h)
		for i, v := range h {
			f[i] = float64(v)
		}
	case backend.Float64:
		err = ktBe.Read(b, 0, f)
	case backend.Float16, backend.BFloat16:
		h := make([]uint16, n)
		err = ktBe.Read(b, 0, h)
		for i, v := range h {
			f[i] = float64(v)
		}
	case backend.Int32:
		h := make([]int32, n)
		err = ktBe.Read(b, 0, h)
		iv = make([]int64, n)
		for i, v := range h {
			f[i], iv[i] = float64(v), int64(v)
		}
	case backend.Int64:
		iv = make([]int64, n)
		err = ktBe.Read(b, 0, iv)
		for i, v := range iv {
			f[i] = float64(v)
		}
	case backend.Bool:
		h := make([]bool, n)
		err = ktBe.Read(b, 0, h)
		for i, v := range h {
			if v {
				f[i] = 1
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, iv
}

// ktBits reads a buffer as exact bit patterns, for equality checks.
func ktBits(t testing.TB, b backend.Buffer) []uint64 {
	t.Helper()
	f, iv := ktRead(t, b)
	out := make([]uint64, len(f))
	for i, v := range f {
		switch {
		case iv != nil:
			out[i] = uint64(iv[i])
		case b.DType() == backend.Float32:
			out[i] = uint64(math.Float32bits(float32(v)))
		case b.DType() == backend.Float64:
			out[i] = math.Float64bits(v)
		default: // halves (their bits) and Bool (0 or 1)
			out[i] = uint64(v)
		}
	}
	return out
}

// ktCheckUntouched fails if an element of dst outside the view dl changed.
func ktCheckUntouched(t testing.TB, name string, dst backend.Buffer, before []uint64, dl backend.Layout) {
	t.Helper()
	in := make([]bool, len(before))
	ktEach(dl.Shape, func(idx []int) { in[ktOff(dl, idx)] = true })
	after := ktBits(t, dst)
	for i := range before {
		if !in[i] && after[i] != before[i] {
			t.Fatalf("%s: element %d outside dst's view changed", name, i)
		}
	}
}

// ktRandVals draws n values for dt: normal floats (rounded to float32 for
// Float32), integers in [-lim, lim], bools true with probability 1/2,
// halves as random bits.
func ktRandVals(r *rand.Rand, dt backend.DType, n, lim int) []float64 {
	v := make([]float64, n)
	for i := range v {
		switch dt {
		case backend.Float32:
			v[i] = float64(float32(r.NormFloat64()))
		case backend.Float64:
			v[i] = r.NormFloat64()
		case backend.Int32, backend.Int64:
			v[i] = float64(r.Intn(2*lim+1) - lim)
		case backend.Bool:
			v[i] = float64(r.Intn(2))
		case backend.Float16, backend.BFloat16:
			v[i] = float64(r.Intn(1 << 16))
		}
	}
	return v
}

// ktPanics runs fn and returns the message it panicked with ("" if none).
func ktPanics(fn func()) (msg string) {
	defer func() {
		if e := recover(); e != nil {
			msg = fmt.Sprint(e)
		}
	}()
	fn()
	return ""
}

// ktUnit is the unit roundoff of a float dtype.
func ktUnit(dt backend.DType) float64 {
	if dt == backend.Float32 {
		return 0x1p-24
	}
	return 0x1p-53
}

// ---------------------------------------------------------------- Reduce

var ktReduceOps = []backend.Op{backend.OpSum, backend.OpProd, backend.OpMax, backend.OpMin}

// ktReduceCase is one combination of dtypes and op.
type ktReduceCase struct {
	op       backend.Op
	src, dst backend.DType
}

var ktReduceCases = func() []ktReduceCase {
	var cs []ktReduceCase
	for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64} {
		for _, op := range ktReduceOps {
			cs = append(cs, ktReduceCase{op, dt, dt})
		}
	}
	cs = append(cs,
		ktReduceCase{backend.OpMax, backend.Bool, backend.Bool},
		ktReduceCase{backend.OpMin, backend.Bool, backend.Bool},
		ktReduceCase{backend.OpSum, backend.Int32, backend.Int64},
		ktReduceCase{backend.OpProd, backend.Int32, backend.Int64})
	return cs
}()

// ktReduceVals draws src values suited to the op: products of values near
// ±1 (so that long products neither overflow nor underflow), integers in
// [-3, 3] for products (they wrap, which the reference reproduces), and a
// fraction nanP of NaNs among floats; bools are true with probability pTrue.
func ktReduceVals(r *rand.Rand, c ktReduceCase, n int, nanP, pTrue float64) []float64 {
	lim := 1000
	if c.op == backend.OpProd {
		lim = 3
	}
	v := ktRandVals(r, c.src, n, lim)
	for i := range v {
		switch {
		case c.src == backend.Bool:
			v[i] = 0
			if r.Float64() < pTrue {
				v[i] = 1
			}
		case c.src.IsFloat() && c.op == backend.OpProd:
			x := math.Exp(0.02 * r.NormFloat64())
			if r.Intn(2) == 0 {
				x = -x
			}
			v[i] = x
		}
		if c.src.IsFloat() && r.Float64() < nanP {
			v[i] = math.NaN()
		}
		if c.src == backend.Float32 {
			v[i] = float64(float32(v[i]))
		}
	}
	return v
}

// ktRefReduce reduces src (values f, exact integers iv) over the axes with
// explicit loops: float sums and products in float64 in row-major order,
// integers in int64 (wrapping), Max/Min propagating NaN. It returns, per
// output in row-major order of the kept shape, the float result, the
// integer result, the sum of |x| (or of the magnitudes, for products) for
// the tolerance, and the number of elements reduced.
func ktRefReduce(op backend.Op, sl backend.Layout, f []float64, iv []int64, axes []int) (rf []float64, ri []int64, mag []float64, count int) {
	dshape := slices.Clone(sl.Shape)
	count = 1
	for _, a := range axes {
		dshape[a] = 1
		count *= sl.Shape[a]
	}
	n := ktProd(dshape)
	rf, ri, mag = make([]float64, n), make([]int64, n), make([]float64, n)
	for o := 0; o < n; o++ {
		switch op {
		case backend.OpProd:
			rf[o], ri[o] = 1, 1
		case backend.OpMax:
			rf[o], ri[o] = math.Inf(-1), math.MinInt64
		case backend.OpMin:
			rf[o], ri[o] = math.Inf(1), math.MaxInt64
		}
		if op == backend.OpProd {
			mag[o] = 1
		}
	}
	oidx := make([]int, len(dshape))
	ktEach(sl.Shape, func(idx []int) {
		for d := range idx {
			oidx[d] = idx[d]
			if dshape[d] == 1 {
				oidx[d] = 0
			}
		}
		o := ktFlat(dshape, oidx)
		off := ktOff(sl, idx)
		x := f[off]
		var xi int64
		if iv != nil {
			xi = iv[off]
		} else {
			xi = int64(x) // Bool as 0/1
		}
		switch op {
		case backend.OpSum:
			rf[o] += x
			ri[o] += xi
			mag[o] += math.Abs(x)
		case backend.OpProd:
			rf[o] *= x
			ri[o] *= xi
			mag[o] *= math.Abs(x)
		case backend.OpMax:
			if x > rf[o] || math.IsNaN(x) || math.IsNaN(rf[o]) {
				if !math.IsNaN(rf[o]) {
					rf[o] = x
				}
			}
			ri[o] = max(ri[o], xi)
		case backend.OpMin:
			if x < rf[o] || math.IsNaN(x) || math.IsNaN(rf[o]) {
				if !math.IsNaN(rf[o]) {
					rf[o] = x
				}
			}
			ri[o] = min(ri[o], xi)
		}
	})
	return rf, ri, mag, count
}

// ktClose compares a float result with its reference: NaN must match NaN,
// infinities must be equal, finite values within tol.
func ktClose(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsNaN(got) {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

// ktCheckReduce runs one Reduce and checks every output and that nothing
// outside dst's view was written.
//
// Tolerances: the kernel accumulates floats in float64 in blocks while the
// reference accumulates sequentially, so two float64 sums of n terms differ
// by at most 2·n·u64·Σ|x| (u64 = 2⁻⁵³) and products by 2·n·u64·Π|x| (plus
// 2⁻¹⁰⁰⁰ for products that underflow); a float32 result adds its final
// rounding, u32·|want| + 2⁻¹⁴⁹ (u32 = 2⁻²⁴). Max,
// Min, integer and Bool results must be exact.
func ktCheckReduce(t *testing.T, r *rand.Rand, c ktReduceCase, shape, axes []int, sk, dk ktKind, nanP float64) {
	t.Helper()
	name := fmt.Sprintf("Reduce %v %v->%v shape %v axes %v src %v dst %v", c.op, c.src, c.dst, shape, axes, sk, dk)
	sl, sn := ktLayout(shape, sk)
	dshape := slices.Clone(shape)
	for _, a := range axes {
		dshape[a] = 1
	}
	dl, dn := ktLayout(dshape, dk)
	pTrue := []float64{0.02, 0.5, 0.98}[r.Intn(3)]
	src := ktBuf(t, c.src, ktReduceVals(r, c, sn, nanP, pTrue))
	dst := ktBuf(t, c.dst, ktRandVals(r, c.dst, dn, 1000))
	before := ktBits(t, dst)
	if msg := ktPanics(func() { ktBe.Reduce(c.op, dst, dl, src, sl, axes) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	f, iv := ktRead(t, src)
	rf, ri, mag, count := ktRefReduce(c.op, sl, f, iv, axes)
	gf, gi := ktRead(t, dst)
	bad := 0
	ktEach(dshape, func(idx []int) {
		o := ktFlat(dshape, idx)
		off := ktOff(dl, idx)
		ok := true
		var got, want any
		switch {
		case c.dst == backend.Int32:
			got, want = gi[off], int64(int32(ri[o]))
			ok = gi[off] == int64(int32(ri[o]))
		case c.dst == backend.Int64:
			got, want = gi[off], ri[o]
			ok = gi[off] == ri[o]
		case c.dst == backend.Bool:
			got, want = gf[off], float64(ri[o])
			ok = gf[off] == float64(ri[o])
		default:
			tol := 0.0
			w := rf[o]
			if c.op == backend.OpSum || c.op == backend.OpProd {
				tol = 2 * float64(count) * 0x1p-53 * mag[o]
				if c.op == backend.OpProd {
					tol += 0x1p-1000 // long products may underflow into subnormals
				}
				if c.dst == backend.Float32 {
					// Final rounding to float32, which may overflow or
					// lose a subnormal's bits.
					tol += 0x1p-24*math.Abs(w) + 0x1p-149
					if f := float32(w); math.IsInf(float64(f), 0) {
						w = float64(f)
					}
				}
			}
			got, want = gf[off], w
			ok = ktClose(gf[off], w, tol)
		}
		if !ok {
			if bad < 3 {
				t.Errorf("%s: output %v = %v, want %v", name, idx, got, want)
			}
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%s: %d wrong outputs", name, bad)
	}
	ktCheckUntouched(t, name, dst, before, dl)
}

// ktSubsets lists every subset of the axes of a rank-r shape, sorted.
func ktSubsets(r int) [][]int {
	var out [][]int
	for m := 0; m < 1<<r; m++ {
		var s []int
		for a := 0; a < r; a++ {
			if m&(1<<a) != 0 {
				s = append(s, a)
			}
		}
		out = append(out, s)
	}
	return out
}

var ktSmallShapes = [][]int{{}, {0}, {1}, {7}, {3, 0, 4}, {1, 1}, {5, 1, 6}, {4, 5, 6}, {2, 3, 4, 5}, {1, 9, 1, 2}}

// Every op and dtype, every subset of axes, every layout kind of src and
// dst, on small shapes (0-d, empty, size-1 axes included).
func TestReduceSmall(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, c := range ktReduceCases {
		for _, shape := range ktSmallShapes {
			for _, axes := range ktSubsets(len(shape)) {
				empty := false
				for _, a := range axes {
					empty = empty || shape[a] == 0
				}
				if empty && (c.op == backend.OpMax || c.op == backend.OpMin) {
					continue // never asked
				}
				for i, sk := range ktInKinds {
					dk := ktOutKinds[(i+len(axes))%len(ktOutKinds)]
					ktCheckReduce(t, r, c, shape, axes, sk, dk, 0)
				}
			}
		}
	}
}

// Large reductions exercise every path with parallelFor: per output
// (reduced axis contiguous), tiled (kept axis contiguous), split (few
// outputs of many elements) and the identity copy (no reduced axes).
func TestReduceLarge(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	type big struct {
		shape, axes []int
	}
	bigs := []big{
		{[]int{240, 300}, []int{1}},       // per output
		{[]int{240, 300}, []int{0}},       // tiled
		{[]int{240, 300}, []int{0, 1}},    // split, one output
		{[]int{240, 300}, nil},            // no reduction
		{[]int{3, 25000}, []int{1}},       // split, contiguous
		{[]int{25000, 3}, []int{0}},       // split, strided
		{[]int{40, 3, 600}, []int{0, 2}},  // per output over two axes
		{[]int{40, 600, 3}, []int{0, 2}},  // runs of 3
		{[]int{9000, 2, 20}, []int{0, 1}}, // tiled over 20 outputs, many blocks
	}
	// Every float op; a selection of the integer and Bool cases.
	cases := []ktReduceCase{
		{backend.OpSum, backend.Int64, backend.Int64}, {backend.OpProd, backend.Int64, backend.Int64},
		{backend.OpMin, backend.Int64, backend.Int64}, {backend.OpMax, backend.Int32, backend.Int32},
		{backend.OpSum, backend.Int32, backend.Int64},
		{backend.OpMax, backend.Bool, backend.Bool}, {backend.OpMin, backend.Bool, backend.Bool},
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, op := range ktReduceOps {
			cases = append(cases, ktReduceCase{op, dt, dt})
		}
	}
	for j, c := range cases {
		for i, b := range bigs {
			if (i+j)%3 == 2 && !c.src.IsFloat() {
				continue // keeps the test short; every path still sees every case
			}
			sk, dk := ktContig, ktContig
			if (i+j)%2 == 1 {
				sk = ktInKinds[(i+j)%len(ktInKinds)]
				dk = ktOutKinds[(i+j)%len(ktOutKinds)]
			}
			ktCheckReduce(t, r, c, b.shape, b.axes, sk, dk, 0)
		}
	}
}

// NaN propagates through Max, Min and Sum whatever the path.
func TestReduceNaN(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for _, op := range []backend.Op{backend.OpMax, backend.OpMin, backend.OpSum} {
			c := ktReduceCase{op, dt, dt}
			for _, shape := range [][]int{{4, 5, 6}, {7, 1, 3}} {
				for _, axes := range ktSubsets(len(shape)) {
					ktCheckReduce(t, r, c, shape, axes, ktPadded, ktReversed, 0.05)
				}
			}
			ktCheckReduce(t, r, c, []int{200, 300}, []int{0}, ktContig, ktContig, 0.002)
			ktCheckReduce(t, r, c, []int{200, 300}, []int{1}, ktSwapLast, ktOffset, 0.002)
			ktCheckReduce(t, r, c, []int{200, 300}, []int{0, 1}, ktContig, ktContig, 0.00001)
		}
	}
	// Hand-written: one NaN anywhere makes Max and Min NaN; infinities are
	// ordinary extremes.
	inf := math.Inf(1)
	for _, tc := range []struct {
		vals     []float64
		max, min float64
	}{
		{[]float64{1, math.NaN(), 3}, math.NaN(), math.NaN()},
		{[]float64{math.NaN(), -inf, inf}, math.NaN(), math.NaN()},
		{[]float64{-inf, 2, inf}, inf, -inf},
		{[]float64{-inf, -inf}, -inf, -inf},
		{[]float64{5}, 5, 5},
	} {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			l := backend.Contiguous([]int{len(tc.vals)})
			src := ktBuf(t, dt, tc.vals)
			for _, op := range []backend.Op{backend.OpMax, backend.OpMin} {
				dst := ktBuf(t, dt, []float64{0})
				ktBe.Reduce(op, dst, backend.Contiguous([]int{1}), src, l, []int{0})
				got, _ := ktRead(t, dst)
				want := tc.max
				if op == backend.OpMin {
					want = tc.min
				}
				if !ktClose(got[0], want, 0) {
					t.Errorf("%v %v of %v = %v, want %v", op, dt, tc.vals, got[0], want)
				}
			}
		}
	}
}

// The documented order makes results bit-identical whatever the layout and
// path: the same float data summed through a contiguous (tiled) layout, a
// transposed (per output) one and as separate single-output reductions
// (split) must agree exactly.
func TestReducePathIndependent(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	const n, c = 9000, 10
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		vals := ktRandVals(r, dt, n*c, 0)
		for i := range vals {
			vals[i] *= math.Pow(10, float64(r.Intn(8))) // wide range: order matters
			if dt == backend.Float32 {
				vals[i] = float64(float32(vals[i]))
			}
		}
		src := ktBuf(t, dt, vals)
		rowMajor := backend.Layout{Shape: []int{n, c}, Strides: []int{c, 1}} // reduce axis 0: tiled
		colMajor := backend.Layout{Shape: []int{c, n}, Strides: []int{1, c}} // reduce axis 1: per output
		dst1 := ktBuf(t, dt, make([]float64, c))
		dst2 := ktBuf(t, dt, make([]float64, c))
		ktBe.Reduce(backend.OpSum, dst1, backend.Contiguous([]int{1, c}), src, rowMajor, []int{0})
		ktBe.Reduce(backend.OpSum, dst2, backend.Contiguous([]int{c, 1}), src, colMajor, []int{1})
		a, b := ktBits(t, dst1), ktBits(t, dst2)
		for j := 0; j < c; j++ {
			one := ktBuf(t, dt, []float64{0})
			col := backend.Layout{Shape: []int{n}, Strides: []int{c}, Offset: j}
			ktBe.Reduce(backend.OpSum, one, backend.Contiguous([]int{1}), src, col, []int{0})
			if s := ktBits(t, one); a[j] != b[j] || a[j] != s[0] {
				t.Errorf("%v column %d: tiled %x, per-output %x, split %x differ", dt, j, a[j], b[j], s[0])
			}
		}
	}
}

// Integer sums wrap like Go integers, also at large magnitudes.
func TestReduceIntWrap(t *testing.T) {
	vals := []int64{math.MaxInt64, 1, math.MaxInt64, 5}
	src := ktBufI(t, backend.Int64, vals)
	dst := ktBufI(t, backend.Int64, []int64{0})
	ktBe.Reduce(backend.OpSum, dst, backend.Contiguous([]int{1}), src, backend.Contiguous([]int{4}), []int{0})
	_, got := ktRead(t, dst)
	var want int64
	for _, v := range vals {
		want += v
	}
	if got[0] != want {
		t.Errorf("int64 sum = %d, want %d (wrapped)", got[0], want)
	}
	src32 := ktBufI(t, backend.Int32, []int64{math.MaxInt32, math.MaxInt32, 3})
	dst32 := ktBufI(t, backend.Int32, []int64{0})
	dst64 := ktBufI(t, backend.Int64, []int64{0})
	ktBe.Reduce(backend.OpSum, dst32, backend.Contiguous([]int{1}), src32, backend.Contiguous([]int{3}), []int{0})
	ktBe.Reduce(backend.OpSum, dst64, backend.Contiguous([]int{1}), src32, backend.Contiguous([]int{3}), []int{0})
	_, g32 := ktRead(t, dst32)
	_, g64 := ktRead(t, dst64)
	wide := int64(2*math.MaxInt32 + 3)
	if w := int64(int32(wide)); g32[0] != w {
		t.Errorf("int32 sum = %d, want %d (wrapped)", g32[0], w)
	}
	if w := wide; g64[0] != w {
		t.Errorf("int32 sum into int64 = %d, want %d", g64[0], w)
	}
}

func TestReduceUnsupported(t *testing.T) {
	l := backend.Contiguous([]int{3})
	d1 := backend.Contiguous([]int{1})
	for _, tc := range []struct {
		op       backend.Op
		src, dst backend.DType
		want     string
	}{
		{backend.OpSum, backend.Float16, backend.Float16, "cpu: Reduce sum on float16 not supported"},
		{backend.OpSum, backend.Bool, backend.Bool, "cpu: Reduce sum on bool not supported"},
		{backend.OpAdd, backend.Float32, backend.Float32, "cpu: Reduce add on float32 not supported"},
		{backend.OpSum, backend.Float32, backend.Float64, "cpu: Reduce sum from float32 into float64 not supported"},
	} {
		src := ktBuf(t, tc.src, make([]float64, 3))
		dst := ktBuf(t, tc.dst, make([]float64, 1))
		msg := ktPanics(func() { ktBe.Reduce(tc.op, dst, d1, src, l, []int{0}) })
		if msg != tc.want {
			t.Errorf("Reduce %v %v->%v panicked with %q, want %q", tc.op, tc.src, tc.dst, msg, tc.want)
		}
	}
	src := ktBuf(t, backend.Float32, nil)
	dst := ktBuf(t, backend.Float32, []float64{0})
	msg := ktPanics(func() {
		ktBe.Reduce(backend.OpMax, dst, d1, src, backend.Contiguous([]int{0}), []int{0})
	})
	if !strings.Contains(msg, "no elements") {
		t.Errorf("Max of no elements panicked with %q", msg)
	}
}

// ---------------------------------------------------------------- ArgReduce

// ktRefArg is the reference arg-reduction of one output: the index of the
// first maximum (minimum), where the first NaN beats everything.
func ktRefArg(isMax bool, vals []float64) int64 {
	best := 0
	for i := 1; i < len(vals); i++ {
		if math.IsNaN(vals[best]) {
			break
		}
		x := vals[i]
		if math.IsNaN(x) || (isMax && x > vals[best]) || (!isMax && x < vals[best]) {
			best = i
		}
	}
	return int64(best)
}

func ktCheckArg(t *testing.T, r *rand.Rand, op backend.Op, dt backend.DType, shape []int, axis int, sk, dk ktKind, nanP float64) {
	t.Helper()
	name := fmt.Sprintf("ArgReduce %v %v shape %v axis %d src %v dst %v", op, dt, shape, axis, sk, dk)
	sl, sn := ktLayout(shape, sk)
	dshape := slices.Clone(shape)
	if len(shape) > 0 {
		dshape[axis] = 1
	}
	dl, dn := ktLayout(dshape, dk)
	// Few distinct values, so that ties are common.
	vals := ktRandVals(r, dt, sn, 4)
	for i := range vals {
		if dt.IsFloat() {
			vals[i] = float64(r.Intn(9)-4) / 2
			if r.Float64() < nanP {
				vals[i] = math.NaN()
			}
		}
	}
	src := ktBuf(t, dt, vals)
	dst := ktBuf(t, backend.Int64, ktRandVals(r, backend.Int64, dn, 1000))
	before := ktBits(t, dst)
	if msg := ktPanics(func() { ktBe.ArgReduce(op, dst, dl, src, sl, axis) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	f, _ := ktRead(t, src)
	_, got := ktRead(t, dst)
	n := 1
	if len(shape) > 0 {
		n = shape[axis]
	}
	row := make([]float64, n)
	sidx := make([]int, len(shape))
	bad := 0
	ktEach(dshape, func(idx []int) {
		copy(sidx, idx)
		for i := 0; i < n; i++ {
			if len(shape) > 0 {
				sidx[axis] = i
			}
			row[i] = f[ktOff(sl, sidx)]
		}
		want := ktRefArg(op == backend.OpArgMax, row)
		if g := got[ktOff(dl, idx)]; g != want {
			if bad < 3 {
				t.Errorf("%s: output %v = %d, want %d (row %v)", name, idx, g, want, row)
			}
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%s: %d wrong outputs", name, bad)
	}
	ktCheckUntouched(t, name, dst, before, dl)
}

func TestArgReduce(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	shapes := [][]int{{}, {1}, {6}, {3, 0}, {0, 3}, {4, 5}, {3, 4, 5}, {2, 1, 3, 4}}
	for _, op := range []backend.Op{backend.OpArgMax, backend.OpArgMin} {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64} {
			for _, shape := range shapes {
				for axis := 0; axis < max(len(shape), 1); axis++ {
					if len(shape) > 0 && shape[axis] == 0 && ktProd(shape[:axis])*ktProd(shape[axis+1:]) > 0 {
						continue // reducing an empty axis into outputs: not asked
					}
					for i, sk := range ktInKinds {
						ktCheckArg(t, r, op, dt, shape, axis, sk, ktOutKinds[(i+axis)%len(ktOutKinds)], 0.1)
					}
				}
			}
			// Large: per output (axis contiguous) and tiled (axis strided).
			ktCheckArg(t, r, op, dt, []int{300, 400}, 1, ktContig, ktContig, 0.001)
			ktCheckArg(t, r, op, dt, []int{300, 400}, 0, ktContig, ktOffset, 0.001)
			ktCheckArg(t, r, op, dt, []int{300, 400}, 0, ktSwapLast, ktPadded, 0.001)
			ktCheckArg(t, r, op, dt, []int{20, 30, 200}, 1, ktPadded, ktReversed, 0.001)
		}
	}
}

func TestArgReduceSpecial(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		vals             []float64
		argmax, argmin   int64
		ignoreForIntType bool
	}{
		{[]float64{1, nan, 3, nan}, 1, 1, true},
		{[]float64{2, 5, 5, 1, 1}, 1, 3, false},
		{[]float64{-inf, -inf}, 0, 0, true},
		{[]float64{3, inf, -inf, inf}, 1, 2, true},
		{[]float64{7}, 0, 0, false},
		{[]float64{0, 0, 0}, 0, 0, false},
	} {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64} {
			if !dt.IsFloat() && tc.ignoreForIntType {
				continue
			}
			src := ktBuf(t, dt, tc.vals)
			for _, op := range []backend.Op{backend.OpArgMax, backend.OpArgMin} {
				dst := ktBufI(t, backend.Int64, []int64{-1})
				ktBe.ArgReduce(op, dst, backend.Contiguous([]int{1}), src, backend.Contiguous([]int{len(tc.vals)}), 0)
				_, got := ktRead(t, dst)
				want := tc.argmax
				if op == backend.OpArgMin {
					want = tc.argmin
				}
				if got[0] != want {
					t.Errorf("%v %v of %v = %d, want %d", op, dt, tc.vals, got[0], want)
				}
			}
		}
	}
	// Unsupported dtypes and ops panic with a clear message.
	l := backend.Contiguous([]int{2})
	dst := ktBufI(t, backend.Int64, []int64{0})
	for _, tc := range []struct {
		op   backend.Op
		dt   backend.DType
		want string
	}{
		{backend.OpArgMax, backend.Bool, "cpu: ArgReduce argmax on bool not supported"},
		{backend.OpArgMin, backend.Float16, "cpu: ArgReduce argmin on float16 not supported"},
		{backend.OpMax, backend.Float32, "cpu: ArgReduce max on float32 not supported"},
	} {
		src := ktBuf(t, tc.dt, []float64{0, 1})
		if msg := ktPanics(func() { ktBe.ArgReduce(tc.op, dst, backend.Contiguous([]int{1}), src, l, 0) }); msg != tc.want {
			t.Errorf("ArgReduce %v on %v panicked with %q, want %q", tc.op, tc.dt, msg, tc.want)
		}
	}
}
