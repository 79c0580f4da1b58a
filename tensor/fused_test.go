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
