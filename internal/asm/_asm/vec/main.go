// Command vec generates internal/asm/vec_amd64.s and its Go stubs: the
// AVX2/FMA/F16C float32 vector kernels. Run it through go generate in
// internal/asm (see vec.go); the output is committed and CI regenerates it
// and diffs, so everything here must be deterministic.
//
// Every kernel follows one loop shape (see stream): a main loop over blocks
// of unroll×8 floats, a loop over single vectors of 8, and a masked tail of
// 1–7 floats done with VMASKMOVPS, so that any length and any alignment is
// handled in assembly and an element's result never depends on where it
// sits in the slice. The half-precision conversions leave their tail of
// 1–7 elements to the Go caller instead, whose twin is bit-identical.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")

	binaryKernels()
	unaryKernels()
	reductionKernels()
	softmaxKernels()
	conversionKernels()
	poolKernels()
	rowKernels()

	Generate()
}

// ---------------------------------------------------------------------------
// Constants

type constant struct {
	mem  Mem
	bits uint64
}

var consts = map[string]constant{}

// cached returns the global called name, made by def on first use; it
// panics if the name was used before for another value.
func cached(name string, bits uint64, def func(name string) Mem) Mem {
	name = "vecconst_" + name
	if c, ok := consts[name]; ok {
		if c.bits != bits {
			panic("constant " + name + " defined twice with different values")
		}
		return c.mem
	}
	m := def(name)
	consts[name] = constant{m, bits}
	return m
}

// bcast returns a 32-byte read-only global holding eight copies of bits.
func bcast(name string, bits uint32) Mem {
	return cached(name, uint64(bits), func(name string) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(bits))
		}
		return m
	})
}

// cf returns a broadcast float32 constant.
func cf(name string, v float32) Mem { return bcast(name, math.Float32bits(v)) }

// ci returns a broadcast int32 constant.
func ci(name string, v uint32) Mem { return bcast(name, v) }

// maskTable holds eight all-ones int32 lanes followed by eight zero lanes:
// the 32 bytes at offset 4*(8-r) are a VMASKMOVPS mask selecting r lanes.
func maskTable() Mem {
	return cached("tailmask", 0, func(name string) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			v := uint32(0)
			if i < 8 {
				v = 0xffffffff
			}
			DATA(4*i, U32(v))
		}
		return m
	})
}

// Frequently used constants.
func one() Mem      { return cf("one", 1) }
func signMask() Mem { return ci("sign", 0x80000000) }
func absMask() Mem  { return ci("abs", 0x7fffffff) }

// VCMPPS predicates.
const (
	cmpEQ_OQ   = 0x00
	cmpUNORD_Q = 0x03
	cmpORD_Q   = 0x07
	cmpLT_OQ   = 0x11
	cmpLE_OQ   = 0x12
	cmpNLT_UQ  = 0x15
	cmpGT_OQ   = 0x1e
)

// ---------------------------------------------------------------------------
// Three-operand helpers. Each returns a fresh virtual register of a's width
// (XMM or YMM) unless it says it works in place; b may be a memory operand
// wherever the instruction allows one.

func like(a Register) VecVirtual {
	if a.Size() == 16 {
		return XMM()
	}
	return YMM()
}

func load(m Op) VecVirtual            { d := YMM(); VMOVUPS(m, d); return d }
func zero() VecVirtual                { d := YMM(); VXORPS(d, d, d); return d }
func add(a Register, b Op) VecVirtual { d := like(a); VADDPS(b, a, d); return d }
func sub(a Register, b Op) VecVirtual { d := like(a); VSUBPS(b, a, d); return d }
func mul(a Register, b Op) VecVirtual { d := like(a); VMULPS(b, a, d); return d }
func div(a Register, b Op) VecVirtual { d := like(a); VDIVPS(b, a, d); return d }
func and(a Register, b Op) VecVirtual { d := like(a); VANDPS(b, a, d); return d }
func or(a Register, b Op) VecVirtual  { d := like(a); VORPS(b, a, d); return d }
func xor(a Register, b Op) VecVirtual { d := like(a); VXORPS(b, a, d); return d }

// andNot returns ^a & b.
func andNot(a Register, b Op) VecVirtual { d := like(a); VANDNPS(b, a, d); return d }

// cmp returns the lane mask of a PRED b.
func cmp(pred uint8, a Register, b Op) VecVirtual { d := like(a); VCMPPS(U8(pred), b, a, d); return d }

// blend returns mask ? t : f, lane by lane (on the mask's sign bits).
func blend(mask Register, t Op, f Register) VecVirtual {
	d := like(f)
	VBLENDVPS(mask, t, f, d)
	return d
}

// fmaIn sets a = a*b + c in place and returns a.
func fmaIn(a VecVirtual, b, c Op) VecVirtual { VFMADD213PS(c, b, a); return a }

// exactProductLow returns a*b - round(a*b), exact by FMA; p is round(a*b).
func exactProductLow(a Register, b Op, p Register) VecVirtual {
	d := like(a)
	VMOVAPS(p, d)
	VFMSUB231PS(b, a, d) // d = a*b - d
	return d
}

// horner evaluates c[0]*x^(n-1) + ... + c[n-1] with FMAs.
func horner(x Register, c []Mem) VecVirtual {
	p := load(c[0])
	for _, ck := range c[1:] {
		fmaIn(p, x, ck)
	}
	return p
}

// bcast64 returns a 32-byte read-only global holding four copies of v.
func bcast64(name string, v float64) Mem {
	return cached(name, math.Float64bits(v), func(name string) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 4; i++ {
			DATA(8*i, U64(math.Float64bits(v)))
		}
		return m
	})
}

func pdConsts(name string, c []float64) []Mem {
	m := make([]Mem, len(c))
	for i, v := range c {
		m[i] = bcast64(fmt.Sprintf("%s%d", name, i), v)
	}
	return m
}

// hornerPD is horner on four float64 lanes.
func hornerPD(x Register, c []Mem) VecVirtual {
	p := YMM()
	VMOVUPD(c[0], p)
	for _, ck := range c[1:] {
		VFMADD213PD(ck, x, p)
	}
	return p
}

func polyConsts(name string, c []float32) []Mem {
	m := make([]Mem, len(c))
	for i, v := range c {
		m[i] = cf(fmt.Sprintf("%s%d", name, i), v)
	}
	return m
}

// goMax is Go's max(a, b) lane by lane: NaN if either is NaN (the all-ones
// NaN), +0 for max(-0, +0). VMAXPS alone returns its second source operand
// when either is NaN or both are zero, so we take it both ways round: the
// AND of the two settles the zeros, an unordered compare the NaNs.
func goMax(a, b Register) VecVirtual {
	d := like(a)
	goMaxTo(d, a, b)
	return d
}

// goMaxTo is goMax into d, which may be a.
func goMaxTo(d, a, b Register) {
	n := cmp(cmpUNORD_Q, a, b)
	r := like(a)
	VMAXPS(a, b, r) // NaN or ±0 pair → a
	VMAXPS(b, a, d) // NaN or ±0 pair → b
	VANDPS(r, d, d)
	VORPS(n, d, d)
}

// goMin is Go's min(a, b) lane by lane: the OR of VMINPS both ways round
// gives -0 for min(-0, +0) and, in a NaN lane, a|b, which is a NaN.
func goMin(a, b Register) VecVirtual {
	r1 := like(a)
	VMINPS(b, a, r1)
	r2 := like(a)
	VMINPS(a, b, r2)
	VORPS(r2, r1, r1)
	return r1
}

// ---------------------------------------------------------------------------
// The loop

// stream describes one kernel over float32 slices.
type stream struct {
	name, sig string
	doc       []string
	n         string   // slice param whose length is the element count
	out       string   // float32 slice param written, or ""
	ins       []string // float32 slice params read
	scalars   []string // float32 params, broadcast into YMM registers
	unroll    int
	// init runs once before the loops (accumulators, hoisted constants).
	init func(sc []VecVirtual)
	// body computes one vector: from the inputs (masked lanes are zero in
	// the tail, where mask is non-nil) it returns the output vector, or nil
	// when there is no output (it then updates accumulators itself).
	body func(in []VecVirtual, sc []VecVirtual, mask VecVirtual) VecVirtual
	// fini runs after the loops: reduce and store the result.
	fini func()
}

func (s stream) gen() {
	TEXT(s.name, NOSPLIT, s.sig)
	Pragma("noescape")
	Doc(s.doc...)
	n := Load(Param(s.n).Len(), GP64())
	var outp GPVirtual
	if s.out != "" {
		outp = GP64()
		Load(Param(s.out).Base(), outp)
	}
	inp := make([]GPVirtual, len(s.ins))
	for k, name := range s.ins {
		inp[k] = GP64()
		Load(Param(name).Base(), inp[k])
	}
	sc := make([]VecVirtual, len(s.scalars))
	for k, name := range s.scalars {
		x := XMM()
		Load(Param(name), x)
		sc[k] = YMM()
		VBROADCASTSS(x, sc[k])
	}
	if s.init != nil {
		s.init(sc)
	}
	i := GP64()
	XORQ(i, i)
	at := func(p GPVirtual, j int) Mem { return Mem{Base: p, Index: i, Scale: 4, Disp: 32 * j} }

	one := func(j int, mask VecVirtual) {
		in := make([]VecVirtual, len(inp))
		for k, p := range inp {
			in[k] = YMM()
			if mask == nil {
				VMOVUPS(at(p, j), in[k])
			} else {
				VMASKMOVPS(at(p, j), mask, in[k])
			}
		}
		r := s.body(in, sc, mask)
		if s.out != "" {
			if mask == nil {
				VMOVUPS(r, at(outp, j))
			} else {
				VMASKMOVPS(r, mask, at(outp, j))
			}
		}
	}

	block := 8 * s.unroll
	if s.unroll > 1 {
		Comment(fmt.Sprintf("Blocks of %d.", block))
		nb := GP64()
		MOVQ(n, nb)
		ANDQ(I32(^(block - 1)), nb)
		Label("block")
		CMPQ(i, nb)
		JAE(LabelRef("single"))
		for j := 0; j < s.unroll; j++ {
			one(j, nil)
		}
		ADDQ(U32(block), i)
		JMP(LabelRef("block"))
	}

	Label("single")
	Comment("Single vectors of 8.")
	n8 := GP64()
	MOVQ(n, n8)
	ANDQ(I32(-8), n8)
	Label("singleloop")
	CMPQ(i, n8)
	JAE(LabelRef("tail"))
	one(0, nil)
	ADDQ(U32(8), i)
	JMP(LabelRef("singleloop"))

	Label("tail")
	Comment("Masked tail of 1-7.")
	r := GP64()
	MOVQ(n, r)
	SUBQ(i, r)
	JZ(LabelRef("done"))
	NEGQ(r)
	tab := GP64()
	LEAQ(maskTable(), tab)
	mask := YMM()
	VMOVUPS(Mem{Base: tab, Index: r, Scale: 4, Disp: 32}, mask)
	one(0, mask)

	Label("done")
	if s.fini != nil {
		s.fini()
	}
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------------------
// Binary, scalar and masking kernels

func binaryKernels() {
	bin := func(name, op string, f func(a, b VecVirtual) VecVirtual) {
		stream{
			name: name, sig: "func(dst, a, b []float32)",
			doc: []string{name + " sets dst[i] = " + op + " for i < len(dst)."},
			n:   "dst", out: "dst", ins: []string{"a", "b"}, unroll: 4,
			body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual { return f(in[0], in[1]) },
		}.gen()
	}
	bin("addAVX2", "a[i] + b[i]", func(a, b VecVirtual) VecVirtual { return add(a, b) })
	bin("subAVX2", "a[i] - b[i]", func(a, b VecVirtual) VecVirtual { return sub(a, b) })
	bin("mulAVX2", "a[i] * b[i]", func(a, b VecVirtual) VecVirtual { return mul(a, b) })
	bin("divAVX2", "a[i] / b[i]", func(a, b VecVirtual) VecVirtual { return div(a, b) })
	bin("maxAVX2", "max(a[i], b[i])", func(a, b VecVirtual) VecVirtual { return goMax(a, b) })
	bin("minAVX2", "min(a[i], b[i])", func(a, b VecVirtual) VecVirtual { return goMin(a, b) })

	scalar := func(name, op string, f func(a, s VecVirtual) VecVirtual) {
		stream{
			name: name, sig: "func(dst, a []float32, s float32)",
			doc: []string{name + " sets dst[i] = " + op + " for i < len(dst)."},
			n:   "dst", out: "dst", ins: []string{"a"}, scalars: []string{"s"}, unroll: 4,
			body: func(in, sc []VecVirtual, _ VecVirtual) VecVirtual { return f(in[0], sc[0]) },
		}.gen()
	}
	scalar("addScalarAVX2", "a[i] + s", func(a, s VecVirtual) VecVirtual { return add(a, s) })
	scalar("mulScalarAVX2", "a[i] * s", func(a, s VecVirtual) VecVirtual { return mul(a, s) })

	stream{
		name: "axpyAVX2", sig: "func(alpha float32, x, y []float32)",
		doc: []string{"axpyAVX2 sets y[i] = alpha*x[i] + y[i], fused, for i < len(y)."},
		n:   "y", out: "y", ins: []string{"x", "y"}, scalars: []string{"alpha"}, unroll: 4,
		body: func(in, sc []VecVirtual, _ VecVirtual) VecVirtual {
			VFMADD231PS(sc[0], in[0], in[1]) // y += x*alpha
			return in[1]
		},
	}.gen()

	stream{
		name: "reluAVX2", sig: "func(dst, x []float32)",
		doc: []string{"reluAVX2 sets dst[i] = 0 where x[i] <= 0, else x[i] (NaN stays NaN)."},
		n:   "dst", out: "dst", ins: []string{"x"}, unroll: 4,
		body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual {
			le := cmp(cmpLE_OQ, in[0], zero())
			return andNot(le, in[0])
		},
	}.gen()

	stream{
		name: "reluGradAVX2", sig: "func(dst, g, x []float32)",
		doc: []string{"reluGradAVX2 sets dst[i] = g[i] where x[i] > 0, else 0."},
		n:   "dst", out: "dst", ins: []string{"g", "x"}, unroll: 4,
		body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual {
			gt := cmp(cmpGT_OQ, in[1], zero())
			return and(gt, in[0])
		},
	}.gen()
}

// ---------------------------------------------------------------------------
// Transcendental functions

// expCore returns e^(x+lo) lane by lane (lo may be nil), for x with |lo|
// tiny next to x. extra, when not nil, holds int32 lanes added to the
// power of two of the result (the result is then e^(x+lo) * 2^extra).
// lowClamp is the argument below which the result is taken to be
// e^lowClamp, which must already round to zero (after the 2^extra scaling).
//
// Method: x is clamped to [lowClamp, 89] (NaN passes: VMINPS/VMAXPS return
// their second source operand when one is NaN); k = round(x/ln2);
// r = x - k*ln2 in two FMA steps with ln2 split in hi and lo parts, so
// |r| <= ln2/2 with an error of about 2^-24 ulp(r); e^r by a degree-7
// polynomial (Horner with FMA); the result is p * 2^k1 * 2^k2 with
// k1 = k>>1 and k2 = k-k1, both powers of two normal, so that results
// that overflow become +Inf and results in the subnormal range are rounded
// once, by the last multiplication.
func expCore(x VecVirtual, lo Op, extra Op, lowClamp float32) VecVirtual {
	xc := YMM()
	VMINPS(x, load(cf("exp_hi", 89)), xc)
	VMAXPS(xc, load(cf(fmt.Sprintf("exp_lo%d", int(-lowClamp)), lowClamp)), xc)
	kf := mul(xc, cf("log2e", math.Log2E))
	VROUNDPS(U8(0), kf, kf)
	VFNMADD231PS(cf("ln2hi", ln2hi), kf, xc) // xc -= kf*ln2hi (exact)
	VFNMADD231PS(cf("ln2lo", ln2lo), kf, xc) // xc -= kf*ln2lo
	if lo != nil {
		VADDPS(lo, xc, xc)
	}
	p := horner(xc, polyConsts("exp", expPoly))
	ki := YMM()
	VCVTPS2DQ(kf, ki)
	if extra != nil {
		VPADDD(extra, ki, ki)
	}
	scalePow2(p, ki, YMM(), ci("bias127", 127))
	return p
}

// scalePow2 multiplies p by 2^ki (int32 lanes; ki is clobbered, k1 is
// scratch, bias holds 127 in every lane) as 2^(ki>>1) · 2^(ki-(ki>>1)),
// two normal powers of two, so that a result that overflows becomes +Inf
// and one in the subnormal range is rounded once, by the last product.
func scalePow2(p, ki, k1 VecVirtual, bias Op) {
	VPSRAD(U8(1), ki, k1)
	VPSUBD(k1, ki, ki)
	VPADDD(bias, k1, k1)
	VPSLLD(U8(23), k1, k1)
	VPADDD(bias, ki, ki)
	VPSLLD(U8(23), ki, ki)
	VMULPS(k1, p, p)
	VMULPS(ki, p, p)
}

var (
	ln2hi = float32(math.Ln2)
	ln2lo = float32(math.Ln2 - float64(float32(math.Ln2)))
)

// expPoly: e^r ≈ 1 + r + r²/2 + ... on |r| <= ln2/2, highest degree first.
// The degree 2 to 7 coefficients are Cephes expf's minimax fit.
var expPoly = []float32{
	1.9875691500e-4,
	1.3981999507e-3,
	8.3334519073e-3,
	4.1665795894e-2,
	1.6666665459e-1,
	5.0000001201e-1,
	1,
	1,
}

// logCore returns log(x): x = z*2^k with z in [sqrt(1/2), sqrt(2)),
// found from the bits by subtracting the bits of sqrt(1/2) (subnormal x is
// first scaled by 2^23); log(z) = f - f²/2 + f³P(f) with f = z-1 (exact)
// and Cephes logf's P; then k*ln2 is added in two parts, the high part
// exact. Special inputs are blended in at the end.
func logCore(x VecVirtual) VecVirtual {
	den := cmp(cmpLT_OQ, x, cf("minnormal", math.Float32frombits(0x00800000)))
	xs := mul(x, cf("two23", 1<<23))
	xx := blend(den, xs, x)
	eadj := and(den, cf("f23", 23))
	t := YMM()
	VPSUBD(ci("sqrthalf", 0x3f3504f3), xx, t) // t = bits(x) - bits(sqrt(1/2))
	k := YMM()
	VPSRAD(U8(23), t, k)
	VPAND(ci("expmask", 0xff800000), t, t)
	VPSUBD(t, xx, t) // bits of z
	f := sub(t, one())
	kf := YMM()
	VCVTDQ2PS(k, kf)
	VSUBPS(eadj, kf, kf)

	z := mul(f, f)
	p := horner(f, polyConsts("log", logPoly))
	VMULPS(f, p, p)
	VMULPS(z, p, p)                                    // f³P(f)
	VFMADD231PS(cf("logln2lo", -2.12194440e-4), kf, p) // + k*ln2lo
	VFNMADD231PS(cf("half", 0.5), z, p)                // - f²/2
	VADDPS(f, p, p)                                    // + f
	VFMADD231PS(cf("logln2hi", 0.693359375), kf, p)    // + k*ln2hi

	// x = +Inf or NaN: x. x = ±0: -Inf. x < 0: NaN.
	m := cmp(cmpNLT_UQ, x, ci("inf", 0x7f800000))
	p = blend(m, x, p)
	z0 := zero()
	m = cmp(cmpEQ_OQ, x, z0)
	p = blend(m, ci("neginf", 0xff800000), p)
	m = cmp(cmpLT_OQ, x, z0)
	p = blend(m, ci("qnan", 0x7fc00000), p)
	return p
}

// logPoly is Cephes logf's P, highest degree first.
var logPoly = []float32{
	7.0376836292e-2,
	-1.1514610310e-1,
	1.1676998740e-1,
	-1.2420140846e-1,
	1.4249322787e-1,
	-1.6668057665e-1,
	2.0000714765e-1,
	-2.4999993993e-1,
	3.3333331174e-1,
}

// tanhCore: with a = |x|, tanh a = a + a·a²·P(a²) (Cephes tanhf's P) for
// a < 0.625, else (1-e)/(1+e) with e = e^(-2a) (which cannot overflow);
// the sign of x is put back by OR (so tanh(-0) = -0 and NaN stays NaN).
func tanhCore(x VecVirtual) VecVirtual {
	a := and(x, absMask())
	z := mul(a, a)
	p := horner(z, polyConsts("tanh", tanhPoly))
	VMULPS(z, p, p)
	fmaIn(p, a, a) // a + a·z·P(z)

	e := expCore(mul(a, cf("minus2", -2)), nil, nil, -104)
	num := sub(load(one()), e)
	den := add(e, one())
	t := div(num, den)
	small := cmp(cmpLT_OQ, a, cf("tanhsmall", 0.625))
	r := blend(small, p, t)
	VORPS(and(x, signMask()), r, r)
	return r
}

var tanhPoly = []float32{
	-5.70498872745e-3,
	2.06390887954e-2,
	-5.37397155531e-2,
	1.33314422036e-1,
	-3.33332819422e-1,
}

// sigmoidCore: with e = e^-|x| (in (0, 1], so no overflow),
// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, so that large
// negative x give accurate tiny (even subnormal) results.
func sigmoidCore(x VecVirtual) VecVirtual {
	e := expCore(or(x, signMask()), nil, nil, -104)
	d := add(e, one())
	num := blend(x, e, load(one())) // on the sign bit of x
	return div(num, d)
}

// geluTanhCore: gelu(x) = x·sigmoid(u), u = 2·sqrt(2/pi)·(x + 0.044715x³),
// which is the tanh form 0.5x(1+tanh(u/2)) without its cancellation for
// negative x. For x in [-12, -3] the result is ill-conditioned in u (an
// error of d in u gives about |u|·d relative error), so u = x(c1 + c2x²) is
// formed in double-float arithmetic (hi + lo, with FMA and TwoSum) and
// handed to expCore as such. For negative u, e^-|u| is computed scaled by
// 2^24 (and the product scaled back at the very end) so that results in
// the subnormal range are rounded once. x is clamped to [-12, 12] for u
// (beyond it the result is x or -0), and to -MaxFloat32 for the final
// product so that gelu(-Inf) = -0.
func geluTanhCore(x VecVirtual) VecVirtual {
	xc := YMM()
	VMINPS(x, load(cf("gelu_hi", 12)), xc)
	VMAXPS(xc, load(cf("gelu_lo", -12)), xc)

	c1h, c1l := split(geluC1)
	c2h, c2l := split(geluC2)
	C1H := cf("gelu_c1h", c1h)
	sh := mul(xc, xc)
	sl := exactProductLow(xc, xc, sh)
	ph := mul(sh, cf("gelu_c2h", c2h))
	pl := exactProductLow(sh, cf("gelu_c2h", c2h), ph)
	// TwoSum: wh + e = c1h + ph exactly.
	wh := add(ph, C1H)
	bb := sub(wh, C1H)
	t1 := sub(wh, bb)
	t1 = sub(load(C1H), t1)
	t2 := sub(ph, bb)
	wl := add(t1, t2)
	VADDPS(pl, wl, wl)
	VFMADD231PS(cf("gelu_c2h", c2h), sl, wl)
	VFMADD231PS(cf("gelu_c2l", c2l), sh, wl)
	VADDPS(cf("gelu_c1l", c1l), wl, wl)
	// u = xc·(wh + wl).
	uh := mul(xc, wh)
	ul := exactProductLow(xc, wh, uh)
	VFMADD231PS(wl, xc, ul)

	// -|u| = nh + nl.
	s := and(uh, signMask())
	nh := or(uh, signMask())
	nl := xor(ul, s)
	VXORPS(signMask(), nl, nl)
	extra := YMM()
	VPSRAD(U8(31), uh, extra)
	VPAND(ci("int24", 24), extra, extra)
	e := expCore(nh, nl, extra, -125)
	fac := blend(uh, cf("twom24", 1.0/(1<<24)), load(one()))
	d := YMM()
	VMOVAPS(e, d)
	fmaIn(d, fac, one()) // 1 + e
	num := blend(uh, e, load(one()))
	sg := div(num, d)
	xm := YMM()
	VMAXPS(x, load(cf("negmax", -math.MaxFloat32)), xm)
	r := mul(xm, sg)
	VMULPS(fac, r, r)
	return r
}

// geluErfCore: gelu(x) = x·Φ(x), Φ the standard normal CDF. With t = |x|,
// Φ(-t) = e^(-t²/2)·q(t), where q(t) = Φ(-t)·e^(t²/2) falls smoothly from
// 1/2 to about 1/(t·sqrt(2π)) and is fitted on [0, 15] by a rational
// function of degrees 5/6 (relative error 1.1e-10; see fit.py), evaluated
// in float64. t²/2 is exact as hi + lo
// (FMA) and goes to expCore as such. Then gelu(x) = x·Φ(-t) for x < 0
// (computed scaled by 2^24 as in geluTanhCore, so subnormal results are
// rounded once) and x - x·Φ(-t) for x >= 0. t is clamped to 15 for q
// and to 16 for the exponential (where e^-128 meets expCore's clamp and
// becomes 0 even after the 2^24 scaling), and x to ±MaxFloat32 in the
// products, so that gelu(+Inf) = +Inf and gelu(-Inf) = -0.
func geluErfCore(x VecVirtual) VecVirtual {
	e, q, xm := geluErfParts(x)
	VMULPS(e, q, q) // Φ(-t), scaled by 2^24 where x < 0
	g := mul(xm, q)
	neg := mul(g, cf("twom24", 1.0/(1<<24)))
	pos := sub(x, g)
	return blend(x, neg, pos) // on the sign bit of x
}

// geluErfParts is what GELU and its derivative share: e = e^(-t²/2) and
// q = q(t) for t = |x| (see geluErfCore), e scaled by 2^24 where x < 0,
// and x clamped to ±MaxFloat32 (NaN passes).
func geluErfParts(x VecVirtual) (e, q, xm VecVirtual) {
	t := and(x, absMask())
	tc := YMM()
	VMINPS(t, load(cf("gelu_tmax", 15)), tc) // NaN passes
	te := YMM()
	VMINPS(t, load(cf("gelu_temax", 16)), te)
	sh := mul(te, te)
	sl := exactProductLow(te, te, sh)
	half := cf("minushalf", -0.5)
	VMULPS(half, sh, sh) // -t²/2, exactly, as sh + sl
	VMULPS(half, sl, sl)
	extra := YMM()
	VPSRAD(U8(31), x, extra)
	VPAND(ci("int24", 24), extra, extra)
	e = expCore(sh, sl, extra, -125)

	// q(t) in float64, four lanes at a time: in float32 the two Horner
	// chains alone would cost up to 5 ulp.
	rational := func(t32 Register) VecVirtual {
		t := YMM()
		VCVTPS2PD(t32, t)
		num := hornerPD(t, pdConsts("gelun", geluErfNum))
		den := hornerPD(t, pdConsts("gelud", geluErfDen))
		VDIVPD(den, num, num)
		r := XMM()
		VCVTPD2PSY(num, r)
		return r
	}
	qlo := rational(tc.AsX())
	th := XMM()
	VEXTRACTF128(U8(1), tc, th)
	qhi := rational(th)
	q = YMM()
	VINSERTF128(U8(1), qhi, qlo.AsY(), q)

	xm = YMM()
	VMINPS(x, load(cf("posmax", math.MaxFloat32)), xm)
	VMAXPS(xm, load(cf("negmax", -math.MaxFloat32)), xm)
	return e, q, xm
}

// geluErfGradCore: g·gelu'(x), gelu'(x) = Φ(x) + x·φ(x) with
// φ(x) = e^(-x²/2)/sqrt(2π). With A = e·q = Φ(-t) and B = x·e/sqrt(2π)
// (both scaled by 2^24 where x < 0, from geluErfParts), gelu'(x) is
// (A + B)·2^-24 for x < 0 and 1 − A + B for x >= 0. gelu'(±Inf) is 1 and
// 0 (e underflows to 0 and x is clamped), NaN stays NaN (through B).
func geluErfGradCore(g, x VecVirtual) VecVirtual {
	e, q, xm := geluErfParts(x)
	a := mul(e, q)
	b := mul(e, cf("invsqrt2pi", float32(1/math.Sqrt(2*math.Pi))))
	VMULPS(xm, b, b)
	neg := add(a, b)
	VMULPS(cf("twom24", 1.0/(1<<24)), neg, neg)
	pos := sub(load(one()), a)
	VADDPS(b, pos, pos)
	d := blend(x, neg, pos)
	return mul(d, g)
}

// geluErfNum and geluErfDen (highest degree first): q(t) ≈ num(t)/den(t)
// on [0, 15] with relative error 1.1e-10, from fit.py.
var (
	geluErfNum = []float64{0.0009147866871716486, 0.011880940096440149, 0.07234874172232246, 0.2530004580065028, 0.5102307273503593, 0.4999999999445906}
	geluErfDen = []float64{0.0022930325199629837, 0.029780938136620718, 0.18364941964519835, 0.6638682678027897, 1.456831275423884, 1.8183460051432312, 1.0}
)

var (
	geluC1 = 2 * math.Sqrt(2/math.Pi)
	geluC2 = geluC1 * 0.044715
)

// split returns hi = float32(v) and lo = float32(v - hi).
func split(v float64) (hi, lo float32) {
	hi = float32(v)
	lo = float32(v - float64(hi))
	return
}

func unaryKernels() {
	un := func(name, doc string, f func(x VecVirtual) VecVirtual) {
		stream{
			name: name, sig: "func(dst, x []float32)",
			doc: []string{name + " sets dst[i] = " + doc + " for i < len(dst)."},
			n:   "dst", out: "dst", ins: []string{"x"}, unroll: 1,
			body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual { return f(in[0]) },
		}.gen()
	}
	un("expAVX2", "e^x[i]", func(x VecVirtual) VecVirtual { return expCore(x, nil, nil, -104) })
	un("logAVX2", "log(x[i])", logCore)
	un("tanhAVX2", "tanh(x[i])", tanhCore)
	un("sigmoidAVX2", "1/(1+e^-x[i])", sigmoidCore)
	un("geluTanhAVX2", "the tanh-form GELU of x[i]", geluTanhCore)
	un("geluAVX2", "x[i]·Φ(x[i]), the erf-form GELU", geluErfCore)
	exp512()
	stream{
		name: "geluGradAVX2", sig: "func(dst, g, x []float32)",
		doc: []string{"geluGradAVX2 sets dst[i] = g[i]·gelu'(x[i]) (the erf form) for i < len(dst)."},
		n:   "dst", out: "dst", ins: []string{"g", "x"}, unroll: 1,
		body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual { return geluErfGradCore(in[0], in[1]) },
	}.gen()
}

// ---------------------------------------------------------------------------
// Reductions

// reduce8 folds the eight lanes of v with op in a fixed order and returns
// an XMM register whose lane 0 is the result.
func reduce8(v VecVirtual, op func(a, b Register) VecVirtual) VecVirtual {
	hi := XMM()
	VEXTRACTF128(U8(1), v, hi)
	x := op(v.AsX(), hi)
	s := XMM()
	VPERMILPS(U8(0x4e), x, s)
	x = op(x, s)
	s = XMM()
	VPERMILPS(U8(0xb1), x, s)
	return op(x, s)
}

func reductionKernels() {
	const nacc = 8
	// Sum: eight accumulators of eight lanes; lane j of accumulator a sums
	// x[64m + 8a + j] over m; the tails go to accumulators 0 and 1.
	{
		var acc []VecVirtual
		blk := 0
		stream{
			name: "sumAVX2", sig: "func(x []float32) float32",
			doc: []string{"sumAVX2 returns the sum of x, in 64 running sums folded at the end."},
			n:   "x", ins: []string{"x"}, unroll: nacc,
			init: func([]VecVirtual) {
				acc = make([]VecVirtual, nacc)
				for k := range acc {
					acc[k] = zero()
				}
			},
			body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual {
				a := acc[blk%nacc]
				blk++
				VADDPS(in[0], a, a)
				return nil
			},
			fini: func() {
				for w := nacc / 2; w >= 1; w /= 2 {
					for k := 0; k < w; k++ {
						VADDPS(acc[k+w], acc[k], acc[k])
					}
				}
				r := reduce8(acc[0], func(a, b Register) VecVirtual { return add(a, b) })
				Store(r, ReturnIndex(0))
			},
		}.gen()
	}
	{
		var acc []VecVirtual
		blk := 0
		stream{
			name: "dotAVX2", sig: "func(a, b []float32) float32",
			doc: []string{"dotAVX2 returns the sum of a[i]*b[i], in 64 running fused sums folded at the end."},
			n:   "a", ins: []string{"a", "b"}, unroll: nacc,
			init: func([]VecVirtual) {
				acc = make([]VecVirtual, nacc)
				for k := range acc {
					acc[k] = zero()
				}
			},
			body: func(in, _ []VecVirtual, _ VecVirtual) VecVirtual {
				a := acc[blk%nacc]
				blk++
				VFMADD231PS(in[1], in[0], a)
				return nil
			},
			fini: func() {
				for w := nacc / 2; w >= 1; w /= 2 {
					for k := 0; k < w; k++ {
						VADDPS(acc[k+w], acc[k], acc[k])
					}
				}
				r := reduce8(acc[0], func(a, b Register) VecVirtual { return add(a, b) })
				Store(r, ReturnIndex(0))
			},
		}.gen()
	}
	{
		const nmax = 4
		var acc []VecVirtual
		var ninf Mem
		blk := 0
		stream{
			name: "reduceMaxAVX2", sig: "func(x []float32) float32",
			doc: []string{"reduceMaxAVX2 returns the largest element of x (-Inf if empty, NaN if any is NaN)."},
			n:   "x", ins: []string{"x"}, unroll: nmax,
			init: func([]VecVirtual) {
				ninf = ci("neginf", 0xff800000)
				acc = make([]VecVirtual, nmax)
				for k := range acc {
					acc[k] = load(ninf)
				}
			},
			body: func(in, _ []VecVirtual, mask VecVirtual) VecVirtual {
				v := in[0]
				if mask != nil {
					v = blend(mask, v, load(ninf))
				}
				k := blk % nmax
				blk++
				goMaxTo(acc[k], acc[k], v)
				return nil
			},
			fini: func() {
				// The masked tail and the single-vector loop fold into acc[0]
				// (blk has then wrapped); fold the rest in.
				m := goMax(goMax(acc[0], acc[1]), goMax(acc[2], acc[3]))
				r := reduce8(m, goMax)
				Store(r, ReturnIndex(0))
			},
		}.gen()
	}
}

// ---------------------------------------------------------------------------
// Softmax helpers

func softmaxKernels() {
	// The sum leaves out the lanes where src[i] == shift (e^0 = 1 exactly)
	// and counts them instead, so that the caller can form log(sum) as
	// log1p(ones-1 + rest) without losing the small terms to the 1.
	gen := func(name string, store bool) {
		var acc [2]VecVirtual
		var cnt VecVirtual
		s := stream{
			name: name, n: "src", ins: []string{"src"}, scalars: []string{"shift"}, unroll: 1,
			init: func([]VecVirtual) {
				acc[0], acc[1], cnt = zero(), zero(), zero()
			},
			body: func(in, sc []VecVirtual, mask VecVirtual) VecVirtual {
				x := in[0]
				// d = x - shift exactly as dh + dl (TwoSum); dl is zeroed
				// where it is NaN (infinite x or shift) so that
				// e^(-Inf) = 0 and NaN still comes from dh.
				dh := sub(x, sc[0])
				bb := sub(dh, x)
				t1 := sub(x, sub(dh, bb))
				nsh := xor(sc[0], signMask())
				t2 := sub(nsh, bb)
				dl := add(t1, t2)
				VANDPS(cmp(cmpORD_Q, dl, dl), dl, dl)
				e := expCore(dh, dl, nil, -104)
				if mask != nil {
					VANDPS(mask, e, e)
				}
				eq := cmp(cmpEQ_OQ, x, sc[0])
				if mask != nil {
					VANDPS(mask, eq, eq)
				}
				VPSUBD(eq, cnt, cnt) // count += 1 where x == shift
				rest := andNot(eq, e)
				lo := YMM()
				VCVTPS2PD(rest.AsX(), lo)
				VADDPD(lo, acc[0], acc[0])
				h := XMM()
				VEXTRACTF128(U8(1), rest, h)
				hi := YMM()
				VCVTPS2PD(h, hi)
				VADDPD(hi, acc[1], acc[1])
				if store {
					return e
				}
				return nil
			},
			fini: func() {
				VADDPD(acc[1], acc[0], acc[0])
				h := XMM()
				VEXTRACTF128(U8(1), acc[0], h)
				x := XMM()
				VADDPD(h, acc[0].AsX(), x)
				s := XMM()
				VPERMILPD(U8(1), x, s)
				VADDSD(s, x, x)
				Store(x, ReturnIndex(0))

				ch := XMM()
				VEXTRACTI128(U8(1), cnt, ch)
				c := XMM()
				VPADDD(ch, cnt.AsX(), c)
				cs := XMM()
				VPSHUFD(U8(0x4e), c, cs)
				VPADDD(cs, c, c)
				VPSHUFD(U8(0xb1), c, cs)
				VPADDD(cs, c, c)
				n := GP64()
				VMOVD(c, n.As32()) // zero-extends into n
				Store(n, ReturnIndex(1))
			},
		}
		if store {
			s.sig = "func(dst, src []float32, shift float32) (rest float64, ones int)"
			s.out = "dst"
			s.doc = []string{
				name + " sets dst[i] = e^(src[i]-shift) and returns the number of",
				"src[i] equal to shift and the float64 sum of the other dst[i].",
			}
		} else {
			s.sig = "func(src []float32, shift float32) (rest float64, ones int)"
			s.doc = []string{
				name + " returns the number of src[i] equal to shift and",
				"the float64 sum of e^(src[i]-shift) over the others.",
			}
		}
		s.gen()
	}
	gen("expShiftSumAVX2", true)
	gen("expShiftSumNoStoreAVX2", false)

	stream{
		name: "shiftSub2AVX2", sig: "func(dst, src []float32, s1, s2 float32)",
		doc: []string{"shiftSub2AVX2 sets dst[i] = (src[i] - s1) - s2 for i < len(dst)."},
		n:   "dst", out: "dst", ins: []string{"src"}, scalars: []string{"s1", "s2"}, unroll: 4,
		body: func(in, sc []VecVirtual, _ VecVirtual) VecVirtual {
			return sub(sub(in[0], sc[0]), sc[1])
		},
	}.gen()
}

// ---------------------------------------------------------------------------
// Conversions. These handle len(dst) rounded down to a multiple of 8; the
// caller converts the rest.

func conversionKernels() {
	type conv struct {
		name, sig, doc string
		inScale        uint8 // bytes per source element
		outScale       uint8
		body           func(src, dst func(j int) Mem)
		blk            int // elements per body call
	}
	gen := func(c conv) {
		TEXT(c.name, NOSPLIT, c.sig)
		Pragma("noescape")
		Doc(c.doc)
		n := Load(Param("dst").Len(), GP64())
		dp := Load(Param("dst").Base(), GP64())
		sp := Load(Param("src").Base(), GP64())
		ANDQ(I32(-8), n)
		i := GP64()
		XORQ(i, i)
		src := func(j int) Mem { return Mem{Base: sp, Index: i, Scale: c.inScale, Disp: int(c.inScale) * j} }
		dst := func(j int) Mem { return Mem{Base: dp, Index: i, Scale: c.outScale, Disp: int(c.outScale) * j} }
		nb := GP64()
		MOVQ(n, nb)
		ANDQ(I32(-c.blk), nb)
		Label("block")
		CMPQ(i, nb)
		JAE(LabelRef("single"))
		c.body(src, dst)
		ADDQ(U32(c.blk), i)
		JMP(LabelRef("block"))
		Label("single")
		CMPQ(i, n)
		JAE(LabelRef("done"))
		single(c.name, src, dst)
		ADDQ(U32(8), i)
		JMP(LabelRef("single"))
		Label("done")
		VZEROUPPER()
		RET()
	}

	gen(conv{
		name: "f16ToF32F16C", sig: "func(dst []float32, src []uint16)",
		doc:     "f16ToF32F16C converts the float16 bits src[i] to dst[i] with VCVTPH2PS, for i < len(dst)&^7.",
		inScale: 2, outScale: 4, blk: 32,
		body: func(src, dst func(j int) Mem) {
			for j := 0; j < 32; j += 8 {
				y := YMM()
				VCVTPH2PS(src(j), y)
				VMOVUPS(y, dst(j))
			}
		},
	})
	gen(conv{
		name: "f32ToF16F16C", sig: "func(dst []uint16, src []float32)",
		doc:     "f32ToF16F16C converts src[i] to float16 bits dst[i] with VCVTPS2PH, rounding to nearest even, for i < len(dst)&^7.",
		inScale: 4, outScale: 2, blk: 32,
		body: func(src, dst func(j int) Mem) {
			for j := 0; j < 32; j += 8 {
				y := YMM()
				VMOVUPS(src(j), y)
				VCVTPS2PH(U8(0), y, dst(j))
			}
		},
	})
	gen(conv{
		name: "bf16ToF32AVX2", sig: "func(dst []float32, src []uint16)",
		doc:     "bf16ToF32AVX2 sets dst[i] to the float32 whose high half is src[i], for i < len(dst)&^7.",
		inScale: 2, outScale: 4, blk: 32,
		body: func(src, dst func(j int) Mem) {
			for j := 0; j < 32; j += 8 {
				y := YMM()
				VPMOVZXWD(src(j), y)
				VPSLLD(U8(16), y, y)
				VMOVDQU(y, dst(j))
			}
		},
	})
	gen(conv{
		name: "f32ToBF16AVX2", sig: "func(dst []uint16, src []float32)",
		doc:     "f32ToBF16AVX2 rounds src[i] to bfloat16 bits dst[i] (nearest even; NaN made quiet), for i < len(dst)&^7.",
		inScale: 4, outScale: 2, blk: 16,
		body: func(src, dst func(j int) Mem) {
			a := bf16Round(src(0))
			b := bf16Round(src(8))
			p := YMM()
			VPACKUSDW(b, a, p) // a0-3 b0-3 a4-7 b4-7
			VPERMQ(U8(0xd8), p, p)
			VMOVDQU(p, dst(0))
		},
	})
}

// single emits the body for one vector of 8 of the named conversion.
func single(name string, src, dst func(j int) Mem) {
	switch name {
	case "f16ToF32F16C":
		y := YMM()
		VCVTPH2PS(src(0), y)
		VMOVUPS(y, dst(0))
	case "f32ToF16F16C":
		y := YMM()
		VMOVUPS(src(0), y)
		VCVTPS2PH(U8(0), y, dst(0))
	case "bf16ToF32AVX2":
		y := YMM()
		VPMOVZXWD(src(0), y)
		VPSLLD(U8(16), y, y)
		VMOVDQU(y, dst(0))
	case "f32ToBF16AVX2":
		a := bf16Round(src(0))
		h := XMM()
		VEXTRACTI128(U8(1), a, h)
		p := XMM()
		VPACKUSDW(h, a.AsX(), p)
		VMOVDQU(p, dst(0))
	default:
		panic(name)
	}
}

// bf16Round loads 8 floats and returns their bfloat16 bits in the low
// halves of the int32 lanes: (b + 0x7fff + (b>>16 & 1)) >> 16, or, for
// NaN, b>>16 | 0x40 (quiet).
func bf16Round(m Mem) VecVirtual {
	x := YMM()
	VMOVDQU(m, x)
	h := YMM()
	VPSRLD(U8(16), x, h)
	lsb := YMM()
	VPAND(ci("int1", 1), h, lsb)
	VPADDD(ci("int7fff", 0x7fff), x, x)
	VPADDD(lsb, x, x)
	VPSRLD(U8(16), x, x)
	VPOR(ci("int40", 0x40), h, h)
	nan := YMM()
	VMOVDQU(m, nan)
	VCMPPS(U8(cmpUNORD_Q), nan, nan, nan)
	VBLENDVPS(nan, h, x, x)
	return x
}

// exp512 generates expAVX512: expCore's operations, in the same order, on
// sixteen lanes of ZMM registers, with the constants held in registers. Its
// results are bit-identical to expAVX2's; on cores with full-width 512-bit
// units it does twice the work per instruction. It handles len(dst) rounded
// down to a multiple of 16; the caller passes the rest to expAVX2.
func exp512() {
	TEXT("expAVX512", NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc("expAVX512 sets dst[i] = e^x[i] for i < len(dst) &^ 15, bit-identical to expAVX2, with AVX-512F.")
	n := Load(Param("dst").Len(), GP64())
	ANDQ(I32(-16), n)
	dp := Load(Param("dst").Base(), GP64())
	xp := Load(Param("x").Base(), GP64())
	bc := func(m Mem) VecVirtual { z := ZMM(); VBROADCASTSS(m, z); return z }
	hi := bc(cf("exp_hi", 89))
	lo := bc(cf("exp_lo104", -104))
	l2e := bc(cf("log2e", math.Log2E))
	l2h := bc(cf("ln2hi", ln2hi))
	l2l := bc(cf("ln2lo", ln2lo))
	var poly []VecVirtual
	for _, c := range polyConsts("exp", expPoly) {
		poly = append(poly, bc(c))
	}
	bias := ZMM()
	VPBROADCASTD(ci("bias127", 127), bias)
	i := GP64()
	XORQ(i, i)
	Label("loop512")
	CMPQ(i, n)
	JAE(LabelRef("done512"))
	x := ZMM()
	VMOVUPS(Mem{Base: xp, Index: i, Scale: 4}, x)
	xc := ZMM()
	VMINPS(x, hi, xc)
	VMAXPS(xc, lo, xc)
	kf := ZMM()
	VMULPS(l2e, xc, kf)
	VRNDSCALEPS(U8(0), kf, kf)
	VFNMADD231PS(l2h, kf, xc)
	VFNMADD231PS(l2l, kf, xc)
	p := ZMM()
	VMOVAPS(poly[0], p)
	for _, c := range poly[1:] {
		VFMADD213PS(c, xc, p)
	}
	ki := ZMM()
	VCVTPS2DQ(kf, ki)
	scalePow2(p, ki, ZMM(), bias)
	VMOVUPS(p, Mem{Base: dp, Index: i, Scale: 4})
	ADDQ(U32(16), i)
	JMP(LabelRef("loop512"))
	Label("done512")
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------------------
// Max pooling

// table32 returns a 32-byte read-only global of eight int32 lanes.
func table32(name string, lanes [8]uint32) Mem {
	var bits uint64
	for _, l := range lanes {
		bits = bits*31 + uint64(l) // a fingerprint for cached's check
	}
	return cached(name, bits, func(name string) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i, l := range lanes {
			DATA(4*i, U32(l))
		}
		return m
	})
}

// poolKernels emits maxPool2x2AVX2: four 2×2 windows per iteration. One
// load of 8 floats from each row holds four windows' pairs, (a, b) above
// (c, d); VPERMPS gathers the first elements of the pairs into the low
// half and the second into the high half. Positions are int32 lanes:
// pos0 + 2j for a, minus the all-ones compare mask (+1) where b wins;
// the same from pos1 for the lower pair; a blend on the last compare
// picks the position (widened to int64 by VPMOVSXDQ) and the value.
func poolKernels() {
	TEXT("maxPool2x2AVX2", NOSPLIT, "func(max []float32, at []int64, r0, r1 []float32, pos0, pos1 int32)")
	Doc("maxPool2x2AVX2 is MaxPool2x2 for len(at) a multiple of 4.")
	vals := Load(Param("max").Base(), GP64())
	out := Load(Param("at").Base(), GP64())
	n := Load(Param("at").Len(), GP64())
	p0 := Load(Param("r0").Base(), GP64())
	p1 := Load(Param("r1").Base(), GP64())
	perm := load(table32("pairperm", [8]uint32{0, 2, 4, 6, 1, 3, 5, 7}))
	lanes := XMM()
	VMOVDQU(table32("evenlanes", [8]uint32{0, 2, 4, 6, 0, 0, 0, 0}).Offset(0), lanes)
	eight := XMM()
	VMOVDQU(ci("eight", 8).Offset(0), eight)
	base := func(param string) VecVirtual {
		r := GP32()
		Load(Param(param), r)
		x := XMM()
		VMOVD(r, x)
		VPBROADCASTD(x, x)
		VPADDD(lanes, x, x)
		return x
	}
	b0, b1 := base("pos0"), base("pos1")
	SHRQ(U8(2), n)
	Label("pool_loop")
	TESTQ(n, n)
	JZ(LabelRef("pool_done"))
	pair := func(p Register, b VecVirtual) (m, i VecVirtual) {
		y := YMM()
		VPERMPS(Mem{Base: p}, perm, y)
		first := y.AsX()
		second := XMM()
		VEXTRACTF128(U8(1), y, second)
		wins := or(cmp(cmpGT_OQ, second, first), cmp(cmpUNORD_Q, second, second))
		m = blend(wins, second, first)
		i = XMM()
		VPSUBD(wins, b, i) // b + 1 where the second wins
		return m, i
	}
	m0, i0 := pair(p0, b0)
	m1, i1 := pair(p1, b1)
	lower := or(cmp(cmpGT_OQ, m1, m0), cmp(cmpUNORD_Q, m1, m1))
	VMOVUPS(blend(lower, m1, m0), Mem{Base: vals})
	idx := blend(lower, i1, i0)
	o := YMM()
	VPMOVSXDQ(idx, o)
	VMOVDQU(o, Mem{Base: out})
	VPADDD(eight, b0, b0)
	VPADDD(eight, b1, b1)
	ADDQ(U8(32), p0)
	ADDQ(U8(32), p1)
	ADDQ(U8(16), vals)
	ADDQ(U8(32), out)
	DECQ(n)
	JMP(LabelRef("pool_loop"))
	Label("pool_done")
	VZEROUPPER()
	RET()
}

// rowKernels emits copyRowsAVX2 and addRowsAVX2: rows of width floats
// between two strided 2-D blocks (im2col and col2im move rows of a
// convolution's output width, often shorter than 32). Each row is vectors
// of 8, then the width's remainder: one masked vector for the copy, single
// floats for the add (there a masked load and store of dst took twice as
// long as the whole row's scalar tail: 1.4 against 0.65 ms for one col2im
// of a CNN's second convolution).
func rowKernels() {
	for _, add := range []bool{false, true} {
		name, verb := "copyRowsAVX2", "sets dst[r*dstStride+j] = src[r*srcStride+j]"
		if add {
			name, verb = "addRowsAVX2", "adds src[r*srcStride+j] to dst[r*dstStride+j]"
		}
		TEXT(name, NOSPLIT, "func(dst []float32, dstStride int, src []float32, srcStride int, rows int, width int)")
		Pragma("noescape")
		Doc(name+" "+verb, "for r < rows and j < width; the caller checks the bounds.")
		d := Load(Param("dst").Base(), GP64())
		sp := Load(Param("src").Base(), GP64())
		ds := Load(Param("dstStride"), GP64())
		SHLQ(U8(2), ds)
		ss := Load(Param("srcStride"), GP64())
		SHLQ(U8(2), ss)
		rows := Load(Param("rows"), GP64())
		width := Load(Param("width"), GP64())
		n8 := GP64()
		MOVQ(width, n8)
		ANDQ(I32(-8), n8)
		var mask VecVirtual
		if !add {
			r := GP64()
			MOVQ(n8, r)
			SUBQ(width, r) // −(width mod 8)
			tab := GP64()
			LEAQ(maskTable(), tab)
			mask = YMM()
			VMOVUPS(Mem{Base: tab, Index: r, Scale: 4, Disp: 32}, mask)
		}
		i := GP64()
		Label("row")
		TESTQ(rows, rows)
		JZ(LabelRef("done"))
		XORQ(i, i)
		Label("vec")
		CMPQ(i, n8)
		JAE(LabelRef("tail"))
		y := YMM()
		VMOVUPS(Mem{Base: sp, Index: i, Scale: 4}, y)
		if add {
			VADDPS(Mem{Base: d, Index: i, Scale: 4}, y, y)
		}
		VMOVUPS(y, Mem{Base: d, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		JMP(LabelRef("vec"))
		Label("tail")
		CMPQ(i, width)
		JAE(LabelRef("next"))
		if add {
			x := XMM()
			VMOVSS(Mem{Base: sp, Index: i, Scale: 4}, x)
			VADDSS(Mem{Base: d, Index: i, Scale: 4}, x, x)
			VMOVSS(x, Mem{Base: d, Index: i, Scale: 4})
			INCQ(i)
			JMP(LabelRef("tail"))
		} else {
			t := YMM()
			VMASKMOVPS(Mem{Base: sp, Index: i, Scale: 4}, mask, t)
			VMASKMOVPS(t, mask, Mem{Base: d, Index: i, Scale: 4})
		}
		Label("next")
		ADDQ(ds, d)
		ADDQ(ss, sp)
		DECQ(rows)
		JMP(LabelRef("row"))
		Label("done")
		VZEROUPPER()
		RET()
	}
}
