package tensor_test

import (
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// layoutKinds are the ways a test builds an input of a given shape, so that
// each op is checked on every kind of layout a kernel can receive.
var layoutKinds = []string{"contiguous", "transposed", "sliced", "broadcast"}

// makeInput returns a tensor of shape and dtype whose values come from g,
// laid out as kind says: contiguous; a transposed view; a stepped slice with
// an offset into a larger buffer; or a stride-0 expansion of a smaller one.
func makeInput(t testing.TB, g *tensor.Generator, kind string, shape []int, dt tensor.DType) *tensor.Tensor {
	t.Helper()
	base := func(s []int) *tensor.Tensor {
		x := tensor.RandN(g, s, tensor.WithDType(tensor.Float64))
		switch {
		case dt == tensor.Bool:
			return x.GtScalar(0)
		case dt.IsInt():
			return x.MulScalar(5).Floor().Cast(dt)
		}
		return x.Cast(dt)
	}
	n := len(shape)
	switch kind {
	case "transposed":
		if n < 2 {
			return base(shape)
		}
		s := slices.Clone(shape)
		s[0], s[n-1] = s[n-1], s[0]
		return base(s).Transpose(0, n-1)
	case "sliced":
		if n == 0 {
			return base(shape)
		}
		s := slices.Clone(shape)
		s[n-1] = 2*shape[n-1] + 1
		s[0] += 1
		x := base(s).Slice(n-1, 1, s[n-1], 2)
		return x.Narrow(0, 1, shape[0])
	case "broadcast":
		if n == 0 {
			return base(shape)
		}
		s := slices.Clone(shape)
		s[0] = 1
		return base(s).Expand(shape...)
	}
	return base(shape)
}

// rowMajor returns the elements of x in row-major order, computed with
// At (index arithmetic independent of the kernels).
func rowMajor(x *tensor.Tensor) []float64 {
	shape := x.Shape()
	n := 1
	for _, d := range shape {
		n *= d
	}
	out := make([]float64, 0, n)
	idx := make([]int, len(shape))
	for i := 0; i < n; i++ {
		out = append(out, x.At(idx...))
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// tolFor is the accepted error of a float result computed in dt.
func tolFor(dt tensor.DType) float64 {
	switch dt {
	case tensor.Float64:
		return 1e-12
	case tensor.Float16:
		return 2e-3
	case tensor.BFloat16:
		return 1.6e-2
	}
	return 2e-6
}

func close(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func checkClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !close(got[i], want[i], tol) {
			t.Fatalf("%s: element %d = %v, want %v (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

func checkShape(t *testing.T, what string, x *tensor.Tensor, want []int) {
	t.Helper()
	if !slices.Equal(x.Shape(), want) && !(len(want) == 0 && x.Dim() == 0) {
		t.Fatalf("%s: shape %v, want %v", what, x.Shape(), want)
	}
}

// mustPanic runs f and returns the *tensor.Error it panicked with.
func mustPanic(t *testing.T, f func()) *tensor.Error {
	t.Helper()
	err := tensor.Try(f)
	if err == nil {
		t.Fatalf("expected a panic with *tensor.Error")
	}
	return err.(*tensor.Error)
}
