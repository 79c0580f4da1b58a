package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// The package's kernel tests check the plain-Go reference kernels, which
// round correctly; TestFast* then compare the internal/asm fast paths with
// them.
func TestMain(m *testing.M) {
	SetFastPaths(false)
	os.Exit(m.Run())
}

// fastLayouts are the layouts the fast paths see: contiguous, transposed,
// offset with gaps, and broadcast (stride 0).
func fastLayouts(rows, cols int) map[string]backend.Layout {
	return map[string]backend.Layout{
		"contiguous": {Shape: []int{rows, cols}, Strides: []int{cols, 1}},
		"transposed": {Shape: []int{rows, cols}, Strides: []int{1, rows}},
		"strided":    {Shape: []int{rows, cols}, Strides: []int{2*cols + 3, 2}, Offset: 5},
		"broadcast":  {Shape: []int{rows, cols}, Strides: []int{0, 1}, Offset: 1},
	}
}

func fastRandom(r *rand.Rand, n int, scale float64) *Buffer {
	b := NewBuffer(backend.Float32, n)
	for i := range b.F32 {
		b.F32[i] = float32(scale * r.NormFloat64())
	}
	return b
}

// ulpDiff counts the float32 values between a and b (0 when equal, both NaN
// counts as equal).
func ulpDiff(a, b float32) float64 {
	if a == b || (a != a && b != b) {
		return 0
	}
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || a != a || b != b {
		return math.Inf(1)
	}
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	return math.Abs(float64(ia - ib))
}

func withFast(on bool, f func()) {
	prev := SetFastPaths(on)
	defer SetFastPaths(prev)
	f()
}

func TestFastElementwiseMatchesReference(t *testing.T) {
	be := Default
	r := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 37, 301 // > grainSize in total, odd tails
	span := 2*(2*cols+3)*rows + 8
	for _, op := range []backend.Op{backend.OpExp, backend.OpLog, backend.OpTanh, backend.OpSigmoid, backend.OpReLU} {
		for name, sl := range fastLayouts(rows, cols) {
			src := fastRandom(r, span, 3)
			if op == backend.OpLog {
				for i := range src.F32 {
					src.F32[i] = float32(math.Abs(float64(src.F32[i])))
				}
			}
			dl := backend.Contiguous([]int{rows, cols})
			want, got := NewBuffer(backend.Float32, rows*cols), NewBuffer(backend.Float32, rows*cols)
			withFast(false, func() { be.Unary(op, want, dl, src, sl) })
			withFast(true, func() { be.Unary(op, got, dl, src, sl) })
			for i := range want.F32 {
				if d := ulpDiff(got.F32[i], want.F32[i]); d > 2 {
					t.Fatalf("%v/%s element %d: fast %v, reference %v (%v ulp)", op, name, i, got.F32[i], want.F32[i], d)
				}
			}
		}
	}
	for _, op := range []backend.Op{backend.OpAdd, backend.OpSub, backend.OpMul, backend.OpDiv, backend.OpMaximum, backend.OpMinimum} {
		for name, al := range fastLayouts(rows, cols) {
			a, b := fastRandom(r, span, 1), fastRandom(r, span, 1)
			a.F32[7], b.F32[9] = float32(math.NaN()), float32(math.Inf(1))
			bl := backend.Layout{Shape: []int{rows, cols}, Strides: []int{1, 0}} // a column broadcast
			dl := backend.Contiguous([]int{rows, cols})
			want, got := NewBuffer(backend.Float32, rows*cols), NewBuffer(backend.Float32, rows*cols)
			withFast(false, func() { be.Binary(op, want, dl, a, al, b, bl) })
			withFast(true, func() { be.Binary(op, got, dl, a, al, b, bl) })
			for i := range want.F32 {
				if ulpDiff(got.F32[i], want.F32[i]) != 0 {
					t.Fatalf("%v/%s element %d: fast %v, reference %v", op, name, i, got.F32[i], want.F32[i])
				}
			}
		}
	}
}

func TestFastMatMulMatchesReference(t *testing.T) {
	be := Default
	r := rand.New(rand.NewPCG(3, 4))
	type geo struct{ nb, m, k, n int }
	for _, g := range []geo{{1, 1, 1, 1}, {1, 7, 5, 3}, {3, 33, 17, 65}, {2, 130, 140, 150}, {1, 64, 1, 64}, {4, 1, 9, 1}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, bcast := range []bool{false, true} {
					name := fmt.Sprintf("%v/ta=%v/tb=%v/bcast=%v", g, ta, tb, bcast)
					a := fastRandom(r, g.nb*g.m*g.k+3, 1)
					b := fastRandom(r, g.nb*g.k*g.n+3, 1)
					al := backend.Layout{Shape: []int{g.nb, g.m, g.k}, Strides: []int{g.m * g.k, g.k, 1}, Offset: 3}
					if ta {
						al.Strides = []int{g.m * g.k, 1, g.m}
					}
					bl := backend.Layout{Shape: []int{g.nb, g.k, g.n}, Strides: []int{g.k * g.n, g.n, 1}, Offset: 2}
					if tb {
						bl.Strides = []int{g.k * g.n, 1, g.k}
					}
					if bcast {
						bl.Strides[0] = 0
					}
					dl := backend.Contiguous([]int{g.nb, g.m, g.n})
					want := NewBuffer(backend.Float32, g.nb*g.m*g.n)
					got := NewBuffer(backend.Float32, g.nb*g.m*g.n)
					withFast(false, func() { be.MatMul(want, dl, a, al, b, bl) })
					withFast(true, func() {
						if !matmulF32Fast(got.F32, dl, a.F32, al, b.F32, bl) {
							t.Fatalf("%s: the SGEMM path declined a unit-stride layout", name)
						}
					})
					tol := 1e-5 * math.Sqrt(float64(g.k)) * 4
					for i := range want.F32 {
						if d := math.Abs(float64(got.F32[i] - want.F32[i])); d > tol*math.Max(1, math.Abs(float64(want.F32[i]))) {
							t.Fatalf("%s element %d: fast %v, reference %v", name, i, got.F32[i], want.F32[i])
						}
					}
				}
			}
		}
	}
}
