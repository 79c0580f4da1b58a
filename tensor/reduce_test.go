package tensor_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// refReduce reduces row-major values of shape over axes with f, starting each
// output from init, and returns the keepdim shape and the results.
func refReduce(vals []float64, shape, axes []int, init float64, f func(acc, x float64) float64) ([]int, []float64) {
	ks := slices.Clone(shape)
	for _, a := range axes {
		ks[a] = 1
	}
	n := 1
	for _, d := range ks {
		n *= d
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = init
	}
	idx := make([]int, len(shape))
	for _, v := range vals {
		k, stride := 0, 1
		for d := len(shape) - 1; d >= 0; d-- {
			i := idx[d]
			if ks[d] == 1 {
				i = 0
			}
			k += i * stride
			stride *= ks[d]
		}
		out[k] = f(out[k], v)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return ks, out
}

func nanMax(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return math.Max(a, b)
}

func nanMin(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return math.Min(a, b)
}

func TestReductionsAgainstReference(t *testing.T) {
	g := tensor.NewGenerator(4)
	shape := []int{3, 4, 5}
	axesSets := [][]int{nil, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}}
	type red struct {
		name string
		f    func(x *tensor.Tensor, keep bool, axes []int) *tensor.Tensor
		init float64
		acc  func(a, b float64) float64
	}
	reds := []red{
		{"Sum", func(x *tensor.Tensor, k bool, a []int) *tensor.Tensor {
			if k {
				return x.SumKeep(a...)
			}
			return x.Sum(a...)
		}, 0, func(a, b float64) float64 { return a + b }},
		{"Prod", func(x *tensor.Tensor, k bool, a []int) *tensor.Tensor {
			if k {
				return x.ProdKeep(a...)
			}
			return x.Prod(a...)
		}, 1, func(a, b float64) float64 { return a * b }},
		{"Max", func(x *tensor.Tensor, k bool, a []int) *tensor.Tensor {
			if k {
				return x.MaxKeep(a...)
			}
			return x.Max(a...)
		}, math.Inf(-1), nanMax},
		{"Min", func(x *tensor.Tensor, k bool, a []int) *tensor.Tensor {
			if k {
				return x.MinKeep(a...)
			}
			return x.Min(a...)
		}, math.Inf(1), nanMin},
	}
	for _, r := range reds {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64, tensor.Float16} {
			for _, kind := range layoutKinds {
				for _, axes := range axesSets {
					for _, keep := range []bool{false, true} {
						name := fmt.Sprintf("%s/%v/%s/%v/keep=%v", r.name, dt, kind, axes, keep)
						x := makeInput(t, g, kind, shape, dt)
						if r.name == "Prod" && dt.IsFloat() {
							x = x.MulScalar(0.5).Exp() // keep products moderate
						}
						if r.name == "Prod" && !dt.IsFloat() {
							x = x.Clamp(-1, 2) // keep integer products inside int64
						}
						got := r.f(x, keep, axes)
						norm := make([]int, 0, len(axes))
						for _, a := range axes {
							norm = append(norm, (a+3)%3)
						}
						if axes == nil {
							norm = []int{0, 1, 2}
						}
						ks, want := refReduce(rowMajor(x), shape, norm, r.init, r.acc)
						wantShape := ks
						if !keep {
							wantShape = nil
							for i, d := range ks {
								if !slices.Contains(norm, i) {
									wantShape = append(wantShape, d)
								}
							}
						}
						checkShape(t, name, got, wantShape)
						wantDT := dt
						if (r.name == "Sum" || r.name == "Prod") && dt.IsInt() {
							wantDT = tensor.Int64
						}
						if got.DType() != wantDT {
							t.Fatalf("%s: dtype %v, want %v", name, got.DType(), wantDT)
						}
						wantT := tensor.FromSlice(want, ks...).Cast(wantDT)
						tol := tolFor(dt) * 4
						checkClose(t, name, rowMajor(got), rowMajor(wantT), tol)
					}
				}
			}
		}
	}
}

func TestMeanVarStdLogSumExp(t *testing.T) {
	g := tensor.NewGenerator(5)
	for _, kind := range layoutKinds {
		x := makeInput(t, g, kind, []int{4, 6}, tensor.Float64)
		v := rowMajor(x)
		for _, axis := range []int{0, 1} {
			_, sum := refReduce(v, []int{4, 6}, []int{axis}, 0, func(a, b float64) float64 { return a + b })
			n := float64([]int{4, 6}[axis])
			mean := make([]float64, len(sum))
			for i := range sum {
				mean[i] = sum[i] / n
			}
			checkClose(t, "Mean/"+kind, x.Mean(axis).Float64s(), mean, 1e-12)
			// Variance from its definition.
			varr := make([]float64, len(sum))
			lse := make([]float64, len(sum))
			for i := range varr {
				var ss, se float64
				for j := 0; j < int(n); j++ {
					var e float64
					if axis == 0 {
						e = v[j*6+i]
					} else {
						e = v[i*6+j]
					}
					ss += (e - mean[i]) * (e - mean[i])
					se += math.Exp(e)
				}
				varr[i] = ss / (n - 1)
				lse[i] = math.Log(se)
			}
			checkClose(t, "Var/"+kind, x.Var(axis).Float64s(), varr, 1e-12)
			std := make([]float64, len(varr))
			for i := range varr {
				std[i] = math.Sqrt(varr[i])
			}
			checkClose(t, "Std/"+kind, x.Std(axis).Float64s(), std, 1e-12)
			checkClose(t, "LogSumExp/"+kind, x.LogSumExp(axis).Float64s(), lse, 1e-12)
		}
	}
	// Stability: logsumexp of large values does not overflow.
	big := tensor.FromSlice([]float32{1000, 1000})
	if got := big.LogSumExp().Item(); math.Abs(got-(1000+math.Log(2))) > 1e-3 {
		t.Fatalf("LogSumExp(1000, 1000) = %v", got)
	}
	inf := tensor.FromSlice([]float64{math.Inf(-1), math.Inf(-1)})
	if got := inf.LogSumExp().Item(); !math.IsInf(got, -1) {
		t.Fatalf("LogSumExp(-inf, -inf) = %v, want -inf", got)
	}
	if got := tensor.FromSlice([]int64{1, 2}).Mean(); got.DType() != tensor.Float32 || got.Item() != 1.5 {
		t.Fatalf("Mean of ints = %v (%v)", got.Item(), got.DType())
	}
	if got := tensor.Zeros([]int{0}).Sum().Item(); got != 0 {
		t.Fatalf("empty sum = %v", got)
	}
	if got := tensor.Zeros([]int{0}).Prod().Item(); got != 1 {
		t.Fatalf("empty prod = %v", got)
	}
	mustPanic(t, func() { tensor.Zeros([]int{0, 2}).Max(0) })
}

func TestArgMaxArgMin(t *testing.T) {
	x := tensor.FromSlice([]float32{1, 5, 5, 0, 2, 0}, 2, 3)
	if got := x.ArgMax(1).Int64s(); !slices.Equal(got, []int64{1, 1}) {
		t.Fatalf("ArgMax(1) = %v, want first of ties [1 1]", got)
	}
	if got := x.ArgMin(1).Int64s(); !slices.Equal(got, []int64{0, 0}) {
		t.Fatalf("ArgMin(1) = %v", got)
	}
	if got := x.ArgMax(0).Int64s(); !slices.Equal(got, []int64{0, 0, 0}) {
		t.Fatalf("ArgMax(0) = %v", got)
	}
	if got := x.ArgMax().Item(); got != 1 {
		t.Fatalf("ArgMax() = %v", got)
	}
	if got := x.T().ArgMax().Item(); got != 2 {
		// x.T() is [[1 0] [5 2] [5 0]]: the first 5 in row-major order is at 2.
		t.Fatalf("ArgMax of transposed = %v", got)
	}
	if got := x.ArgMaxKeep(1).Shape(); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("ArgMaxKeep shape %v", got)
	}
	g := tensor.NewGenerator(6)
	for _, kind := range layoutKinds {
		y := makeInput(t, g, kind, []int{5, 7}, tensor.Float64)
		v := rowMajor(y)
		got := y.ArgMax(1).Int64s()
		for i := 0; i < 5; i++ {
			best := 0
			for j := 1; j < 7; j++ {
				if v[i*7+j] > v[i*7+best] {
					best = j
				}
			}
			if got[i] != int64(best) {
				t.Fatalf("ArgMax/%s row %d = %d, want %d", kind, i, got[i], best)
			}
		}
	}
}
