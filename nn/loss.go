package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Losses, after torch.nn.functional. Each takes the model's output and the
// target as Vars (wrap a plain tensor with autograd.Const; class indices
// are an Int64 or Int32 Const) and returns the loss as a Var: a scalar
// under the Mean and Sum reductions, the elementwise losses under None.
// Gradients flow to the input and, where torch differentiates it, to a
// target that requires them. Options are functional, shared by all losses:
//
//	loss := nn.CrossEntropyLoss(logits, autograd.Const(labels),
//		nn.WithLabelSmoothing(0.1), nn.WithIgnoreIndex(0))
//
// A loss given an option it has no use for panics (ValueError), as does a
// bad value; shapes that do not fit panic with a ShapeError.

// Reduction says how a loss combines its elementwise terms.
type Reduction int

const (
	Mean      Reduction = iota // the (weighted) mean: torch's default
	Sum                        // the sum
	None                       // no reduction: the elementwise losses
	BatchMean                  // the sum divided by the batch size (KLDivLoss only)
)

func (r Reduction) String() string {
	switch r {
	case Mean:
		return "mean"
	case Sum:
		return "sum"
	case None:
		return "none"
	case BatchMean:
		return "batchmean"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// LossOption sets an optional argument of a loss.
type LossOption struct {
	name string
	set  func(*lossConfig)
}

type lossConfig struct {
	reduction      Reduction
	weight         *tensor.Tensor
	ignoreIndex    int
	labelSmoothing float64
	beta, delta    float64
	posWeight      *tensor.Tensor
	logTarget      bool
}

// WithReduction sets the reduction (Mean by default).
func WithReduction(r Reduction) LossOption {
	return LossOption{"WithReduction", func(c *lossConfig) { c.reduction = r }}
}

// WithWeight rescales the loss: per class ([C]) for CrossEntropyLoss and
// NLLLoss, per element (broadcast against the input) for BCELoss and
// BCEWithLogitsLoss. It is a constant: no gradient flows to it.
func WithWeight(w *tensor.Tensor) LossOption {
	return LossOption{"WithWeight", func(c *lossConfig) { c.weight = w }}
}

// WithIgnoreIndex names a target class whose elements contribute nothing,
// neither to the loss nor to the Mean's denominator (−100 by default, as in
// torch). CrossEntropyLoss and NLLLoss with class-index targets.
func WithIgnoreIndex(i int) LossOption {
	return LossOption{"WithIgnoreIndex", func(c *lossConfig) { c.ignoreIndex = i }}
}

// WithLabelSmoothing mixes the target with the uniform distribution over
// the C classes: (1 − s)·target + s/C, s in [0, 1]. CrossEntropyLoss only.
func WithLabelSmoothing(s float64) LossOption {
	return LossOption{"WithLabelSmoothing", func(c *lossConfig) { c.labelSmoothing = s }}
}

// WithBeta sets SmoothL1Loss's threshold between the quadratic and the
// linear piece (1 by default; 0 gives L1Loss).
func WithBeta(b float64) LossOption {
	return LossOption{"WithBeta", func(c *lossConfig) { c.beta = b }}
}

// WithDelta sets HuberLoss's threshold between the quadratic and the linear
// piece (1 by default).
func WithDelta(d float64) LossOption {
	return LossOption{"WithDelta", func(c *lossConfig) { c.delta = d }}
}

// WithPosWeight weighs the positive term of BCEWithLogitsLoss, broadcast
// against the input's last axis (one weight per class).
func WithPosWeight(pw *tensor.Tensor) LossOption {
	return LossOption{"WithPosWeight", func(c *lossConfig) { c.posWeight = pw }}
}

// WithLogTarget says that KLDivLoss's target holds log-probabilities.
func WithLogTarget() LossOption {
	return LossOption{"WithLogTarget", func(c *lossConfig) { c.logTarget = true }}
}

func lossErr(kind tensor.ErrorKind, op string, shapes [][]int, format string, args ...any) {
	panic(&tensor.Error{Kind: kind, Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// lossOptions applies opts on top of torch's defaults; allowed lists the
// options the loss takes (WithReduction always).
func lossOptions(op string, opts []LossOption, allowed ...string) lossConfig {
	c := lossConfig{reduction: Mean, ignoreIndex: -100, beta: 1, delta: 1}
	for _, o := range opts {
		if o.name != "WithReduction" && !slices.Contains(allowed, o.name) {
			lossErr(tensor.ValueError, op, nil, "option %s does not apply", o.name)
		}
		o.set(&c)
	}
	if c.reduction < Mean || c.reduction > BatchMean || (c.reduction == BatchMean && op != "nn.KLDivLoss") {
		lossErr(tensor.ValueError, op, nil, "reduction %v is not supported", c.reduction)
	}
	return c
}

// reduce applies a Mean, Sum or None reduction to elementwise losses.
func reduce(l *autograd.Var, r Reduction) *autograd.Var {
	switch r {
	case Sum:
		return l.Sum()
	case None:
		return l
	}
	return l.Mean()
}

// constLike converts t to v's dtype and device, as a constant.
func constLike(t *tensor.Tensor, v *autograd.Var) *autograd.Var {
	return autograd.Const(t.Cast(v.DType()).To(v.Data.Device()))
}

// classAxis returns the class axis of a CrossEntropy/NLL input: 1, or 0
// for an unbatched input [C].
func classAxis(input *autograd.Var) int {
	if input.Dim() == 1 {
		return 0
	}
	return 1
}

// classWeightView returns the per-class weight as a constant that
// broadcasts against the input ([1, C, 1, ...]), or nil.
func classWeightView(op string, c *lossConfig, input *autograd.Var) *autograd.Var {
	if c.weight == nil {
		return nil
	}
	ax := classAxis(input)
	nc := input.Shape()[ax]
	if c.weight.Dim() != 1 || c.weight.Size(0) != nc {
		lossErr(tensor.ShapeError, op, [][]int{input.Shape(), c.weight.Shape()}, "weight must be 1-D with one entry for each of the %d classes", nc)
	}
	return constLike(c.weight.Reshape(channelView(nc, input.Dim())...), input)
}

// nll is the negative log-likelihood of class-index targets under the
// log-probabilities logp: −weight[t]·logp[t] for each element whose target
// t is not the ignore index. Mean divides by the summed weights of those
// targets. It also returns that ignore mask and the summed weight, which
// label smoothing reuses.
func nll(op string, logp *autograd.Var, target *autograd.Var, c *lossConfig) (loss *autograd.Var, ignored, totalWeight *tensor.Tensor) {
	t := target.Data
	if !t.DType().IsInt() {
		lossErr(tensor.DTypeError, op, [][]int{logp.Shape(), t.Shape()}, "class-index targets must be int64 or int32, not %v", t.DType())
	}
	ax := classAxis(logp)
	ls := logp.Shape()
	if logp.Dim() == 0 || !slices.Equal(t.Shape(), slices.Delete(slices.Clone(ls), ax, ax+1)) {
		lossErr(tensor.ShapeError, op, [][]int{ls, t.Shape()}, "expected an input [N, C, ...] (or [C]) and a target [N, ...] (or [])")
	}
	nc := ls[ax]
	t = t.Cast(tensor.Int64).To(logp.Data.Device())
	ignored = t.EqScalar(float64(c.ignoreIndex))
	safe := tensor.Where(ignored, tensor.ZerosLike(t), t) // an ignored target may be out of range

	picked := logp.Gather(ax, safe.Unsqueeze(ax)).Squeeze(ax)
	zero := autograd.Const(tensor.ZerosLike(picked.Data))
	picked = autograd.Where(ignored, zero, picked) // ignored terms: 0, whatever logp is there

	var w *tensor.Tensor // each element's weight, 0 where ignored
	valid := t.NeScalar(float64(c.ignoreIndex)).Cast(logp.DType())
	if c.weight != nil {
		if c.weight.Dim() != 1 || c.weight.Size(0) != nc {
			lossErr(tensor.ShapeError, op, [][]int{ls, c.weight.Shape()}, "weight must be 1-D with one entry for each of the %d classes", nc)
		}
		cw := c.weight.Cast(logp.DType()).To(logp.Data.Device())
		w = cw.IndexSelect(0, safe.Reshape(-1)).Reshape(t.Shape()...).Mul(valid)
		loss = picked.Neg().Mul(autograd.Const(w))
	} else {
		w = valid
		loss = picked.Neg()
	}
	totalWeight = w.Sum()
	return meanOverWeight(loss, totalWeight, c.reduction), ignored, totalWeight
}

// meanOverWeight reduces l, dividing its sum by total under Mean. When
// total is 0 (every target ignored) the loss is NaN, as in torch, but its
// gradient is 0 rather than 0·∞.
func meanOverWeight(l *autograd.Var, total *tensor.Tensor, r Reduction) *autograd.Var {
	switch r {
	case None:
		return l
	case Sum:
		return l.Sum()
	}
	isZero := total.EqScalar(0)
	one := tensor.OnesLike(total)
	div := tensor.Where(isZero, one, total)
	nan := tensor.Where(isZero, one.MulScalar(math.NaN()), tensor.ZerosLike(total))
	return l.Sum().Div(autograd.Const(div)).Add(autograd.Const(nan))
}

// NLLLoss is the negative log-likelihood loss (torch.nn.functional.nll_loss)
// of log-probabilities input [N, C], [N, C, d1, ...] or [C] and class
// indices target [N], [N, d1, ...] or []: −weight[t]·input[t] per element,
// 0 where the target is the ignore index. Mean divides the sum by the
// summed weights of the targets that are not ignored (NaN when all are).
// Options: WithReduction, WithWeight, WithIgnoreIndex.
func NLLLoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	c := lossOptions("nn.NLLLoss", opts, "WithWeight", "WithIgnoreIndex")
	l, _, _ := nll("nn.NLLLoss", input, target, &c)
	return l
}

// CrossEntropyLoss is the cross entropy between the softmax of the logits
// input (classes on axis 1: [N, C], [N, C, d1, ...], or [C] unbatched) and
// the target (torch.nn.functional.cross_entropy), which is either
//
//   - class indices (integer, [N, d1, ...] or []): NLLLoss of
//     LogSoftmax(input), with its weight, ignore index and weighted mean; or
//   - class probabilities (floating point, input's shape): the sum over
//     classes of −weight[c]·target·log softmax(input); Mean divides by the
//     number of elements per class (N·d1·...), never by weights, and an
//     ignore index is not allowed.
//
// With label smoothing s over C classes the target becomes (1 − s)·target
// + s/C. For class indices this is torch's (1 − s)·nll + (s/C)·smooth,
// where smooth = −Σ_c weight[c]·log softmax(input)_c per element (0 where
// ignored), reduced like the nll: under Mean divided by the summed weights
// of the target classes that are not ignored.
//
// Options: WithReduction, WithWeight, WithIgnoreIndex, WithLabelSmoothing.
func CrossEntropyLoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.CrossEntropyLoss"
	c := lossOptions(op, opts, "WithWeight", "WithIgnoreIndex", "WithLabelSmoothing")
	if !(c.labelSmoothing >= 0 && c.labelSmoothing <= 1) {
		lossErr(tensor.ValueError, op, nil, "label smoothing %v is not in [0, 1]", c.labelSmoothing)
	}
	if input.Dim() == 0 {
		lossErr(tensor.ShapeError, op, [][]int{input.Shape()}, "input must have a class axis")
	}
	ax := classAxis(input)
	nc := float64(input.Shape()[ax])
	logp := input.LogSoftmax(ax)
	wv := classWeightView(op, &c, input)

	if slices.Equal(input.Shape(), target.Shape()) {
		// Class probabilities.
		if !target.DType().IsFloat() {
			lossErr(tensor.DTypeError, op, [][]int{input.Shape(), target.Shape()},
				"a target of the input's shape holds probabilities and must be floating point, not %v", target.DType())
		}
		if c.ignoreIndex >= 0 {
			lossErr(tensor.ValueError, op, nil, "an ignore index is not supported for probability targets")
		}
		tgt := target
		if c.labelSmoothing > 0 {
			tgt = tgt.MulScalar(1 - c.labelSmoothing).AddScalar(c.labelSmoothing / nc)
		}
		per := logp.Mul(tgt)
		if wv != nil {
			per = per.Mul(wv)
		}
		per = per.Sum(ax).Neg()
		if c.reduction == Mean {
			return per.Sum().DivScalar(float64(input.Data.Numel()) / nc)
		}
		return reduce(per, c.reduction)
	}

	loss, ignored, total := nll(op, logp, target, &c)
	if c.labelSmoothing == 0 {
		return loss
	}
	all := logp
	if wv != nil {
		all = all.Mul(wv)
	}
	smooth := all.Sum(ax).Neg()
	smooth = autograd.Where(ignored, autograd.Const(tensor.ZerosLike(smooth.Data)), smooth)
	smooth = meanOverWeight(smooth, total, c.reduction)
	return loss.MulScalar(1 - c.labelSmoothing).Add(smooth.MulScalar(c.labelSmoothing / nc))
}

// elementwise checks that input and target broadcast together (torch warns
// and broadcasts; so does Tessera, silently).
func elementwise(op string, input, target *autograd.Var) {
	if _, ok := tensor.BroadcastShapes(input.Shape(), target.Shape()); !ok {
		lossErr(tensor.ShapeError, op, [][]int{input.Shape(), target.Shape()}, "input and target do not broadcast together")
	}
}

// MSELoss is the squared error (input − target)² (torch's mse_loss).
// Options: WithReduction.
func MSELoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	c := lossOptions("nn.MSELoss", opts)
	elementwise("nn.MSELoss", input, target)
	d := input.Sub(target)
	return reduce(d.Mul(d), c.reduction)
}

// L1Loss is the absolute error |input − target| (torch's l1_loss); its
// gradient at 0 is 0. Options: WithReduction.
func L1Loss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	c := lossOptions("nn.L1Loss", opts)
	elementwise("nn.L1Loss", input, target)
	return reduce(input.Sub(target).Abs(), c.reduction)
}

// SmoothL1Loss is 0.5·d²/β where |d| < β and |d| − 0.5·β elsewhere, d =
// input − target (torch's smooth_l1_loss); β = 0 gives L1Loss. Options:
// WithReduction, WithBeta.
func SmoothL1Loss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.SmoothL1Loss"
	c := lossOptions(op, opts, "WithBeta")
	if !(c.beta >= 0) {
		lossErr(tensor.ValueError, op, nil, "beta %v must be non-negative", c.beta)
	}
	elementwise(op, input, target)
	d := input.Sub(target)
	ad := d.Abs()
	if c.beta == 0 {
		return reduce(ad, c.reduction)
	}
	quad := d.Mul(d).MulScalar(0.5 / c.beta)
	lin := ad.SubScalar(0.5 * c.beta)
	return reduce(autograd.Where(ad.Data.LtScalar(c.beta), quad, lin), c.reduction)
}

// HuberLoss is 0.5·d² where |d| < δ and δ·(|d| − 0.5·δ) elsewhere, d =
// input − target (torch's huber_loss); it is δ·SmoothL1Loss with β = δ.
// Options: WithReduction, WithDelta.
func HuberLoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.HuberLoss"
	c := lossOptions(op, opts, "WithDelta")
	if !(c.delta > 0) {
		lossErr(tensor.ValueError, op, nil, "delta %v must be positive", c.delta)
	}
	elementwise(op, input, target)
	d := input.Sub(target)
	ad := d.Abs()
	quad := d.Mul(d).MulScalar(0.5)
	lin := ad.SubScalar(0.5 * c.delta).MulScalar(c.delta)
	return reduce(autograd.Where(ad.Data.LtScalar(c.delta), quad, lin), c.reduction)
}

// BCELoss is the binary cross entropy −w·(y·log x + (1 − y)·log(1 − x))
// between probabilities x = input in [0, 1] and target y of the same shape
// (torch's binary_cross_entropy). As in torch, each log is clamped to ≥ −100
// so that x = 0 or 1 gives a finite loss, and the gradient with respect to
// x is torch's w·(x − y)/max(x·(1 − x), 1e-12), finite there too (that of
// the clamped logs would be 0/0). The gradient with respect to y is
// w·(clamped log(1 − x) − clamped log x). These gradients are attached as
// constants, so the loss cannot be differentiated twice. Options:
// WithReduction, WithWeight.
func BCELoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.BCELoss"
	c := lossOptions(op, opts, "WithWeight")
	if !slices.Equal(input.Shape(), target.Shape()) {
		lossErr(tensor.ShapeError, op, [][]int{input.Shape(), target.Shape()}, "target must have the input's shape")
	}
	x, y := input.Data, target.Data.Cast(input.DType())
	if x.Numel() > 0 && (x.Min().Item() < 0 || x.Max().Item() > 1) {
		lossErr(tensor.ValueError, op, [][]int{x.Shape()}, "all elements of input should be between 0 and 1")
	}
	logX := x.Log().MaximumScalar(-100)
	log1mX := x.Neg().Log1p().MaximumScalar(-100)
	value := y.SubScalar(1).Mul(log1mX).Sub(y.Mul(logX))
	gradX := x.Sub(y).Div(x.RSubScalar(1).Mul(x).MaximumScalar(1e-12))

	l := autograd.Const(value).Add(input.Sub(autograd.Const(x)).Mul(autograd.Const(gradX)))
	if target.RequiresGrad() {
		l = l.Add(target.Sub(autograd.Const(target.Data)).Mul(constLike(log1mX.Sub(logX), target)))
	}
	if c.weight != nil {
		l = l.Mul(constLike(c.weight, input))
	}
	return reduce(l, c.reduction)
}

// BCEWithLogitsLoss is BCELoss of sigmoid(input), computed stably from the
// logits x (torch's binary_cross_entropy_with_logits):
//
//	w·((1 − y)·x + (1 + (p − 1)·y)·(log(e^−m + e^(−x−m)) + m)),  m = max(−x, 0)
//
// where p is the positive weight (1 without WithPosWeight), broadcast
// against the last axis. Its gradient is w·((1 + (p − 1)·y)·σ(x) − p·y).
// Options: WithReduction, WithWeight, WithPosWeight.
func BCEWithLogitsLoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.BCEWithLogitsLoss"
	c := lossOptions(op, opts, "WithWeight", "WithPosWeight")
	if !slices.Equal(input.Shape(), target.Shape()) {
		lossErr(tensor.ShapeError, op, [][]int{input.Shape(), target.Shape()}, "target must have the input's shape")
	}
	x := input
	m := x.Neg().Clamp(0, math.Inf(1))
	softplus := m.Neg().Exp().Add(x.Neg().Sub(m).Exp()).Log().Add(m) // log(1 + e^−x)
	if c.posWeight != nil {
		pw := constLike(c.posWeight, input)
		softplus = target.Mul(pw.SubScalar(1)).AddScalar(1).Mul(softplus)
	}
	l := target.RSubScalar(1).Mul(x).Add(softplus)
	if c.weight != nil {
		l = l.Mul(constLike(c.weight, input))
	}
	return reduce(l, c.reduction)
}

// KLDivLoss is the Kullback–Leibler divergence of the target distribution
// from the input's (torch's kl_div): with input x = log q and target p,
// p·(log p − x) per element, taken as 0 where p = 0; with WithLogTarget the
// target is log p and the term is e^target·(target − x). Mean averages over
// every element, as torch does; BatchMean, the mathematically correct
// choice, divides the sum by the batch size (input's first axis). Options:
// WithReduction (incl. BatchMean), WithLogTarget.
func KLDivLoss(input, target *autograd.Var, opts ...LossOption) *autograd.Var {
	const op = "nn.KLDivLoss"
	c := lossOptions(op, opts, "WithLogTarget")
	elementwise(op, input, target)
	var l *autograd.Var
	if c.logTarget {
		l = target.Exp().Mul(target.Sub(input))
	} else {
		// xlogy(p, p) − p·x, with xlogy(0, 0) = 0.
		zero := target.Data.EqScalar(0)
		safe := autograd.Where(zero, autograd.Const(tensor.OnesLike(target.Data)), target)
		xlogy := autograd.Where(zero, autograd.Const(tensor.ZerosLike(target.Data)), target.Mul(safe.Log()))
		l = xlogy.Sub(target.Mul(input))
	}
	if c.reduction == BatchMean {
		s := l.Sum()
		if input.Dim() == 0 {
			return s
		}
		return s.DivScalar(float64(input.Shape()[0]))
	}
	return reduce(l, c.reduction)
}
