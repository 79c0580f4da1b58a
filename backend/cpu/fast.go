package cpu

// Fast paths: where internal/asm has a float32 kernel for an op, the CPU
// backend runs it on every run of elements its layout walker hands over —
// the whole buffer for contiguous layouts, blocks of gathered elements
// otherwise — so strided and broadcast layouts still vectorise. The plain-Go
// kernels in elementwise.go, matmul.go, softmax.go, reduce.go, cast.go and
// index.go stay the reference: tests compare both (asm.SetAccelerated(false)
// forces the plain loops in internal/asm, and the reference kernels here are
// tested directly, with SetFastPaths(false)).
//
// Besides this file's elementwise and SGEMM routing:
//
//	fast_softmax.go      Softmax/LogSoftmax of contiguous float32 rows (asm.SoftmaxRow)
//	fast_reduce.go       float32 Sum/Max/Min over contiguous runs or outer axes
//	fast_cast.go         tiled transposing copies, Bool→Float32, half ↔ float32
//	fast_index.go        index validation, Gather/IndexSelect/ScatterAdd runs
//	fast_elementwise.go  scalar operands, comparisons, Where, GELU/GELUTanh/SiLU
//
// Each file states how its results relate to the reference's: bit for bit
// (copies, index kernels, comparisons, Where, Max/Min but for the sign of
// zero), or within stated bounds (softmax, sums, GELU and the like).
//
// The approximations used (exp, log, tanh, sigmoid) are within 1–2 ulp of
// the correctly rounded result over all float32 inputs (GELU, GELUTanh 3
// ulp); see internal/asm.

import (
	"sync/atomic"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

var fastOff atomic.Bool

// SetFastPaths switches the internal/asm fast paths on (the default) or off,
// leaving only the plain-Go reference kernels, and returns the previous
// setting. Tests use it; it is not meant to be flipped while kernels run.
func SetFastPaths(on bool) (previous bool) { return !fastOff.Swap(!on) }

// fastUnaryF32 returns internal/asm's kernel of op, or nil.
func fastUnaryF32(op backend.Op) func(d, s []float32) {
	if fastOff.Load() {
		return nil
	}
	switch op {
	case backend.OpExp:
		return asm.Exp
	case backend.OpLog:
		return asm.Log
	case backend.OpTanh:
		return asm.Tanh
	case backend.OpSigmoid:
		return asm.Sigmoid
	case backend.OpReLU:
		return asm.ReLU
	case backend.OpGELU:
		return geluFast(asm.GELU)
	case backend.OpGELUTanh:
		return geluFast(asm.GELUTanh)
	case backend.OpSiLU:
		return siluF32
	case backend.OpNeg:
		return func(d, s []float32) { asm.MulScalar(d, s, -1) } // exact: x·(-1) = -x
	case backend.OpSquare:
		return func(d, s []float32) { asm.Mul(d, s, s) }
	}
	return nil
}

// fastBinaryF32 returns internal/asm's kernel of op, or nil.
func fastBinaryF32(op backend.Op) func(d, a, b []float32) {
	if fastOff.Load() {
		return nil
	}
	switch op {
	case backend.OpAdd:
		return asm.Add
	case backend.OpSub:
		return asm.Sub
	case backend.OpMul:
		return asm.Mul
	case backend.OpDiv:
		return asm.Div
	case backend.OpMaximum:
		return asm.Max
	case backend.OpMinimum:
		return asm.Min
	}
	return nil
}

// sgemmPar runs SGEMM's blocks on the worker pool.
func sgemmPar(n int, fn func(lo, hi int)) { parallelFor(n, grainSize, fn) }

// matmulF32Fast computes a float32 batched product with internal/asm's
// packed SGEMM when every matrix has a unit stride along one of its axes
// (row-major or transposed) and dst is row-major; it reports false, doing
// nothing, otherwise.
func matmulF32Fast(c []float32, cl backend.Layout, a []float32, al backend.Layout, b []float32, bl backend.Layout) bool {
	nb, m, k, n := al.Shape[0], al.Shape[1], al.Shape[2], bl.Shape[2]
	if fastOff.Load() || nb == 0 || m == 0 || n == 0 || k == 0 {
		return false
	}
	transA, lda, okA := gemmOperand(al.Strides[1], al.Strides[2], m, k)
	transB, ldb, okB := gemmOperand(bl.Strides[1], bl.Strides[2], k, n)
	if !okA || !okB || (cl.Strides[2] != 1 && n > 1) || (cl.Strides[1] < n && m > 1) {
		return false
	}
	ldc := max(cl.Strides[1], n)
	aB, bB, cB := al.Strides[0], bl.Strides[0], cl.Strides[0]
	// Large products parallelise inside SGEMM; a batch of small ones
	// parallelises across the batch. (No closure on the first path: a
	// training step makes hundreds of these calls.)
	if nb == 1 || m*n*k >= 128*128*128 {
		for p := 0; p < nb; p++ {
			asm.Sgemm(transA, transB, m, n, k, 1,
				a[al.Offset+p*aB:], lda, b[bl.Offset+p*bB:], ldb, 0, c[cl.Offset+p*cB:], ldc, sgemmPar)
		}
		return true
	}
	parallelFor(nb, 2*m*n*k/64+1, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			asm.Sgemm(transA, transB, m, n, k, 1,
				a[al.Offset+p*aB:], lda, b[bl.Offset+p*bB:], ldb, 0, c[cl.Offset+p*cB:], ldc, nil)
		}
	})
	return true
}

// gemmOperand describes a rows×cols matrix with strides (rs, cs) for SGEMM:
// row-major (cs == 1) or transposed storage (rs == 1), and its leading
// dimension. Axes of length 1 may have any stride.
func gemmOperand(rs, cs, rows, cols int) (trans bool, ld int, ok bool) {
	switch {
	case cs == 1 || cols == 1:
		if rows == 1 {
			return false, cols, true
		}
		return false, rs, rs >= cols
	case rs == 1 || rows == 1:
		return true, cs, cs >= rows
	}
	return false, 0, false
}
