// Package backendtest is the conformance suite of the backend contract:
// every kernel, every dtype it takes, on contiguous, offset, transposed
// (column-major), strided and stride-0 (broadcast) layouts, compared with
// plain host references written here from the contract's semantics (not
// taken from any backend). Every backend's tests call Run:
//
//	func TestConformance(t *testing.T) { backendtest.Run(t, myBackend) }
//
// Outputs are checked over the whole buffer, so a kernel that writes
// outside its layout fails too. Results must match bit for bit (any NaN
// matching any NaN) except where the contract allows rounding to differ:
// transcendental functions (a few ulps), and sums, products, softmax and
// MatMul, whose order of additions is the backend's choice (bounded by the
// usual error bounds of floating-point summation).
package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// Run runs the whole suite against be.
func Run(t *testing.T, be backend.Backend) { RunOnly(t, be) }

// RunOnly runs the parts of the suite named (all of them when none is):
// ReadWrite, Fill, Copy, HalfConversions, Unary, Binary, Where, Reduce,
// ArgReduce, Softmax, MatMul, Gather, IndexSelect, ScatterAdd.
func RunOnly(t *testing.T, be backend.Backend, names ...string) {
	parts := []struct {
		name string
		f    func(*testing.T, backend.Backend)
	}{
		{"ReadWrite", testReadWrite},
		{"Fill", testFill},
		{"Copy", testCopy},
		{"HalfConversions", testHalfSweep},
		{"Unary", testUnary},
		{"Binary", testBinary},
		{"Where", testWhere},
		{"Reduce", testReduce},
		{"ArgReduce", testArgReduce},
		{"Softmax", testSoftmax},
		{"MatMul", testMatMul},
		{"Gather", testGather},
		{"IndexSelect", testIndexSelect},
		{"ScatterAdd", testScatterAdd},
	}
	for _, p := range parts {
		if len(names) > 0 && !slices.Contains(names, p.name) {
			continue
		}
		t.Run(p.name, func(t *testing.T) { p.f(t, be) })
	}
	if err := be.Synchronize(); err != nil {
		t.Errorf("Synchronize: %v", err)
	}
}

var allDTypes = backend.DTypes()

func newRand(name string) *rand.Rand {
	var seed uint64 = 1469598103934665603
	for _, c := range name {
		seed = (seed ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, 7))
}

// ---------------------------------------------------------------- comparison

// ulpDist is the number of representable values between two finite or
// infinite floats of dt of the same sign class (MaxInt64 when they
// cannot be compared that way).
func ulpDist(dt backend.DType, a, b uint64) int64 {
	ord := func(u uint64, signBit uint64) int64 {
		if u&signBit != 0 {
			return -int64(u &^ signBit)
		}
		return int64(u)
	}
	switch dt {
	case backend.Float32:
		d := ord(a, 1<<31) - ord(b, 1<<31)
		if d < 0 {
			d = -d
		}
		return d
	case backend.Float64:
		x, y := ord(a, 1<<63), ord(b, 1<<63)
		if (x < 0) != (y < 0) && x != 0 && y != 0 {
			return math.MaxInt64
		}
		d := x - y
		if d < 0 {
			d = -d
		}
		return d
	}
	return math.MaxInt64
}

// same reports whether got matches want: equal bits, both NaN, or floats
// within ulps of each other.
func same(dt backend.DType, got, want uint64, ulps int64) bool {
	if got == want {
		return true
	}
	if isNaN(dt, got) && isNaN(dt, want) {
		return true
	}
	if ulps > 0 && !isNaN(dt, got) && !isNaN(dt, want) {
		if ulpDist(dt, got, want) <= ulps {
			return true
		}
		g, w := bitsF64(dt, got), bitsF64(dt, want)
		// Tiny values, where an ulp is a subnormal step.
		if math.Abs(g-w) <= 1e-300 || (dt == backend.Float32 && math.Abs(g-w) <= 1e-44) {
			return true
		}
		// float64 libraries differ by more than a few ulps where a
		// function is ill-conditioned (sin near π, 1+tanh near 0, pow
		// with large results), and Go's math is not the most accurate of
		// them: allow 1e-13 relative or 1e-15 absolute.
		if dt == backend.Float64 && math.Abs(g-w) <= 1e-13*math.Abs(w)+1e-15 {
			return true
		}
	}
	return false
}

// checkBuf compares two whole buffers element by element.
func checkBuf(t *testing.T, what string, got, want *host, ulps int64) {
	t.Helper()
	if len(got.bits) != len(want.bits) {
		t.Fatalf("%s: buffer has %d elements, want %d", what, len(got.bits), len(want.bits))
	}
	bad := 0
	var msg strings.Builder
	for i := range want.bits {
		if !same(want.dt, got.bits[i], want.bits[i], ulps) {
			if bad < 5 {
				fmt.Fprintf(&msg, "\n\telement %d: got %s, want %s", i, show(got.dt, got.bits[i]), show(want.dt, want.bits[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ:%s", what, bad, len(want.bits), msg.String())
	}
}

func show(dt backend.DType, b uint64) string {
	switch dt {
	case backend.Float32, backend.Float64, backend.Float16, backend.BFloat16:
		return fmt.Sprintf("%v (%#x)", bitsF64(dt, b), b)
	case backend.Bool:
		return fmt.Sprint(b != 0)
	}
	return fmt.Sprint(int64(b))
}

// ---------------------------------------------------------------- elementwise driver

var ewShapes = [][]int{{}, {7}, {3, 4, 5}, {2, 0, 3}, {2, 3, 1, 4}, {1300}}

// deepShape has more axes than a kernel may take at once after merging
// (axes of a transposed layout never merge).
var deepShape = []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}

// ewRun runs kernel run over every shape and layout case and compares
// dst with ref applied to the inputs' bits at each position.
func ewRun(t *testing.T, be backend.Backend, what string, outDT backend.DType, inDTs []backend.DType, kinds []genKind,
	ulps int64, shapes [][]int, run func(dst backend.Buffer, dl backend.Layout, in []backend.Buffer, ls []backend.Layout),
	ref func(in []uint64) uint64) {
	t.Helper()
	r := newRand(what)
	for _, shape := range shapes {
		for c := 0; c < numLayoutCases; c++ {
			ok, ik := layoutCase(c, len(inDTs))
			dl, dn := ok.make(shape)
			dh := gen(r, outDT, dn, genSpecial)
			var in []*host
			var ls []backend.Layout
			var bufs []backend.Buffer
			for j, dt := range inDTs {
				l, n := ik[j].make(shape)
				h := gen(r, dt, n, kinds[j])
				in = append(in, h)
				ls = append(ls, l)
				bufs = append(bufs, upload(t, be, h))
			}
			d := upload(t, be, dh)
			run(d, dl, bufs, ls)
			got := download(t, be, d)
			want := dh.clone()
			vals := make([]uint64, len(in))
			forEach(shape, func(idx []int) {
				for j, h := range in {
					vals[j] = h.bits[at(ls[j], idx)]
				}
				want.bits[at(dl, idx)] = ref(vals)
			})
			var kinds []string
			for _, k := range ik {
				kinds = append(kinds, k.name)
			}
			checkBuf(t, fmt.Sprintf("%s shape %v dst %s inputs %v", what, shape, ok.name, kinds), got, want, ulps)
			be.Free(d)
			for _, b := range bufs {
				be.Free(b)
			}
		}
	}
}

func repeat(k genKind, n int) []genKind {
	out := make([]genKind, n)
	for i := range out {
		out[i] = k
	}
	return out
}

// ---------------------------------------------------------------- ReadWrite, Fill, Copy

func testReadWrite(t *testing.T, be backend.Backend) {
	r := newRand("rw")
	for _, dt := range allDTypes {
		h := gen(r, dt, 37, genSpecial)
		b := upload(t, be, h)
		checkBuf(t, "Write then Read "+dt.String(), download(t, be, b), h, 0)
		// Partial writes and reads at an offset.
		part := gen(r, dt, 5, genSpecial)
		if err := be.Write(b, 30, hostSlice(part)); err != nil {
			t.Fatalf("%v: Write at offset: %v", dt, err)
		}
		copy(h.bits[30:], part.bits)
		sub := newHost(dt, 10)
		s := hostSlice(sub)
		if err := be.Read(b, 27, s); err != nil {
			t.Fatalf("%v: Read at offset: %v", dt, err)
		}
		checkBuf(t, "Read at offset "+dt.String(), fromSlice(dt, s), &host{dt: dt, bits: h.bits[27:37]}, 0)
		if err := be.Write(b, 35, hostSlice(part)); err == nil {
			t.Errorf("%v: Write past the end succeeded", dt)
		}
		if err := be.Read(b, 33, hostSlice(part)); err == nil {
			t.Errorf("%v: Read past the end succeeded", dt)
		}
		other := backend.Float64
		if dt == backend.Float64 {
			other = backend.Int32
		}
		if err := be.Write(b, 0, hostSlice(newHost(other, 1))); err == nil {
			t.Errorf("%v: Write of a %v slice succeeded", dt, other)
		}
		be.Free(b)
		// Alloc zero-fills, even when the memory is reused.
		z, err := be.Alloc(dt, 37)
		if err != nil {
			t.Fatal(err)
		}
		checkBuf(t, "Alloc zeroes "+dt.String(), download(t, be, z), newHost(dt, 37), 0)
		be.Free(z)
		e, err := be.Alloc(dt, 0)
		if err != nil || e.Len() != 0 || e.DType() != dt {
			t.Errorf("Alloc(%v, 0) = %v, %v", dt, e, err)
		}
		be.Free(e)
	}
}

func testFill(t *testing.T, be backend.Backend) {
	values := []float64{0, 1.5, -2.25, 7.9, -7.9, 3e38, 1e-8, math.Copysign(0, -1), 65520, 0.1}
	floatOnly := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for _, dt := range allDTypes {
		vs := values
		if dt.IsFloat() || dt == backend.Bool {
			vs = append(append([]float64{}, values...), floatOnly...)
		}
		for _, v := range vs {
			if dt.IsInt() && math.Abs(v) > 1e9 {
				continue // out of range: the contract leaves the result open
			}
			want := fromF64(dt, v)
			ewRun(t, be, fmt.Sprintf("Fill %v with %v", dt, v), dt, nil, nil, 0, ewShapes,
				func(d backend.Buffer, dl backend.Layout, _ []backend.Buffer, _ []backend.Layout) { be.Fill(d, dl, v) },
				func([]uint64) uint64 { return want })
		}
	}
}

// convert is the reference of Copy from src dtype sd to dd.
func convert(sd, dd backend.DType, b uint64) uint64 {
	if sd == dd {
		return b
	}
	switch {
	case sd.IsInt() || sd == backend.Bool:
		return fromInt(dd, int64(b))
	case dd == backend.Bool:
		if bitsF64(sd, b) != 0 {
			return 1
		}
		return 0
	case dd.IsInt():
		return fromF64(dd, math.Trunc(bitsF64(sd, b)))
	}
	return fromF64(dd, bitsF64(sd, b))
}

func testCopy(t *testing.T, be backend.Backend) {
	for _, sd := range allDTypes {
		for _, dd := range allDTypes {
			kind := genSpecial
			if dd.IsInt() && sd.IsFloat() {
				kind = genCastable // NaN, Inf and out-of-range values convert to whatever the platform gives
			}
			shapes := ewShapes
			if sd == dd || (sd == backend.Float32 && dd == backend.Float16) {
				shapes = append(shapes, deepShape)
			}
			ewRun(t, be, fmt.Sprintf("Copy %v to %v", sd, dd), dd, []backend.DType{sd}, []genKind{kind}, 0, shapes,
				func(d backend.Buffer, dl backend.Layout, in []backend.Buffer, ls []backend.Layout) {
					be.Copy(d, dl, in[0], ls[0])
				},
				func(v []uint64) uint64 { return convert(sd, dd, v[0]) })
		}
	}
}

// testHalfSweep converts many values into and out of the 16-bit formats
// through Copy, against the reference rounding by search.
func testHalfSweep(t *testing.T, be backend.Backend) {
	r := newRand("halfsweep")
	conv := func(sd, dd backend.DType, src *host) {
		t.Helper()
		s := upload(t, be, src)
		d, err := be.Alloc(dd, len(src.bits))
		if err != nil {
			t.Fatal(err)
		}
		l := backend.Contiguous([]int{len(src.bits)})
		be.Copy(d, l, s, l)
		got := download(t, be, d)
		want := newHost(dd, len(src.bits))
		for i, b := range src.bits {
			want.bits[i] = convert(sd, dd, b)
		}
		// NaNs must stay NaNs of the same sign.
		for i, b := range src.bits {
			if isNaN(sd, b) && isNaN(dd, got.bits[i]) {
				signOf := func(dt backend.DType, x uint64) bool { return x>>(dt.Size()*8-1)&1 == 1 }
				if signOf(sd, b) != signOf(dd, got.bits[i]) {
					t.Errorf("%v to %v: NaN %#x became %#x, another sign", sd, dd, b, got.bits[i])
				}
			}
		}
		checkBuf(t, fmt.Sprintf("sweep %v to %v", sd, dd), got, want, 0)
		be.Free(s)
		be.Free(d)
	}
	for _, h := range []backend.DType{backend.Float16, backend.BFloat16} {
		top := 0x7c00 // the bits of +Inf
		if h == backend.BFloat16 {
			top = 0x7f80
		}
		all := newHost(h, 1<<16)
		for i := range all.bits {
			all.bits[i] = uint64(i)
		}
		for _, dd := range []backend.DType{backend.Float32, backend.Float64, backend.Float16, backend.BFloat16} {
			conv(h, dd, all)
		}
		// float32: patterns spread over the whole range, and the values
		// next to every half rounding boundary.
		f32 := newHost(backend.Float32, 0)
		for u := uint64(0); u < 1<<32; u += 65521 {
			f32.bits = append(f32.bits, u)
		}
		for b := 0; b < top; b += 7 {
			lo, hi := bitsF64(h, uint64(b)), bitsF64(h, uint64(b+1))
			mid := float32((lo + hi) / 2)
			for _, v := range []float32{mid, math.Nextafter32(mid, -1), math.Nextafter32(mid, 2)} {
				f32.bits = append(f32.bits, uint64(math.Float32bits(v)), uint64(math.Float32bits(-v)))
			}
		}
		conv(backend.Float32, h, f32)
		f64 := newHost(backend.Float64, 0)
		for i := 0; i < 4000; i++ {
			f64.bits = append(f64.bits, r.Uint64())
			e := r.IntN(80) - 40
			f64.bits = append(f64.bits, math.Float64bits(math.Ldexp(r.Float64()+1, e)))
		}
		for b := 0; b < top; b += 13 {
			lo, hi := bitsF64(h, uint64(b)), bitsF64(h, uint64(b+1))
			mid := (lo + hi) / 2
			for _, v := range []float64{mid, math.Nextafter(mid, -1), math.Nextafter(mid, 3)} {
				f64.bits = append(f64.bits, math.Float64bits(v))
			}
		}
		conv(backend.Float64, h, f64)
		i64 := newHost(backend.Int64, 0)
		for i := 0; i < 2000; i++ {
			i64.bits = append(i64.bits, r.Uint64()>>uint(r.IntN(64)))
			i64.bits = append(i64.bits, uint64(-int64(r.Uint64()>>uint(r.IntN(64)))))
		}
		i64.bits = append(i64.bits, 1<<63, 1<<63-1, 65519, 65520, 65535, 65536, 2049, 2051)
		conv(backend.Int64, h, i64)
		i32 := newHost(backend.Int32, 0)
		for i := 0; i < 2000; i++ {
			i32.bits = append(i32.bits, uint64(int64(int32(r.Uint32()>>uint(r.IntN(32))))))
		}
		conv(backend.Int32, h, i32)
	}
}
