//go:build cuda

package cuda

import (
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
	"gorgonia.org/cu"
)

// The GPU benchmarks of issue 7 (scripts/gpu-check.sh runs them): an
// elementwise add over 256M float32 against a device-to-device copy of the
// same bytes, and float32 MatMul at n = 8192 against cuBLAS called
// directly. They need a real device.

func benchBackend(b *testing.B) *Backend {
	be := openOrSkip(b)
	if strings.Contains(be.name, "emulator") {
		b.Skip("the CPU emulator is not a GPU")
	}
	return be
}

func allocF32(b *testing.B, be *Backend, n int) *Buffer {
	x, err := be.Alloc(backend.Float32, n)
	if err != nil {
		b.Fatal(err)
	}
	return x.(*Buffer)
}

const n256M = 256 << 20

func BenchmarkAdd256M(b *testing.B) {
	be := benchBackend(b)
	x, y, z := allocF32(b, be, n256M), allocF32(b, be, n256M), allocF32(b, be, n256M)
	defer func() { be.Free(x); be.Free(y); be.Free(z) }()
	l := backend.Contiguous([]int{n256M})
	be.Fill(x, l, 1)
	be.Fill(y, l, 2)
	be.Binary(backend.OpAdd, z, l, x, l, y, l)
	be.Synchronize()
	b.SetBytes(3 * 4 * n256M)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Binary(backend.OpAdd, z, l, x, l, y, l)
	}
	if err := be.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(3*4*n256M*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

func BenchmarkCopyD2D256M(b *testing.B) {
	be := benchBackend(b)
	x, y := allocF32(b, be, n256M), allocF32(b, be, n256M)
	defer func() { be.Free(x); be.Free(y) }()
	cp := func() error {
		return be.with(func() error {
			return cu.MemcpyDtoDAsync(cu.DevicePtr(y.addr(0)), cu.DevicePtr(x.addr(0)), 4*n256M, be.stream)
		})
	}
	if err := cp(); err != nil {
		b.Fatal(err)
	}
	be.Synchronize()
	b.SetBytes(2 * 4 * n256M)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := cp(); err != nil {
			b.Fatal(err)
		}
	}
	if err := be.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(2*4*n256M*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkCopyKernel256M is Tessera's own copy kernel on the same bytes.
func BenchmarkCopyKernel256M(b *testing.B) {
	be := benchBackend(b)
	x, y := allocF32(b, be, n256M), allocF32(b, be, n256M)
	defer func() { be.Free(x); be.Free(y) }()
	l := backend.Contiguous([]int{n256M})
	be.Copy(y, l, x, l)
	be.Synchronize()
	b.SetBytes(2 * 4 * n256M)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Copy(y, l, x, l)
	}
	if err := be.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(2*4*n256M*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

const gemmN = 8192

func benchGemm(b *testing.B, run func(be *Backend, x, y, z *Buffer)) {
	be := benchBackend(b)
	x, y, z := allocF32(b, be, gemmN*gemmN), allocF32(b, be, gemmN*gemmN), allocF32(b, be, gemmN*gemmN)
	defer func() { be.Free(x); be.Free(y); be.Free(z) }()
	l := backend.Contiguous([]int{gemmN * gemmN})
	be.Fill(x, l, 0.5)
	be.Fill(y, l, 0.25)
	run(be, x, y, z)
	be.Synchronize()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run(be, x, y, z)
	}
	if err := be.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(2*gemmN*gemmN*gemmN*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
}

func BenchmarkSGEMM8192(b *testing.B) {
	l := backend.Contiguous([]int{1, gemmN, gemmN})
	benchGemm(b, func(be *Backend, x, y, z *Buffer) { be.MatMul(z, l, x, l, y, l) })
}

func BenchmarkSGEMM8192cuBLAS(b *testing.B) {
	benchGemm(b, func(be *Backend, x, y, z *Buffer) {
		if err := be.rawSgemm(gemmN, x, y, z); err != nil {
			b.Skip(err)
		}
	})
}

// BenchmarkSGEMM8192Own is the tiled fallback kernel, for information.
func BenchmarkSGEMM8192Own(b *testing.B) {
	l := backend.Contiguous([]int{1, gemmN, gemmN})
	benchGemm(b, func(be *Backend, x, y, z *Buffer) { be.gemm(z, l, x, l, y, l) })
}
