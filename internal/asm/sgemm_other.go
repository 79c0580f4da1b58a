//go:build purego || !amd64

package asm

import "unsafe"

// sgemmKernel6x16 stands in for the assembly micro-kernel where there is
// none; Sgemm does not call it there (Accelerated is false), but it keeps the
// driver one piece of code. It is the plain-Go twin on the same memory, and
// so are the packers below.
func sgemmKernel6x16(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	kk := max(k, 1) // with k == 0 the twin reads nothing, but the slices need a length
	la := (sgemmMR-1)*rsa + (kk-1)*csa + 1
	lb := (kk-1)*rsb + sgemmNR
	lc := (sgemmMR-1)*ldc + sgemmNR
	sgemmKernelGo(sgemmMR, k, unsafe.Slice(a, la), rsa, csa, unsafe.Slice(b, lb), rsb, unsafe.Slice(c, lc), ldc, alpha, beta)
}

// sgemmKernel12x16AVX512 stands in for the AVX-512 micro-kernel, as
// sgemmKernel6x16 does; so do the 8- and 4-row kernels.
func sgemmKernel12x16AVX512(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	sgemmKernelRows(sgemmMR512, k, a, rsa, csa, b, rsb, c, ldc, alpha, beta)
}

func sgemmKernel8x16AVX512(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	sgemmKernelRows(8, k, a, rsa, csa, b, rsb, c, ldc, alpha, beta)
}

func sgemmKernel4x16AVX512(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	sgemmKernelRows(4, k, a, rsa, csa, b, rsb, c, ldc, alpha, beta)
}

func sgemmKernelRows(mr, k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	kk := max(k, 1)
	la := (mr-1)*rsa + (kk-1)*csa + 1
	lb := (kk-1)*rsb + sgemmNR
	lc := (mr-1)*ldc + sgemmNR
	sgemmKernelGo(mr, k, unsafe.Slice(a, la), rsa, csa, unsafe.Slice(b, lb), rsb, unsafe.Slice(c, lc), ldc, alpha, beta)
}

// sgemmPackBN stands in for the assembly packer, as sgemmKernel6x16 does.
func sgemmPackBN(kb int, b *float32, ldb int, dst *float32) {
	if kb > 0 {
		sgemmPackBNGo(kb, unsafe.Slice(b, (kb-1)*ldb+sgemmNR), ldb, unsafe.Slice(dst, kb*sgemmNR))
	}
}

// sgemmPackBT stands in for the assembly packer, as sgemmKernel6x16 does.
func sgemmPackBT(kb int, b *float32, ldb int, dst *float32) {
	if kb > 0 {
		sgemmPackBTGo(kb, unsafe.Slice(b, (sgemmNR-1)*ldb+kb), ldb, unsafe.Slice(dst, kb*sgemmNR))
	}
}
