package nn_test

import (
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// convDistinct returns distinct float64 values spaced by 0.1 in a seeded
// random order: no pooling window holds a tie, and finite differences never
// change which element wins.
func convDistinct(seed uint64, shape ...int) *tensor.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	r := tensor.Rand(tensor.NewGenerator(seed), []int{n}, tensor.WithDType(tensor.Float64)).Float64s()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return r[order[a]] < r[order[b]] })
	vals := make([]float64, n)
	for rank, i := range order {
		vals[i] = 0.1*float64(rank) - 0.05*float64(n)
	}
	return tensor.FromSlice(vals, shape...)
}

func TestPoolGradCheck(t *testing.T) {
	x := convDistinct(1, 2, 2, 5, 6)
	convGradCheck(t, "MaxPool2d k3 s2 p1 ceil", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FMaxPool2d(xs[0], 3, nn.PoolStride(2), nn.PoolPadding(1), nn.PoolCeilMode())
	}, x)
	convGradCheck(t, "MaxPool2d k2x3 dil2 overlapping", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FMaxPool2d(xs[0], 0, nn.PoolKernel(2, 3), nn.PoolStride(1), nn.PoolDilation(2), nn.PoolPadding(1))
	}, x)
	y := convRandn(2, 2, 2, 5, 6)
	convGradCheck(t, "AvgPool2d k3 s2 p1 ceil", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FAvgPool2d(xs[0], 3, nn.PoolStride(2), nn.PoolPadding(1), nn.PoolCeilMode())
	}, y)
	convGradCheck(t, "AvgPool2d exclude pad", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FAvgPool2d(xs[0], 3, nn.PoolStride(2), nn.PoolPadding(1), nn.PoolExcludePad())
	}, y)
	convGradCheck(t, "AdaptiveAvgPool2d 5x6→3x4", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FAdaptiveAvgPool2d(xs[0], 3, 4)
	}, y)
	convGradCheck(t, "AdaptiveMaxPool2d 5x6→2x4", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FAdaptiveMaxPool2d(xs[0], 2, 4)
	}, x)
}

func TestPoolGradGradCheck(t *testing.T) {
	// Pools are piecewise linear: their second derivative is zero, and the
	// recorded backward pass must say so consistently.
	f := func(xs ...*autograd.Var) *autograd.Var {
		m := nn.FMaxPool2d(xs[0], 2, nn.PoolStride(1))
		return nn.FAvgPool2d(m.Mul(m), 2, nn.PoolPadding(1))
	}
	if err := autograd.GradGradCheck(f, []*tensor.Tensor{convDistinct(3, 1, 2, 4, 4)}, nil); err != nil {
		t.Error(err)
	}
}

// TestMaxPoolTies pins torch's rule: a tied maximum's gradient goes to the
// first tied element of the window, and a NaN counts as the maximum. The
// expected values were printed by torch 1.13's max_pool2d.
func TestMaxPoolTies(t *testing.T) {
	x := autograd.Param(tensor.Ones([]int{1, 1, 2, 2}))
	nn.FMaxPool2d(x, 2).Sum().Backward()
	if g := x.Grad().Float64s(); !slices.Equal(g, []float64{1, 0, 0, 0}) {
		t.Fatalf("tied gradient %v, want [1 0 0 0]", g)
	}
	nan := math.NaN()
	x = autograd.Param(tensor.FromSlice([]float32{1, 1, 0, 2, 1, 0, 2, 2, 0, 0, 0, 0, float32(nan), 3, 3, 0}, 1, 1, 4, 4))
	y := nn.FMaxPool2d(x, 3, nn.PoolStride(1), nn.PoolPadding(1))
	wantY := []float64{1, 2, 2, 2, 1, 2, 2, 2, nan, nan, 3, 3, nan, nan, 3, 3}
	for i, v := range y.Data.Float64s() {
		if v != wantY[i] && !(math.IsNaN(v) && math.IsNaN(wantY[i])) {
			t.Fatalf("output %v, want %v", y.Data.Float64s(), wantY)
		}
	}
	y.Sum().Backward()
	if g := x.Grad().Float64s(); !slices.Equal(g, []float64{2, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 4, 2, 2, 0}) {
		t.Fatalf("gradient %v, want torch's [2 0 0 4 0 0 2 0 0 0 0 0 4 2 2 0]", g)
	}
}

func TestPoolLayers(t *testing.T) {
	x := autograd.Const(convRandn(1, 2, 3, 9, 7).Cast(tensor.Float32))
	layers := []struct {
		l     nn.Layer
		shape []int
		str   string
	}{
		{nn.NewMaxPool2d(2), []int{2, 3, 4, 3}, "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"},
		{nn.NewMaxPool2d(3, nn.PoolStride(2, 1), nn.PoolCeilMode()), []int{2, 3, 4, 5}, "MaxPool2d(kernel_size=3, stride=(2, 1), padding=0, dilation=1, ceil_mode=True)"},
		{nn.NewAvgPool2d(3, nn.PoolStride(1), nn.PoolPadding(1)), []int{2, 3, 9, 7}, "AvgPool2d(kernel_size=3, stride=1, padding=1)"},
		{nn.NewAdaptiveAvgPool2d(4, 2), []int{2, 3, 4, 2}, "AdaptiveAvgPool2d(output_size=(4, 2))"},
		{nn.NewAdaptiveMaxPool2d(1), []int{2, 3, 1, 1}, "AdaptiveMaxPool2d(output_size=1)"},
	}
	for _, c := range layers {
		if got := c.l.Forward(x).Shape(); !equalInts(got, c.shape) {
			t.Errorf("%v: output shape %v, want %v", c.l, got, c.shape)
		}
		if s := c.l.(interface{ String() string }).String(); s != c.str {
			t.Errorf("String %q, want %q", s, c.str)
		}
		if len(nn.Parameters(c.l)) != 0 {
			t.Errorf("%v has parameters", c.l)
		}
	}
	// Unbatched input.
	if got := nn.NewMaxPool2d(2).Forward(autograd.Const(tensor.Ones([]int{3, 4, 4}))).Shape(); !equalInts(got, []int{3, 2, 2}) {
		t.Errorf("unbatched output shape %v", got)
	}
	// The global average pool is the mean over the plane.
	got := nn.NewAdaptiveAvgPool2d(1).Forward(x).Data.Reshape(6).Float64s()
	want := x.Data.Mean(2, 3).Reshape(6).Float64s()
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("global pool %v, mean %v", got, want)
			break
		}
	}
}

func TestPoolErrors(t *testing.T) {
	x := autograd.Const(tensor.Ones([]int{1, 2, 5, 5}))
	cases := map[string]func(){
		"padding over half the kernel": func() { nn.FMaxPool2d(x, 2, nn.PoolPadding(2)) },
		"kernel larger than input":     func() { nn.FMaxPool2d(x, 6) },
		"zero stride":                  func() { nn.FAvgPool2d(x, 2, nn.PoolStride(0)) },
		"avg pool dilation":            func() { nn.FAvgPool2d(x, 2, nn.PoolDilation(2)) },
		"max pool divisor":             func() { nn.NewMaxPool2d(2, nn.PoolDivisor(3)) },
		"max pool exclude pad":         func() { nn.FMaxPool2d(x, 2, nn.PoolExcludePad()) },
		"integer input": func() {
			nn.FMaxPool2d(autograd.Const(tensor.Ones([]int{1, 1, 4, 4}, tensor.WithDType(tensor.Int64))), 2)
		},
		"adaptive size missing": func() { nn.FAdaptiveAvgPool2d(x) },
		"adaptive size zero":    func() { nn.FAdaptiveAvgPool2d(x, 0, 2) },
		"5-d input":             func() { nn.FAvgPool2d(autograd.Const(tensor.Ones([]int{1, 1, 1, 4, 4})), 2) },
	}
	for name, f := range cases {
		if te := convPanics(t, f); te == nil {
			t.Errorf("%s: no *tensor.Error panic", name)
		} else if !strings.HasPrefix(te.Op, "nn.") {
			t.Errorf("%s: error names op %q: %v", name, te.Op, te)
		}
	}
}
