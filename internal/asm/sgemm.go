package asm

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Parallel runs fn over [0, n) split into contiguous chunks [lo, hi), possibly
// concurrently, and returns when every chunk is done; a caller's worker pool
// supplies it. Sgemm hands it n units of roughly equal cost (strips of C) and
// expects few, large chunks, about one per worker: each chunk packs its own
// copy of the operand that all chunks share. A nil Parallel runs everything
// on the calling goroutine.
type Parallel func(n int, fn func(lo, hi int))

// The register tile of the micro-kernel: sgemmMR rows by sgemmNR columns of
// C for the AVX2 kernel and the plain-Go twin, sgemmMR512 rows for the
// AVX-512 kernel (same NR, so both read the same packed panels of B).
const (
	sgemmMR    = 6
	sgemmMR512 = 12
	sgemmMaxMR = 12
	sgemmNR    = 16
)

// Micro-kernels a job can run.
const (
	kernGo uint8 = iota
	kernAVX2
	kernAVX512
)

// sgemmParallelFlops is the work (2·m·n·k) below which Sgemm stays on the
// calling goroutine. Handing work to an idle worker costs the time its CPU
// takes to wake, microseconds on bare metal and tens of them in a VM
// (measured on an idle 2-vCPU Zen guest: two goroutines beat one from
// 112³ to 144³, 30-60 µs of work on one core, depending on how recently the
// other CPU was busy). Tests lower it to exercise the parallel paths on
// small products.
var sgemmParallelFlops = 2 * 136 * 136 * 136

// Sgemm computes
//
//	C = alpha·op(A)·op(B) + beta·C
//
// for row-major float32 matrices: op(A) is m×k and op(B) is k×n. A is stored
// m×k with row stride lda, or k×m when transA; B is stored k×n with row
// stride ldb, or n×k when transB; C is m×n with row stride ldc. When beta is
// zero C is overwritten without being read, so it may hold NaN or Inf.
//
// It is a BLIS-style GEMM: the depth is cut into k_c slices and C into
// m_c×n_c blocks, with the block sizes taken from the CPU's cache sizes, and
// an AVX2/FMA micro-kernel computes each MR×NR tile of C from an MR-row
// micro-panel of op(A) and an NR-column micro-panel of op(B). Operands are
// packed into contiguous micro-panels (zero-padded at the edges) where that
// pays, and read in place where they are small enough or shaped so that the
// copy would cost more than it saves (see sgemmJob.packing). Without
// AVX2/FMA (or under purego, or after SetAccelerated(false)) the same blocked
// driver runs a plain-Go micro-kernel.
//
// Products of more than about 2·136³ flops are split over par by rows (or, for
// wide C, columns) of C, in units of MR rows (NR columns); par may be nil.
// Sgemm allocates nothing in steady state: packing buffers are pooled.
// It panics when a dimension or stride is invalid or a slice is too short.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, par Parallel) {
	sgemmCheck("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		sgemmScale(m, n, beta, c, ldc)
		return
	}
	if sgemmTransposes(m, n, k, beta) {
		// C = (Bᵀ·Aᵀ)ᵀ: the narrow side of C becomes its rows.
		t := sgemmScratch.Get().(*[]float32)
		if cap(*t) < m*n {
			*t = make([]float32, m*n)
		}
		ct := (*t)[:m*n]
		Sgemm(!transB, !transA, n, m, k, alpha, b, ldb, a, lda, 0, ct, m, par)
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for jj := range row {
				row[jj] = ct[jj*m+i]
			}
		}
		sgemmScratch.Put(t)
		return
	}
	j := sgemmJobs.Get().(*sgemmJob)
	*j = sgemmJob{
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		asm: Accelerated(), run: j.run,
	}
	j.kern, j.mr = kernGo, sgemmMR
	if j.asm {
		j.kern = kernAVX2
		if UsingAVX512() {
			j.kern, j.mr = kernAVX512, sgemmMR512
		}
	}
	j.bs = sgemmBlocksFor(j.mr)
	j.kc = sgemmSplit(k, j.bs.kc, 4)
	j.packA, j.packB = j.packing(j.bs, j.kc)
	// Split C by rows when it is at least as tall as it is wide: each worker
	// then reads (or packs) its own rows of A and all of B, and the other way
	// round, so that the operand every worker goes through is the smaller.
	j.byRows = m >= n
	j.units = (n + sgemmNR - 1) / sgemmNR
	shared := j.packA
	if j.byRows {
		j.units = (m + j.mr - 1) / j.mr
		shared = j.packB
	}
	// Unless the operand that every worker goes through is packed (once per
	// chunk), the workers claim strips of C one at a time from a counter,
	// whatever chunks par makes: a worker that starts late (an idle CPU
	// takes tens of microseconds to wake in a VM) or runs slow (a busy
	// machine) then does less, instead of holding up the others.
	if par == nil || j.units < 2 || 2*m*n*k < sgemmParallelFlops {
		j.run(0, j.units)
	} else {
		if !shared {
			j.claim = max(4, (j.units+15)/16)
		}
		par(j.units, j.run)
	}
	*j = sgemmJob{run: j.run}
	sgemmJobs.Put(j)
}

// sgemmTransposes reports whether Sgemm computes C as (Bᵀ·Aᵀ)ᵀ: when C
// is at most 8 columns wide, so that every tile of C is an edge tile that
// computes sixteen columns for n, while transposed the n columns become
// rows of a kernel of at most 8 rows (AVX-512's 4- and 8-row kernels) or
// of one or two AVX2 blocks of 6. C must be tall enough to fill the
// columns (m ≥ 2·NR) but not so tall that packing Aᵀ as the B operand
// costs more than it saves (m ≤ 4·NR), and the depth long (k ≥ 8·m); beta
// must be zero. Measured (1 thread, AVX-512, same run): 64×6×2048 36 →
// 24 µs; but 32×9×43264 0.53 → 0.59 ms and 64×10×1024 21 → 23 µs, where
// the 12-row kernel and the packing of Aᵀ cost more than the columns
// saved, and 256×10×4096 275 → 330 µs.
func sgemmTransposes(m, n, k int, beta float32) bool {
	if beta != 0 || n > 8 || m < 2*sgemmNR || m > 4*sgemmNR || k < 8*m || sgemmNoTranspose {
		return false
	}
	return true
}

// sgemmNoTranspose turns the transposed path off in tests and benchmarks.
var sgemmNoTranspose bool

// sgemmScratch pools the transposed products (*[]float32).
var sgemmScratch = sync.Pool{New: func() any { return new([]float32) }}

// SgemmRef is the plain-Go reference of Sgemm, accumulating each dot product
// in float64:
//
//	for i < m, j < n:
//		s := Σ_p float64(op(A)[i,p])·float64(op(B)[p,j])
//		C[i,j] = float32(alpha·s + beta·C[i,j])   (alpha·s when beta == 0)
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmCheck("SgemmRef", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(r)
		}
	}
}

// sgemmCheck panics unless the arguments describe valid matrices.
func sgemmCheck(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("asm.%s: negative dimension m=%d n=%d k=%d", fn, m, n, k))
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if ld < max(1, cols) {
			panic(fmt.Sprintf("asm.%s: ld%s=%d < %d columns", fn, name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("asm.%s: len(%s)=%d < %d for a %d×%d matrix with stride %d", fn, name, len(s), (rows-1)*ld+cols, rows, cols, ld))
		}
	}
	if transA {
		check("a", a, k, m, lda)
	} else {
		check("a", a, m, k, lda)
	}
	if transB {
		check("b", b, n, k, ldb)
	} else {
		check("b", b, k, n, ldb)
	}
	check("c", c, m, n, ldc)
}

// sgemmScale sets C = beta·C, writing zeros without reading C when beta == 0.
func sgemmScale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// sgemmBlocking holds the cache block sizes: k_c, the depth of a packed
// panel; m_c, the rows of a packed block of A; n_c, the columns of a packed
// panel of B; and span, the most floats that the k_c rows of storage an
// unpacked operand's slice touches may span (see packing).
type sgemmBlocking struct{ mc, kc, nc, span int }

var sgemmBlocks = [2]func() sgemmBlocking{
	sync.OnceValue(func() sgemmBlocking {
		l1, l2, l3 := CacheSizes()
		return sgemmBlockSizes(l1, l2, l3, sgemmMR)
	}),
	sync.OnceValue(func() sgemmBlocking {
		l1, l2, l3 := CacheSizes()
		return sgemmBlockSizes(l1, l2, l3, sgemmMR512)
	}),
}

// sgemmBlocksFor returns the block sizes for a kernel of mr rows (or the
// override a test set).
func sgemmBlocksFor(mr int) sgemmBlocking {
	if sgemmBlocksOverride != nil {
		return *sgemmBlocksOverride
	}
	if mr == sgemmMR512 {
		return sgemmBlocks[1]()
	}
	return sgemmBlocks[0]()
}

// sgemmBlocksOverride replaces the block sizes in tests.
var sgemmBlocksOverride *sgemmBlocking

// sgemmBlockSizes derives the block sizes from the cache sizes in bytes:
// a k_c×NR micro-panel of B and an MR×k_c micro-panel of A take at most
// three quarters of L1 (the B micro-panel stays there while the A
// micro-panels stream through); an m_c×k_c block of A takes half of L2; a
// k_c×n_c panel of B a quarter of L3, which other cores share. An operand
// is read in place while a k_c slice of it spans at most half of L2.
func sgemmBlockSizes(l1, l2, l3, mr int) sgemmBlocking {
	const f = 4 // bytes per float32
	kc := l1 * 3 / 4 / ((mr + sgemmNR) * f)
	kc = min(max(kc/8*8, 64), 1024)
	mc := l2 / 2 / (kc * f)
	mc = max(mc/mr*mr, 4*mr)
	nc := l3 / 4 / (kc * f)
	nc = min(max(nc/sgemmNR*sgemmNR, 16*sgemmNR), 8192)
	return sgemmBlocking{mc: mc, kc: kc, nc: nc, span: l2 / 2 / f}
}

// sgemmSplit splits n into ceil(n/block) near-equal blocks, each a multiple
// of unit (but for the last), and returns the block size.
func sgemmSplit(n, block, unit int) int {
	nb := (n + block - 1) / block
	s := (n + nb - 1) / nb
	return (s + unit - 1) / unit * unit
}

// sgemmJob is one call of Sgemm; its run method covers units [lo, hi) of C
// (MR-row or NR-column strips), or claims strips from next when claim > 0.
// Jobs are pooled, and run is bound once, so that handing it to Parallel
// allocates nothing.
type sgemmJob struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	asm            bool  // assembly packers (and kernel)
	kern           uint8 // kernGo, kernAVX2 or kernAVX512
	mr             int   // rows of the kernel's tile
	bs             sgemmBlocking
	kc             int  // the depth of a k_c slice, k split evenly
	packA, packB   bool // see packing
	byRows         bool // units are MR-row strips of C, else NR-column strips
	units          int
	claim          int // strips per claim on next; 0: use [lo, hi) as given
	next           atomic.Int64
	run            func(lo, hi int)
}

var sgemmJobs = sync.Pool{New: func() any {
	j := new(sgemmJob)
	j.run = j.chunk
	return j
}}

// sgemmBuf holds one worker's packing buffers and the tile that partial
// edge tiles are computed into.
type sgemmBuf struct {
	a, b []float32
	tile [sgemmMaxMR * sgemmNR]float32
}

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// chunk is one worker's share: strips [lo, hi), or whatever strips it can
// claim.
func (j *sgemmJob) chunk(lo, hi int) {
	buf := sgemmBufs.Get().(*sgemmBuf)
	if j.claim == 0 {
		j.strips(buf, lo, hi)
	} else {
		for {
			lo := int(j.next.Add(int64(j.claim))) - j.claim
			if lo >= j.units {
				break
			}
			j.strips(buf, lo, min(lo+j.claim, j.units))
		}
	}
	sgemmBufs.Put(buf)
}

// strips computes strips [lo, hi) of C.
func (j *sgemmJob) strips(buf *sgemmBuf, lo, hi int) {
	i0, i1, j0, j1 := 0, j.m, 0, j.n
	if j.byRows {
		i0, i1 = lo*j.mr, min(hi*j.mr, j.m)
	} else {
		j0, j1 = lo*sgemmNR, min(hi*sgemmNR, j.n)
	}
	if i0 < i1 && j0 < j1 {
		j.block(buf, i0, i1, j0, j1)
	}
}

// block computes rows [i0, i1) and columns [j0, j1) of C with the five loops
// of BLIS: n_c panels of B, k_c slices of the depth, m_c blocks of A, and
// within a block NR-column micro-panels of B (each kept in L1) against
// MR-row micro-panels of A.
func (j *sgemmJob) block(buf *sgemmBuf, i0, i1, j0, j1 int) {
	kc, packA, packB, MR := j.kc, j.packA, j.packB, j.mr
	mc := sgemmSplit(i1-i0, j.bs.mc, MR)
	nc := sgemmSplit(j1-j0, j.bs.nc, sgemmNR)
	needA, needB := MR*kc, sgemmNR*kc // an operand read in place packs only its edge panel
	if packA {
		needA = mc * kc
	}
	if packB {
		needB = kc * nc
	}
	if len(buf.a) < needA {
		buf.a = make([]float32, needA)
	}
	if len(buf.b) < needB {
		buf.b = make([]float32, needB)
	}
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < j.k; pc += kc {
			kb := min(kc, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			if packB {
				sgemmPackB(buf.b, j.b, j.ldb, j.transB, pc, kb, jc, nb, j.asm)
			} else if e := nb % sgemmNR; e != 0 {
				sgemmPackB(buf.b, j.b, j.ldb, j.transB, pc, kb, jc+nb-e, e, j.asm)
			}
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				if packA {
					sgemmPackA(MR, buf.a, j.a, j.lda, j.transA, ic, mb, pc, kb)
				} else if e := mb % MR; e != 0 && j.edgeRows(e) != e {
					sgemmPackA(MR, buf.a, j.a, j.lda, j.transA, ic+mb-e, e, pc, kb)
				}
				j.macro(buf, packA, packB, mb, nb, kb, ic, jc, pc, beta)
			}
		}
	}
}

// packing says which operands block packs for a k_c slice of depth kc.
// Packing buys unit-stride, conflict-free reads in the micro-kernel at the
// cost of a copy, which small products cannot amortise, so an operand that
// the kernel can read where it lies is read there unless that would thrash
// the caches:
//
//   - Row-major A is always read in place, as six row streams: the kernel
//     reads only 24 bytes of A per 12 FMAs, little enough to come from L2
//     or L3 even when a power-of-two lda makes the rows collide in cache
//     (measured on Zen: as fast as packed at 1024³ and 2048³, 20% faster
//     at 64³).
//   - Row-major B, and transposed A (six contiguous floats per step, one
//     row of storage apart), are read in place while the kc rows of storage
//     that a slice touches span at most bs.span floats (half of L2), which
//     keeps their micro-panels from evicting each other whatever the stride;
//     beyond that in-place B runs at 60% of packed (1024³), and in-place
//     transposed A at 60-75% of packed (1024³, 4096×784×256).
//   - Beyond that span, row-major B is still read in place when C has at
//     most 4·NR rows: each micro-panel of B is then read by a handful of
//     consecutive kernel calls, from L1, and a packed copy would be read
//     no more often than the original. Unless the rows of the panel would
//     collide in L1: its row stride must not be a multiple of 128 floats
//     (else a 4096-float stride, say, maps every row to one cache set), or
//     the slice must be short (kc ≤ 64). Measured (1 thread, AVX-512,
//     packed → in place, one run): 64×7744×288 2.37 → 2.08 ms, 64×784×512
//     375 → 351 µs, 32×43264×9 0.41 → 0.37 ms; but with a 4096 stride
//     1.23 → 1.54 ms, hence the condition.
//   - Transposed B is always packed: the kernel needs its rows contiguous.
func (j *sgemmJob) packing(bs sgemmBlocking, kc int) (packA, packB bool) {
	packA = j.transA && kc*j.lda > bs.span
	packB = j.transB || kc*j.ldb > bs.span
	if packB && !j.transB && j.m <= 4*sgemmNR && (gcd(j.ldb, 1024) <= 64 || kc <= 64) {
		packB = false
	}
	switch sgemmForcePack {
	case 1:
		packA, packB = true, true
	case 2:
		packA, packB = false, false
	case 3:
		packA, packB = true, false
	case 4:
		packA, packB = false, true
	}
	return packA, packB || j.transB
}

// sgemmForcePack overrides packing in tests and benchmarks: 0 chooses,
// 1 packs both, 2 neither, 3 only A, 4 only B (transposed B is always
// packed).
var sgemmForcePack int

// macro runs the micro-kernel over an mb×nb block of C at (ic, jc), depth
// slice [pc, pc+kb), reading A and B from their packed buffers or in place.
func (j *sgemmJob) macro(buf *sgemmBuf, packA, packB bool, mb, nb, kb, ic, jc, pc int, beta float32) {
	c, ldc, alpha := j.c, j.ldc, j.alpha
	lda, ldb, MR := j.lda, j.ldb, j.mr
	for jr := 0; jr < nb; jr += sgemmNR {
		nr := min(sgemmNR, nb-jr)
		bp, rsb := buf.b[:sgemmNR*kb], sgemmNR // the packed edge panel
		if packB {
			bp = buf.b[jr*kb : (jr+sgemmNR)*kb]
		} else if nr == sgemmNR {
			off := pc*ldb + jc + jr
			bp, rsb = j.b[off:off+(kb-1)*ldb+sgemmNR], ldb
		}
		for ir := 0; ir < mb; ir += MR {
			mr := min(MR, mb-ir)
			rows := j.edgeRows(mr) // the kernel's rows: MR, or fewer for edge rows
			ap, rsa, csa := buf.a[:MR*kb], 1, MR
			if packA {
				ap = buf.a[ir*kb : (ir+MR)*kb]
			} else if mr == rows && !j.transA {
				off := (ic+ir)*lda + pc
				ap, rsa, csa = j.a[off:off+(rows-1)*lda+kb], lda, 1
			} else if mr == rows {
				off := pc*lda + ic + ir
				ap, rsa, csa = j.a[off:off+(kb-1)*lda+rows], 1, lda
			}
			off := (ic+ir)*ldc + jc + jr
			if mr == rows && nr == sgemmNR {
				j.kernel(rows, kb, ap, rsa, csa, bp, rsb, c[off:off+(rows-1)*ldc+sgemmNR], ldc, alpha, beta)
				continue
			}
			t := buf.tile[:]
			j.kernel(rows, kb, ap, rsa, csa, bp, rsb, t, sgemmNR, alpha, 0)
			for r := 0; r < mr; r++ {
				crow := c[off+r*ldc : off+r*ldc+nr]
				trow := t[r*sgemmNR : r*sgemmNR+nr]
				if beta == 0 {
					copy(crow, trow)
					continue
				}
				for x, v := range trow {
					crow[x] = v + beta*crow[x]
				}
			}
		}
	}
}

// edgeRows returns the rows of the kernel that computes mr ≤ MR rows of C:
// MR, but for the AVX-512 kernel the least multiple of four, so that the
// edge rows of C (four of a C of 64 rows) are not computed as twelve.
func (j *sgemmJob) edgeRows(mr int) int {
	if j.kern != kernAVX512 || sgemmNoEdgeKernels {
		return j.mr
	}
	return (mr + 3) / 4 * 4
}

// sgemmNoEdgeKernels turns the 4- and 8-row AVX-512 kernels off in tests and
// benchmarks.
var sgemmNoEdgeKernels bool

// kernel computes one rows×NR tile (rows = MR, or 4 or 8 with AVX-512)
// with the assembly micro-kernel or its plain-Go twin. The slices cover
// exactly what the kernel reads and writes.
func (j *sgemmJob) kernel(rows, k int, a []float32, rsa, csa int, b []float32, rsb int, c []float32, ldc int, alpha, beta float32) {
	switch j.kern {
	case kernAVX512:
		switch rows {
		case 4:
			sgemmKernel4x16AVX512(k, &a[0], rsa, csa, &b[0], rsb, &c[0], ldc, alpha, beta)
		case 8:
			sgemmKernel8x16AVX512(k, &a[0], rsa, csa, &b[0], rsb, &c[0], ldc, alpha, beta)
		default:
			sgemmKernel12x16AVX512(k, &a[0], rsa, csa, &b[0], rsb, &c[0], ldc, alpha, beta)
		}
	case kernAVX2:
		sgemmKernel6x16(k, &a[0], rsa, csa, &b[0], rsb, &c[0], ldc, alpha, beta)
	default:
		sgemmKernelGo(j.mr, k, a, rsa, csa, b, rsb, c, ldc, alpha, beta)
	}
}

// sgemmPackA packs rows [i0, i0+mb) and columns [p0, p0+kb) of op(A) into
// dst as MR-row micro-panels (MR = 6 or 12), each stored column by column (MR values per
// step of the depth), padding the last panel's missing rows with zeros.
func sgemmPackA(MR int, dst, a []float32, lda int, transA bool, i0, mb, p0, kb int) {
	for ir := 0; ir < mb; ir += MR {
		mr := min(MR, mb-ir)
		d := dst[ir*kb : (ir+MR)*kb]
		i := i0 + ir
		switch {
		case transA:
			// op(A)[i,p] = a[p*lda+i]: a column of the panel is contiguous.
			for p := 0; p < kb; p++ {
				s := a[(p0+p)*lda+i:]
				dp := d[p*MR : p*MR+MR]
				if mr == MR && MR == 6 {
					dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = s[0], s[1], s[2], s[3], s[4], s[5]
					continue
				}
				copy(dp, s[:mr])
				clear(dp[mr:])
			}
		case mr == MR && MR == 6:
			r0 := a[i*lda+p0 : i*lda+p0+kb]
			r1 := a[(i+1)*lda+p0 : (i+1)*lda+p0+kb]
			r2 := a[(i+2)*lda+p0 : (i+2)*lda+p0+kb]
			r3 := a[(i+3)*lda+p0 : (i+3)*lda+p0+kb]
			r4 := a[(i+4)*lda+p0 : (i+4)*lda+p0+kb]
			r5 := a[(i+5)*lda+p0 : (i+5)*lda+p0+kb]
			for p := range r0 {
				dp := d[p*MR : p*MR+MR]
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
		default:
			clear(d)
			for r := 0; r < mr; r++ {
				row := a[(i+r)*lda+p0 : (i+r)*lda+p0+kb]
				for p, v := range row {
					d[p*MR+r] = v
				}
			}
		}
	}
}

// sgemmPackB packs rows [p0, p0+kb) and columns [j0, j0+nb) of op(B) into
// dst as NR-column micro-panels, each stored row by row (NR values per step
// of the depth), padding the last panel's missing columns with zeros. Full
// panels go through the assembly packers when asm is set.
func sgemmPackB(dst, b []float32, ldb int, transB bool, p0, kb, j0, nb int, asm bool) {
	for jr := 0; jr < nb; jr += sgemmNR {
		nr := min(sgemmNR, nb-jr)
		d := dst[jr*kb : (jr+sgemmNR)*kb]
		j := j0 + jr
		switch {
		case nr == sgemmNR && transB:
			s := b[j*ldb+p0 : (j+sgemmNR-1)*ldb+p0+kb]
			if asm {
				sgemmPackBT(kb, &s[0], ldb, &d[0])
			} else {
				sgemmPackBTGo(kb, s, ldb, d)
			}
		case nr == sgemmNR:
			s := b[p0*ldb+j : (p0+kb-1)*ldb+j+sgemmNR]
			if asm {
				sgemmPackBN(kb, &s[0], ldb, &d[0])
			} else {
				sgemmPackBNGo(kb, s, ldb, d)
			}
		case transB:
			clear(d)
			for x := 0; x < nr; x++ {
				col := b[(j+x)*ldb+p0 : (j+x)*ldb+p0+kb]
				for p, v := range col {
					d[p*sgemmNR+x] = v
				}
			}
		default:
			for p := 0; p < kb; p++ {
				s := (p0+p)*ldb + j
				dp := d[p*sgemmNR : p*sgemmNR+sgemmNR]
				copy(dp, b[s:s+nr])
				clear(dp[nr:])
			}
		}
	}
}

// sgemmPackBNGo is the plain-Go twin of sgemmPackBN:
//
//	dst[p*NR+x] = b[p*ldb+x],  p < kb, x < NR
func sgemmPackBNGo(kb int, b []float32, ldb int, dst []float32) {
	for p := 0; p < kb; p++ {
		*(*[sgemmNR]float32)(dst[p*sgemmNR:]) = *(*[sgemmNR]float32)(b[p*ldb:])
	}
}

// sgemmPackBTGo is the plain-Go twin of sgemmPackBT:
//
//	dst[p*NR+x] = b[x*ldb+p],  p < kb, x < NR
func sgemmPackBTGo(kb int, b []float32, ldb int, dst []float32) {
	for x := 0; x < sgemmNR; x++ {
		for p, v := range b[x*ldb : x*ldb+kb] {
			dst[p*sgemmNR+x] = v
		}
	}
}

// sgemmKernelGo is the plain-Go twin of the assembly micro-kernel:
//
//	for i < mr, j < NR:
//		s := Σ_{p<k} a[i*rsa+p*csa]·b[p*rsb+j]
//		c[i*ldc+j] = alpha·s + beta·c[i*ldc+j]   (alpha·s when beta == 0)
//
// It works on 2×4 sub-tiles so that the Go compiler keeps the eight sums in
// registers. mr (MR) is 6 or 12.
func sgemmKernelGo(mr, k int, a []float32, rsa, csa int, b []float32, rsb int, c []float32, ldc int, alpha, beta float32) {
	for i := 0; i < mr; i += 2 {
		for j := 0; j < sgemmNR; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			ai, bj := i*rsa, j
			for p := 0; p < k; p++ {
				a0, a1 := a[ai], a[ai+rsa]
				bp := b[bj : bj+4 : bj+4]
				s00 += a0 * bp[0]
				s10 += a1 * bp[0]
				s01 += a0 * bp[1]
				s11 += a1 * bp[1]
				s02 += a0 * bp[2]
				s12 += a1 * bp[2]
				s03 += a0 * bp[3]
				s13 += a1 * bp[3]
				ai += csa
				bj += rsb
			}
			c0 := c[i*ldc+j : i*ldc+j+4 : i*ldc+j+4]
			c1 := c[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
			if beta == 0 {
				c0[0], c0[1], c0[2], c0[3] = alpha*s00, alpha*s01, alpha*s02, alpha*s03
				c1[0], c1[1], c1[2], c1[3] = alpha*s10, alpha*s11, alpha*s12, alpha*s13
				continue
			}
			c0[0] = alpha*s00 + beta*c0[0]
			c0[1] = alpha*s01 + beta*c0[1]
			c0[2] = alpha*s02 + beta*c0[2]
			c0[3] = alpha*s03 + beta*c0[3]
			c1[0] = alpha*s10 + beta*c1[0]
			c1[1] = alpha*s11 + beta*c1[1]
			c1[2] = alpha*s12 + beta*c1[2]
			c1[3] = alpha*s13 + beta*c1[3]
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
