package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Normalisation layers. All are composed of autograd ops (mean, variance,
// rsqrt), so their gradients come from the op table and need no rules of
// their own. The variance that normalises is always the biased one
// (dividing by n), as in torch.

// trailingAxes returns the last k axes of a rank-d tensor.
func trailingAxes(d, k int) []int {
	axes := make([]int, k)
	for i := range axes {
		axes[i] = d - k + i
	}
	return axes
}

// normalize returns (x − mean)/√(var + eps) over axes, the variance biased,
// and the mean and variance it used (kept axes).
func normalize(x *autograd.Var, eps float64, axes []int) (y, mean, variance *autograd.Var) {
	mean = x.MeanKeep(axes...)
	xc := x.Sub(mean)
	sq := xc.Mul(xc)
	variance = sq.MeanKeep(axes...)
	releaseDead(sq) // the mean's gradient reads nothing
	return xc.Mul(variance.AddScalar(eps).Rsqrt()), mean, variance
}

// channelView returns the shape [1, c, 1, ...] of rank d that broadcasts a
// per-channel vector against an input whose channel axis is 1.
func channelView(c, d int) []int {
	s := make([]int, d)
	for i := range s {
		s[i] = 1
	}
	if d > 1 {
		s[1] = c
	} else {
		s[0] = c
	}
	return s
}

// LayerNorm normalises over the last len(Shape) axes of its input, then
// scales and shifts elementwise (torch.nn.LayerNorm):
// y = (x − E[x]) / √(Var[x] + Eps) · Weight + Bias.
type LayerNorm struct {
	Base
	Shape  []int // torch's normalized_shape
	Eps    float64
	Weight *autograd.Var // Shape, ones at first; nil without affine
	Bias   *autograd.Var // Shape, zeros at first; nil without affine or bias
}

// NewLayerNorm makes a LayerNorm over the trailing axes of the given shape;
// eps is 1e-5 unless WithEps. Options: WithEps, WithoutAffine (torch's
// elementwise_affine=False), WithoutBias, WithDType, WithDevice.
func NewLayerNorm(shape []int, opts ...Option) *LayerNorm {
	c := layerOptions("nn.NewLayerNorm", opts, "WithEps", "WithoutAffine", "WithoutBias", "WithDType", "WithDevice")
	l := &LayerNorm{Shape: slices.Clone(shape), Eps: 1e-5}
	if c.epsSet {
		l.Eps = c.eps
	}
	if c.affine {
		l.Weight = autograd.Param(tensor.Ones(shape, c.tensorOpts()...))
		if c.bias {
			l.Bias = autograd.Param(tensor.Zeros(shape, c.tensorOpts()...))
		}
	}
	return l
}

// Members implements Module: "weight" and "bias" when present.
func (l *LayerNorm) Members() Members { return affineMembers(l.Weight, l.Bias) }

func affineMembers(w, b *autograd.Var) Members {
	var m Members
	if w != nil {
		m.Params = append(m.Params, P("weight", w))
	}
	if b != nil {
		m.Params = append(m.Params, P("bias", b))
	}
	return m
}

// checkTrailing panics unless x's shape ends with shape.
func checkTrailing(op string, x *autograd.Var, shape []int) {
	xs := x.Shape()
	if len(xs) < len(shape) || !slices.Equal(xs[len(xs)-len(shape):], shape) {
		panic(&tensor.Error{Kind: tensor.ShapeError, Op: op, Shapes: [][]int{xs, shape},
			Msg: "input's trailing axes must match the normalised shape"})
	}
}

// Forward implements Layer.
func (l *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	checkTrailing("nn.LayerNorm", x, l.Shape)
	y := x.Normalize(l.Eps, trailingAxes(x.Dim(), len(l.Shape))...)
	if l.Weight != nil {
		y = y.Mul(l.Weight)
	}
	if l.Bias != nil {
		scaled := y
		y = y.Add(l.Bias)
		if l.Weight != nil {
			releaseDead(scaled) // Mul's output, read by no gradient (Add's reads nothing)
		}
	}
	return l.RunHooks(l, x, y)
}

// RMSNorm scales its input by the reciprocal root mean square over the last
// len(Shape) axes (torch.nn.RMSNorm, Zhang & Sennrich 2019):
// y = x / √(mean(x²) + eps) · Weight.
type RMSNorm struct {
	Base
	Shape []int
	// Eps is added to the mean square. 0 means torch's eps=None: the machine
	// epsilon of the computation's dtype, which is float64's (2.2e-16) for
	// float64 inputs and float32's (1.19e-7) for all others, since float16
	// and bfloat16 are computed in float32 — what torch's kernel does too
	// (it takes the epsilon of its "opmath" type).
	Eps    float64
	Weight *autograd.Var // Shape, ones at first; nil without affine
}

// NewRMSNorm makes an RMSNorm over the trailing axes of the given shape.
// Options: WithEps, WithoutAffine, WithDType, WithDevice.
func NewRMSNorm(shape []int, opts ...Option) *RMSNorm {
	c := layerOptions("nn.NewRMSNorm", opts, "WithEps", "WithoutAffine", "WithDType", "WithDevice")
	l := &RMSNorm{Shape: slices.Clone(shape)}
	if c.epsSet {
		l.Eps = c.eps
	}
	if c.affine {
		l.Weight = autograd.Param(tensor.Ones(shape, c.tensorOpts()...))
	}
	return l
}

// Members implements Module: "weight" when present.
func (l *RMSNorm) Members() Members { return affineMembers(l.Weight, nil) }

// Forward implements Layer.
func (l *RMSNorm) Forward(x *autograd.Var) *autograd.Var {
	checkTrailing("nn.RMSNorm", x, l.Shape)
	eps := l.Eps
	if eps == 0 {
		eps = float64(math.Nextafter32(1, 2) - 1)
		if x.DType() == tensor.Float64 {
			eps = math.Nextafter(1, 2) - 1
		}
	}
	axes := trailingAxes(x.Dim(), len(l.Shape))
	y := x.Mul(x.Mul(x).MeanKeep(axes...).AddScalar(eps).Rsqrt())
	if l.Weight != nil {
		y = y.Mul(l.Weight)
	}
	return l.RunHooks(l, x, y)
}

// GroupNorm splits the channels (axis 1) of an input [N, C, ...] into Groups
// groups, normalises each group of each sample over its channels and
// positions, then scales and shifts each channel (torch.nn.GroupNorm, Wu &
// He 2018).
type GroupNorm struct {
	Base
	Groups, Channels int
	Eps              float64
	Weight, Bias     *autograd.Var // [Channels]; ones and zeros at first; nil without affine
}

// NewGroupNorm makes a GroupNorm; channels must be a multiple of groups;
// eps is 1e-5 unless WithEps. Options: WithEps, WithoutAffine, WithDType,
// WithDevice.
func NewGroupNorm(groups, channels int, opts ...Option) *GroupNorm {
	c := layerOptions("nn.NewGroupNorm", opts, "WithEps", "WithoutAffine", "WithDType", "WithDevice")
	if groups <= 0 || channels%groups != 0 {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewGroupNorm",
			Msg: fmt.Sprintf("%d channels cannot be split into %d groups", channels, groups)})
	}
	l := &GroupNorm{Groups: groups, Channels: channels, Eps: 1e-5}
	if c.epsSet {
		l.Eps = c.eps
	}
	if c.affine {
		l.Weight = autograd.Param(tensor.Ones([]int{channels}, c.tensorOpts()...))
		l.Bias = autograd.Param(tensor.Zeros([]int{channels}, c.tensorOpts()...))
	}
	return l
}

// Members implements Module: "weight" and "bias" when present.
func (l *GroupNorm) Members() Members { return affineMembers(l.Weight, l.Bias) }

// Forward implements Layer.
func (l *GroupNorm) Forward(x *autograd.Var) *autograd.Var {
	xs := x.Shape()
	if len(xs) < 2 || xs[1] != l.Channels {
		panic(&tensor.Error{Kind: tensor.ShapeError, Op: "nn.GroupNorm", Shapes: [][]int{xs},
			Msg: fmt.Sprintf("expected an input [N, %d, ...]", l.Channels)})
	}
	g := x.Reshape(xs[0], l.Groups, -1)
	y := g.Normalize(l.Eps, 2)
	y = y.Reshape(xs...)
	if l.Weight != nil {
		view := channelView(l.Channels, len(xs))
		y = y.Mul(l.Weight.Reshape(view...)).Add(l.Bias.Reshape(view...))
	}
	return l.RunHooks(l, x, y)
}

// BatchNorm normalises each channel (axis 1) over the batch and every other
// axis (torch.nn.BatchNorm1d for inputs [N, C] or [N, C, L], BatchNorm2d
// for [N, C, H, W]; Ioffe & Szegedy 2015).
//
// In training mode it normalises with the batch's mean and biased variance
// and, when it tracks running statistics, updates them in place:
//
//	NumBatchesTracked += 1
//	f = Momentum, or 1/NumBatchesTracked with CumulativeAverage
//	RunningMean = (1 − f)·RunningMean + f·mean
//	RunningVar  = (1 − f)·RunningVar  + f·var·n/(n−1)   (the unbiased variance)
//
// In evaluation mode it normalises with the running statistics; without
// them (WithoutRunningStats) it uses the batch's in both modes.
type BatchNorm struct {
	Base
	Features          int
	Eps               float64
	Momentum          float64 // the newest batch's weight in the running statistics
	CumulativeAverage bool    // average all batches equally instead (torch's momentum=None)
	Weight, Bias      *autograd.Var
	// Buffers, nil without running statistics. They are updated in place,
	// so a state dict that holds them stays current.
	RunningMean, RunningVar *tensor.Tensor // [Features]: zeros and ones at first
	NumBatchesTracked       *tensor.Tensor // 0-d Int64
	op                      string
	ranks                   []int
}

// NewBatchNorm1d makes a BatchNorm for inputs [N, C] or [N, C, L]. eps is
// 1e-5 and momentum 0.1 unless set. Options: WithEps, WithMomentum,
// WithCumulativeAverage, WithoutAffine, WithoutRunningStats, WithDType,
// WithDevice.
func NewBatchNorm1d(features int, opts ...Option) *BatchNorm {
	return newBatchNorm("nn.BatchNorm1d", []int{2, 3}, features, opts)
}

// NewBatchNorm2d makes a BatchNorm for inputs [N, C, H, W]; see
// NewBatchNorm1d for the options.
func NewBatchNorm2d(features int, opts ...Option) *BatchNorm {
	return newBatchNorm("nn.BatchNorm2d", []int{4}, features, opts)
}

func newBatchNorm(op string, ranks []int, features int, opts []Option) *BatchNorm {
	c := layerOptions("nn.New"+op[3:], opts, "WithEps", "WithMomentum", "WithCumulativeAverage",
		"WithoutAffine", "WithoutRunningStats", "WithDType", "WithDevice")
	l := &BatchNorm{Features: features, Eps: 1e-5, Momentum: c.momentum, CumulativeAverage: c.cumulative, op: op, ranks: ranks}
	if c.epsSet {
		l.Eps = c.eps
	}
	shape := []int{features}
	if c.affine {
		l.Weight = autograd.Param(tensor.Ones(shape, c.tensorOpts()...))
		l.Bias = autograd.Param(tensor.Zeros(shape, c.tensorOpts()...))
	}
	if c.track {
		l.RunningMean = tensor.Keep(tensor.Zeros(shape, c.tensorOpts()...))
		l.RunningVar = tensor.Keep(tensor.Ones(shape, c.tensorOpts()...))
		l.NumBatchesTracked = tensor.Zeros(nil, tensor.WithDType(tensor.Int64), tensor.WithDevice(c.device))
	}
	return l
}

// Members implements Module: "weight" and "bias" when affine, then the
// buffers "running_mean", "running_var" and "num_batches_tracked" when
// tracking — torch's names.
func (l *BatchNorm) Members() Members {
	m := affineMembers(l.Weight, l.Bias)
	if l.RunningMean != nil {
		m.Buffers = []Named[*tensor.Tensor]{
			B("running_mean", l.RunningMean),
			B("running_var", l.RunningVar),
			B("num_batches_tracked", l.NumBatchesTracked),
		}
	}
	return m
}

// Forward implements Layer.
func (l *BatchNorm) Forward(x *autograd.Var) *autograd.Var {
	xs := x.Shape()
	if !slices.Contains(l.ranks, len(xs)) || xs[1] != l.Features {
		panic(&tensor.Error{Kind: tensor.ShapeError, Op: l.op, Shapes: [][]int{xs},
			Msg: fmt.Sprintf("expected a %v-D input with %d channels on axis 1", l.ranks, l.Features)})
	}
	axes := []int{0}
	for i := 2; i < len(xs); i++ {
		axes = append(axes, i)
	}
	view := channelView(l.Features, len(xs))
	tracking := l.RunningMean != nil
	var y *autograd.Var
	if l.Training() || !tracking {
		n := x.Data.Numel() / l.Features
		if n <= 1 {
			panic(&tensor.Error{Kind: tensor.ValueError, Op: l.op, Shapes: [][]int{xs},
				Msg: "expected more than 1 value per channel when training"})
		}
		var mean, variance *autograd.Var
		y, mean, variance = normalize(x, l.Eps, axes)
		if l.Training() && tracking {
			l.update(mean.Data.Reshape(l.Features), variance.Data.Reshape(l.Features), n)
		}
	} else {
		rm := autograd.Const(l.RunningMean.Reshape(view...))
		rv := autograd.Const(l.RunningVar.Reshape(view...))
		y = x.Sub(rm).Mul(rv.AddScalar(l.Eps).Rsqrt())
	}
	if l.Weight != nil {
		y = y.Mul(l.Weight.Reshape(view...)).Add(l.Bias.Reshape(view...))
	}
	return l.RunHooks(l, x, y)
}

// update folds a batch's statistics into the running ones, in place. These
// are tensor ops, which record nothing.
func (l *BatchNorm) update(mean, biasedVar *tensor.Tensor, n int) {
	l.NumBatchesTracked.CopyFrom(l.NumBatchesTracked.AddScalar(1))
	f := l.Momentum
	if l.CumulativeAverage {
		f = 1 / l.NumBatchesTracked.Item()
	}
	unbiased := biasedVar.MulScalar(float64(n) / float64(n-1))
	l.RunningMean.Lerp_(mean, f)
	l.RunningVar.Lerp_(unbiased, f)
}

// String prints the layer as torch's repr does.
func (l *LayerNorm) String() string {
	return fmt.Sprintf("LayerNorm(%s, eps=%v, elementwise_affine=%s)", pyTuple(l.Shape), l.Eps, pyBool(l.Weight != nil))
}

// String prints the layer as torch's repr does (eps=None for the default).
func (l *RMSNorm) String() string {
	eps := "None"
	if l.Eps != 0 {
		eps = fmt.Sprint(l.Eps)
	}
	return fmt.Sprintf("RMSNorm(%s, eps=%s, elementwise_affine=%s)", pyTuple(l.Shape), eps, pyBool(l.Weight != nil))
}

// String prints the layer as torch's repr does.
func (l *GroupNorm) String() string {
	return fmt.Sprintf("GroupNorm(%d, %d, eps=%v, affine=%s)", l.Groups, l.Channels, l.Eps, pyBool(l.Weight != nil))
}

// String prints the layer as torch's repr does.
func (l *BatchNorm) String() string {
	m := fmt.Sprint(l.Momentum)
	if l.CumulativeAverage {
		m = "None"
	}
	return fmt.Sprintf("%s(%d, eps=%v, momentum=%s, affine=%s, track_running_stats=%s)", l.op[3:], l.Features, l.Eps, m,
		pyBool(l.Weight != nil), pyBool(l.RunningMean != nil))
}
