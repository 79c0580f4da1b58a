package tensor_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// refMatMul multiplies row-major matrices [m,k]·[k,n].
func refMatMul(a, b []float64, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			out[i*n+j] = s
		}
	}
	return out
}

func TestMatMulShapes(t *testing.T) {
	cases := []struct{ a, b, out []int }{
		{[]int{3}, []int{3}, []int{}},
		{[]int{2, 3}, []int{3}, []int{2}},
		{[]int{3}, []int{3, 4}, []int{4}},
		{[]int{2, 3}, []int{3, 4}, []int{2, 4}},
		{[]int{5, 2, 3}, []int{3, 4}, []int{5, 2, 4}},
		{[]int{2, 1, 3, 4}, []int{5, 4, 2}, []int{2, 5, 3, 2}},
		{[]int{4}, []int{2, 4, 3}, []int{2, 3}},
		{[]int{2, 2, 4}, []int{4}, []int{2, 2}},
		{[]int{0, 3}, []int{3, 2}, []int{0, 2}},
		{[]int{2, 0}, []int{0, 3}, []int{2, 3}},
	}
	g := tensor.NewGenerator(7)
	for _, c := range cases {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int64, tensor.BFloat16} {
			a := makeInput(t, g, "contiguous", c.a, dt)
			b := makeInput(t, g, "contiguous", c.b, dt)
			got := a.MatMul(b)
			name := fmt.Sprintf("%v@%v/%v", c.a, c.b, dt)
			checkShape(t, name, got, c.out)
			if got.DType() != dt {
				t.Fatalf("%s: dtype %v", name, got.DType())
			}
			// Reference: broadcast to explicit batches, then per-matrix products.
			a2, b2 := a, b
			if a2.Dim() == 1 {
				a2 = a2.Unsqueeze(0)
			}
			if b2.Dim() == 1 {
				b2 = b2.Unsqueeze(1)
			}
			m, k, n := a2.Size(-2), a2.Size(-1), b2.Size(-1)
			batch, _ := tensor.BroadcastShapes(a2.Shape()[:a2.Dim()-2], b2.Shape()[:b2.Dim()-2])
			av := rowMajor(a2.Expand(append(slices.Clone(batch), m, k)...))
			bv := rowMajor(b2.Expand(append(slices.Clone(batch), k, n)...))
			nb := 1
			for _, d := range batch {
				nb *= d
			}
			var want []float64
			for p := 0; p < nb; p++ {
				want = append(want, refMatMul(av[p*m*k:(p+1)*m*k], bv[p*k*n:(p+1)*k*n], m, k, n)...)
			}
			wantT := tensor.FromSlice(want, got.Shape()...).Cast(dt)
			tol := tolFor(dt) * 10
			checkClose(t, name, rowMajor(got), rowMajor(wantT), tol)
		}
	}
}

func TestMatMulLayouts(t *testing.T) {
	g := tensor.NewGenerator(8)
	for _, ka := range layoutKinds {
		for _, kb := range layoutKinds {
			a := makeInput(t, g, ka, []int{3, 6, 5}, tensor.Float64)
			b := makeInput(t, g, kb, []int{3, 5, 4}, tensor.Float64)
			got := a.MatMul(b)
			av, bv := rowMajor(a), rowMajor(b)
			var want []float64
			for p := 0; p < 3; p++ {
				want = append(want, refMatMul(av[p*30:(p+1)*30], bv[p*20:(p+1)*20], 6, 5, 4)...)
			}
			checkClose(t, ka+"@"+kb, rowMajor(got), want, 1e-12)
		}
	}
	// A transposed weight, as a Linear layer uses it.
	x := tensor.RandN(g, []int{8, 16})
	w := tensor.RandN(g, []int{32, 16})
	got := x.MatMul(w.T())
	want := refMatMul(rowMajor(x), rowMajor(w.T().Contiguous()), 8, 16, 32)
	checkClose(t, "x@w.T", got.Float64s(), want, 1e-5)
}

func TestMatMulErrors(t *testing.T) {
	e := mustPanic(t, func() { tensor.Zeros([]int{2, 3}).MatMul(tensor.Zeros([]int{4, 5})) })
	if want := "tensor.MatMul: [2 3] @ [4 5]: inner dimensions 3 and 4 differ"; e.Error() != want {
		t.Fatalf("error %q, want %q", e.Error(), want)
	}
	if e.Kind != tensor.ShapeError {
		t.Fatalf("kind %v", e.Kind)
	}
	e = mustPanic(t, func() { tensor.Zeros([]int{2, 2, 3}).MatMul(tensor.Zeros([]int{3, 3, 4})) })
	if !strings.Contains(e.Error(), "batch") {
		t.Fatalf("error %q does not mention batch dims", e)
	}
	mustPanic(t, func() { tensor.Scalar(1).MatMul(tensor.Zeros([]int{1})) })
}
