package asm

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Benchmarks of the vector kernels, each with the assembly ("asm") and
// its plain-Go twin ("go") side by side, at 1M and 16M elements (the
// second far outside any cache). SetBytes counts the bytes each call reads
// and writes, so the MB/s column is memory throughput. For example:
//
//	go test -run '^$' -bench 'Benchmark(Add|Exp|Sum)$' ./internal/asm/

var benchSizes = []int{1 << 20, 16 << 20}

func sizeName(n int) string { return strconv.Itoa(n>>20) + "M" }

// benchVec runs k on n-element data with the assembly on and off.
// bytesPerElem is the number of bytes k moves per element.
func benchVec(b *testing.B, bytesPerElem int, k func(n int) func()) {
	for _, n := range benchSizes {
		f := k(n)
		for _, mode := range []string{"asm", "go"} {
			b.Run(sizeName(n)+"/"+mode, func(b *testing.B) {
				if mode == "asm" && !HasAVX2FMA {
					b.Skip("no AVX2/FMA")
				}
				prev := SetAccelerated(mode == "asm")
				defer SetAccelerated(prev)
				b.SetBytes(int64(bytesPerElem * n))
				for b.Loop() {
					f()
				}
			})
		}
	}
}

func benchData(n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func benchBinary(b *testing.B, f func(dst, a, b []float32)) {
	benchVec(b, 12, func(n int) func() {
		x, y, d := benchData(n, 1), benchData(n, 1), make([]float32, n)
		return func() { f(d, x, y) }
	})
}

func benchUnary(b *testing.B, scale float64, f func(dst, x []float32)) {
	benchVec(b, 8, func(n int) func() {
		x, d := benchData(n, scale), make([]float32, n)
		return func() { f(d, x) }
	})
}

func BenchmarkAdd(b *testing.B) { benchBinary(b, Add) }
func BenchmarkMul(b *testing.B) { benchBinary(b, Mul) }
func BenchmarkDiv(b *testing.B) { benchBinary(b, Div) }
func BenchmarkMax(b *testing.B) { benchBinary(b, Max) }

func BenchmarkAxpy(b *testing.B) {
	benchVec(b, 12, func(n int) func() {
		x, y := benchData(n, 1), benchData(n, 1)
		return func() { Axpy(1e-9, x, y) }
	})
}

func BenchmarkMulScalar(b *testing.B) {
	benchUnary(b, 1, func(d, x []float32) { MulScalar(d, x, 1.5) })
}

func BenchmarkReLU(b *testing.B) { benchUnary(b, 1, ReLU) }
func BenchmarkExp(b *testing.B)  { benchUnary(b, 10, Exp) }
func BenchmarkLog(b *testing.B) {
	benchVec(b, 8, func(n int) func() {
		x, d := benchData(n, 10), make([]float32, n)
		for i, v := range x {
			x[i] = max(v, -v) // positive: no fast path for NaN
		}
		return func() { Log(d, x) }
	})
}
func BenchmarkTanh(b *testing.B)     { benchUnary(b, 3, Tanh) }
func BenchmarkSigmoid(b *testing.B)  { benchUnary(b, 3, Sigmoid) }
func BenchmarkGELUTanh(b *testing.B) { benchUnary(b, 3, GELUTanh) }

func BenchmarkSoftmaxRow(b *testing.B)    { benchUnary(b, 3, SoftmaxRow) }
func BenchmarkLogSoftmaxRow(b *testing.B) { benchUnary(b, 3, LogSoftmaxRow) }

var sink float32

func BenchmarkSum(b *testing.B) {
	benchVec(b, 4, func(n int) func() {
		x := benchData(n, 1)
		return func() { sink = Sum(x) }
	})
}

func BenchmarkDot(b *testing.B) {
	benchVec(b, 8, func(n int) func() {
		x, y := benchData(n, 1), benchData(n, 1)
		return func() { sink = Dot(x, y) }
	})
}

func BenchmarkReduceMax(b *testing.B) {
	benchVec(b, 4, func(n int) func() {
		x := benchData(n, 1)
		return func() { sink = ReduceMax(x) }
	})
}

func BenchmarkFloat32ToFloat16(b *testing.B) {
	benchVec(b, 6, func(n int) func() {
		x, d := benchData(n, 100), make([]uint16, n)
		return func() { Float32ToFloat16(d, x) }
	})
}

func BenchmarkFloat16ToFloat32(b *testing.B) {
	benchVec(b, 6, func(n int) func() {
		h, d := make([]uint16, n), make([]float32, n)
		Float32ToFloat16(h, benchData(n, 100))
		return func() { Float16ToFloat32(d, h) }
	})
}

func BenchmarkFloat32ToBFloat16(b *testing.B) {
	benchVec(b, 6, func(n int) func() {
		x, d := benchData(n, 100), make([]uint16, n)
		return func() { Float32ToBFloat16(d, x) }
	})
}

func BenchmarkBFloat16ToFloat32(b *testing.B) {
	benchVec(b, 6, func(n int) func() {
		h, d := make([]uint16, n), make([]float32, n)
		Float32ToBFloat16(h, benchData(n, 100))
		return func() { BFloat16ToFloat32(d, h) }
	})
}

func BenchmarkGELU(b *testing.B) { benchUnary(b, 3, GELU) }
