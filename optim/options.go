package optim

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Hyper holds a parameter group's hyperparameters under the names torch
// gives them in a param_group. Each optimizer reads the ones its
// constructor documents; the others stay zero.
type Hyper struct {
	LR                      float64    `json:"lr"`
	Momentum                float64    `json:"momentum"`  // SGD, RMSprop
	Dampening               float64    `json:"dampening"` // SGD
	Nesterov                bool       `json:"nesterov"`  // SGD
	Betas                   [2]float64 `json:"betas"`     // Adam, AdamW
	Eps                     float64    `json:"eps"`       // Adam, AdamW, RMSprop, Adagrad
	WeightDecay             float64    `json:"weight_decay"`
	AMSGrad                 bool       `json:"amsgrad"`                   // Adam, AdamW
	Alpha                   float64    `json:"alpha"`                     // RMSprop
	Centered                bool       `json:"centered"`                  // RMSprop
	LRDecay                 float64    `json:"lr_decay"`                  // Adagrad
	InitialAccumulatorValue float64    `json:"initial_accumulator_value"` // Adagrad
	Maximize                bool       `json:"maximize"`

	// InitialLR is the learning rate a schedule starts from (torch's
	// initial_lr). The first scheduler attached to the optimizer sets it
	// from LR when it is zero; OneCycleLR always sets it.
	InitialLR float64 `json:"initial_lr"`
}

// ParamGroup is a set of parameters that share hyperparameters. Build one
// with Group; the optimizer fills in Hyper when it takes the group, and
// ParamGroups returns the live groups, whose fields a scheduler (or the
// caller) may change between steps.
type ParamGroup struct {
	Params []*autograd.Var
	Hyper
	opts []Option
}

// Group returns a parameter group whose hyperparameters are the optimizer's
// except those that opts set:
//
//	optim.NewAdamW([]optim.ParamGroup{
//		optim.Group(weights),
//		optim.Group(biases, optim.WithWeightDecay(0), optim.WithLR(3e-4)),
//	}, optim.WithLR(1e-3))
//
// A ParamGroup written as a literal also works; non-zero fields of its Hyper
// then override the optimizer's values too (options are applied after them).
func Group(params []*autograd.Var, opts ...Option) ParamGroup {
	return ParamGroup{Params: params, opts: opts}
}

// Params is what an optimizer constructor accepts: a plain parameter list
// (one group) or parameter groups.
type Params interface {
	[]*autograd.Var | []ParamGroup
}

func groupsOf[P Params](params P) []ParamGroup {
	switch p := any(params).(type) {
	case []*autograd.Var:
		return []ParamGroup{{Params: p}}
	case []ParamGroup:
		return p
	}
	panic("unreachable")
}

// Option sets a hyperparameter of an optimizer or a parameter group, or a
// setting of a scheduler:
//
//	optim.NewSGD(params, optim.WithLR(0.1), optim.WithMomentum(0.9), optim.WithNesterov(true))
//
// Unset values take torch's defaults. Each constructor (and Group, through
// its optimizer) accepts the options that mean something to it and panics
// with a *tensor.Error (ValueError) naming any other, so a misplaced option
// is never silently ignored.
type Option struct {
	name string
	set  func(*config)
}

// config is what options set: a group's hyperparameters and the settings of
// the schedulers that take options.
type config struct {
	Hyper
	lrSet bool // WithLR was given or a group literal set LR

	// OneCycleLR
	maxLRs         []float64
	pctStart       float64
	anneal         string
	cycleMomentum  bool
	baseMomentum   []float64
	maxMomentum    []float64
	divFactor      float64
	finalDivFactor float64
	threePhase     bool

	// ReduceLROnPlateau (its eps is Hyper.Eps)
	mode          string
	thresholdMode string
	factor        float64
	threshold     float64
	patience      int
	cooldown      int
	minLR         []float64
}

// apply runs opts on c, panicking on an option not in allowed.
func (c *config) apply(op string, opts []Option, allowed []string) {
	for _, o := range opts {
		if !slices.Contains(allowed, o.name) {
			valueError(op, "option %s does not apply", o.name)
		}
		o.set(c)
	}
}

// applyLiteral copies the non-zero hyperparameters of a ParamGroup literal
// into c (InitialLR always), panicking on one the optimizer does not use.
func (c *config) applyLiteral(op string, h Hyper, allowed []string) {
	src := reflect.ValueOf(h)
	dst := reflect.ValueOf(&c.Hyper).Elem()
	for i := range src.NumField() {
		name := src.Type().Field(i).Name
		if name == "InitialLR" {
			dst.Field(i).Set(src.Field(i))
			continue
		}
		if src.Field(i).IsZero() {
			continue
		}
		if !slices.Contains(allowed, "With"+name) {
			valueError(op, "parameter group sets %s, which does not apply", name)
		}
		dst.Field(i).Set(src.Field(i))
		if name == "LR" {
			c.lrSet = true
		}
	}
}

// valueError panics with a *tensor.Error of kind ValueError.
func valueError(op, format string, args ...any) {
	panic(&tensor.Error{Kind: tensor.ValueError, Op: op, Msg: fmt.Sprintf(format, args...)})
}

// Hyperparameters of optimizers and parameter groups.

// WithLR sets the learning rate.
func WithLR(lr float64) Option {
	return Option{"WithLR", func(c *config) { c.LR, c.lrSet = lr, true }}
}

// WithMomentum sets the momentum factor of SGD or RMSprop (0 by default).
func WithMomentum(m float64) Option {
	return Option{"WithMomentum", func(c *config) { c.Momentum = m }}
}

// WithDampening sets SGD's dampening of the momentum (0 by default).
func WithDampening(d float64) Option {
	return Option{"WithDampening", func(c *config) { c.Dampening = d }}
}

// WithNesterov switches SGD's Nesterov momentum on or off (off by default).
func WithNesterov(on bool) Option {
	return Option{"WithNesterov", func(c *config) { c.Nesterov = on }}
}

// WithBetas sets Adam's and AdamW's running-average coefficients
// (0.9, 0.999 by default).
func WithBetas(beta1, beta2 float64) Option {
	return Option{"WithBetas", func(c *config) { c.Betas = [2]float64{beta1, beta2} }}
}

// WithEps sets the term added to the denominator for numerical stability
// (1e-8 for Adam, AdamW and RMSprop, 1e-10 for Adagrad), or
// ReduceLROnPlateau's smallest change of learning rate worth making (1e-8).
func WithEps(eps float64) Option { return Option{"WithEps", func(c *config) { c.Eps = eps }} }

// WithWeightDecay sets the weight decay: an L2 penalty added to the gradient,
// or AdamW's decoupled decay (0 by default, 0.01 for AdamW).
func WithWeightDecay(wd float64) Option {
	return Option{"WithWeightDecay", func(c *config) { c.WeightDecay = wd }}
}

// WithAMSGrad switches Adam's and AdamW's AMSGrad variant on or off (off by
// default).
func WithAMSGrad(on bool) Option {
	return Option{"WithAMSGrad", func(c *config) { c.AMSGrad = on }}
}

// WithAlpha sets RMSprop's smoothing constant (0.99 by default).
func WithAlpha(a float64) Option { return Option{"WithAlpha", func(c *config) { c.Alpha = a }} }

// WithCentered makes RMSprop normalise by the centred second moment, an
// estimate of the gradient's variance (off by default).
func WithCentered(on bool) Option {
	return Option{"WithCentered", func(c *config) { c.Centered = on }}
}

// WithLRDecay sets Adagrad's learning-rate decay (0 by default).
func WithLRDecay(d float64) Option {
	return Option{"WithLRDecay", func(c *config) { c.LRDecay = d }}
}

// WithInitialAccumulatorValue sets the value Adagrad's sum of squared
// gradients starts from (0 by default).
func WithInitialAccumulatorValue(v float64) Option {
	return Option{"WithInitialAccumulatorValue", func(c *config) { c.InitialAccumulatorValue = v }}
}

// WithMaximize makes the optimizer maximise the objective instead of
// minimising it (off by default).
func WithMaximize(on bool) Option {
	return Option{"WithMaximize", func(c *config) { c.Maximize = on }}
}

// Settings of OneCycleLR.

// WithMaxLR gives OneCycleLR's peak learning rate: one value for every
// group or one per group (overriding the one NewOneCycleLR is given).
func WithMaxLR(lr ...float64) Option {
	return Option{"WithMaxLR", func(c *config) { c.maxLRs = slices.Clone(lr) }}
}

// WithPctStart sets the fraction of the cycle spent raising the learning
// rate (0.3 by default).
func WithPctStart(p float64) Option {
	return Option{"WithPctStart", func(c *config) { c.pctStart = p }}
}

// WithAnnealStrategy chooses OneCycleLR's annealing: "cos" (the default) or
// "linear".
func WithAnnealStrategy(s string) Option {
	return Option{"WithAnnealStrategy", func(c *config) { c.anneal = s }}
}

// WithCycleMomentum switches OneCycleLR's inverse cycling of the momentum
// (SGD, RMSprop) or beta1 (Adam, AdamW) on or off (on by default).
func WithCycleMomentum(on bool) Option {
	return Option{"WithCycleMomentum", func(c *config) { c.cycleMomentum = on }}
}

// WithBaseMomentum sets OneCycleLR's lowest momentum, one value for every
// group or one per group (0.85 by default).
func WithBaseMomentum(m ...float64) Option {
	return Option{"WithBaseMomentum", func(c *config) { c.baseMomentum = slices.Clone(m) }}
}

// WithMaxMomentum sets OneCycleLR's highest momentum, one value for every
// group or one per group (0.95 by default).
func WithMaxMomentum(m ...float64) Option {
	return Option{"WithMaxMomentum", func(c *config) { c.maxMomentum = slices.Clone(m) }}
}

// WithDivFactor sets OneCycleLR's initial learning rate to max_lr/d (25 by
// default).
func WithDivFactor(d float64) Option {
	return Option{"WithDivFactor", func(c *config) { c.divFactor = d }}
}

// WithFinalDivFactor sets OneCycleLR's final learning rate to
// initial_lr/d (1e4 by default).
func WithFinalDivFactor(d float64) Option {
	return Option{"WithFinalDivFactor", func(c *config) { c.finalDivFactor = d }}
}

// WithThreePhase makes OneCycleLR descend back to the initial learning rate
// before annihilating it, fast.ai's schedule (off by default).
func WithThreePhase(on bool) Option {
	return Option{"WithThreePhase", func(c *config) { c.threePhase = on }}
}

// Settings of ReduceLROnPlateau (and WithEps).

// WithMode says whether ReduceLROnPlateau's metric should go down ("min",
// the default: a loss) or up ("max": an accuracy).
func WithMode(mode string) Option { return Option{"WithMode", func(c *config) { c.mode = mode }} }

// WithFactor sets the factor ReduceLROnPlateau multiplies the learning rate
// by (0.1 by default).
func WithFactor(f float64) Option { return Option{"WithFactor", func(c *config) { c.factor = f }} }

// WithPatience sets how many steps without improvement ReduceLROnPlateau
// tolerates before it reduces the learning rate (10 by default).
func WithPatience(n int) Option { return Option{"WithPatience", func(c *config) { c.patience = n }} }

// WithThreshold sets the smallest change ReduceLROnPlateau counts as an
// improvement (1e-4 by default).
func WithThreshold(t float64) Option {
	return Option{"WithThreshold", func(c *config) { c.threshold = t }}
}

// WithThresholdMode says whether the threshold is relative to the best
// value ("rel", the default) or absolute ("abs").
func WithThresholdMode(mode string) Option {
	return Option{"WithThresholdMode", func(c *config) { c.thresholdMode = mode }}
}

// WithCooldown sets how many steps ReduceLROnPlateau waits after a
// reduction before it counts bad steps again (0 by default).
func WithCooldown(n int) Option { return Option{"WithCooldown", func(c *config) { c.cooldown = n }} }

// WithMinLR sets the learning rate below which ReduceLROnPlateau does not
// go: one value for every group or one per group (0 by default).
func WithMinLR(lr ...float64) Option {
	return Option{"WithMinLR", func(c *config) { c.minLR = slices.Clone(lr) }}
}
