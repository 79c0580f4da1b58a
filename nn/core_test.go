package nn_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// coreRandn returns seeded standard normal float64 values of shape.
func coreRandn(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(tensor.NewGenerator(seed), shape, tensor.WithDType(tensor.Float64))
}

// coreGradCheck runs autograd.GradCheck (float64 central differences) and
// reports a failure under name.
func coreGradCheck(t *testing.T, name string, f func(xs ...*autograd.Var) *autograd.Var, inputs ...*tensor.Tensor) {
	t.Helper()
	if err := autograd.GradCheck(f, inputs, nil); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// corePanics runs f and returns the *tensor.Error it panicked with.
func corePanics(t *testing.T, what string, f func()) *tensor.Error {
	t.Helper()
	err := tensor.Try(f)
	var te *tensor.Error
	if !errors.As(err, &te) {
		t.Errorf("%s: want a *tensor.Error panic, got %v", what, err)
		return nil
	}
	return te
}

var f64 = nn.WithDType(tensor.Float64)

func TestCoreLayerGradCheck(t *testing.T) {
	x := coreRandn(1, 3, 4)
	// Elementwise layers and layers without parameters, w.r.t. the input.
	plain := map[string]nn.Layer{
		"Identity":       nn.NewIdentity(),
		"Flatten":        nn.NewFlatten(0, -1),
		"ReLU":           nn.NewReLU(),
		"GELU":           nn.NewGELU("none"),
		"GELUTanh":       nn.NewGELU("tanh"),
		"SiLU":           nn.NewSiLU(),
		"Tanh":           nn.NewTanh(),
		"Sigmoid":        nn.NewSigmoid(),
		"LeakyReLU":      nn.NewLeakyReLU(0.1),
		"Softmax":        nn.NewSoftmax(1),
		"LogSoftmax":     nn.NewLogSoftmax(0),
		"DropoutEval":    func() nn.Layer { d := nn.NewDropout(0.5); nn.Eval(d); return d }(),
		"LayerNormNoAff": nn.NewLayerNorm([]int{4}, nn.WithoutAffine(), f64),
	}
	for name, l := range plain {
		coreGradCheck(t, name, func(xs ...*autograd.Var) *autograd.Var { return l.Forward(xs[0]) }, x)
	}

	// Dropout in training: the same seed every call gives the same mask.
	d := nn.NewDropout(0.4)
	coreGradCheck(t, "DropoutTrain", func(xs ...*autograd.Var) *autograd.Var {
		d.Gen = tensor.NewGenerator(7)
		return d.Forward(xs[0])
	}, x)

	lin := nn.NewLinear(4, 3, f64)
	coreGradCheck(t, "Linear", func(xs ...*autograd.Var) *autograd.Var {
		lin.Weight, lin.Bias = xs[1], xs[2]
		return lin.Forward(xs[0])
	}, coreRandn(2, 2, 4), coreRandn(3, 3, 4), coreRandn(4, 3))

	emb := nn.NewEmbedding(5, 3, nn.WithPaddingIdx(1), f64)
	// Indices avoid the padding row, whose gradient is masked on purpose.
	idx := autograd.Const(tensor.FromSlice([]int64{0, 3, 4, 0, 3, 2}, 2, 3))
	coreGradCheck(t, "Embedding", func(xs ...*autograd.Var) *autograd.Var {
		emb.Weight = xs[0]
		return emb.Forward(idx)
	}, coreRandn(5, 5, 3))

	ln := nn.NewLayerNorm([]int{2, 3}, f64)
	coreGradCheck(t, "LayerNorm", func(xs ...*autograd.Var) *autograd.Var {
		ln.Weight, ln.Bias = xs[1], xs[2]
		return ln.Forward(xs[0])
	}, coreRandn(6, 2, 2, 3), coreRandn(7, 2, 3), coreRandn(8, 2, 3))

	rms := nn.NewRMSNorm([]int{4}, f64)
	coreGradCheck(t, "RMSNorm", func(xs ...*autograd.Var) *autograd.Var {
		rms.Weight = xs[1]
		return rms.Forward(xs[0])
	}, coreRandn(9, 3, 4), coreRandn(10, 4))

	gn := nn.NewGroupNorm(2, 4, f64)
	coreGradCheck(t, "GroupNorm", func(xs ...*autograd.Var) *autograd.Var {
		gn.Weight, gn.Bias = xs[1], xs[2]
		return gn.Forward(xs[0])
	}, coreRandn(11, 2, 4, 3), coreRandn(12, 4), coreRandn(13, 4))

	bn1 := nn.NewBatchNorm1d(3, f64)
	coreGradCheck(t, "BatchNorm1dTrain", func(xs ...*autograd.Var) *autograd.Var {
		bn1.Weight, bn1.Bias = xs[1], xs[2]
		return bn1.Forward(xs[0])
	}, coreRandn(14, 4, 3), coreRandn(15, 3), coreRandn(16, 3))

	bn2 := nn.NewBatchNorm2d(2, f64)
	bn2.RunningMean.CopyFrom(coreRandn(17, 2))
	bn2.RunningVar.CopyFrom(tensor.FromSlice([]float64{0.5, 2}))
	nn.Eval(bn2)
	coreGradCheck(t, "BatchNorm2dEval", func(xs ...*autograd.Var) *autograd.Var {
		bn2.Weight, bn2.Bias = xs[1], xs[2]
		return bn2.Forward(xs[0])
	}, coreRandn(18, 2, 2, 2, 2), coreRandn(19, 2), coreRandn(20, 2))
}

func TestCoreLossGradCheck(t *testing.T) {
	logits := coreRandn(1, 4, 3)
	labels := autograd.Const(tensor.FromSlice([]int64{2, 0, 1, 2}))
	w := tensor.FromSlice([]float64{0.5, 1.5, 1})
	probs := coreRandn(2, 4, 3).Softmax(1)
	x, y := coreRandn(3, 2, 5), coreRandn(4, 2, 5)
	p := tensor.Rand(tensor.NewGenerator(5), []int{2, 5}, tensor.WithDType(tensor.Float64)).MulScalar(0.9).AddScalar(0.05)
	q := tensor.Rand(tensor.NewGenerator(6), []int{2, 5}, tensor.WithDType(tensor.Float64))

	coreGradCheck(t, "CrossEntropy indices", func(xs ...*autograd.Var) *autograd.Var {
		return nn.CrossEntropyLoss(xs[0], labels, nn.WithWeight(w), nn.WithIgnoreIndex(0), nn.WithLabelSmoothing(0.2))
	}, logits)
	coreGradCheck(t, "CrossEntropy probabilities", func(xs ...*autograd.Var) *autograd.Var {
		return nn.CrossEntropyLoss(xs[0], xs[1], nn.WithWeight(w), nn.WithLabelSmoothing(0.1))
	}, logits, probs)
	coreGradCheck(t, "NLLLoss none", func(xs ...*autograd.Var) *autograd.Var {
		return nn.NLLLoss(xs[0], labels, nn.WithReduction(nn.None))
	}, logits)
	for name, loss := range map[string]func(a, b *autograd.Var, o ...nn.LossOption) *autograd.Var{
		"MSELoss": nn.MSELoss, "L1Loss": nn.L1Loss, "SmoothL1Loss": nn.SmoothL1Loss, "HuberLoss": nn.HuberLoss,
	} {
		coreGradCheck(t, name, func(xs ...*autograd.Var) *autograd.Var { return loss(xs[0], xs[1]) }, x, y)
	}
	coreGradCheck(t, "SmoothL1Loss beta 0.3", func(xs ...*autograd.Var) *autograd.Var {
		return nn.SmoothL1Loss(xs[0], xs[1], nn.WithBeta(0.3), nn.WithReduction(nn.Sum))
	}, x, y)
	coreGradCheck(t, "HuberLoss delta 0.4", func(xs ...*autograd.Var) *autograd.Var {
		return nn.HuberLoss(xs[0], xs[1], nn.WithDelta(0.4), nn.WithReduction(nn.None))
	}, x, y)
	coreGradCheck(t, "BCELoss", func(xs ...*autograd.Var) *autograd.Var {
		return nn.BCELoss(xs[0], xs[1], nn.WithWeight(tensor.FromSlice([]float64{1, 2, 0.5, 1, 3})))
	}, p, q)
	coreGradCheck(t, "BCEWithLogitsLoss", func(xs ...*autograd.Var) *autograd.Var {
		return nn.BCEWithLogitsLoss(xs[0], xs[1], nn.WithPosWeight(tensor.FromSlice([]float64{1, 2, 0.5, 1, 3})))
	}, x, q)
	coreGradCheck(t, "KLDivLoss", func(xs ...*autograd.Var) *autograd.Var {
		return nn.KLDivLoss(xs[0], xs[1], nn.WithReduction(nn.BatchMean))
	}, coreRandn(7, 4, 3).LogSoftmax(1), probs)
	coreGradCheck(t, "KLDivLoss log target", func(xs ...*autograd.Var) *autograd.Var {
		return nn.KLDivLoss(xs[0], xs[1], nn.WithLogTarget(), nn.WithReduction(nn.None))
	}, coreRandn(7, 4, 3).LogSoftmax(1), probs.Log())
}

// ---------------------------------------------------------------- init

// coreStats returns the mean, standard deviation, minimum and maximum.
func coreStats(t *tensor.Tensor) (mean, std, lo, hi float64) {
	v := t.Float64s()
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		mean += x
		lo, hi = min(lo, x), max(hi, x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v))), lo, hi
}

// coreCheckDist checks a sample of n values against a zero-mean
// distribution of standard deviation std, bounded by bound when > 0. The
// sample mean's standard error is std/√n and the sample std's about
// std/√(2n); 5 standard errors never fail by chance in practice.
func coreCheckDist(t *testing.T, name string, w *tensor.Tensor, std, bound float64) {
	t.Helper()
	n := float64(w.Numel())
	m, s, lo, hi := coreStats(w)
	if math.Abs(m) > 5*std/math.Sqrt(n) {
		t.Errorf("%s: mean %.4g, want 0 ± %.3g", name, m, 5*std/math.Sqrt(n))
	}
	if math.Abs(s-std) > 5*std/math.Sqrt(2*n) {
		t.Errorf("%s: std %.5g, want %.5g ± %.3g", name, s, std, 5*std/math.Sqrt(2*n))
	}
	if bound > 0 {
		if lo < -bound || hi > bound {
			t.Errorf("%s: values in [%.5g, %.5g], want within ±%.5g", name, lo, hi, bound)
		}
		if lo > -0.99*bound || hi < 0.99*bound {
			t.Errorf("%s: values in [%.5g, %.5g] do not reach ±%.5g", name, lo, hi, bound)
		}
	}
}

func TestCoreInitFansAndGain(t *testing.T) {
	for _, c := range []struct {
		shape       []int
		fanIn, fout int
	}{{[]int{3, 5}, 5, 3}, {[]int{8, 4, 3, 3}, 36, 72}, {[]int{2, 6, 5}, 30, 10}} {
		if fi, fo := nn.Fans(c.shape); fi != c.fanIn || fo != c.fout {
			t.Errorf("Fans(%v) = %d, %d, want %d, %d", c.shape, fi, fo, c.fanIn, c.fout)
		}
	}
	corePanics(t, "Fans of a vector", func() { nn.Fans([]int{4}) })
	for _, c := range []struct {
		name  string
		param []float64
		want  float64
	}{
		{"linear", nil, 1}, {"conv2d", nil, 1}, {"sigmoid", nil, 1}, {"tanh", nil, 5.0 / 3},
		{"relu", nil, math.Sqrt2}, {"leaky_relu", nil, math.Sqrt(2 / 1.0001)},
		{"leaky_relu", []float64{0.2}, math.Sqrt(2 / 1.04)}, {"selu", nil, 0.75},
	} {
		if g := nn.CalculateGain(c.name, c.param...); math.Abs(g-c.want) > 1e-15 {
			t.Errorf("CalculateGain(%q, %v) = %v, want %v", c.name, c.param, g, c.want)
		}
	}
	corePanics(t, "CalculateGain of an unknown name", func() { nn.CalculateGain("swish") })
}

func TestCoreInitDistributions(t *testing.T) {
	g := tensor.NewGenerator(42)
	shape := []int{256, 128, 3} // fan_in 384, fan_out 768
	fanIn, fanOut := 384.0, 768.0
	w := tensor.Zeros(shape)

	// kaiming_uniform_ defaults: a = 0, fan_in, leaky_relu → gain √2.
	b := math.Sqrt2 * math.Sqrt(3/fanIn)
	coreCheckDist(t, "KaimingUniform", nn.KaimingUniform(w, g, nn.KaimingOptions{}), b/math.Sqrt(3), b)
	b = math.Sqrt(3 / fanOut) // gain 1 for "linear"
	coreCheckDist(t, "KaimingUniform fan_out linear",
		nn.KaimingUniform(w, g, nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "linear"}), b/math.Sqrt(3), b)
	coreCheckDist(t, "KaimingNormal relu", nn.KaimingNormal(w, g, nn.KaimingOptions{Nonlinearity: "relu"}),
		math.Sqrt2/math.Sqrt(fanIn), 0)
	coreCheckDist(t, "KaimingNormal leaky 0.3 fan_out",
		nn.KaimingNormal(w, g, nn.KaimingOptions{A: 0.3, Mode: nn.FanOut}), math.Sqrt(2/1.09)/math.Sqrt(fanOut), 0)
	b = 2 * math.Sqrt(6/(fanIn+fanOut))
	coreCheckDist(t, "XavierUniform gain 2", nn.XavierUniform(w, g, 2), b/math.Sqrt(3), b)
	coreCheckDist(t, "XavierNormal", nn.XavierNormal(w, g, 1), math.Sqrt(2/(fanIn+fanOut)), 0)
	coreCheckDist(t, "Uniform", nn.Uniform(w, g, -0.5, 0.5), 1/math.Sqrt(12), 0.5)
	m, s, _, _ := coreStats(nn.Normal(w, g, 3, 0.25))
	if math.Abs(m-3) > 0.01 || math.Abs(s-0.25) > 0.01 {
		t.Errorf("Normal(3, 0.25): mean %v std %v", m, s)
	}

	// Linear's default: U(±1/√in) for weight and bias.
	lin := nn.NewLinear(400, 300, nn.WithGenerator(g))
	coreCheckDist(t, "Linear weight", lin.Weight.Data, 1/math.Sqrt(3*400), 1/math.Sqrt(400))
	_, _, lo, hi := coreStats(lin.Bias.Data)
	if lo < -0.05 || hi > 0.05 || hi-lo < 0.09 {
		t.Errorf("Linear bias in [%v, %v], want U(±0.05)", lo, hi)
	}
	// Embedding's default: N(0, 1).
	coreCheckDist(t, "Embedding weight", nn.NewEmbedding(500, 64, nn.WithGenerator(g)).Weight.Data, 1, 0)
}

func TestCoreInitInPlaceAndSeeded(t *testing.T) {
	w := tensor.Zeros([]int{4, 6})
	view := w.Slice(0, 1, 3)
	if got := nn.Ones(w); got != w {
		t.Error("Ones did not return its argument")
	}
	if v := view.Float64s(); v[0] != 1 {
		t.Error("a view does not see Ones' values: not in place")
	}
	nn.Constant(view, 7)
	if w.At(0, 0) != 1 || w.At(1, 0) != 7 || w.At(3, 5) != 1 {
		t.Errorf("Constant on a view wrote outside it: %v", w)
	}
	nn.Zeros(w)
	if _, _, lo, hi := coreStats(w); lo != 0 || hi != 0 {
		t.Error("Zeros left non-zeros")
	}
	a := nn.KaimingUniform(tensor.Zeros([]int{5, 7}), tensor.NewGenerator(3), nn.KaimingOptions{})
	b := nn.KaimingUniform(tensor.Zeros([]int{5, 7}), tensor.NewGenerator(3), nn.KaimingOptions{})
	c := nn.KaimingUniform(tensor.Zeros([]int{5, 7}), tensor.NewGenerator(4), nn.KaimingOptions{})
	if !slices.Equal(a.Float64s(), b.Float64s()) || slices.Equal(a.Float64s(), c.Float64s()) {
		t.Error("the same seed must give the same values, another seed others")
	}
	l1 := nn.NewLinear(3, 2, nn.WithGenerator(tensor.NewGenerator(9)))
	l2 := nn.NewLinear(3, 2, nn.WithGenerator(tensor.NewGenerator(9)))
	if !slices.Equal(l1.Weight.Data.Float64s(), l2.Weight.Data.Float64s()) || !slices.Equal(l1.Bias.Data.Float64s(), l2.Bias.Data.Float64s()) {
		t.Error("Linear with the same generator seed differs")
	}
	f := nn.KaimingNormal(tensor.Zeros([]int{3, 4}, tensor.WithDType(tensor.Float64)), nil, nn.KaimingOptions{})
	if f.DType() != tensor.Float64 {
		t.Errorf("initialising changed the dtype to %v", f.DType())
	}
}

func TestCoreInitOrthogonal(t *testing.T) {
	g := tensor.NewGenerator(5)
	for _, c := range []struct {
		shape []int
		gain  float64
	}{{[]int{6, 10}, 1}, {[]int{10, 6}, 2}, {[]int{4, 2, 3}, 1}, {[]int{5, 5}, 0.5}} {
		w := nn.Orthogonal(tensor.Zeros(c.shape, tensor.WithDType(tensor.Float64)), g, c.gain)
		m := w.Reshape(c.shape[0], -1)
		rows, cols := m.Shape()[0], m.Shape()[1]
		var gram *tensor.Tensor // the smaller Gram matrix must be gain²·I
		if rows <= cols {
			gram = m.MatMul(m.T())
		} else {
			gram = m.T().MatMul(m)
		}
		n := min(rows, cols)
		want := tensor.Eye(n, tensor.WithDType(tensor.Float64)).MulScalar(c.gain * c.gain)
		if d := gram.Sub(want).Abs().Max().Item(); d > 1e-12 {
			t.Errorf("Orthogonal %v gain %v: Gram matrix off gain²·I by %g", c.shape, c.gain, d)
		}
	}
	w32 := nn.Orthogonal(tensor.Zeros([]int{8, 8}), g, 1)
	if d := w32.MatMul(w32.T()).Sub(tensor.Eye(8)).Abs().Max().Item(); d > 1e-6 {
		t.Errorf("float32 Orthogonal off by %g", d)
	}
	corePanics(t, "Orthogonal of a vector", func() { nn.Orthogonal(tensor.Zeros([]int{3}), g, 1) })
}

// ---------------------------------------------------------------- layers

func TestCoreDropout(t *testing.T) {
	x := autograd.Param(tensor.Ones([]int{200, 500}))
	d := nn.NewDropout(0.3, nn.WithGenerator(tensor.NewGenerator(1)))
	out := d.Forward(x)
	vals := out.Data.Float64s()
	zeros := 0
	for _, v := range vals {
		switch {
		case v == 0:
			zeros++
		case math.Abs(v-1/0.7) > 1e-6:
			t.Fatalf("a kept value is %v, want 1/(1-p) = %v", v, 1/0.7)
		}
	}
	// 100,000 Bernoulli(0.3) draws: the standard error of the fraction is 0.0014.
	if frac := float64(zeros) / float64(len(vals)); math.Abs(frac-0.3) > 0.01 {
		t.Errorf("dropped fraction %v, want 0.3", frac)
	}
	out.Sum().Backward()
	if !slices.Equal(x.Grad().Float64s(), vals) {
		t.Error("the gradient is not the scaled mask")
	}

	// Seeding: the same seed gives the same masks; successive calls differ.
	small := autograd.Const(tensor.Ones([]int{64}))
	a := nn.NewDropout(0.5, nn.WithGenerator(tensor.NewGenerator(11)))
	b := nn.NewDropout(0.5, nn.WithGenerator(tensor.NewGenerator(11)))
	m1, m2 := a.Forward(small).Data.Float64s(), b.Forward(small).Data.Float64s()
	if !slices.Equal(m1, m2) {
		t.Error("the same seed gave different masks")
	}
	if slices.Equal(m1, a.Forward(small).Data.Float64s()) {
		t.Error("two calls gave the same mask")
	}

	nn.Eval(d)
	if got := d.Forward(x); got != x {
		t.Error("Dropout in eval mode is not the identity")
	}
	all := nn.NewDropout(1)
	if _, _, lo, hi := coreStats(all.Forward(x).Data); lo != 0 || hi != 0 {
		t.Error("p = 1 must zero everything")
	}
	corePanics(t, "p = 1.5", func() { nn.NewDropout(1.5) })
}

func TestCoreEmbeddingPadding(t *testing.T) {
	e := nn.NewEmbedding(6, 3, nn.WithPaddingIdx(-2), nn.WithGenerator(tensor.NewGenerator(2)))
	if e.PaddingIdx != 4 {
		t.Fatalf("PaddingIdx = %d, want 4", e.PaddingIdx)
	}
	if row := e.Weight.Data.Index(0, 4).Float64s(); slices.ContainsFunc(row, func(v float64) bool { return v != 0 }) {
		t.Errorf("padding row %v is not zero at init", row)
	}
	e.Weight.Data.Index(0, 4).Fill_(3) // a user-set padding row is looked up as it is
	idx := autograd.Const(tensor.FromSlice([]int64{4, 1, 4, 1, 0, 5}, 3, 2))
	out := e.Forward(idx)
	if !slices.Equal(out.Shape(), []int{3, 2, 3}) {
		t.Fatalf("shape %v", out.Shape())
	}
	if v := out.Data.At(0, 0, 1); v != 3 {
		t.Errorf("padding lookup %v, want the row's value 3", v)
	}
	r := coreRandn(3, 3, 2, 3).Cast(tensor.Float32)
	out.BackwardWith(r)
	g := e.Weight.Grad()
	if row := g.Index(0, 4).Float64s(); slices.ContainsFunc(row, func(v float64) bool { return v != 0 }) {
		t.Errorf("padding row gradient %v, want zero", row)
	}
	// Row 1 was looked up twice: its gradient is the sum of both upstream rows.
	want := r.Index(0, 0).Index(0, 1).Add(r.Index(0, 1).Index(0, 1)).Float64s()
	got := g.Index(0, 1).Float64s()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("row 1 gradient %v, want %v", got, want)
			break
		}
	}
	if row := g.Index(0, 2).Float64s(); slices.ContainsFunc(row, func(v float64) bool { return v != 0 }) {
		t.Errorf("unused row gradient %v", row)
	}
	te := corePanics(t, "index out of range", func() { e.Forward(autograd.Const(tensor.FromSlice([]int64{6}))) })
	if te != nil && te.Kind != tensor.IndexError {
		t.Errorf("out of range: kind %v, want IndexError", te.Kind)
	}
	corePanics(t, "float indices", func() { e.Forward(autograd.Const(tensor.Zeros([]int{2}))) })
	corePanics(t, "padding out of range", func() { nn.NewEmbedding(3, 2, nn.WithPaddingIdx(3)) })
}

func TestCoreBatchNormModes(t *testing.T) {
	bn := nn.NewBatchNorm1d(2, nn.WithMomentum(0.5))
	x := autograd.Const(tensor.FromSlice([]float32{1, 10, 3, 20, 5, 30}, 3, 2))
	bn.Forward(x)
	// Batch means 3, 20; unbiased variances 4, 100.
	if rm := bn.RunningMean.Float64s(); rm[0] != 1.5 || rm[1] != 10 {
		t.Errorf("running_mean %v, want [1.5 10]", rm)
	}
	if rv := bn.RunningVar.Float64s(); rv[0] != 2.5 || rv[1] != 50.5 {
		t.Errorf("running_var %v, want [2.5 50.5]", rv)
	}
	if n := bn.NumBatchesTracked; n.DType() != tensor.Int64 || n.Dim() != 0 || n.Item() != 1 {
		t.Errorf("num_batches_tracked %v (%v, %d-D), want int64 scalar 1", n, n.DType(), n.Dim())
	}
	nn.Eval(bn)
	before := bn.RunningMean.Float64s()
	y := bn.Forward(x).Data
	if want := (1 - 1.5) / math.Sqrt(2.5+1e-5); math.Abs(y.At(0, 0)-want) > 1e-6 {
		t.Errorf("eval output %v, want %v (running statistics)", y.At(0, 0), want)
	}
	if !slices.Equal(before, bn.RunningMean.Float64s()) || bn.NumBatchesTracked.Item() != 1 {
		t.Error("eval mode changed the running statistics")
	}
	names := []string{}
	for _, b := range nn.NamedBuffers(bn) {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, []string{"running_mean", "running_var", "num_batches_tracked"}) {
		t.Errorf("buffer names %v", names)
	}
	nn.Train(bn)
	te := corePanics(t, "one value per channel", func() { bn.Forward(autograd.Const(tensor.Ones([]int{1, 2}))) })
	if te != nil && te.Kind != tensor.ValueError {
		t.Errorf("kind %v, want ValueError", te.Kind)
	}
	corePanics(t, "BatchNorm2d on 2-D input", func() { nn.NewBatchNorm2d(2).Forward(x) })
	corePanics(t, "wrong channel count", func() { nn.NewBatchNorm1d(3).Forward(x) })
	if nb := nn.NamedBuffers(nn.NewBatchNorm1d(2, nn.WithoutRunningStats())); len(nb) != 0 {
		t.Errorf("WithoutRunningStats has buffers %v", nb)
	}
}

func TestCoreModuleTree(t *testing.T) {
	seq := nn.NewSequential(
		nn.NewLinear(3, 4),
		nn.NewReLU(),
		nn.NewLinear(4, 2, nn.WithoutBias()),
		nn.NewBatchNorm1d(2),
		nn.NewDropout(0.5),
		nn.NewLayerNorm([]int{2}),
	)
	var names []string
	for _, p := range nn.NamedParameters(seq) {
		names = append(names, p.Name)
	}
	want := []string{"0.weight", "0.bias", "2.weight", "3.weight", "3.bias", "5.weight", "5.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("NamedParameters %v, want %v", names, want)
	}
	names = nil
	for _, b := range nn.NamedBuffers(seq) {
		names = append(names, b.Name)
	}
	if want := []string{"3.running_mean", "3.running_var", "3.num_batches_tracked"}; !slices.Equal(names, want) {
		t.Errorf("NamedBuffers %v, want %v", names, want)
	}
	if n := nn.NumParams(seq); n != 3*4+4+4*2+2+2+2+2 {
		t.Errorf("NumParams = %d", n)
	}

	type trainer interface{ Training() bool }
	modes := func() []bool {
		var out []bool
		for _, m := range nn.Modules(seq) {
			if tr, ok := m.Module.(trainer); ok {
				out = append(out, tr.Training())
			}
		}
		return out
	}
	nn.Eval(seq)
	if m := modes(); len(m) != 7 || slices.Contains(m, true) {
		t.Errorf("after Eval, training flags %v", m)
	}
	x := autograd.Const(coreRandn(1, 5, 3).Cast(tensor.Float32))
	y1, y2 := seq.Forward(x).Data.Float64s(), seq.Forward(x).Data.Float64s()
	if !slices.Equal(y1, y2) {
		t.Error("in eval mode the Sequential is not deterministic (dropout still active?)")
	}
	nn.Train(seq)
	if m := modes(); slices.Contains(m, false) {
		t.Errorf("after Train, training flags %v", m)
	}
}

func TestCoreHooks(t *testing.T) {
	lin := nn.NewLinear(3, 2, nn.WithGenerator(tensor.NewGenerator(1)))
	seq := nn.NewSequential(lin, nn.NewTanh())
	x := autograd.Const(tensor.Ones([]int{4, 3}))

	// Forward hooks see input and output and may replace the output.
	removeF := lin.RegisterForwardHook(func(m nn.Module, in, out *autograd.Var) *autograd.Var {
		if m != lin || in != x {
			t.Error("forward hook got the wrong module or input")
		}
		return out.MulScalar(0)
	})
	if _, _, lo, hi := coreStats(seq.Forward(x).Data); lo != 0 || hi != 0 {
		t.Error("the forward hook's replacement output was not used")
	}
	removeF()

	seq.Forward(x).Sum().Backward()
	plain := lin.Weight.Grad().Float64s()
	nn.ZeroGrad(seq)

	// Backward hooks see the gradient of the output, outer module first,
	// and may replace it.
	var order []string
	removeInner := lin.RegisterBackwardHook(func(m nn.Module, g *tensor.Tensor) *tensor.Tensor {
		order = append(order, "linear")
		if !slices.Equal(g.Shape(), []int{4, 2}) {
			t.Errorf("backward hook gradient shape %v", g.Shape())
		}
		return g.MulScalar(2)
	})
	removeOuter := seq.RegisterBackwardHook(func(m nn.Module, g *tensor.Tensor) *tensor.Tensor {
		order = append(order, "sequential")
		return nil
	})
	seq.Forward(x).Sum().Backward()
	if !slices.Equal(order, []string{"sequential", "linear"}) {
		t.Errorf("hook order %v, want outer first", order)
	}
	doubled := lin.Weight.Grad().Float64s()
	for i := range plain {
		if math.Abs(doubled[i]-2*plain[i]) > 1e-6 {
			t.Fatalf("gradient with a doubling hook %v, want 2×%v", doubled, plain)
		}
	}
	removeInner()
	removeOuter()
	order = nil
	nn.ZeroGrad(seq)
	seq.Forward(x).Sum().Backward()
	if len(order) != 0 || !slices.Equal(lin.Weight.Grad().Float64s(), plain) {
		t.Error("removed backward hooks still ran")
	}

	// A hook on Identity must not land on the input Var itself.
	id := nn.NewIdentity()
	calls := 0
	id.RegisterBackwardHook(func(nn.Module, *tensor.Tensor) *tensor.Tensor { calls++; return nil })
	p := autograd.Param(tensor.Ones([]int{2}))
	id.Forward(p).Sum().Backward()
	p.Sum().Backward()
	if calls != 1 {
		t.Errorf("Identity's backward hook ran %d times, want 1", calls)
	}
}

func TestCoreOptionErrors(t *testing.T) {
	corePanics(t, "WithEps on Linear", func() { nn.NewLinear(2, 2, nn.WithEps(1)) })
	corePanics(t, "integer parameters", func() { nn.NewLinear(2, 2, nn.WithDType(tensor.Int64)) })
	corePanics(t, "GroupNorm 5 channels in 2 groups", func() { nn.NewGroupNorm(2, 5) })
	corePanics(t, "GELU approximate", func() { nn.NewGELU("fast") })
	x := autograd.Const(tensor.Zeros([]int{2, 3}))
	corePanics(t, "WithBeta on MSELoss", func() { nn.MSELoss(x, x, nn.WithBeta(1)) })
	corePanics(t, "BatchMean on MSELoss", func() { nn.MSELoss(x, x, nn.WithReduction(nn.BatchMean)) })
	corePanics(t, "negative beta", func() { nn.SmoothL1Loss(x, x, nn.WithBeta(-1)) })
	corePanics(t, "BCE input above 1", func() { nn.BCELoss(x.AddScalar(2), x) })
	labels := autograd.Const(tensor.FromSlice([]int64{0, 3}))
	te := corePanics(t, "class index out of range", func() { nn.CrossEntropyLoss(x, labels) })
	if te != nil && te.Kind != tensor.IndexError {
		t.Errorf("kind %v, want IndexError", te.Kind)
	}
	corePanics(t, "ignore index with probabilities", func() { nn.CrossEntropyLoss(x, x, nn.WithIgnoreIndex(1)) })
	corePanics(t, "float class indices", func() { nn.NLLLoss(x, autograd.Const(tensor.Zeros([]int{2}))) })
	corePanics(t, "target shape", func() { nn.NLLLoss(x, autograd.Const(tensor.FromSlice([]int64{0, 1, 2}))) })
	corePanics(t, "weight length", func() { nn.CrossEntropyLoss(x, labels, nn.WithWeight(tensor.Ones([]int{2}))) })
	corePanics(t, "Linear input width", func() { nn.NewLinear(4, 2).Forward(x) })
	corePanics(t, "LayerNorm trailing shape", func() { nn.NewLayerNorm([]int{4}).Forward(x) })
}

func TestCoreLossRelations(t *testing.T) {
	// Cross entropy is NLL of log-softmax; with label smoothing 0 the option
	// changes nothing; BCEWithLogits is BCE of the sigmoid.
	logits := autograd.Const(coreRandn(1, 5, 4))
	labels := autograd.Const(tensor.FromSlice([]int64{0, 3, 1, 1, 2}))
	ce := nn.CrossEntropyLoss(logits, labels).Item()
	nll := nn.NLLLoss(logits.LogSoftmax(1), labels).Item()
	if math.Abs(ce-nll) > 1e-12 {
		t.Errorf("CrossEntropyLoss %v != NLLLoss(LogSoftmax) %v", ce, nll)
	}
	y := autograd.Const(tensor.Rand(tensor.NewGenerator(2), []int{5, 4}, tensor.WithDType(tensor.Float64)))
	a := nn.BCEWithLogitsLoss(logits, y).Item()
	b := nn.BCELoss(logits.Sigmoid(), y).Item()
	if math.Abs(a-b) > 1e-12 {
		t.Errorf("BCEWithLogitsLoss %v != BCELoss(sigmoid) %v", a, b)
	}
	// SmoothL1 with beta 0 is L1, gradient included (0 at ties).
	x := autograd.Param(tensor.FromSlice([]float64{1, 2, 3}))
	tg := autograd.Const(tensor.FromSlice([]float64{1, 0, 5}))
	nn.SmoothL1Loss(x, tg, nn.WithBeta(0)).Backward()
	if g := x.Grad().Float64s(); !slices.Equal(g, []float64{0, 1.0 / 3, -1.0 / 3}) {
		t.Errorf("SmoothL1 beta 0 gradient %v", g)
	}
	// Huber is delta · SmoothL1 with beta = delta.
	u, v := autograd.Const(coreRandn(3, 10)), autograd.Const(coreRandn(4, 10))
	h := nn.HuberLoss(u, v, nn.WithDelta(0.7)).Item()
	s := nn.SmoothL1Loss(u, v, nn.WithBeta(0.7)).Item()
	if math.Abs(h-0.7*s) > 1e-12 {
		t.Errorf("Huber %v != 0.7·SmoothL1 %v", h, 0.7*s)
	}
}

// Every core layer is a Layer (and so a Module).
var _ = []nn.Layer{
	(*nn.Linear)(nil), (*nn.Identity)(nil), (*nn.Flatten)(nil), (*nn.ReLU)(nil), (*nn.GELU)(nil),
	(*nn.SiLU)(nil), (*nn.Tanh)(nil), (*nn.Sigmoid)(nil), (*nn.LeakyReLU)(nil), (*nn.Softmax)(nil),
	(*nn.LogSoftmax)(nil), (*nn.Dropout)(nil), (*nn.Embedding)(nil), (*nn.LayerNorm)(nil),
	(*nn.RMSNorm)(nil), (*nn.GroupNorm)(nil), (*nn.BatchNorm)(nil),
}

func TestCoreStrings(t *testing.T) {
	// The expected strings are what torch 1.13 prints (Dropout without its
	// inplace flag, which Tessera does not have).
	for _, c := range []struct {
		l    any
		want string
	}{
		{nn.NewLinear(5, 3), "Linear(in_features=5, out_features=3, bias=True)"},
		{nn.NewFlatten(1, -1), "Flatten(start_dim=1, end_dim=-1)"},
		{nn.NewGELU(""), "GELU(approximate='none')"},
		{nn.NewLeakyReLU(0.01), "LeakyReLU(negative_slope=0.01)"},
		{nn.NewSoftmax(1), "Softmax(dim=1)"},
		{nn.NewDropout(0.5), "Dropout(p=0.5)"},
		{nn.NewEmbedding(10, 4, nn.WithPaddingIdx(2)), "Embedding(10, 4, padding_idx=2)"},
		{nn.NewLayerNorm([]int{4, 6}), "LayerNorm((4, 6), eps=1e-05, elementwise_affine=True)"},
		{nn.NewRMSNorm([]int{6}), "RMSNorm((6,), eps=None, elementwise_affine=True)"},
		{nn.NewGroupNorm(3, 6), "GroupNorm(3, 6, eps=1e-05, affine=True)"},
		{nn.NewBatchNorm1d(5), "BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"},
		{nn.NewBatchNorm2d(3, nn.WithCumulativeAverage(), nn.WithoutAffine()),
			"BatchNorm2d(3, eps=1e-05, momentum=None, affine=False, track_running_stats=True)"},
	} {
		if got := fmt.Sprint(c.l); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}
