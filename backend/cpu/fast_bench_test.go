package cpu

// Benchmarks of the fast paths against the reference kernels, in one run:
// every benchmark has the sub-benchmarks "ref" (SetFastPaths(false)) and
// "fast". go test -run '^$' -bench BenchmarkFast -count 5 ./backend/cpu/

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// fastBench runs fn under "ref" and "fast" sub-benchmarks.
func fastBench(b *testing.B, fn func()) {
	for _, on := range []bool{false, true} {
		name := "ref"
		if on {
			name = "fast"
		}
		b.Run(name, func(b *testing.B) {
			prev := SetFastPaths(on)
			defer SetFastPaths(prev)
			for b.Loop() {
				fn()
			}
		})
	}
}

func BenchmarkFastSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, g := range [][2]int{{4096, 64}, {64, 10}} {
		for _, log := range []bool{false, true} {
			rows, cols := g[0], g[1]
			l := backend.Contiguous([]int{rows, cols})
			src, dst := fastVals(r, rows*cols, 3, false), NewBuffer(backend.Float32, rows*cols)
			b.Run(fmt.Sprintf("rows=%d/cols=%d/log=%v", rows, cols, log), func(b *testing.B) {
				fastBench(b, func() { Default.Softmax(dst, l, src, l, 1, log) })
			})
		}
	}
}

func BenchmarkFastReduce(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	const rows, cols = 256, 512
	sl := backend.Contiguous([]int{rows, cols})
	src := fastVals(r, rows*cols, 1, false)
	for _, op := range []backend.Op{backend.OpSum, backend.OpMax} {
		for axis := range 2 {
			dshape := []int{rows, cols}
			dshape[axis] = 1
			dl := backend.Contiguous(dshape)
			dst := NewBuffer(backend.Float32, dl.Size())
			b.Run(fmt.Sprintf("%v/[256,512]/axis=%d", op, axis), func(b *testing.B) {
				fastBench(b, func() { Default.Reduce(op, dst, dl, src, sl, []int{axis}) })
			})
		}
	}
	// A bias gradient of a convolution: [N, C, H·W] summed over N and H·W.
	cl := backend.Contiguous([]int{32, 64, 196})
	conv := fastVals(r, cl.Size(), 1, false)
	dl := backend.Contiguous([]int{1, 64, 1})
	dst := NewBuffer(backend.Float32, 64)
	b.Run("Sum/[32,64,196]/axes=0,2", func(b *testing.B) {
		fastBench(b, func() { Default.Reduce(backend.OpSum, dst, dl, conv, cl, []int{0, 2}) })
	})
	// A weight gradient summed over the batch from a transposed product:
	// src [32, 128, 512] read as [32, 512, 128], into a contiguous [512, 128].
	tl := backend.Layout{Shape: []int{32, 512, 128}, Strides: []int{512 * 128, 1, 512}}
	wsrc := fastVals(r, 32*512*128, 1, false)
	wl := backend.Contiguous([]int{1, 512, 128})
	wdst := NewBuffer(backend.Float32, 512*128)
	b.Run("Sum/[32,512,128]ᵀ/axis=0", func(b *testing.B) {
		fastBench(b, func() { Default.Reduce(backend.OpSum, wdst, wl, wsrc, tl, []int{0}) })
	})
}

func BenchmarkFastCopy(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const n = 1 << 20
	l := backend.Contiguous([]int{n})
	mask := fastRandBuf(r, backend.Bool, n)
	f32 := NewBuffer(backend.Float32, n)
	b.Run("bool→f32/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Copy(f32, l, mask, l) }) })
	half := fastRandBuf(r, backend.Float16, n)
	for i := range half.U16 {
		half.U16[i] &= 0x7bff // finite
	}
	b.Run("f16→f32/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Copy(f32, l, half, l) }) })
	b.Run("f32→bf16/n=1M", func(b *testing.B) {
		bf := NewBuffer(backend.BFloat16, n)
		fastBench(b, func() { Default.Copy(bf, l, f32, l) })
	})
	const m = 512
	src := fastVals(r, m*m, 1, false)
	dst := NewBuffer(backend.Float32, m*m)
	tl := backend.Layout{Shape: []int{m, m}, Strides: []int{1, m}}
	b.Run("transpose/512x512", func(b *testing.B) {
		fastBench(b, func() { Default.Copy(dst, backend.Contiguous([]int{m, m}), src, tl) })
	})
	bl := backend.Layout{Shape: []int{m, m}, Strides: []int{1, 0}}
	b.Run("broadcast-column/512x512", func(b *testing.B) {
		fastBench(b, func() { Default.Copy(dst, backend.Contiguous([]int{m, m}), src, bl) })
	})
}

// im2col through IndexSelect and col2im through ScatterAdd, for a 3×3
// convolution of 8×16 planes of 28×28 (padding 1: a padding element at
// 784), as nn's Conv2d does.
func BenchmarkFastIndex(b *testing.B) {
	const n, c, h, w, k = 8, 16, 28, 28, 3
	hw, kl := h*w, k*k*h*w
	idx := NewBuffer(backend.Int64, kl)
	for ki := range k {
		for kj := range k {
			for oh := range h {
				for ow := range w {
					y, x := oh-1+ki, ow-1+kj
					v := int64(hw)
					if y >= 0 && y < h && x >= 0 && x < w {
						v = int64(y*w + x)
					}
					idx.I64[((ki*k+kj)*h+oh)*w+ow] = v
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(4, 4))
	sl := backend.Contiguous([]int{n, c, hw + 1})
	src := fastVals(r, sl.Size(), 1, false)
	cl := backend.Contiguous([]int{n, c, kl})
	cols := NewBuffer(backend.Float32, cl.Size())
	il := backend.Contiguous([]int{kl})
	b.Run("IndexSelect/im2col", func(b *testing.B) {
		fastBench(b, func() {
			if err := Default.IndexSelect(cols, cl, src, sl, idx, il, 2); err != nil {
				b.Fatal(err)
			}
		})
	})
	el := backend.Layout{Shape: []int{n, c, kl}, Strides: []int{0, 0, 1}}
	b.Run("ScatterAdd/col2im", func(b *testing.B) {
		fastBench(b, func() {
			if err := Default.ScatterAdd(src, sl, idx, el, cols, cl, 2); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkFastElementwise(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	const n = 1 << 20
	l := backend.Contiguous([]int{n})
	sc := backend.Layout{Shape: []int{n}, Strides: []int{0}}
	x := fastVals(r, n, 2, false)
	y := NewBuffer(backend.Float32, n)
	s := &Buffer{dt: backend.Float32, F32: []float32{0.5}}
	mask := NewBuffer(backend.Bool, n)
	b.Run("MulScalar/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Binary(backend.OpMul, y, l, x, l, s, sc) }) })
	b.Run("RSubScalar/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Binary(backend.OpSub, y, l, s, sc, x, l) }) })
	b.Run("GtScalar/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Binary(backend.OpGt, mask, l, x, l, s, sc) }) })
	Default.Binary(backend.OpGt, mask, l, x, l, s, sc)
	b.Run("Where-scalar/n=1M", func(b *testing.B) { fastBench(b, func() { Default.Where(y, l, mask, l, x, l, s, sc) }) })
	for _, op := range []backend.Op{backend.OpGELU, backend.OpGELUTanh, backend.OpSiLU} {
		b.Run(fmt.Sprintf("%v/n=1M", op), func(b *testing.B) { fastBench(b, func() { Default.Unary(op, y, l, x, l) }) })
	}
}
