package cpu

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// Axpby implements backend.Axpby: dst = alpha·a + beta·b, in one pass, for
// Float32 and Float64. Optimizers use it for their in-place updates
// (p ← p − lr·buf, buf ← μ·buf + g), so dst may be exactly a or b.
func (*Backend) Axpby(dst backend.Buffer, dl backend.Layout, alpha float64, a backend.Buffer, al backend.Layout, beta float64, b backend.Buffer, bl backend.Layout) {
	d, x, y := fusedOperands("Axpby", dst, dl, a, al, b, bl)
	switch d.dt {
	case backend.Float32:
		al32, be32 := float32(alpha), float32(beta)
		if dv, av, bv, ok := contiguousF32(d, dl, x, al, y, bl); ok && axpbyFastF32(dv, al32, av, be32, bv) {
			return
		}
		ewMap2(d.F32, dl, x.F32, al, y.F32, bl, 2, func(d, a, b []float32) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = al32*a[i] + be32*b[i]
			}
		})
	case backend.Float64:
		ewMap2(d.F64, dl, x.F64, al, y.F64, bl, 2, func(d, a, b []float64) {
			a, b = a[:len(d)], b[:len(d)]
			for i := range d {
				d[i] = alpha*a[i] + beta*b[i]
			}
		})
	default:
		panic(fmt.Sprintf("cpu: Axpby on %v not supported", d.dt))
	}
}

// axpbyFastF32 does the contiguous float32 cases that map onto one or two
// vector kernels, reporting whether it handled d. Each element is still
// alpha·a + beta·b rounded as the reference rounds it when alpha or beta
// is 1 (one fused multiply-add may differ from the reference in the last
// bit otherwise, which TestFastAxpby allows for).
func axpbyFastF32(d []float32, alpha float32, a []float32, beta float32, b []float32) bool {
	n := len(d)
	if n == 0 {
		return true
	}
	same := func(u, v []float32) bool { return &u[0] == &v[0] }
	switch {
	case alpha == 1 && same(d, a): // d += beta·b
		asm.Axpy(beta, b, d)
	case beta == 1 && same(d, b): // d += alpha·a
		asm.Axpy(alpha, a, d)
	case same(d, a) && !same(d, b): // d = alpha·d, then += beta·b
		asm.MulScalar(d, d, alpha)
		asm.Axpy(beta, b, d)
	case same(d, b) && !same(d, a):
		asm.MulScalar(d, d, beta)
		asm.Axpy(alpha, a, d)
	case !same(d, a) && !same(d, b):
		asm.MulScalar(d, b, beta)
		asm.Axpy(alpha, a, d)
	default:
		return false
	}
	return true
}
