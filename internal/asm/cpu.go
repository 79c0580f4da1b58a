// Package asm holds Tessera's SIMD kernels: AVX2/FMA assembly for amd64,
// generated from Go by the avo programs under _asm/, each with a plain-Go
// twin that is both its reference in tests and the fallback under the
// purego build tag and on other architectures.
//
// CPU features are read once, here, with github.com/klauspost/cpuid/v2.
// SetAccelerated lets tests force the fallback so both paths are exercised
// on one machine.
package asm

import (
	"os"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// Features of the running CPU that the kernels use.
var (
	HasAVX2FMA = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) && haveAsm
	HasF16C    = cpuid.CPU.Supports(cpuid.AVX2, cpuid.F16C) && haveAsm
	// HasAVX512 reports AVX-512F (with OS support for its registers), which
	// SGEMM's wider micro-kernel uses: on cores with full-width 512-bit FMA
	// units (Zen 4/5, Intel server cores) it doubles the FMA throughput.
	HasAVX512 = HasAVX2FMA && cpuid.CPU.Supports(cpuid.AVX512F)
)

var accel, avx512 atomic.Bool

func init() {
	accel.Store(HasAVX2FMA)
	// TESSERA_NO_AVX512=1 keeps SGEMM on its AVX2 kernel: for CPUs that
	// lower their clock for 512-bit code, and for comparisons.
	avx512.Store(HasAVX512 && os.Getenv("TESSERA_NO_AVX512") != "1")
}

// Accelerated reports whether the assembly kernels are in use.
func Accelerated() bool { return accel.Load() }

// SetAccelerated switches the assembly kernels on or off (on only where the
// CPU supports them) and returns the previous setting. Tests use it to run
// the plain-Go fallbacks; it is not meant to be flipped while kernels run.
func SetAccelerated(on bool) (previous bool) {
	return accel.Swap(on && HasAVX2FMA)
}

// SetAVX512 switches the AVX-512 kernels (SGEMM's micro-kernel, Exp) on or
// off (on only where the CPU supports them) and returns the previous
// setting; off, the AVX2 kernels run. Like SetAccelerated it is for tests
// and benchmarks.
func SetAVX512(on bool) (previous bool) {
	return avx512.Swap(on && HasAVX512)
}

// UsingAVX512 reports whether the AVX-512 kernels are in use.
func UsingAVX512() bool { return avx512.Load() && accel.Load() }

// CacheSizes returns the per-core L1 data and L2 cache sizes and the shared
// L3 size in bytes, with conservative defaults where the CPU does not say.
func CacheSizes() (l1d, l2, l3 int) {
	l1d, l2, l3 = cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3
	if l1d <= 0 {
		l1d = 32 << 10
	}
	if l2 <= 0 {
		l2 = 256 << 10
	}
	if l3 <= 0 {
		l3 = 8 << 20
	}
	return l1d, l2, l3
}
