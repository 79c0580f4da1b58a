package asm

import (
	"flag"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/x448/float16"
)

var exhaustive = flag.Bool("vec.exhaustive", false, "check the transcendental kernels and conversions on every float32 (minutes)")

// The tests run every kernel with the assembly on and off (on only where
// the CPU has it) and compare the two: bit for bit for the exact kernels,
// within the documented ulp bounds for the approximations (whose twins are
// float64 math), and within summation-error bounds for Sum and Dot.

// both runs f with the assembly on (where available) and off.
func both(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	prev := SetAccelerated(true)
	defer SetAccelerated(prev)
	prevWide := SetAVX512(true)
	defer SetAVX512(prevWide)
	if UsingAVX512() {
		t.Run("avx512", f)
	}
	SetAVX512(false)
	if Accelerated() {
		t.Run("asm", f)
	} else {
		t.Log("no AVX2/FMA assembly here: testing the Go twins only")
	}
	SetAccelerated(false)
	t.Run("go", f)
}

// withAccel runs f with the assembly switched to on (where available).
func withAccel(on bool, f func()) {
	prev := SetAccelerated(on)
	defer SetAccelerated(prev)
	f()
}

// testLengths: every length 0..256 and a few larger ones.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 256; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 4097, 100003)
}

// offsets to start slices at, for the given length: all of 0..7 for short
// slices, a few for long ones (to keep the run short).
func offsets(n int) []int {
	if n > 4097 {
		return []int{0, 3}
	}
	return []int{0, 1, 2, 3, 4, 5, 6, 7}
}

const vecGuard = 19

var sentinel = math.Float32frombits(0x7fa5a5a5)

// guarded returns a slice of length n at offset off inside a buffer whose
// other elements hold a sentinel; check reports any that changed.
type guarded struct {
	buf []float32
	off int
	n   int
}

func newGuarded(n, off int) guarded {
	g := guarded{buf: make([]float32, off+n+vecGuard), off: off, n: n}
	for i := range g.buf {
		g.buf[i] = sentinel
	}
	return g
}

func (g guarded) s() []float32 { return g.buf[g.off : g.off+g.n : g.off+g.n] }

func (g guarded) check(t *testing.T, what string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < g.off || i >= g.off+g.n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: n=%d off=%d: wrote outside dst at buffer index %d: %g", what, g.n, g.off, i, v)
		}
	}
}

// copyAt returns a copy of x starting at offset off of a fresh buffer.
func copyAt(x []float32, off int) []float32 {
	b := make([]float32, off+len(x))
	copy(b[off:], x)
	return b[off:]
}

var specials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -2,
	float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(0x7f800001), // NaNs, one signalling
	float32(math.Inf(1)), float32(math.Inf(-1)),
	math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	math.Float32frombits(0x00800000), math.Float32frombits(0x807fffff), // min normal, max subnormal
	88.72283, 88.72284, 89, -87.33655, -103.97207, -103.97209, -104, 1e-7, -1e-30,
}

// randData returns n values: mostly scale·N(0,1), with specials sprinkled
// in when withSpecials.
func randData(r *rand.Rand, n int, scale float64, withSpecials bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
		if withSpecials && r.IntN(8) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		}
	}
	return x
}

// same reports whether a and b are the same float32: bit for bit, except
// that any NaN matches any NaN.
func same(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// ulps is the distance between a and b in units in the last place
// (0 between +0 and -0; 0 between two NaNs, huge between NaN and a number).
func ulps(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxInt64
	}
	d := ulpKey(a) - ulpKey(b)
	if d < 0 {
		d = -d
	}
	return d
}

func ulpKey(f float32) int64 {
	b := math.Float32bits(f)
	if b&0x80000000 != 0 {
		return -int64(b & 0x7fffffff)
	}
	return int64(b)
}

// ---------------------------------------------------------------------------
// Elementwise kernels, exact: asm and twin bit for bit, on every length and
// offset, with guards, NaN and ±Inf.

type exactKernel struct {
	name  string
	nin   int // inputs besides dst
	run   func(dst []float32, in [][]float32)
	scale float64
}

func exactKernels() []exactKernel {
	return []exactKernel{
		{"Add", 2, func(d []float32, in [][]float32) { Add(d, in[0], in[1]) }, 10},
		{"Sub", 2, func(d []float32, in [][]float32) { Sub(d, in[0], in[1]) }, 10},
		{"Mul", 2, func(d []float32, in [][]float32) { Mul(d, in[0], in[1]) }, 1e10},
		{"Div", 2, func(d []float32, in [][]float32) { Div(d, in[0], in[1]) }, 1e-10},
		{"Max", 2, func(d []float32, in [][]float32) { Max(d, in[0], in[1]) }, 1},
		{"Min", 2, func(d []float32, in [][]float32) { Min(d, in[0], in[1]) }, 1},
		{"AddScalar", 1, func(d []float32, in [][]float32) { AddScalar(d, in[0], 0.7) }, 1},
		{"AddScalarNaN", 1, func(d []float32, in [][]float32) { AddScalar(d, in[0], float32(math.NaN())) }, 1},
		{"MulScalar", 1, func(d []float32, in [][]float32) { MulScalar(d, in[0], -3.5e30) }, 1e10},
		{"ReLU", 1, func(d []float32, in [][]float32) { ReLU(d, in[0]) }, 1},
		{"ReLUGrad", 2, func(d []float32, in [][]float32) { ReLUGrad(d, in[0], in[1]) }, 1},
		{"ShiftSub2", 1, func(d []float32, in [][]float32) {
			if Accelerated() {
				shiftSub2AVX2(d, in[0], 1.5, -0.25)
			} else {
				shiftSub2Go(d, in[0], 1.5, -0.25)
			}
		}, 1},
		{"Axpy", 2, func(d []float32, in [][]float32) {
			copy(d, in[1])
			Axpy(-1.7, in[0], d)
		}, 1},
		// In place: dst is the first input.
		{"AddInPlace", 2, func(d []float32, in [][]float32) { copy(d, in[0]); Add(d, d, in[1]) }, 1},
		{"MaxInPlace", 2, func(d []float32, in [][]float32) { copy(d, in[1]); Max(d, in[0], d) }, 1},
		{"Scale", 1, func(d []float32, in [][]float32) { copy(d, in[0]); Scale(0.3, d) }, 1},
	}
}

func TestExactKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range exactKernels() {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				in := make([][]float32, k.nin)
				for j := range in {
					in[j] = randData(r, n, k.scale, true)
				}
				// Some lanes get equal operands of either zero sign, for Max/Min.
				if k.nin == 2 && n > 0 {
					for j := 0; j < n; j += 5 {
						in[1][j] = in[0][j]
						if j%3 == 0 {
							in[0][j] = 0
							in[1][j] = float32(math.Copysign(0, -1))
						}
					}
				}
				want := make([]float32, n)
				withAccel(false, func() { k.run(want, in) })
				for _, off := range offsets(n) {
					inOff := make([][]float32, k.nin)
					for j := range in {
						inOff[j] = copyAt(in[j], (off*3+j)%8)
					}
					g := newGuarded(n, off)
					withAccel(true, func() { k.run(g.s(), inOff) })
					g.check(t, k.name)
					for i, v := range g.s() {
						if !same(v, want[i]) {
							ins := make([]float32, k.nin)
							for j := range in {
								ins[j] = in[j][i]
							}
							t.Fatalf("n=%d off=%d i=%d inputs %v: asm %g (%#x), go %g (%#x)",
								n, off, i, ins, v, math.Float32bits(v), want[i], math.Float32bits(want[i]))
						}
					}
				}
			}
		})
	}
}

// TestGoSemantics pins the twins' (and so the assembly's) special cases.
func TestGoSemantics(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	both(t, func(t *testing.T) {
		for _, c := range []struct {
			name    string
			f       func(d, a, b []float32)
			a, b, w float32
		}{
			{"max", Max, negz, 0, 0}, {"max", Max, 0, negz, 0}, {"max", Max, negz, negz, negz},
			{"min", Min, negz, 0, negz}, {"min", Min, 0, negz, negz}, {"min", Min, 0, 0, 0},
			{"max", Max, nan, 1, nan}, {"max", Max, 1, nan, nan}, {"min", Min, nan, 1, nan}, {"min", Min, 1, nan, nan},
			{"relugrad", ReLUGrad, 5, nan, 0}, {"relugrad", ReLUGrad, 5, 0, 0}, {"relugrad", ReLUGrad, 5, 1e-45, 5},
		} {
			d := []float32{7}
			c.f(d, []float32{c.a}, []float32{c.b})
			if !same(d[0], c.w) {
				t.Errorf("%s(%g, %g) = %g, want %g", c.name, c.a, c.b, d[0], c.w)
			}
		}
		for _, c := range [][2]float32{{negz, 0}, {nan, nan}, {-1, 0}, {2, 2}, {float32(math.Inf(-1)), 0}} {
			d := []float32{7}
			ReLU(d, []float32{c[0]})
			if !same(d[0], c[1]) {
				t.Errorf("ReLU(%g) = %g, want %g", c[0], d[0], c[1])
			}
		}
	})
}

// TestAxpyTies checks the single rounding of Axpy where a*b lies exactly
// halfway between two float32 values and c tips it either way.
func TestAxpyTies(t *testing.T) {
	a := float32(1 + 1.0/(1<<12)) // a*a = 1 + 2^-11 + 2^-24: a tie
	for _, c := range []struct{ y, want float32 }{
		{0, 1 + 1.0/(1<<11)}, // tie to even
		{1e-30, 1 + 1.0/(1<<11) + 1.0/(1<<23)},
		{-1e-30, 1 + 1.0/(1<<11)},
	} {
		if got := fma32(a, a, c.y); got != c.want {
			t.Errorf("fma32(%g, %g, %g) = %.10g, want %.10g", a, a, c.y, got, c.want)
		}
		both(t, func(t *testing.T) {
			y := make([]float32, 13)
			x := make([]float32, 13)
			for i := range y {
				y[i], x[i] = c.y, a
			}
			Axpy(a, x, y)
			for i := range y {
				if y[i] != c.want {
					t.Fatalf("Axpy tie y=%g: [%d] = %.10g, want %.10g", c.y, i, y[i], c.want)
				}
			}
		})
	}
	// The overflow threshold is a tie too.
	m := float32(math.MaxFloat32)
	if got := fma32(0x1p64, 0x1p64, m); !math.IsInf(float64(got), 1) {
		t.Errorf("fma32 overflow: %g", got)
	}
}

// ---------------------------------------------------------------------------
// Transcendental kernels

type approxKernel struct {
	name  string
	f     func(dst, x []float32)
	ref   func(x float32) float32 // float64 math rounded to float32
	bound int64                   // ulps, asserted
}

func approxKernels() []approxKernel {
	return []approxKernel{
		{"Exp", Exp, func(x float32) float32 { return float32(math.Exp(float64(x))) }, 1},
		{"Log", Log, func(x float32) float32 { return float32(math.Log(float64(x))) }, 1},
		{"Tanh", Tanh, func(x float32) float32 { return float32(math.Tanh(float64(x))) }, 2},
		{"Sigmoid", Sigmoid, func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }, 2},
		{"GELUTanh", GELUTanh, geluTanh64, 3},
		{"GELU", GELU, gelu64, 3},
	}
}

// TestApproxSpecial pins the special values of each function.
func TestApproxSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negz := math.Copysign(0, -1)
	cases := map[string][][2]float64{
		"Exp": {{0, 1}, {negz, 1}, {inf, inf}, {-inf, 0}, {nan, nan}, {89, inf}, {88.72284, inf},
			{88.7228, float64(float32(math.Exp(float64(float32(88.7228)))))}, {-104, 0}, {-103.973, 0}, {-150, 0}, {1, math.E}, {math.MaxFloat32, inf}, {-math.MaxFloat32, 0}},
		"Log": {{0, -inf}, {negz, -inf}, {-1, nan}, {-inf, nan}, {inf, inf}, {nan, nan}, {1, 0},
			{math.SmallestNonzeroFloat32, float64(float32(math.Log(math.SmallestNonzeroFloat32)))}, {-math.SmallestNonzeroFloat32, nan}},
		"Tanh":    {{0, 0}, {negz, negz}, {inf, 1}, {-inf, -1}, {nan, nan}, {10, 1}, {-10, -1}, {1e-40, 1e-40}},
		"Sigmoid": {{0, 0.5}, {negz, 0.5}, {inf, 1}, {-inf, 0}, {nan, nan}, {200, 1}, {-200, 0}},
		"GELUTanh": {{0, 0}, {negz, negz}, {inf, inf}, {-inf, negz}, {nan, nan}, {20, 20}, {-20, negz},
			{math.MaxFloat32, math.MaxFloat32}, {-math.MaxFloat32, negz}},
		"GELU": {{0, 0}, {negz, negz}, {inf, inf}, {-inf, negz}, {nan, nan}, {20, 20}, {-20, negz},
			{math.MaxFloat32, math.MaxFloat32}, {-math.MaxFloat32, negz}},
	}
	both(t, func(t *testing.T) {
		for _, k := range approxKernels() {
			for _, c := range cases[k.name] {
				// Each value at every lane position, in a vector and in the tail.
				for n := 1; n <= 11; n++ {
					x := make([]float32, n)
					for i := range x {
						x[i] = 0.25
					}
					x[n-1] = float32(c[0])
					d := make([]float32, n)
					k.f(d, x)
					if got, want := d[n-1], float32(c[1]); !same(got, want) {
						t.Errorf("%s(%g) = %g (%#x), want %g (%#x)", k.name, c[0], got, math.Float32bits(got), want, math.Float32bits(want))
						break
					}
				}
			}
		}
	})
}

// sweep returns every stride-th float32 bit pattern, NaNs included.
func sweep(stride uint64) []float32 {
	xs := make([]float32, 0, (1<<32)/stride+1)
	for b := uint64(0); b < 1<<32; b += stride {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	return xs
}

// TestApproxULP holds each function to its ulp bound against float64 math
// over every 997th float32 bit pattern (about 4.3 million inputs covering
// every binade of both signs, subnormals, infinities and NaNs), and with
// -vec.exhaustive over all of them.
func TestApproxULP(t *testing.T) {
	xs := sweep(997)
	both(t, func(t *testing.T) {
		for _, k := range approxKernels() {
			got := make([]float32, len(xs))
			k.f(got, xs)
			var worst int64
			var wx float32
			for i, x := range xs {
				if d := ulps(got[i], k.ref(x)); d > worst {
					worst, wx = d, x
				}
			}
			t.Logf("%s: max error %d ulp (at %g)", k.name, worst, wx)
			if worst > k.bound {
				t.Errorf("%s: %d ulp at x=%g (%#x): got %g, want %g; bound %d",
					k.name, worst, wx, math.Float32bits(wx), got[indexOf(xs, wx)], k.ref(wx), k.bound)
			}
		}
	})
}

func indexOf(xs []float32, x float32) int {
	for i, v := range xs {
		if math.Float32bits(v) == math.Float32bits(x) {
			return i
		}
	}
	return -1
}

func TestApproxULPExhaustive(t *testing.T) {
	if !*exhaustive {
		t.Skip("run with -vec.exhaustive")
	}
	if !Accelerated() {
		t.Skip("no assembly")
	}
	for _, k := range approxKernels() {
		var mu sync.Mutex
		var worst int64
		var wx float32
		var wg sync.WaitGroup
		const chunk = 1 << 16
		next := make(chan uint64)
		for w := 0; w < runtime.GOMAXPROCS(0); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				xs := make([]float32, chunk)
				got := make([]float32, chunk)
				for base := range next {
					for i := range xs {
						xs[i] = math.Float32frombits(uint32(base) + uint32(i))
					}
					k.f(got, xs)
					var lw int64
					var lx float32
					for i, x := range xs {
						if d := ulps(got[i], k.ref(x)); d > lw {
							lw, lx = d, x
						}
					}
					mu.Lock()
					if lw > worst {
						worst, wx = lw, lx
					}
					mu.Unlock()
				}
			}()
		}
		for base := uint64(0); base < 1<<32; base += chunk {
			next <- base
		}
		close(next)
		wg.Wait()
		t.Logf("%s: max error over all float32: %d ulp (at %g, %#x)", k.name, worst, wx, math.Float32bits(wx))
		if worst > k.bound {
			t.Errorf("%s: %d ulp exceeds bound %d", k.name, worst, k.bound)
		}
	}
}

// TestApproxLengths compares asm with the twin on every length and offset,
// with guards (the sweep above already covers the values).
func TestApproxLengths(t *testing.T) {
	if !HasAVX2FMA {
		t.Skip("no assembly")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range approxKernels() {
		for _, n := range testLengths() {
			x := randData(r, n, 5, true)
			want := make([]float32, n)
			withAccel(false, func() { k.f(want, x) })
			for _, off := range offsets(n) {
				g := newGuarded(n, off)
				xo := copyAt(x, 7-off)
				withAccel(true, func() { k.f(g.s(), xo) })
				g.check(t, k.name)
				for i, v := range g.s() {
					if d := ulps(v, want[i]); d > k.bound+1 {
						t.Fatalf("%s n=%d off=%d: x=%g: asm %g, go %g (%d ulp)", k.name, n, off, x[i], v, want[i], d)
					}
				}
			}
			// In place.
			d := append([]float32(nil), x...)
			withAccel(true, func() { k.f(d, d) })
			for i := range d {
				if ulps(d[i], want[i]) > k.bound+1 {
					t.Fatalf("%s in place n=%d: x=%g: %g, want %g", k.name, n, x[i], d[i], want[i])
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Reductions

// exactSum returns the float64 sums of x and |x|.
func exactSum(x []float32) (s, abs float64) {
	for _, v := range x {
		s += float64(v)
		abs += math.Abs(float64(v))
	}
	return
}

func TestSumDot(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const u = 1.0 / (1 << 24)
	both(t, func(t *testing.T) {
		// The bound for the plain loop is n·u·Σ|x|; the assembly's is far
		// smaller, (n/64 + 14)·u·Σ|x|, and is asserted when it runs.
		bound := func(n int) float64 {
			if Accelerated() {
				return float64(n/64+14) * u
			}
			return float64(n+1) * u
		}
		for _, n := range testLengths() {
			x := randData(r, n, 1, false)
			y := randData(r, n, 1, false)
			for _, off := range offsets(n) {
				xo, yo := copyAt(x, off), copyAt(y, (off+5)%8)
				s, abs := exactSum(x)
				if got := Sum(xo); math.Abs(float64(got)-s) > bound(n)*abs+1e-30 {
					t.Fatalf("Sum n=%d off=%d: %g, exact %g (Σ|x| %g)", n, off, got, s, abs)
				}
				p := make([]float32, n)
				var ds, dabs float64
				for i := range p {
					ds += float64(x[i]) * float64(y[i])
					dabs += math.Abs(float64(x[i]) * float64(y[i]))
				}
				if got := Dot(xo, yo); math.Abs(float64(got)-ds) > bound(n)*dabs+1e-30 {
					t.Fatalf("Dot n=%d off=%d: %g, exact %g", n, off, got, ds)
				}
			}
		}
		// Specials propagate.
		inf := float32(math.Inf(1))
		for _, c := range []struct {
			x    []float32
			want float32
		}{
			{nil, 0},
			{[]float32{1, 2, float32(math.NaN()), 4, 5, 6, 7, 8, 9}, float32(math.NaN())},
			{[]float32{1, inf, 3}, inf},
			{[]float32{1, inf, -inf}, float32(math.NaN())},
		} {
			if got := Sum(c.x); !same(got, c.want) {
				t.Errorf("Sum(%v) = %g, want %g", c.x, got, c.want)
			}
		}
		if got := Dot([]float32{1, 2, 3}, []float32{inf, 0, 1}); !math.IsInf(float64(got), 1) {
			t.Errorf("Dot with Inf = %g", got)
		}
	})
}

// The assembly's Sum is deterministic and its order does not depend on the
// slice's alignment.
func TestSumDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randData(r, 100003, 1, false)
	a := Sum(x)
	for off := 1; off < 8; off++ {
		if b := Sum(copyAt(x, off)); math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("Sum at offset %d: %g, at 0: %g", off, b, a)
		}
	}
}

func TestReduceMax(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	negz := float32(math.Copysign(0, -1))
	for _, n := range testLengths() {
		x := randData(r, n, 1, n%3 == 0)
		// Rows of zeros of either sign, to pin max(-0, +0) = +0.
		if n%5 == 1 {
			for i := range x {
				x[i] = negz
			}
			if n%2 == 1 {
				x[r.IntN(n)] = 0
			}
		}
		var want float32
		withAccel(false, func() { want = ReduceMax(x) })
		for _, off := range offsets(n) {
			var got float32
			withAccel(true, func() { got = ReduceMax(copyAt(x, off)) })
			if !same(got, want) {
				t.Fatalf("ReduceMax n=%d off=%d: asm %g, go %g", n, off, got, want)
			}
		}
	}
	// A NaN anywhere, including the tail, gives NaN.
	both(t, func(t *testing.T) {
		for n := 1; n < 80; n++ {
			for _, at := range []int{0, n / 2, n - 1} {
				x := make([]float32, n)
				x[at] = float32(math.NaN())
				if got := ReduceMax(x); got == got {
					t.Fatalf("ReduceMax with NaN at %d of %d: %g", at, n, got)
				}
			}
		}
		if got := ReduceMax(nil); !math.IsInf(float64(got), -1) {
			t.Errorf("ReduceMax(nil) = %g", got)
		}
	})
}

// ---------------------------------------------------------------------------
// Softmax

func TestSoftmaxRow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, scale := range []float64{1, 30} {
		for _, n := range testLengths() {
			x := randData(r, n, scale, false)
			want := make([]float32, n)
			wantLog := make([]float32, n)
			withAccel(false, func() {
				SoftmaxRow(want, x)
				LogSoftmaxRow(wantLog, x)
			})
			for _, off := range offsets(n) {
				xo := copyAt(x, (off+1)%8)
				g := newGuarded(n, off)
				gl := newGuarded(n, (off+4)%8)
				withAccel(true, func() {
					SoftmaxRow(g.s(), xo)
					LogSoftmaxRow(gl.s(), xo)
				})
				g.check(t, "SoftmaxRow")
				gl.check(t, "LogSoftmaxRow")
				for i := range want {
					if d := ulps(g.s()[i], want[i]); d > 3 {
						t.Fatalf("SoftmaxRow n=%d off=%d i=%d (x=%g): asm %g, go %g: %d ulp", n, off, i, x[i], g.s()[i], want[i], d)
					}
					if d := ulps(gl.s()[i], wantLog[i]); d > 2 {
						t.Fatalf("LogSoftmaxRow n=%d off=%d i=%d (x=%g): asm %g, go %g: %d ulp", n, off, i, x[i], gl.s()[i], wantLog[i], d)
					}
				}
			}
			// In place.
			d := append([]float32(nil), x...)
			dl := append([]float32(nil), x...)
			withAccel(true, func() {
				SoftmaxRow(d, d)
				LogSoftmaxRow(dl, dl)
			})
			for i := range d {
				if ulps(d[i], want[i]) > 3 || ulps(dl[i], wantLog[i]) > 2 {
					t.Fatalf("in place n=%d i=%d: %g %g, want %g %g", n, i, d[i], dl[i], want[i], wantLog[i])
				}
			}
		}
	}
}

func TestSoftmaxSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	both(t, func(t *testing.T) {
		for _, c := range []struct {
			x, want, wantLog []float32
		}{
			{[]float32{1, 1}, []float32{0.5, 0.5}, []float32{-float32(math.Ln2), -float32(math.Ln2)}},
			{[]float32{0, -inf}, []float32{1, 0}, []float32{0, -inf}},
			{[]float32{1e30, -1e30, 1e30}, []float32{0.5, 0, 0.5}, []float32{-float32(math.Ln2), -2e30, -float32(math.Ln2)}},
			{[]float32{1, nan, 2}, []float32{nan, nan, nan}, []float32{nan, nan, nan}},
			{[]float32{-inf, -inf}, []float32{nan, nan}, []float32{nan, nan}},
			{[]float32{inf, 1}, []float32{nan, nan}, []float32{nan, nan}},
			{[]float32{3}, []float32{1}, []float32{0}},
		} {
			d := make([]float32, len(c.x))
			SoftmaxRow(d, c.x)
			dl := make([]float32, len(c.x))
			LogSoftmaxRow(dl, c.x)
			for i := range d {
				if !same(d[i], c.want[i]) || !same(dl[i], c.wantLog[i]) {
					t.Errorf("softmax(%v) = %v, log %v; want %v, %v", c.x, d, dl, c.want, c.wantLog)
					break
				}
			}
		}
		SoftmaxRow(nil, nil)
		LogSoftmaxRow(nil, nil)
	})
}

// ---------------------------------------------------------------------------
// Conversions: bit for bit on every half-precision value, a stride of the
// float32 ones (all with -vec.exhaustive), every length and offset.

func TestHalfToFloat32All(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	for _, c := range []struct {
		name string
		f    func([]float32, []uint16)
	}{{"Float16ToFloat32", Float16ToFloat32}, {"BFloat16ToFloat32", BFloat16ToFloat32}} {
		want := make([]float32, len(src))
		got := make([]float32, len(src))
		withAccel(false, func() { c.f(want, src) })
		withAccel(true, func() { c.f(got, src) })
		for i := range src {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s(%#04x): asm %#08x, go %#08x", c.name, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
	// Spot checks of the twins against the formats.
	if f := float16.Frombits(0x3c00).Float32(); f != 1 {
		t.Errorf("float16 1.0 = %g", f)
	}
}

func TestFloat32ToHalf(t *testing.T) {
	stride := uint64(251)
	if *exhaustive {
		stride = 1
	}
	const chunk = 1 << 16
	src := make([]float32, 0, chunk)
	want := make([]uint16, chunk)
	got := make([]uint16, chunk)
	for _, c := range []struct {
		name string
		f    func([]uint16, []float32)
	}{{"Float32ToFloat16", Float32ToFloat16}, {"Float32ToBFloat16", Float32ToBFloat16}} {
		flush := func() {
			withAccel(false, func() { c.f(want[:len(src)], src) })
			withAccel(true, func() { c.f(got[:len(src)], src) })
			for i := range src {
				if got[i] != want[i] {
					t.Fatalf("%s(%g, %#08x): asm %#04x, go %#04x", c.name, src[i], math.Float32bits(src[i]), got[i], want[i])
				}
			}
			src = src[:0]
		}
		for b := uint64(0); b < 1<<32; b += stride {
			src = append(src, math.Float32frombits(uint32(b)))
			if len(src) == chunk {
				flush()
			}
		}
		src = append(src, specials...)
		// Ties and near-ties of both formats' rounding.
		for _, b := range []uint32{0x3f808000, 0x3f818000, 0x3f807fff, 0x3f808001, 0x3f801000, 0x3f803000, 0x3f802fff,
			0x477fefff, 0x477ff000, 0x7f7fffff, 0x33000000, 0x33000001, 0x7f800001, 0xff801234, 0x7fffffff} {
			src = append(src, math.Float32frombits(b))
		}
		flush()
	}
	// Known values.
	if got := bf16FromFloat32(math.Float32frombits(0x3f808000)); got != 0x3f80 {
		t.Errorf("bf16 tie to even: %#x", got)
	}
	if got := bf16FromFloat32(math.Float32frombits(0x3f818000)); got != 0x3f82 {
		t.Errorf("bf16 tie to even (odd): %#x", got)
	}
	if got := bf16FromFloat32(math.Float32frombits(0x7f800001)); got != 0x7fc0 {
		t.Errorf("bf16 of signalling NaN: %#x", got)
	}
	if got := bf16FromFloat32(math.Float32frombits(0x7f7fffff)); got != 0x7f80 {
		t.Errorf("bf16 overflow: %#x", got)
	}
}

func TestConversionLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range testLengths() {
		x := randData(r, n, 1e3, true)
		h := make([]uint16, n)
		for i := range h {
			h[i] = uint16(r.Uint32())
		}
		for _, off := range offsets(n) {
			// float32 → half, with guards.
			for _, f := range []func([]uint16, []float32){Float32ToFloat16, Float32ToBFloat16} {
				want := make([]uint16, n)
				withAccel(false, func() { f(want, x) })
				buf := make([]uint16, n+off+vecGuard)
				for i := range buf {
					buf[i] = 0xa5a5
				}
				withAccel(true, func() { f(buf[off:off+n], copyAt(x, 7-off)) })
				for i, v := range buf {
					inside := i >= off && i < off+n
					if inside && v != want[i-off] || !inside && v != 0xa5a5 {
						t.Fatalf("n=%d off=%d: buffer index %d = %#x", n, off, i, v)
					}
				}
			}
			// half → float32, with guards.
			for _, f := range []func([]float32, []uint16){Float16ToFloat32, BFloat16ToFloat32} {
				want := make([]float32, n)
				withAccel(false, func() { f(want, h) })
				g := newGuarded(n, off)
				ho := make([]uint16, n+off)[off:]
				copy(ho, h)
				withAccel(true, func() { f(g.s(), ho) })
				g.check(t, "half to float32")
				for i := range want {
					if math.Float32bits(g.s()[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d off=%d i=%d: %#x, want %#x", n, off, i, math.Float32bits(g.s()[i]), math.Float32bits(want[i]))
					}
				}
			}
		}
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Add":     func() { Add(make([]float32, 3), make([]float32, 3), make([]float32, 4)) },
		"Exp":     func() { Exp(make([]float32, 3), make([]float32, 2)) },
		"Axpy":    func() { Axpy(1, make([]float32, 3), make([]float32, 2)) },
		"Dot":     func() { Dot(make([]float32, 3), make([]float32, 2)) },
		"Float16": func() { Float32ToFloat16(make([]uint16, 3), make([]float32, 2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on length mismatch", name)
				}
			}()
			f()
		}()
	}
}

// TestGELUGrad holds GELUGrad to its documented bound, 2⁻²²·|g|, against
// float64 math over every 997th float32 bit pattern of x (g = 1 and
// g = -3.5), pins its special values, and checks lengths 0…40 with guard
// values around the output.
func TestGELUGrad(t *testing.T) {
	xs := sweep(997)
	both(t, func(t *testing.T) {
		for _, gv := range []float32{1, -3.5} {
			g := make([]float32, len(xs))
			for i := range g {
				g[i] = gv
			}
			got := make([]float32, len(xs))
			GELUGrad(got, g, xs)
			var worst float64
			var wx float32
			for i, x := range xs {
				want := float64(gv) * GELUGrad64(float64(x))
				if math.IsNaN(float64(x)) {
					if !math.IsNaN(float64(got[i])) {
						t.Fatalf("GELUGrad(NaN) = %g", got[i])
					}
					continue
				}
				if d := math.Abs(float64(got[i])-want) / math.Abs(float64(gv)); d > worst {
					worst, wx = d, x
				}
			}
			t.Logf("g=%g: max |error|/|g| = %.3g = 2^%.1f (at x=%g)", gv, worst, math.Log2(worst), wx)
			if worst > 0x1p-22 {
				t.Errorf("g=%g: error %g·|g| at x=%g exceeds 2^-22", gv, worst, wx)
			}
		}
		inf := float32(math.Inf(1))
		for _, c := range [][2]float32{{0, 0.5}, {inf, 1}, {-inf, 0}, {40, 1}, {-40, 0}, {math.MaxFloat32, 1}, {-math.MaxFloat32, 0}} {
			for n := 1; n <= 11; n++ {
				x := make([]float32, n)
				g := make([]float32, n)
				for i := range x {
					x[i], g[i] = 0.25, 1
				}
				x[n-1] = c[0]
				d := make([]float32, n)
				GELUGrad(d, g, x)
				if d[n-1] != c[1] {
					t.Fatalf("GELUGrad(x=%g) at lane %d = %g, want %g", c[0], n-1, d[n-1], c[1])
				}
			}
		}
		for n := range 41 {
			buf := make([]float32, n+2)
			buf[0], buf[n+1] = 7, 7
			x := make([]float32, n)
			g := make([]float32, n)
			for i := range x {
				x[i], g[i] = float32(i)/8-2, 2
			}
			GELUGrad(buf[1:n+1], g, x)
			if buf[0] != 7 || buf[n+1] != 7 {
				t.Fatalf("n=%d: GELUGrad wrote outside dst", n)
			}
			for i := range x {
				if want := 2 * GELUGrad64(float64(x[i])); math.Abs(float64(buf[1+i])-want) > 0x1p-20 {
					t.Fatalf("n=%d: [%d] = %g, want %g", n, i, buf[1+i], want)
				}
			}
		}
	})
}

// TestExpAVX512MatchesAVX2 holds the ZMM exp to bit-identity with the YMM
// one over every 997th float32 bit pattern and the special values, at
// every position of a 16-lane vector.
func TestExpAVX512MatchesAVX2(t *testing.T) {
	if !HasAVX512 {
		t.Skip("no AVX-512F")
	}
	xs := append(sweep(997), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 88.72284, 88.7228, -104, -103.973, -150, math.MaxFloat32, -math.MaxFloat32)
	for shift := range 16 {
		in := xs[shift:]
		n := len(in) &^ 15
		wide, narrow := make([]float32, n), make([]float32, n)
		expAVX512(wide, in[:n])
		expAVX2(narrow, in[:n])
		for i := range wide {
			if math.Float32bits(wide[i]) != math.Float32bits(narrow[i]) {
				t.Fatalf("exp(%g): AVX-512 %g (%#x), AVX2 %g (%#x)", in[i], wide[i], math.Float32bits(wide[i]), narrow[i], math.Float32bits(narrow[i]))
			}
		}
	}
}

// TestMaxPool2x2 compares the assembly with the loop on windows drawn from
// a few values (ties are common), NaN, ±Inf and ±0, at every length up to
// 40 and from unaligned starts.
func TestMaxPool2x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := []float32{-1, 0, float32(math.Copysign(0, -1)), 1, 2, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	both(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			for trial := range 20 {
				r0, r1 := make([]float32, 2*n+3), make([]float32, 2*n+3)
				for i := range r0 {
					r0[i], r1[i] = vals[rng.IntN(len(vals))], vals[rng.IntN(len(vals))]
				}
				off := trial % 3
				pos0, pos1 := int32(rng.IntN(1000)), int32(1000+rng.IntN(1000))
				got, gotMax := make([]int64, n), make([]float32, n)
				MaxPool2x2(gotMax, got, r0[off:], r1[off:], pos0, pos1)
				for j := range n {
					// The scan, written out once more.
					a, b, c, d := r0[off+2*j], r0[off+2*j+1], r1[off+2*j], r1[off+2*j+1]
					best, m := int64(pos0)+int64(2*j), a
					if b > m || b != b {
						best, m = best+1, b
					}
					if c > m || c != c {
						best, m = int64(pos1)+int64(2*j), c
					}
					if d > m || d != d {
						best, m = int64(pos1)+int64(2*j)+1, d
					}
					if got[j] != best || math.Float32bits(gotMax[j]) != math.Float32bits(m) {
						t.Fatalf("n=%d off=%d window %d (%v %v / %v %v): got %v at %d, want %v at %d", n, off, j, a, b, c, d, gotMax[j], got[j], m, best)
					}
				}
			}
		}
	})
	defer func() {
		if recover() == nil {
			t.Error("MaxPool2x2 with short rows: no panic")
		}
	}()
	MaxPool2x2(make([]float32, 4), make([]int64, 4), make([]float32, 8), make([]float32, 7), 0, 0)
}

// TestRows checks CopyRows and AddRows against the loops, for widths 0 to
// 40 (every remainder of 8), several strides and unaligned starts, and
// that nothing outside the block changes.
func TestRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	both(t, func(t *testing.T) {
		for width := 0; width <= 40; width++ {
			for _, rows := range []int{0, 1, 3} {
				for _, pad := range []int{0, 1, 5} {
					ds, ss := width+pad, width+2*pad+1
					for _, add := range []bool{false, true} {
						off := rng.IntN(8)
						dst := make([]float32, off+rows*ds+8)
						src := make([]float32, off+rows*ss+8)
						for i := range dst {
							dst[i] = float32(rng.NormFloat64())
						}
						for i := range src {
							src[i] = float32(rng.NormFloat64())
						}
						want := slices.Clone(dst)
						for r := range rows {
							for j := range width {
								if add {
									want[off+r*ds+j] += src[off+r*ss+j]
								} else {
									want[off+r*ds+j] = src[off+r*ss+j]
								}
							}
						}
						if add {
							AddRows(dst[off:], ds, src[off:], ss, rows, width)
						} else {
							CopyRows(dst[off:], ds, src[off:], ss, rows, width)
						}
						if !slices.Equal(dst, want) {
							t.Fatalf("add=%v rows %d width %d strides %d, %d: got %v, want %v", add, rows, width, ds, ss, dst, want)
						}
					}
				}
			}
		}
	})
	for name, f := range map[string]func(){
		"short dst":    func() { CopyRows(make([]float32, 10), 5, make([]float32, 20), 5, 3, 5) },
		"short src":    func() { AddRows(make([]float32, 20), 5, make([]float32, 10), 5, 3, 5) },
		"narrow dst":   func() { CopyRows(make([]float32, 20), 3, make([]float32, 20), 5, 2, 5) },
		"negative row": func() { CopyRows(nil, 0, nil, 0, -1, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
