package nn_test

// PyTorch reference fixtures for the convolution and pooling layers:
// testdata/conv_fixtures.json (written by testdata/gen_conv_fixtures.py,
// whose docstring describes the format) holds inputs, parameters, an
// upstream gradient, and torch's output and input/parameter gradients. Each
// case runs twice per dtype — through the functional form (FConv2d, ...) and
// through the layer (NewConv2d, ...) built with the case's options — and
// compares output and gradients.
//
// Tolerances. The fixture values are dyadic with few significant bits, so
// torch's float64 references are exact sums (see the generator); Tessera in
// float64 must agree to within rounding of the averaging pools' divisions:
// |got − want| <= 1e-12 + 1e-12·|want|. In float32 Tessera rounds partial
// sums of up to a few hundred terms of magnitude up to ~10; that is at most
// a few hundred float32 ulps of the largest term, so the bound is
// |got − want| <= 1e-5 + 1e-5·|want| (the typical float32 bound; no case
// needs a looser one).
//
// Regenerate the fixtures with
//
//	/usr/bin/python3 nn/testdata/gen_conv_fixtures.py

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

const (
	convFixturePath   = "testdata/conv_fixtures.json"
	convFixtureFormat = "tessera-conv-fixtures/1"
)

type convFixtureFile struct {
	Format       string            `json:"format"`
	TorchVersion string            `json:"torch_version"`
	Cases        []convFixtureCase `json:"cases"`
}

type convFixtureCase struct {
	Name       string                       `json:"name"`
	Op         string                       `json:"op"`
	Args       convFixtureArgs              `json:"args"`
	Inputs     map[string]convFixtureTensor `json:"inputs"`
	GradOutput convFixtureTensor            `json:"grad_output"`
	Output     convFixtureTensor            `json:"output"`
	Grads      map[string]convFixtureTensor `json:"grads"`
}

type convFixtureArgs struct {
	Stride          []int           `json:"stride"`
	Padding         json.RawMessage `json:"padding"` // a list, or "same"
	Dilation        []int           `json:"dilation"`
	Groups          int             `json:"groups"`
	OutputPadding   []int           `json:"output_padding"`
	PaddingMode     string          `json:"padding_mode"`
	KernelSize      []int           `json:"kernel_size"`
	CeilMode        bool            `json:"ceil_mode"`
	CountIncludePad *bool           `json:"count_include_pad"`
	DivisorOverride int             `json:"divisor_override"`
	OutputSize      []int           `json:"output_size"`
}

type convFixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (f convFixtureTensor) tensor(dt tensor.DType) *tensor.Tensor {
	return tensor.FromSlice(f.Data, f.Shape...).Cast(dt)
}

// padding returns the case's padding values, or same = true for "same".
func (a convFixtureArgs) padding() (p []int, same bool) {
	if len(a.Padding) == 0 {
		return nil, false
	}
	var s string
	if json.Unmarshal(a.Padding, &s) == nil {
		if s != "same" {
			panic(fmt.Sprintf("unknown padding %q", s))
		}
		return nil, true
	}
	if err := json.Unmarshal(a.Padding, &p); err != nil {
		panic(err)
	}
	return p, false
}

func (a convFixtureArgs) convOptions() []nn.ConvOption {
	opts := []nn.ConvOption{nn.ConvStride(a.Stride...), nn.ConvDilation(a.Dilation...)}
	if a.Groups != 0 {
		opts = append(opts, nn.ConvGroups(a.Groups))
	}
	if len(a.OutputPadding) > 0 {
		opts = append(opts, nn.ConvOutputPadding(a.OutputPadding...))
	}
	if a.PaddingMode != "" {
		opts = append(opts, nn.ConvPaddingMode(nn.PaddingMode(a.PaddingMode)))
	}
	if p, same := a.padding(); same {
		opts = append(opts, nn.ConvPaddingSame())
	} else {
		opts = append(opts, nn.ConvPadding(p...))
	}
	return opts
}

func (a convFixtureArgs) poolOptions() []nn.PoolOption {
	p, _ := a.padding()
	opts := []nn.PoolOption{nn.PoolKernel(a.KernelSize...), nn.PoolStride(a.Stride...), nn.PoolPadding(p...)}
	if len(a.Dilation) > 0 {
		opts = append(opts, nn.PoolDilation(a.Dilation...))
	}
	if a.CeilMode {
		opts = append(opts, nn.PoolCeilMode())
	}
	if a.CountIncludePad != nil && !*a.CountIncludePad {
		opts = append(opts, nn.PoolExcludePad())
	}
	if a.DivisorOverride != 0 {
		opts = append(opts, nn.PoolDivisor(a.DivisorOverride))
	}
	return opts
}

// convFixtureRun computes a case's output from x, weight and bias (weight
// and bias nil for pools); layer says whether to go through the layer
// struct rather than the functional form.
type convFixtureRun func(c *convFixtureCase, x, weight, bias *autograd.Var, layer bool) *autograd.Var

// convSetParams swaps the fixture's parameters into a layer built with the
// case's options.
func convSetParams(w, b **autograd.Var, weight, bias *autograd.Var) {
	*w, *b = weight, bias
}

// convLayerOptions are the case's options plus the constructor's: dtype,
// and no bias when the case has none.
func convLayerOptions(opts []nn.ConvOption, dt tensor.DType, bias *autograd.Var) []nn.ConvOption {
	opts = append(opts, nn.WithDType(dt))
	if bias == nil {
		opts = append(opts, nn.WithoutBias())
	}
	return opts
}

var convFixtureOps = map[string]convFixtureRun{
	"conv2d": func(c *convFixtureCase, x, weight, bias *autograd.Var, layer bool) *autograd.Var {
		opts := c.Args.convOptions()
		if !layer {
			return nn.FConv2d(x, weight, bias, opts...)
		}
		ws := weight.Shape()
		opts = append(convLayerOptions(opts, x.DType(), bias), nn.ConvKernel(ws[2], ws[3]))
		l := nn.NewConv2d(ws[1]*c.Args.Groups, ws[0], 0, opts...)
		convSetParams(&l.Weight, &l.Bias, weight, bias)
		return l.Forward(x)
	},
	"conv1d": func(c *convFixtureCase, x, weight, bias *autograd.Var, layer bool) *autograd.Var {
		opts := c.Args.convOptions()
		if !layer {
			return nn.FConv1d(x, weight, bias, opts...)
		}
		ws := weight.Shape()
		opts = convLayerOptions(opts, x.DType(), bias)
		l := nn.NewConv1d(ws[1]*c.Args.Groups, ws[0], ws[2], opts...)
		convSetParams(&l.Weight, &l.Bias, weight, bias)
		return l.Forward(x)
	},
	"conv_transpose2d": func(c *convFixtureCase, x, weight, bias *autograd.Var, layer bool) *autograd.Var {
		opts := c.Args.convOptions()
		if !layer {
			return nn.FConvTranspose2d(x, weight, bias, opts...)
		}
		ws := weight.Shape()
		opts = append(convLayerOptions(opts, x.DType(), bias), nn.ConvKernel(ws[2], ws[3]))
		l := nn.NewConvTranspose2d(ws[0], ws[1]*c.Args.Groups, 0, opts...)
		convSetParams(&l.Weight, &l.Bias, weight, bias)
		return l.Forward(x)
	},
	"max_pool2d": func(c *convFixtureCase, x, _, _ *autograd.Var, layer bool) *autograd.Var {
		if !layer {
			return nn.FMaxPool2d(x, 0, c.Args.poolOptions()...)
		}
		return nn.NewMaxPool2d(0, c.Args.poolOptions()...).Forward(x)
	},
	"avg_pool2d": func(c *convFixtureCase, x, _, _ *autograd.Var, layer bool) *autograd.Var {
		if !layer {
			return nn.FAvgPool2d(x, 0, c.Args.poolOptions()...)
		}
		return nn.NewAvgPool2d(0, c.Args.poolOptions()...).Forward(x)
	},
	"adaptive_avg_pool2d": func(c *convFixtureCase, x, _, _ *autograd.Var, layer bool) *autograd.Var {
		if !layer {
			return nn.FAdaptiveAvgPool2d(x, c.Args.OutputSize...)
		}
		return nn.NewAdaptiveAvgPool2d(c.Args.OutputSize...).Forward(x)
	},
	"adaptive_max_pool2d": func(c *convFixtureCase, x, _, _ *autograd.Var, layer bool) *autograd.Var {
		if !layer {
			return nn.FAdaptiveMaxPool2d(x, c.Args.OutputSize...)
		}
		return nn.NewAdaptiveMaxPool2d(c.Args.OutputSize...).Forward(x)
	},
}

func convLoadFixtures(t *testing.T) *convFixtureFile {
	t.Helper()
	raw, err := os.ReadFile(convFixturePath)
	if err != nil {
		t.Fatalf("fixtures missing (regenerate with /usr/bin/python3 nn/testdata/gen_conv_fixtures.py): %v", err)
	}
	var f convFixtureFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", convFixturePath, err)
	}
	if f.Format != convFixtureFormat {
		t.Fatalf("%s: format %q, want %q", convFixturePath, f.Format, convFixtureFormat)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", convFixturePath)
	}
	return &f
}

// convCompare reports the first element of got outside the tolerance of
// want, and the largest error.
func convCompare(t *testing.T, what string, got *tensor.Tensor, want convFixtureTensor, atol, rtol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no value (want shape %v)", what, want.Shape)
		return
	}
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape)
		return
	}
	g := got.Float64s()
	worst, at := 0.0, -1
	for i, w := range want.Data {
		d := math.Abs(g[i] - w)
		if d > atol+rtol*math.Abs(w) || math.IsNaN(g[i]) {
			if at < 0 || d > worst {
				worst, at = d, i
			}
		}
	}
	if at >= 0 {
		t.Errorf("%s: element %d is %.10g, want %.10g (worst abs err %.3g; tolerance %g + %g·|want|)",
			what, at, g[at], want.Data[at], worst, atol, rtol)
	}
}

func TestConvPoolTorchFixtures(t *testing.T) {
	f := convLoadFixtures(t)
	tols := []struct {
		dt         tensor.DType
		atol, rtol float64
	}{
		{tensor.Float64, 1e-12, 1e-12},
		{tensor.Float32, 1e-5, 1e-5},
	}
	for i := range f.Cases {
		c := &f.Cases[i]
		run, ok := convFixtureOps[c.Op]
		if !ok {
			t.Errorf("%s: no handler for op %q", c.Name, c.Op)
			continue
		}
		for _, tol := range tols {
			for _, layer := range []bool{false, true} {
				kind := "functional"
				if layer {
					kind = "layer"
				}
				t.Run(fmt.Sprintf("%s/%v/%s", c.Name, tol.dt, kind), func(t *testing.T) {
					vars := map[string]*autograd.Var{}
					for name, in := range c.Inputs {
						vars[name] = autograd.Param(in.tensor(tol.dt))
					}
					out := run(c, vars["x"], vars["weight"], vars["bias"], layer)
					convCompare(t, "output", out.Data, c.Output, tol.atol, tol.rtol)
					out.BackwardWith(c.GradOutput.tensor(tol.dt))
					for name, want := range c.Grads {
						v, ok := vars[name]
						if !ok {
							t.Fatalf("gradient of unknown input %q", name)
						}
						convCompare(t, "grad "+name, v.Grad(), want, tol.atol, tol.rtol)
					}
				})
			}
		}
	}
}
