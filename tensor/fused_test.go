package tensor_test

import (
	"math"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

func TestGELUGrad(t *testing.T) {
	g := tensor.NewGenerator(3)
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.BFloat16} {
		x := tensor.RandN(g, []int{7, 9}).MulScalar(3).Cast(dt)
		dy := tensor.RandN(g, []int{9, 7}).Cast(dt).T() // strided
		got := tensor.GELUGrad(dy, x)
		if got.DType() != dt {
			t.Fatalf("%v: result dtype %v", dt, got.DType())
		}
		xs, gs, out := x.Float64s(), dy.Float64s(), got.Float64s()
		for i, v := range xs {
			d := 0.5*math.Erfc(-v/math.Sqrt2) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
			want := gs[i] * d
			tol := 1e-6 * (1 + math.Abs(gs[i]))
			if dt == tensor.BFloat16 {
				tol = 1e-2 * (1 + math.Abs(want))
			}
			if math.Abs(out[i]-want) > tol {
				t.Fatalf("%v: [%d] x=%v g=%v: %v, want %v", dt, i, v, gs[i], out[i], want)
			}
		}
	}
	if e := mustPanic(t, func() { tensor.GELUGrad(tensor.Ones([]int{2}), tensor.Ones([]int{3})) }); e.Kind != tensor.ShapeError {
		t.Fatalf("shape mismatch: %v", e)
	}
}

func TestReLUGrad(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16} {
		x := tensor.FromSlice([]float64{-2, -0.0, 0, 1e-30, 3, nan, inf, -inf}, 2, 4).Cast(dt)
		g := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6, 7, 8}, 4, 2).Cast(dt).T().T().Reshape(2, 4)
		got := tensor.ReLUGrad(g, x).Float64s()
		want := []float64{0, 0, 0, 4, 5, 0, 7, 0}
		if dt == tensor.Float16 {
			want[3] = 0 // 1e-30 underflows to 0 in float16
		}
		checkClose(t, dt.String(), got, want, 0)
		// Strided operands take the general path.
		gt := tensor.FromSlice([]float64{1, 5, 2, 6, 3, 7, 4, 8}, 4, 2).Cast(dt).T()
		checkClose(t, dt.String()+" strided", tensor.ReLUGrad(gt, x).Float64s(), want, 0)
	}
}
