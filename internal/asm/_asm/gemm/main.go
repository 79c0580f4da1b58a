// Command gemm generates the AVX2/FMA SGEMM micro-kernel of package asm.
//
// Run it through go generate in internal/asm (see sgemm_gen.go):
//
//	cd _asm/gemm && go run . -out ../../sgemm_amd64.s -stubs ../../sgemm_stub_amd64.go -pkg asm
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The register tile: mr rows of C by nv YMM vectors (8 floats each) of
// columns. mr·nv accumulators, nv registers for a row of B and one or two
// for broadcasts of A must fit in the 16 YMM registers.
const (
	mr     = 6
	nv     = 2
	unroll = 4
)

var ymm = []Register{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

// addr is the stack address of parameter name.
func addr(name string) Mem {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return p.Addr
}

func main() {
	ConstraintExpr("!purego")
	kernel()
	kernel512(mr512)
	kernel512(8)
	kernel512(4)
	packBN()
	packBT()
	Generate()
}

func kernel() {
	nr := 8 * nv
	name := fmt.Sprintf("sgemmKernel%dx%d", mr, nr)
	TEXT(name, NOSPLIT, "func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes the %d×%d tile", name, mr, nr),
		"",
		fmt.Sprintf("\tC[i*ldc+j] = alpha·Σ_p A[i*rsa+p*csa]·B[p*rsb+j] + beta·C[i*ldc+j],  i < %d, j < %d, p < k,", mr, nr),
		"",
		"reading C only when beta != 0 (so C may hold NaN then). The strides are in",
		"elements; B's rows must be contiguous. Packed panels use rsa=1, csa=MR and",
		"rsb=NR; operands read in place use rsa=lda, csa=1 (row-major A) or rsa=1,",
		"csa=lda (transposed A), and rsb=ldb.",
		"Its plain-Go twin is sgemmKernelGo.",
	)

	ka := loadKernelArgs(mr)
	k, bases, aRow, bp, cp, ldc := ka.k, ka.bases, ka.aRow, ka.bp, ka.cp, ka.ldc

	acc := make([]Register, mr*nv)
	for i := range acc {
		acc[i] = ymm[i]
	}
	bv := make([]Register, nv)
	for i := range bv {
		bv[i] = ymm[mr*nv+i]
	}
	nbc := 16 - mr*nv - nv
	if nbc > 2 {
		nbc = 2
	}
	bc := make([]Register, nbc)
	for i := range bc {
		bc[i] = ymm[mr*nv+nv+i]
	}

	Comment("Zero the accumulators and warm the C tile.")
	for _, r := range acc {
		VXORPS(r, r, r)
	}
	warmC(cp, ldc, mr, nr)

	step := func() {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: bp, Disp: 32 * v}, bv[v])
		}
		for r := 0; r < mr; r++ {
			x := bc[r%nbc]
			VBROADCASTSS(aRow(r), x)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], x, acc[r*nv+v])
			}
		}
		for _, b := range bases {
			ADDQ(ka.csa, b)
		}
		ADDQ(ka.rsb, bp)
	}

	depthLoop(k, step)

	storeC(acc, mr, nv, 32, cp, ldc, bc[0], bv[0])
}

// storeC ends a micro-kernel: C = alpha·acc + beta·C over a tile of mr
// rows of nv vectors of width bytes each (row r in acc[r*nv : (r+1)*nv]),
// without reading C when beta is ±0. al and be are vector registers free
// for alpha and beta (they may be the same).
func storeC(acc []Register, mr, nv, width int, cp, ldc Register, al, be Register) {
	Label("store")
	Comment("C = alpha·acc + beta·C, without reading C when beta == 0.")
	VBROADCASTSS(addr("alpha"), al)
	for _, r := range acc {
		VMULPS(r, al, r)
	}
	bb := GP32()
	MOVL(addr("beta"), bb)
	ANDL(U32(0x7fffffff), bb)
	JZ(LabelRef("overwrite"))
	VBROADCASTSS(addr("beta"), be)
	rows := func(addBeta bool) {
		for r := 0; r < mr; r++ {
			for v := 0; v < nv; v++ {
				m := Mem{Base: cp, Disp: width * v}
				if addBeta {
					VFMADD231PS(m, be, acc[r*nv+v])
				}
				VMOVUPS(acc[r*nv+v], m)
			}
			if r < mr-1 {
				ADDQ(ldc, cp)
			}
		}
		VZEROUPPER()
		RET()
	}
	rows(true)
	Label("overwrite")
	rows(false)
}

// packBN generates the packing of a full NR-column micro-panel of row-major
// B: kb rows of NR contiguous floats, ldb apart, copied one after another.
func packBN() {
	nr := 8 * nv
	TEXT("sgemmPackBN", NOSPLIT, "func(kb int, b *float32, ldb int, dst *float32)")
	Pragma("noescape")
	Doc(
		"sgemmPackBN packs an NR-column micro-panel of row-major B:",
		"",
		fmt.Sprintf("\tdst[p*%d+x] = b[p*ldb+x],  p < kb, x < %d", nr, nr),
		"",
		"Its plain-Go twin is sgemmPackBNGo.",
	)
	kb := Load(Param("kb"), GP64())
	src := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	dst := Load(Param("dst"), GP64())
	SHLQ(U8(2), ldb)
	TESTQ(kb, kb)
	JZ(LabelRef("done"))
	Label("loop")
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: src, Disp: 32 * v}, ymm[v])
	}
	for v := 0; v < nv; v++ {
		VMOVUPS(ymm[v], Mem{Base: dst, Disp: 32 * v})
	}
	ADDQ(ldb, src)
	ADDQ(U32(4*nr), dst)
	DECQ(kb)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packBT generates the packing of a full NR-column micro-panel of
// transposed B (stored n×k, so that a column of the panel is a row of
// storage), eight depth steps at a time with 8×8 in-register transposes.
func packBT() {
	nr := 8 * nv
	TEXT("sgemmPackBT", NOSPLIT, "func(kb int, b *float32, ldb int, dst *float32)")
	Pragma("noescape")
	Doc(
		"sgemmPackBT packs an NR-column micro-panel of transposed B:",
		"",
		fmt.Sprintf("\tdst[p*%d+x] = b[x*ldb+p],  p < kb, x < %d", nr, nr),
		"",
		"Its plain-Go twin is sgemmPackBTGo.",
	)
	kb := Load(Param("kb"), GP64())
	ldb := Load(Param("ldb"), GP64())
	dst := Load(Param("dst"), GP64())
	SHLQ(U8(2), ldb)
	ldb3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	// Row x of storage is read through base x/3 at index ldb·(x%3).
	nbase := (nr + 2) / 3
	bases := make([]GPVirtual, nbase)
	bases[0] = GP64()
	Load(Param("b"), bases[0])
	for i := 1; i < nbase; i++ {
		bases[i] = GP64()
		LEAQ(Mem{Base: bases[i-1], Index: ldb3, Scale: 1}, bases[i])
	}
	row := func(x, disp int) Mem {
		m := Mem{Base: bases[x/3], Disp: disp}
		if x%3 != 0 {
			m.Index = ldb
			m.Scale = uint8(x % 3)
		}
		return m
	}
	n := GP64()
	MOVQ(kb, n)
	SHRQ(U8(3), n)
	JZ(LabelRef("tail"))
	Label("loop")
	for h := 0; h < nv; h++ {
		r := ymm[0:8]
		t := ymm[8:16]
		for x := 0; x < 8; x++ {
			VMOVUPS(row(8*h+x, 0), r[x])
		}
		for x := 0; x < 8; x += 2 {
			VUNPCKLPS(r[x+1], r[x], t[x])
			VUNPCKHPS(r[x+1], r[x], t[x+1])
		}
		// u[q] holds depth steps q (low lane) and q+4 (high lane) of four rows.
		for g := 0; g < 2; g++ {
			lo, hi := t[4*g:4*g+2], t[4*g+2:4*g+4]
			for q := 0; q < 2; q++ {
				VSHUFPS(U8(0x44), hi[q], lo[q], r[4*g+2*q])
				VSHUFPS(U8(0xEE), hi[q], lo[q], r[4*g+2*q+1])
			}
		}
		for q := 0; q < 4; q++ {
			VPERM2F128(U8(0x20), r[4+q], r[q], t[q])
			VPERM2F128(U8(0x31), r[4+q], r[q], t[4+q])
		}
		for q := 0; q < 8; q++ {
			VMOVUPS(t[q], Mem{Base: dst, Disp: 4*nr*q + 32*h})
		}
	}
	for _, b := range bases {
		ADDQ(U8(32), b)
	}
	ADDQ(U32(4*nr*8), dst)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("tail")
	ANDQ(U8(7), kb)
	JZ(LabelRef("done"))
	Label("tailloop")
	for x := 0; x < nr; x++ {
		VMOVSS(row(x, 0), X0)
		VMOVSS(X0, Mem{Base: dst, Disp: 4 * x})
	}
	for _, b := range bases {
		ADDQ(U8(4), b)
	}
	ADDQ(U32(4*nr), dst)
	DECQ(kb)
	JNZ(LabelRef("tailloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// The AVX-512 tile: mr512 rows of C by one ZMM vector (16 floats) of
// columns, the same NR as the AVX2 kernel so that both read the same packed
// panels of B. Twelve accumulators are enough independent FMA chains to
// keep both 512-bit FMA pipes busy; A is read with embedded broadcasts, so
// no register holds it.
const mr512 = 12

var zmm = []Register{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}

// kernel512 emits the AVX-512 kernel for a tile of mr rows: mr512 for the
// blocks of C, and 8 and 4 for the edge rows of C that a block of twelve
// would cover with zeros (a C of 64 rows is five blocks and four rows;
// the 4-row kernel's four FMA chains run the pipes at half rate, but on a
// third of the work).
func kernel512(mr int) {
	name := fmt.Sprintf("sgemmKernel%dx16AVX512", mr)
	TEXT(name, NOSPLIT, "func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s is sgemmKernel6x16 for a %d×16 tile, with AVX-512F:", name, mr),
		"",
		fmt.Sprintf("\tC[i*ldc+j] = alpha·Σ_p A[i*rsa+p*csa]·B[p*rsb+j] + beta·C[i*ldc+j],  i < %d, j < 16, p < k,", mr),
		"",
		"with the same strides, packed layouts and reading of C. Its plain-Go twin",
		fmt.Sprintf("is sgemmKernelGo with mr = %d.", mr),
	)

	ka := loadKernelArgs(mr)
	k, bases, aRow, bp, cp, ldc := ka.k, ka.bases, ka.aRow, ka.bp, ka.cp, ka.ldc

	acc := zmm[:mr]
	bv := zmm[mr]
	tmp := zmm[mr+1]

	Comment("Zero the accumulators and warm the C tile.")
	for _, r := range acc {
		VPXORD(r, r, r)
	}
	warmC(cp, ldc, mr, 16)

	step := func() {
		VMOVUPS(Mem{Base: bp}, bv)
		for r := 0; r < mr; r++ {
			VFMADD231PS_BCST(aRow(r), bv, acc[r])
		}
		for _, b := range bases {
			ADDQ(ka.csa, b)
		}
		ADDQ(ka.rsb, bp)
	}

	depthLoop(k, step)

	storeC(acc, mr, 1, 64, cp, ldc, tmp, tmp)
}

// kernelArgs are a micro-kernel's loaded arguments, strides in bytes.
type kernelArgs struct {
	k, csa, rsb, bp, cp, ldc Register
	bases                    []GPVirtual
	aRow                     func(r int) Mem // where row r of the A micro-panel is read
}

// loadKernelArgs loads the arguments both micro-kernels share, for a tile
// of mr rows. Row r of the A micro-panel is read through base pointer r/3
// at index rsa·(r%3): bases[i] = a + 3·i·rsa.
func loadKernelArgs(mr int) kernelArgs {
	var ka kernelArgs
	ka.k = Load(Param("k"), GP64())
	rsa := Load(Param("rsa"), GP64())
	ka.csa = Load(Param("csa"), GP64())
	ka.rsb = Load(Param("rsb"), GP64())
	SHLQ(U8(2), rsa)
	SHLQ(U8(2), ka.csa)
	SHLQ(U8(2), ka.rsb)

	nbase := (mr + 2) / 3
	bases := make([]GPVirtual, nbase)
	bases[0] = GP64()
	Load(Param("a"), bases[0])
	rsa3 := GP64()
	if nbase > 1 {
		LEAQ(Mem{Base: rsa, Index: rsa, Scale: 2}, rsa3)
	}
	for i := 1; i < nbase; i++ {
		bases[i] = GP64()
		LEAQ(Mem{Base: bases[i-1], Index: rsa3, Scale: 1}, bases[i])
	}
	ka.bases = bases
	ka.aRow = func(r int) Mem {
		m := Mem{Base: bases[r/3]}
		if r%3 != 0 {
			m.Index = rsa
			m.Scale = uint8(r % 3)
		}
		return m
	}
	ka.bp = Load(Param("b"), GP64())
	ka.cp = Load(Param("c"), GP64())
	ka.ldc = Load(Param("ldc"), GP64())
	SHLQ(U8(2), ka.ldc)
	return ka
}

// warmC prefetches the first and last float of each of the rows of the C
// tile, nr floats wide.
func warmC(cp, ldc Register, rows, nr int) {
	ct := GP64()
	MOVQ(cp, ct)
	for r := 0; r < rows; r++ {
		PREFETCHT0(Mem{Base: ct})
		PREFETCHT0(Mem{Base: ct, Disp: 4*nr - 4})
		if r < rows-1 {
			ADDQ(ldc, ct)
		}
	}
}

// depthLoop runs step k times, unrolled by unroll, then jumps on to the
// label "store".
func depthLoop(k Register, step func()) {
	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(2), n)
	JZ(LabelRef("tail"))
	Label("loop")
	for u := 0; u < unroll; u++ {
		step()
	}
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("tail")
	ANDQ(U8(unroll-1), k)
	JZ(LabelRef("store"))
	Label("tailloop")
	step()
	DECQ(k)
	JNZ(LabelRef("tailloop"))
}
