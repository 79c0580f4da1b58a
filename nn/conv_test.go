package nn_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// convRandn returns a float64 tensor of standard normal values.
func convRandn(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(tensor.NewGenerator(seed), shape, tensor.WithDType(tensor.Float64))
}

// convGradCheck runs autograd.GradCheck with its default tolerances.
func convGradCheck(t *testing.T, name string, f func(xs ...*autograd.Var) *autograd.Var, inputs ...*tensor.Tensor) {
	t.Helper()
	if err := autograd.GradCheck(f, inputs, nil); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func TestConv2dGradCheck(t *testing.T) {
	cases := []struct {
		name      string
		x, w      []int
		opts      []nn.ConvOption
		withBias  bool
		outerBias int
	}{
		{"stride2_pad1", []int{2, 2, 5, 5}, []int{3, 2, 3, 3}, []nn.ConvOption{nn.ConvStride(2), nn.ConvPadding(1)}, true, 3},
		{"groups2_dil2_k2x3", []int{1, 4, 5, 6}, []int{2, 2, 2, 3}, []nn.ConvOption{nn.ConvGroups(2), nn.ConvDilation(2), nn.ConvPadding(1, 0)}, true, 2},
		{"depthwise_same", []int{1, 3, 4, 4}, []int{3, 1, 3, 3}, []nn.ConvOption{nn.ConvGroups(3), nn.ConvPaddingSame()}, false, 0},
		{"reflect", []int{1, 2, 4, 5}, []int{2, 2, 3, 3}, []nn.ConvOption{nn.ConvPadding(1, 2), nn.ConvPaddingMode(nn.PadReflect)}, true, 2},
		{"circular_stride2", []int{1, 1, 5, 4}, []int{2, 1, 3, 2}, []nn.ConvOption{nn.ConvPadding(2, 1), nn.ConvStride(2), nn.ConvPaddingMode(nn.PadCircular)}, false, 0},
	}
	for i, c := range cases {
		inputs := []*tensor.Tensor{convRandn(uint64(10*i+1), c.x...), convRandn(uint64(10*i+2), c.w...)}
		if c.withBias {
			inputs = append(inputs, convRandn(uint64(10*i+3), c.outerBias))
		}
		convGradCheck(t, "Conv2d "+c.name, func(xs ...*autograd.Var) *autograd.Var {
			var b *autograd.Var
			if len(xs) > 2 {
				b = xs[2]
			}
			return nn.FConv2d(xs[0], xs[1], b, c.opts...)
		}, inputs...)
	}
}

func TestConv1dGradCheck(t *testing.T) {
	convGradCheck(t, "Conv1d", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FConv1d(xs[0], xs[1], xs[2], nn.ConvStride(2), nn.ConvPadding(2), nn.ConvDilation(2), nn.ConvGroups(2))
	}, convRandn(1, 2, 4, 9), convRandn(2, 4, 2, 3), convRandn(3, 4))
}

func TestConvTranspose2dGradCheck(t *testing.T) {
	convGradCheck(t, "ConvTranspose2d stride2 pad1 outpad1", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FConvTranspose2d(xs[0], xs[1], xs[2], nn.ConvStride(2), nn.ConvPadding(1), nn.ConvOutputPadding(1))
	}, convRandn(1, 2, 2, 3, 3), convRandn(2, 2, 3, 3, 3), convRandn(3, 3))
	convGradCheck(t, "ConvTranspose2d groups2 dil2 k2x3", func(xs ...*autograd.Var) *autograd.Var {
		return nn.FConvTranspose2d(xs[0], xs[1], nil, nn.ConvGroups(2), nn.ConvDilation(2), nn.ConvPadding(1), nn.ConvStride(2, 1))
	}, convRandn(4, 1, 4, 3, 2), convRandn(5, 4, 1, 2, 3))
}

func TestConv2dGradGradCheck(t *testing.T) {
	f := func(xs ...*autograd.Var) *autograd.Var {
		return nn.FConv2d(xs[0], xs[1], xs[2], nn.ConvStride(2), nn.ConvPadding(1), nn.ConvGroups(2))
	}
	inputs := []*tensor.Tensor{convRandn(1, 1, 4, 4, 4), convRandn(2, 2, 2, 3, 3), convRandn(3, 2)}
	if err := autograd.GradGradCheck(f, inputs, nil); err != nil {
		t.Error(err)
	}
	// A gradient penalty composes a second pass over the im2col index:
	// d/dx |d(sum y·r)/dw|² must also be consistent.
	g := func(xs ...*autograd.Var) *autograd.Var {
		y := nn.FConvTranspose2d(xs[0], xs[1], nil, nn.ConvStride(2), nn.ConvPadding(1), nn.ConvOutputPadding(1))
		return y.Mul(y).Sum()
	}
	if err := autograd.GradGradCheck(g, []*tensor.Tensor{convRandn(4, 1, 2, 2, 3), convRandn(5, 2, 1, 3, 3)}, nil); err != nil {
		t.Errorf("ConvTranspose2d: %v", err)
	}
}

// TestConvTransposeIsAdjoint checks <conv(x), y> = <x, convT(y)> for the
// same geometry, which is what makes ConvTranspose2d the transpose.
func TestConvTransposeIsAdjoint(t *testing.T) {
	x := autograd.Const(convRandn(1, 2, 4, 9, 8))
	w := autograd.Const(convRandn(2, 6, 2, 3, 3)) // [out 6, in/groups 2] with 2 groups
	opts := []nn.ConvOption{nn.ConvStride(2), nn.ConvPadding(1), nn.ConvDilation(1, 2), nn.ConvGroups(2)}
	cx := nn.FConv2d(x, w, nil, opts...)
	y := autograd.Const(convRandn(3, cx.Shape()...))
	// The output padding recovers the 9×8 input size lost to the stride.
	ty := nn.FConvTranspose2d(y, w, nil, append(opts, nn.ConvOutputPadding(0, 1))...)
	if got, want := ty.Shape(), x.Shape(); !equalInts(got, want) {
		t.Fatalf("transposed shape %v, want %v", got, want)
	}
	lhs := cx.Mul(y).Sum().Item()
	rhs := x.Mul(ty).Sum().Item()
	if math.Abs(lhs-rhs) > 1e-9*math.Abs(lhs) {
		t.Errorf("<conv x, y> = %v but <x, convT y> = %v", lhs, rhs)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConvLayers(t *testing.T) {
	g := tensor.NewGenerator(7)
	c := nn.NewConv2d(4, 6, 3, nn.ConvGroups(2), nn.ConvStride(2), nn.ConvPadding(1), nn.WithGenerator(g))
	var _ nn.Layer = c
	nps := nn.NamedParameters(c)
	if len(nps) != 2 || nps[0].Name != "weight" || nps[1].Name != "bias" {
		t.Fatalf("parameters %v", nps)
	}
	if got := c.Weight.Shape(); !equalInts(got, []int{6, 2, 3, 3}) {
		t.Errorf("weight shape %v", got)
	}
	if n := nn.NumParams(c); n != 6*2*9+6 {
		t.Errorf("NumParams %d", n)
	}
	y := c.Forward(autograd.Const(tensor.Ones([]int{2, 4, 7, 7})))
	if got := y.Shape(); !equalInts(got, []int{2, 6, 4, 4}) {
		t.Errorf("output shape %v", got)
	}
	// Unbatched input.
	if got := c.Forward(autograd.Const(tensor.Ones([]int{4, 7, 7}))).Shape(); !equalInts(got, []int{6, 4, 4}) {
		t.Errorf("unbatched output shape %v", got)
	}
	if s, want := c.String(), "Conv2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)"; s != want {
		t.Errorf("String %q, want %q", s, want)
	}

	nb := nn.NewConv1d(3, 5, 4, nn.WithoutBias(), nn.ConvPaddingSame(), nn.WithDType(tensor.Float64))
	if nb.Bias != nil || len(nb.Members().Params) != 1 || nb.Weight.DType() != tensor.Float64 {
		t.Errorf("Conv1d without bias: %v params, dtype %v", len(nb.Members().Params), nb.Weight.DType())
	}
	if s, want := nb.String(), "Conv1d(3, 5, kernel_size=(4,), stride=(1,), padding=same, bias=False)"; s != want {
		t.Errorf("String %q, want %q", s, want)
	}
	if got := nb.Forward(autograd.Const(tensor.Ones([]int{2, 3, 11}, tensor.WithDType(tensor.Float64)))).Shape(); !equalInts(got, []int{2, 5, 11}) {
		t.Errorf("Conv1d same output shape %v", got)
	}

	ct := nn.NewConvTranspose2d(4, 6, 3, nn.ConvGroups(2), nn.ConvStride(2), nn.ConvPadding(1), nn.ConvOutputPadding(1))
	if got := ct.Weight.Shape(); !equalInts(got, []int{4, 3, 3, 3}) {
		t.Errorf("ConvTranspose2d weight shape %v", got)
	}
	want := "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2)"
	if s := ct.String(); s != want {
		t.Errorf("String %q, want %q", s, want)
	}
	if got := ct.Forward(autograd.Const(tensor.Ones([]int{1, 4, 5, 5}))).Shape(); !equalInts(got, []int{1, 6, 10, 10}) {
		t.Errorf("ConvTranspose2d output shape %v", got)
	}

	// Forward runs the hooks.
	called := false
	remove := c.RegisterForwardHook(func(m nn.Module, in, out *autograd.Var) *autograd.Var {
		called = true
		return out.MulScalar(0)
	})
	y = c.Forward(autograd.Const(tensor.Ones([]int{1, 4, 5, 5})))
	if !called || y.Data.Abs().Sum().Item() != 0 {
		t.Errorf("hook not run (called %v)", called)
	}
	remove()

	// Gradients reach the layer's parameters.
	x := autograd.Const(convRandn(9, 2, 4, 6, 6).Cast(tensor.Float32))
	c.Forward(x).Sum().Backward()
	if c.Weight.Grad() == nil || c.Bias.Grad() == nil {
		t.Error("no parameter gradients")
	}
	if got, want := c.Bias.Grad().Float32s()[0], float32(2*3*3); got != want {
		t.Errorf("bias gradient %v, want %v (batch × output positions)", got, want)
	}
}

// TestConvInit checks torch's default initialisation: U(−b, b) with
// b = 1/√fan_in for weight and bias, reproducible from a generator.
func TestConvInit(t *testing.T) {
	check := func(name string, v *autograd.Var, fanIn int) {
		t.Helper()
		b := 1 / math.Sqrt(float64(fanIn))
		vals := v.Data.Float64s()
		lo, hi, ss := math.Inf(1), math.Inf(-1), 0.0
		for _, x := range vals {
			lo, hi, ss = math.Min(lo, x), math.Max(hi, x), ss+x*x
		}
		if lo < -b || hi >= b {
			t.Errorf("%s: values in [%v, %v], want within ±%v", name, lo, hi, b)
		}
		if len(vals) >= 1000 {
			// U(−b, b) has variance b²/3; the sample's is within a few
			// percent for thousands of values.
			if got, want := ss/float64(len(vals)), b*b/3; math.Abs(got-want) > 0.1*want {
				t.Errorf("%s: mean square %v, want about %v", name, got, want)
			}
			if hi-lo < 1.9*b {
				t.Errorf("%s: range [%v, %v] does not fill ±%v", name, lo, hi, b)
			}
		}
	}
	c := nn.NewConv2d(8, 16, 3, nn.ConvGroups(2), nn.WithGenerator(tensor.NewGenerator(1)))
	check("Conv2d weight", c.Weight, 4*9)
	check("Conv2d bias", c.Bias, 4*9)
	c1 := nn.NewConv1d(6, 64, 5, nn.WithGenerator(tensor.NewGenerator(2)))
	check("Conv1d weight", c1.Weight, 6*5)
	ct := nn.NewConvTranspose2d(16, 8, 3, nn.ConvKernel(3, 2), nn.ConvGroups(4), nn.WithGenerator(tensor.NewGenerator(3)))
	check("ConvTranspose2d weight", ct.Weight, 2*3*2) // fan_in = out/groups · kh · kw
	check("ConvTranspose2d bias", ct.Bias, 2*3*2)

	// The same generator seed gives the same parameters.
	a := nn.NewConv2d(3, 4, 3, nn.WithGenerator(tensor.NewGenerator(5)))
	b := nn.NewConv2d(3, 4, 3, nn.WithGenerator(tensor.NewGenerator(5)))
	if !equalFloats(a.Weight.Data.Float64s(), b.Weight.Data.Float64s()) || !equalFloats(a.Bias.Data.Float64s(), b.Bias.Data.Float64s()) {
		t.Error("same seed, different parameters")
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// convPanics returns the *tensor.Error that f panics with, or nil.
func convPanics(t *testing.T, f func()) *tensor.Error {
	t.Helper()
	err := tensor.Try(f)
	var te *tensor.Error
	if err == nil || !errors.As(err, &te) {
		return nil
	}
	return te
}

func TestConvErrors(t *testing.T) {
	x := autograd.Const(tensor.Ones([]int{2, 4, 6, 6}))
	w := autograd.Const(tensor.Ones([]int{6, 2, 3, 3}))
	cases := map[string]func(){
		"channels do not fit groups": func() { nn.FConv2d(x, w, nil) },
		"bad bias":                   func() { nn.FConv2d(x, w, autograd.Const(tensor.Ones([]int{5})), nn.ConvGroups(2)) },
		"kernel larger than input":   func() { nn.FConv2d(x, w, nil, nn.ConvGroups(2), nn.ConvDilation(4)) },
		"same with stride 2":         func() { nn.FConv2d(x, w, nil, nn.ConvGroups(2), nn.ConvPaddingSame(), nn.ConvStride(2)) },
		"three stride values":        func() { nn.FConv2d(x, w, nil, nn.ConvGroups(2), nn.ConvStride(1, 2, 3)) },
		"reflect pad too large":      func() { nn.FConv2d(x, w, nil, nn.ConvGroups(2), nn.ConvPadding(6), nn.ConvPaddingMode(nn.PadReflect)) },
		"unknown padding mode":       func() { nn.FConv2d(x, w, nil, nn.ConvGroups(2), nn.ConvPaddingMode("mirror")) },
		"dtype mismatch": func() {
			nn.FConv2d(x, autograd.Const(tensor.Ones([]int{6, 2, 3, 3}, tensor.WithDType(tensor.Float64))), nil, nn.ConvGroups(2))
		},
		"2-d input": func() { nn.FConv2d(autograd.Const(tensor.Ones([]int{4, 6})), w, nil) },
		"output padding ≥ stride": func() {
			nn.FConvTranspose2d(x, autograd.Const(tensor.Ones([]int{4, 2, 3, 3})), nil, nn.ConvStride(2), nn.ConvOutputPadding(2))
		},
		"transposed weight": func() { nn.FConvTranspose2d(x, w, nil) },
		"layer groups":      func() { nn.NewConv2d(3, 4, 3, nn.ConvGroups(2)) },
	}
	for name, f := range cases {
		if te := convPanics(t, f); te == nil {
			t.Errorf("%s: no *tensor.Error panic", name)
		} else if !strings.HasPrefix(te.Op, "nn.") {
			t.Errorf("%s: error names op %q: %v", name, te.Op, te)
		}
	}
}
