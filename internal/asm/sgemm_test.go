package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// Tolerance. Sgemm and SgemmRef sum the same k products in different orders
// and precisions (float32 FMAs against float64), so an element may differ by
// the float32 rounding of a k-term sum:
//
//	|got - want| ≤ 2·(k+2)·eps32·(|alpha|·Σ_p |op(A)[i,p]|·|op(B)[p,j]| + |beta|·|C[i,j]|)
//
// with eps32 = 2⁻²⁴; the +2 covers the alpha and beta roundings.
const eps32 = 1.0 / (1 << 24)

// guard fills what Sgemm must not touch: the padding of A and B (NaN, which
// would poison any sum that read it) and everything around C.
const guard = float32(-1234.5)

// sgemmCase is one product with its operands laid out in padded storage.
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b           []float32
	lda, ldb, ldc  int
	c              []float32 // the whole allocation: pre guards, C, post guards
	cOff           int
}

const cGuard = 7 // guard elements before and after C

func newSgemmCase(rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int) *sgemmCase {
	t := &sgemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	mat := func(rows, cols int) ([]float32, int) {
		ld := max(cols, 1) + pad
		s := make([]float32, max(rows*ld, 1))
		for i := range s {
			if i%ld < cols {
				s[i] = float32(rng.NormFloat64())
			} else {
				s[i] = float32(math.NaN())
			}
		}
		return s[:max((rows-1)*ld+cols, 0)], ld
	}
	if transA {
		t.a, t.lda = mat(k, m)
	} else {
		t.a, t.lda = mat(m, k)
	}
	if transB {
		t.b, t.ldb = mat(n, k)
	} else {
		t.b, t.ldb = mat(k, n)
	}
	t.ldc = max(n, 1) + pad
	t.cOff = cGuard
	t.c = make([]float32, cGuard+max((m-1)*t.ldc+n, 0)+cGuard)
	for i := range t.c {
		t.c[i] = guard
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := float32(rng.NormFloat64())
			if beta == 0 {
				v = float32(math.NaN()) // beta == 0 must not read C
			}
			t.c[t.cOff+i*t.ldc+j] = v
		}
	}
	return t
}

// cView returns the slice of C handed to Sgemm.
func (t *sgemmCase) cView(c []float32) []float32 {
	return c[t.cOff : t.cOff+max((t.m-1)*t.ldc+t.n, 0)]
}

func (t *sgemmCase) String() string {
	return fmt.Sprintf("transA=%v transB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.beta, t.lda, t.ldb, t.ldc)
}

// run computes the case with Sgemm and checks it against SgemmRef.
func (t *sgemmCase) run(tb testing.TB, par Parallel) {
	tb.Helper()
	want := append([]float32(nil), t.c...)
	SgemmRef(t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.a, t.lda, t.b, t.ldb, t.beta, t.cView(want), t.ldc)
	got := append([]float32(nil), t.c...)
	Sgemm(t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.a, t.lda, t.b, t.ldb, t.beta, t.cView(got), t.ldc, par)
	t.check(tb, got, want)
}

func (t *sgemmCase) check(tb testing.TB, got, want []float32) {
	tb.Helper()
	bad := 0
	for x := range got {
		i, j := (x-t.cOff)/t.ldc, (x-t.cOff)%t.ldc
		inC := x >= t.cOff && i < t.m && j < t.n && x-t.cOff < len(t.cView(got))
		if !inC {
			if got[x] != guard {
				tb.Errorf("%v: guard at offset %d (row %d col %d of C) overwritten: %g", t, x-t.cOff, i, j, got[x])
				bad++
			}
		} else if d, tol := math.Abs(float64(got[x])-float64(want[x])), t.tol(i, j); !(d <= tol) {
			tb.Errorf("%v: C[%d,%d] = %g, want %g (|diff| %.3g > tol %.3g)", t, i, j, got[x], want[x], d, tol)
			bad++
		}
		if bad > 5 {
			tb.FailNow()
		}
	}
}

func (t *sgemmCase) tol(i, j int) float64 {
	var s float64
	for p := 0; p < t.k; p++ {
		var av, bv float32
		if t.transA {
			av = t.a[p*t.lda+i]
		} else {
			av = t.a[i*t.lda+p]
		}
		if t.transB {
			bv = t.b[j*t.ldb+p]
		} else {
			bv = t.b[p*t.ldb+j]
		}
		s += math.Abs(float64(av) * float64(bv))
	}
	s *= math.Abs(float64(t.alpha))
	if t.beta != 0 {
		s += math.Abs(float64(t.beta) * float64(t.c[t.cOff+i*t.ldc+j]))
	}
	return 2 * float64(t.k+2) * eps32 * s
}

var sgemmAlphaBeta = [][2]float32{{1, 0}, {1, 1}, {-0.75, 0.5}, {2, 0}, {1.5, -1}}

// forEachPath runs f with the assembly kernels (where the CPU has them) and
// with the plain-Go fallback, each with every choice of packing.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	for _, path := range []string{"avx512", "asm", "go"} {
		on, wide := path != "go", path == "avx512"
		if (on && !HasAVX2FMA) || (wide && !HasAVX512) {
			continue
		}
		name := path
		for pack, pname := range []string{"auto", "packAB", "inplace", "packA", "packB"} {
			t.Run(name+"/"+pname, func(t *testing.T) {
				prev := SetAccelerated(on)
				defer SetAccelerated(prev)
				prevWide := SetAVX512(wide)
				defer SetAVX512(prevWide)
				defer func(p int) { sgemmForcePack = p }(sgemmForcePack)
				sgemmForcePack = pack
				f(t)
			})
		}
	}
}

// withBlocks runs f with the block sizes replaced, so that small products
// cross every loop boundary of the driver.
func withBlocks(bs sgemmBlocking, f func()) {
	prev := sgemmBlocksOverride
	sgemmBlocksOverride = &bs
	defer func() { sgemmBlocksOverride = prev }()
	f()
}

var transCases = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

func TestSgemmSweep(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, tr := range transCases {
			t.Run(fmt.Sprintf("transA=%v,transB=%v", tr[0], tr[1]), func(t *testing.T) {
				// Each dimension swept over 0..33 with the others fixed.
				for d := 0; d < 3; d++ {
					for s := 0; s <= 33; s++ {
						dims := [3]int{13, 21, 17}
						if d == 1 {
							dims = [3]int{7, 19, 33}
						} else if d == 2 {
							dims = [3]int{23, 5, 11}
						}
						dims[d] = s
						ab := sgemmAlphaBeta[(s+d)%len(sgemmAlphaBeta)]
						newSgemmCase(rng, tr[0], tr[1], dims[0], dims[1], dims[2], ab[0], ab[1], s%3).run(t, nil)
					}
				}
				// Random combinations of primes and multiples of MR and NR, ±1.
				sizes := []int{1, 2, 3, 5, 7, 11, 13, 31, 37, 53,
					sgemmMR - 1, sgemmMR, sgemmMR + 1, 4*sgemmMR - 1, 4*sgemmMR + 1, 8 * sgemmMR,
					sgemmNR - 1, sgemmNR, sgemmNR + 1, 3*sgemmNR - 1, 3 * sgemmNR, 3*sgemmNR + 1}
				for x := 0; x < 60; x++ {
					m, n, k := sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))]
					ab := sgemmAlphaBeta[x%len(sgemmAlphaBeta)]
					newSgemmCase(rng, tr[0], tr[1], m, n, k, ab[0], ab[1], x%4*5).run(t, nil)
				}
			})
		}
	})
}

// TestSgemmBlocks shrinks the block sizes so that products of a few dozen
// rows cross the n_c, k_c and m_c loops several times, edges included.
func TestSgemmBlocks(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		withBlocks(sgemmBlocking{mc: 2 * sgemmMR, kc: 8, nc: 3 * sgemmNR, span: 8 * 64}, func() {
			for x := 0; x < 40; x++ {
				tr := transCases[x%4]
				m, n, k := 1+rng.IntN(70), 1+rng.IntN(120), 1+rng.IntN(40)
				ab := sgemmAlphaBeta[x%len(sgemmAlphaBeta)]
				newSgemmCase(rng, tr[0], tr[1], m, n, k, ab[0], ab[1], x%3).run(t, nil)
			}
		})
	})
}

// TestSgemmLarge runs the real block sizes over a product that needs more
// than one k_c slice and m_c block.
func TestSgemmLarge(t *testing.T) {
	bs := sgemmBlocksFor(sgemmMR512) // the larger of the two blockings' m_c, k_c
	if b6 := sgemmBlocksFor(sgemmMR); b6.mc > bs.mc {
		bs.mc = b6.mc
	}
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := bs.mc+sgemmMR512+1, 3*sgemmNR+5, bs.kc+37
	if testing.Short() {
		m, n, k = 97, 83, 101
	}
	forEachPath(t, func(t *testing.T) {
		for x, tr := range transCases {
			newSgemmCase(rng, tr[0], tr[1], m, n, k, 1, float32(x%2), 3).run(t, nil)
		}
	})
}

// goParallel runs the chunks of fn on up to workers goroutines.
func goParallel(workers int) Parallel {
	return func(n int, fn func(lo, hi int)) {
		var wg sync.WaitGroup
		step := (n + workers - 1) / workers
		for lo := 0; lo < n; lo += step {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				fn(lo, hi)
			}(lo, min(lo+step, n))
		}
		wg.Wait()
	}
}

func TestSgemmParallel(t *testing.T) {
	defer func(f int) { sgemmParallelFlops = f }(sgemmParallelFlops)
	sgemmParallelFlops = 0
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, workers := range []int{2, 3, 7} {
			for x, tr := range transCases {
				// Tall (split by rows) and wide (split by columns), with edges.
				newSgemmCase(rng, tr[0], tr[1], 131, 67, 75, 1, float32(x%2), 1).run(t, goParallel(workers))
				newSgemmCase(rng, tr[0], tr[1], 59, 141, 83, -1, 0.5, 2).run(t, goParallel(workers))
			}
		}
		// Chunks with nothing in them, and block sizes crossed inside a chunk.
		withBlocks(sgemmBlocking{mc: 2 * sgemmMR, kc: 8, nc: 2 * sgemmNR, span: 8 * 64}, func() {
			newSgemmCase(rng, false, false, 100, 90, 50, 1, 1, 0).run(t, goParallel(40))
		})
	})
}

// TestSgemmKernel checks the assembly micro-kernel against its plain-Go twin
// directly, with packed and with row-major (unpacked) strides.
func TestSgemmKernel(t *testing.T) {
	if !HasAVX2FMA {
		t.Skip("no AVX2/FMA kernel")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	kernels := []struct {
		mr int
		f  func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
	}{{sgemmMR, sgemmKernel6x16}}
	if HasAVX512 {
		kernels = append(kernels, []struct {
			mr int
			f  func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
		}{{sgemmMR512, sgemmKernel12x16AVX512}, {8, sgemmKernel8x16AVX512}, {4, sgemmKernel4x16AVX512}}...)
	}
	for _, kern := range kernels {
		MR := kern.mr
		for k := 0; k <= 19; k++ {
			for _, st := range [][3]int{{1, MR, sgemmNR}, {k + 3, 1, 21}, {1, 9, 16}} {
				rsa, csa, rsb := st[0], st[1], st[2]
				kk := max(k, 1)
				a := rnd((MR-1)*rsa + (kk-1)*csa + 1)
				b := rnd((kk-1)*rsb + sgemmNR)
				for _, ab := range sgemmAlphaBeta {
					ldc := sgemmNR + k%3
					c := rnd((MR-1)*ldc + sgemmNR)
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					want := append([]float32(nil), c...)
					sgemmKernelGo(MR, k, a, rsa, csa, b, rsb, want, ldc, ab[0], ab[1])
					kern.f(k, &a[0], rsa, csa, &b[0], rsb, &c[0], ldc, ab[0], ab[1])
					for i := range c {
						if i%ldc >= sgemmNR {
							if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
								t.Fatalf("MR=%d k=%d strides %v: padding c[%d] written", MR, k, st, i)
							}
							continue
						}
						if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-5*float64(k+2)) {
							t.Fatalf("MR=%d k=%d strides %v alpha,beta=%v: c[%d] = %g, want %g", MR, k, st, ab, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestSgemmPackers checks the assembly packers against their plain-Go twins
// for every depth up to 40 (the transposing one works eight steps at a
// time), leaving what lies past the panel alone.
func TestSgemmPackers(t *testing.T) {
	if !HasAVX2FMA {
		t.Skip("no AVX2/FMA kernels")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for kb := 1; kb <= 40; kb++ {
		for _, tr := range []bool{false, true} {
			ld := sgemmNR + kb + 3
			b := make([]float32, (kb+sgemmNR)*ld)
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			want := make([]float32, kb*sgemmNR+5)
			got := make([]float32, len(want))
			for i := range want {
				want[i], got[i] = guard, guard
			}
			if tr {
				sgemmPackBTGo(kb, b, ld, want)
				sgemmPackBT(kb, &b[0], ld, &got[0])
			} else {
				sgemmPackBNGo(kb, b, ld, want)
				sgemmPackBN(kb, &b[0], ld, &got[0])
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("kb=%d transposed=%v: dst[%d] = %g, want %g", kb, tr, i, got[i], want[i])
				}
			}
		}
	}
}

func TestSgemmNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	tc := newSgemmCase(rng, false, false, 67, 45, 33, 1, 0, 0)
	c := tc.cView(tc.c)
	allocs := testing.AllocsPerRun(20, func() {
		Sgemm(false, false, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, c, tc.ldc, nil)
	})
	if allocs != 0 {
		t.Errorf("Sgemm allocates %v times per call in steady state", allocs)
	}
}

func TestSgemmPanics(t *testing.T) {
	s := make([]float32, 12)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2, nil) }},
		{"lda < k", func() { Sgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2, nil) }},
		{"ldb < k with transB", func() { Sgemm(false, true, 2, 2, 3, 1, s, 3, s, 2, 0, s, 2, nil) }},
		{"short c", func() { Sgemm(false, false, 3, 4, 2, 1, s, 2, s, 4, 0, s[:11], 4, nil) }},
		{"short a with transA", func() { Sgemm(true, false, 3, 2, 4, 1, s[:11], 3, s, 2, 0, s, 2, nil) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// TestSgemmBlockSizes checks the cache-derived block sizes on a few cache
// shapes: multiples of the register tile, and the packed data where it
// should live.
func TestSgemmBlockSizes(t *testing.T) {
	for _, cs := range [][3]int{{32 << 10, 256 << 10, 8 << 20}, {48 << 10, 1 << 20, 32 << 20}, {32 << 10, 512 << 10, 16 << 20}, {1, 1, 1}} {
		for _, mr := range []int{sgemmMR, sgemmMR512} {
			bs := sgemmBlockSizes(cs[0], cs[1], cs[2], mr)
			if bs.mc%mr != 0 || bs.nc%sgemmNR != 0 || bs.kc%8 != 0 || bs.mc <= 0 || bs.kc <= 0 || bs.nc <= 0 {
				t.Errorf("caches %v: blocks %+v not multiples of the tile", cs, bs)
			}
			if cs[0] > 1 && (mr+sgemmNR)*bs.kc*4 > cs[0] {
				t.Errorf("caches %v: blocks %+v: micro-panels overflow L1", cs, bs)
			}
			if cs[1] > 1 && bs.mc*bs.kc*4 > cs[1] {
				t.Errorf("caches %v: blocks %+v: A block overflows L2", cs, bs)
			}
		}
	}
}

// TestSgemmTransposed checks products that Sgemm computes as (Bᵀ·Aᵀ)ᵀ
// (narrow, short C with a long depth) against the reference, on every
// path and transposition, and that the rule picks them.
func TestSgemmTransposed(t *testing.T) {
	shapes := [][3]int{{32, 8, 300}, {40, 5, 400}, {64, 1, 600}, {33, 7, 270}}
	for _, s := range shapes {
		if !sgemmTransposes(s[0], s[1], s[2], 0) {
			t.Fatalf("%v: not taken as transposed", s)
		}
	}
	if sgemmTransposes(32, 8, 300, 1) || sgemmTransposes(256, 6, 4096, 0) || sgemmTransposes(32, 9, 300, 0) {
		t.Fatal("transposed path taken where it should not be")
	}
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for x, s := range shapes {
			tr := transCases[x%4]
			newSgemmCase(rng, tr[0], tr[1], s[0], s[1], s[2], 1.5, 0, x%3).run(t, nil)
			newSgemmCase(rng, tr[1], tr[0], s[0], s[1], s[2], 1, 0, 0).run(t, goParallel(3))
		}
	})
}

// TestSgemmEdgeRows runs products whose last block of rows is 1 to 11 rows
// (the 4- and 8-row AVX-512 kernels, in place and packed) with the edge
// kernels on and off, against the reference.
func TestSgemmEdgeRows(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("noEdgeKernels=%v", off), func(t *testing.T) {
			defer func(p bool) { sgemmNoEdgeKernels = p }(sgemmNoEdgeKernels)
			sgemmNoEdgeKernels = off
			forEachPath(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(15, 16))
				for e := 1; e < sgemmMR512; e++ {
					for x, tr := range transCases {
						m := 2*sgemmMR512 + e
						ab := sgemmAlphaBeta[(e+x)%len(sgemmAlphaBeta)]
						newSgemmCase(rng, tr[0], tr[1], m, 2*sgemmNR+3, 37, ab[0], ab[1], x%3).run(t, nil)
					}
				}
			})
		})
	}
}
