package nn

import (
	"fmt"

	"github.com/tessera-ml/tessera/tensor"
)

// Option configures a layer made by a constructor:
//
//	nn.NewLinear(784, 10, nn.WithGenerator(g), nn.WithoutBias())
//
// Each constructor accepts the options that mean something to it and panics
// with a *tensor.Error (ValueError) naming any other, so that a misplaced
// option is never silently ignored.
type Option struct {
	name string
	set  func(*layerConfig)
}

// layerConfig is what options set. Its zero value is not the default; see
// newLayerConfig.
type layerConfig struct {
	gen        *tensor.Generator
	dtype      tensor.DType
	device     tensor.Device
	bias       bool
	affine     bool
	track      bool
	eps        float64
	epsSet     bool
	momentum   float64
	cumulative bool // BatchNorm's momentum=None
	paddingIdx int
	hasPadding bool
}

// layerOptions applies opts on top of torch's defaults. allowed lists the
// option names the calling constructor accepts.
func layerOptions(op string, opts []Option, allowed ...string) layerConfig {
	c := layerConfig{dtype: tensor.Float32, device: tensor.CPU, bias: true, affine: true, track: true, momentum: 0.1}
	for _, o := range opts {
		ok := false
		for _, a := range allowed {
			if a == o.name {
				ok = true
				break
			}
		}
		if !ok {
			panic(&tensor.Error{Kind: tensor.ValueError, Op: op, Msg: fmt.Sprintf("option %s does not apply", o.name)})
		}
		o.set(&c)
	}
	if !c.dtype.IsFloat() {
		panic(&tensor.Error{Kind: tensor.DTypeError, Op: op, Msg: fmt.Sprintf("parameters must be floating point, not %v", c.dtype)})
	}
	return c
}

// tensorOpts returns the creation options for a parameter of the layer.
func (c *layerConfig) tensorOpts() []tensor.Option {
	return []tensor.Option{tensor.WithDType(c.dtype), tensor.WithDevice(c.device)}
}

// WithGenerator draws the layer's initial weights (or Dropout's masks) from
// g; without it they come from tensor's default generator (see
// tensor.ManualSeed).
func WithGenerator(g *tensor.Generator) Option {
	return Option{"WithGenerator", func(c *layerConfig) { c.gen = g }}
}

// WithDType makes the layer's parameters and buffers of dtype dt (float32
// by default).
func WithDType(dt tensor.DType) Option {
	return Option{"WithDType", func(c *layerConfig) { c.dtype = dt }}
}

// WithDevice places the layer's parameters and buffers on d.
func WithDevice(d tensor.Device) Option {
	return Option{"WithDevice", func(c *layerConfig) { c.device = d }}
}

// WithoutBias leaves out the additive bias (torch's bias=False).
func WithoutBias() Option {
	return Option{"WithoutBias", func(c *layerConfig) { c.bias = false }}
}

// WithoutAffine leaves out a normalisation layer's learnable scale and shift
// (torch's elementwise_affine=False or affine=False).
func WithoutAffine() Option {
	return Option{"WithoutAffine", func(c *layerConfig) { c.affine = false }}
}

// WithEps sets the value a normalisation layer adds to the variance.
func WithEps(eps float64) Option {
	return Option{"WithEps", func(c *layerConfig) { c.eps, c.epsSet = eps, true }}
}

// WithMomentum sets the weight of the newest batch in BatchNorm's running
// statistics (0.1 by default): running = (1 − m)·running + m·batch.
func WithMomentum(m float64) Option {
	return Option{"WithMomentum", func(c *layerConfig) { c.momentum, c.cumulative = m, false }}
}

// WithCumulativeAverage makes BatchNorm's running statistics the plain
// average of every batch seen (torch's momentum=None).
func WithCumulativeAverage() Option {
	return Option{"WithCumulativeAverage", func(c *layerConfig) { c.cumulative = true }}
}

// WithoutRunningStats makes BatchNorm keep no running statistics and
// normalise with the batch's own in both modes (torch's
// track_running_stats=False).
func WithoutRunningStats() Option {
	return Option{"WithoutRunningStats", func(c *layerConfig) { c.track = false }}
}

// WithPaddingIdx names Embedding's padding row: zero at initialisation and
// never updated by gradients. A negative index counts from the end.
func WithPaddingIdx(i int) Option {
	return Option{"WithPaddingIdx", func(c *layerConfig) { c.paddingIdx, c.hasPadding = i, true }}
}
