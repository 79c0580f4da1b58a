package nn_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// seqRandn returns standard normal values of the given shape (float32).
func seqRandn(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(tensor.NewGenerator(seed), shape)
}

// seqGradCheck runs autograd.GradCheck (float64) with a tolerance suited to
// compositions of many ops.
func seqGradCheck(t *testing.T, name string, f func(xs ...*autograd.Var) *autograd.Var, inputs ...*tensor.Tensor) {
	t.Helper()
	if err := autograd.GradCheck(f, inputs, &autograd.CheckOptions{Atol: 1e-6, Rtol: 1e-4}); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// seqWeighted reduces outputs to a scalar with fixed random weights, so
// that one GradCheck covers every element of every output.
func seqWeighted(outs ...*autograd.Var) *autograd.Var {
	var total *autograd.Var
	for i, o := range outs {
		w := autograd.Const(tensor.RandN(tensor.NewGenerator(uint64(900+i)), o.Shape(), tensor.WithDType(o.DType())))
		term := o.Mul(w).Sum()
		if total == nil {
			total = term
		} else {
			total = total.Add(term)
		}
	}
	return total
}

// seqPanics runs f and returns the *tensor.Error it panics with, failing
// when it does not panic with one.
func seqPanics(t *testing.T, what string, f func()) (err *tensor.Error) {
	t.Helper()
	defer func() {
		r := recover()
		e, ok := r.(error)
		if !ok || !errors.As(e, &err) {
			t.Errorf("%s: panicked with %v, want a *tensor.Error", what, r)
		}
	}()
	f()
	return nil
}

// seqClose reports whether a and b hold the same shape and values within tol.
func seqClose(a, b *tensor.Tensor, tol float64) bool {
	if !slices.Equal(a.Shape(), b.Shape()) {
		return false
	}
	x, y := a.Float64s(), b.Float64s()
	for i := range x {
		if !(math.Abs(x[i]-y[i]) <= tol) {
			return false
		}
	}
	return true
}

func TestAttentionGradCheck(t *testing.T) {
	q, k, v := seqRandn(1, 2, 2, 3, 4), seqRandn(2, 2, 2, 4, 4), seqRandn(3, 2, 2, 4, 2)
	keep := tensor.FromSlice([]bool{
		true, false, true, true,
		true, true, false, false,
		false, false, false, true,
	}, 1, 1, 3, 4)
	bias := seqRandn(4, 3, 4)
	for _, tc := range []struct {
		name string
		o    nn.AttentionOptions
	}{
		{"plain", nn.AttentionOptions{}},
		{"bool mask", nn.AttentionOptions{Mask: keep}},
		{"float mask", nn.AttentionOptions{Mask: bias.Cast(tensor.Float64)}},
		{"causal and scale", nn.AttentionOptions{IsCausal: true, Scale: 0.7}},
		{"causal and mask", nn.AttentionOptions{Mask: keep, IsCausal: true}}, // row 2 keeps nothing
	} {
		seqGradCheck(t, "ScaledDotProductAttention "+tc.name, func(xs ...*autograd.Var) *autograd.Var {
			return nn.ScaledDotProductAttention(xs[0], xs[1], xs[2], tc.o)
		}, q, k, v)
	}
}

func TestAttentionFullyMaskedRows(t *testing.T) {
	// A query with every key masked out gets zero weights, a zero output and
	// zero (finite) gradients, as torch ≥ 2.5 gives, instead of NaN.
	q := autograd.Param(seqRandn(1, 2, 3, 4))
	k := autograd.Param(seqRandn(2, 2, 5, 4))
	v := autograd.Param(seqRandn(3, 2, 5, 3))
	keep := tensor.Ones([]int{2, 3, 5}, tensor.WithDType(tensor.Bool))
	keep.Index(0, 1).Index(0, 2).Fill_(0) // batch 1, query 2: nothing
	out := nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{Mask: keep})
	row := out.Data.Index(0, 1).Index(0, 2).Float64s()
	if !slices.Equal(row, []float64{0, 0, 0}) {
		t.Errorf("fully masked row: %v, want zeros", row)
	}
	out.Sum().Backward()
	for name, g := range map[string]*tensor.Tensor{"q": q.Grad(), "k": k.Grad(), "v": v.Grad()} {
		for _, x := range g.Float64s() {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("grad %s is not finite: %v", name, g)
			}
		}
	}
	if g := q.Grad().Index(0, 1).Index(0, 2).Float64s(); !slices.Equal(g, []float64{0, 0, 0, 0}) {
		t.Errorf("grad of the fully masked query: %v, want zeros", g)
	}
	// An additive mask of −Inf everywhere in a row does the same.
	bias := tensor.Zeros([]int{3, 5})
	bias.Index(0, 0).Fill_(math.Inf(-1))
	out = nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{Mask: bias})
	if row := out.Data.Index(1, 0).Float64s(); !slices.Equal(row, []float64{0, 0, 0, 0, 0, 0}) {
		t.Errorf("row of −Inf: %v, want zeros", row)
	}
}

func TestAttentionDropout(t *testing.T) {
	q, k, v := autograd.Const(seqRandn(1, 2, 4, 8)), autograd.Const(seqRandn(2, 2, 6, 8)), autograd.Const(seqRandn(3, 2, 6, 8))
	run := func(p float64, seed uint64) *tensor.Tensor {
		return nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{DropoutP: p, Generator: tensor.NewGenerator(seed)}).Data
	}
	if !seqClose(run(0.3, 7), run(0.3, 7), 0) {
		t.Error("the same generator seed gave different dropout masks")
	}
	if seqClose(run(0.3, 7), run(0.3, 8), 1e-6) {
		t.Error("different seeds gave the same dropout masks")
	}
	if seqClose(run(0.3, 7), run(0, 7), 1e-6) {
		t.Error("dropout changed nothing")
	}
	if got := run(1, 7).Abs().Max().Item(); got != 0 {
		t.Errorf("p = 1: max |out| = %v, want 0", got)
	}
	// In expectation dropout leaves the output unchanged: average many draws.
	g := tensor.NewGenerator(3)
	sum := tensor.Zeros([]int{2, 4, 8})
	const draws = 400
	for range draws {
		sum = sum.Add(nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{DropoutP: 0.5, Generator: g}).Data)
	}
	if diff := sum.DivScalar(draws).Sub(run(0, 0)).Abs().Max().Item(); diff > 0.25 {
		t.Errorf("mean over %d dropout draws is %v from the output without dropout", draws, diff)
	}
}

func TestAttentionErrors(t *testing.T) {
	q, k, v := autograd.Const(seqRandn(1, 2, 3, 4)), autograd.Const(seqRandn(2, 2, 5, 4)), autograd.Const(seqRandn(3, 2, 5, 2))
	seqPanics(t, "key width", func() {
		nn.ScaledDotProductAttention(q, autograd.Const(seqRandn(2, 2, 5, 3)), v, nn.AttentionOptions{})
	})
	seqPanics(t, "value length", func() {
		nn.ScaledDotProductAttention(q, k, autograd.Const(seqRandn(2, 2, 4, 2)), nn.AttentionOptions{})
	})
	seqPanics(t, "mask shape", func() {
		nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{Mask: tensor.Ones([]int{3, 4}, tensor.WithDType(tensor.Bool))})
	})
	seqPanics(t, "int mask", func() {
		nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{Mask: tensor.Ones([]int{3, 5}, tensor.WithDType(tensor.Int64))})
	})
	seqPanics(t, "dropout", func() { nn.ScaledDotProductAttention(q, k, v, nn.AttentionOptions{DropoutP: 1.5}) })
	seqPanics(t, "heads", func() { nn.NewMultiheadAttention(10, 3, 0) })
	m := nn.NewMultiheadAttention(4, 2, 0)
	x := autograd.Const(seqRandn(4, 2, 3, 4))
	y := autograd.Const(seqRandn(5, 2, 3, 6))
	seqPanics(t, "embed dim", func() { m.Forward(y, y, y, nn.MHAOptions{}) })
	seqPanics(t, "padding mask", func() {
		m.Forward(x, x, x, nn.MHAOptions{KeyPaddingMask: tensor.Zeros([]int{2, 4}, tensor.WithDType(tensor.Bool))})
	})
	seqPanics(t, "attn mask", func() {
		m.Forward(x, x, x, nn.MHAOptions{AttnMask: tensor.Zeros([]int{2, 3, 3}, tensor.WithDType(tensor.Bool))})
	})
	seqPanics(t, "activation", func() {
		nn.NewTransformerEncoderLayer(4, 2, nn.TransformerEncoderLayerConfig{Activation: "swish"})
	})
}

func TestMultiheadAttentionNamesAndInit(t *testing.T) {
	const e = 64
	m := nn.NewMultiheadAttention(e, 8, 0.1, nn.WithGenerator(tensor.NewGenerator(1)))
	var names []string
	for _, np := range nn.NamedParameters(m) {
		names = append(names, np.Name)
	}
	want := []string{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if m.InProjBias.Data.Abs().Max().Item() != 0 || m.OutProj.Bias.Data.Abs().Max().Item() != 0 {
		t.Error("biases are not zero")
	}
	// xavier_uniform on [3E, E]: U(−a, a), a = √(6/(E + 3E)).
	a := math.Sqrt(6.0 / (e + 3*e))
	w := m.InProjWeight.Data
	if hi := w.Abs().Max().Item(); hi > a || hi < 0.95*a {
		t.Errorf("in_proj_weight max |w| %v, want just under %v", hi, a)
	}
	if b := 1 / math.Sqrt(e); m.OutProj.Weight.Data.Abs().Max().Item() > b {
		t.Errorf("out_proj.weight exceeds Linear's bound %v", b)
	}
	nb := nn.NewMultiheadAttention(8, 2, 0, nn.WithoutBias())
	if n := len(nn.NamedParameters(nb)); n != 2 || nb.InProjBias != nil || nb.OutProj.Bias != nil {
		t.Errorf("WithoutBias: %d parameters, want in_proj_weight and out_proj.weight", n)
	}
}

func TestMultiheadAttentionPaths(t *testing.T) {
	// Self-attention (one projection product) and key = value (two) give
	// what three separate projections give; unbatched is batch one.
	m := nn.NewMultiheadAttention(8, 2, 0, nn.WithGenerator(tensor.NewGenerator(2)))
	nn.Normal(m.InProjBias.Data, tensor.NewGenerator(3), 0, 0.1)
	x := autograd.Const(seqRandn(1, 2, 5, 8))
	y := autograd.Const(seqRandn(2, 2, 4, 8))
	opts := nn.MHAOptions{NeedWeights: true, IsCausal: true}
	self, ws := m.Forward(x, x, x, opts)
	sep, wsep := m.Forward(x, x.Detach(), x.Detach(), opts)
	if !seqClose(self.Data, sep.Data, 1e-6) || !seqClose(ws.Data, wsep.Data, 1e-6) {
		t.Error("self-attention differs from separate projections")
	}
	opts.IsCausal = false
	kv, _ := m.Forward(x, y, y, opts)
	kvsep, _ := m.Forward(x, y, y.Detach(), opts)
	if !seqClose(kv.Data, kvsep.Data, 1e-6) {
		t.Error("key = value differs from separate projections")
	}
	one, w1 := m.Forward(x.Index(0, 1), x.Index(0, 1), x.Index(0, 1), nn.MHAOptions{NeedWeights: true})
	all, wall := m.Forward(x, x, x, nn.MHAOptions{NeedWeights: true})
	if !seqClose(one.Data, all.Data.Index(0, 1), 1e-6) || !seqClose(w1.Data, wall.Data.Index(0, 1), 1e-6) {
		t.Error("unbatched input differs from its batch row")
	}
	_, wh := m.Forward(x, x, x, nn.MHAOptions{NeedWeights: true, PerHeadWeights: true})
	if !slices.Equal(wh.Shape(), []int{2, 2, 5, 5}) {
		t.Errorf("per-head weights %v, want [2 2 5 5]", wh.Shape())
	}
	if !seqClose(wh.Data.Mean(1), wall.Data, 1e-6) {
		t.Error("averaged weights are not the mean of the per-head weights")
	}
	// Each row of weights sums to 1.
	if !seqClose(wall.Data.Sum(-1), tensor.Ones([]int{2, 5}), 1e-5) {
		t.Error("weights rows do not sum to 1")
	}
	if _, w := m.Forward(x, x, x, nn.MHAOptions{}); w != nil {
		t.Error("weights returned without NeedWeights")
	}
}

func TestMultiheadAttentionGradCheck(t *testing.T) {
	m := nn.NewMultiheadAttention(4, 2, 0, nn.WithDType(tensor.Float64), nn.WithGenerator(tensor.NewGenerator(4)))
	kpm := tensor.FromSlice([]bool{false, false, true, false, true, false}, 2, 3)
	am := seqRandn(5, 2, 3).Cast(tensor.Float64)
	f := func(xs ...*autograd.Var) *autograd.Var {
		m.InProjWeight, m.InProjBias, m.OutProj.Weight, m.OutProj.Bias = xs[2], xs[3], xs[4], xs[5]
		out, w := m.Forward(xs[0], xs[1], xs[1], nn.MHAOptions{KeyPaddingMask: kpm, AttnMask: am, NeedWeights: true})
		return seqWeighted(out, w)
	}
	seqGradCheck(t, "MultiheadAttention", f, seqRandn(6, 2, 2, 4), seqRandn(7, 2, 3, 4),
		m.InProjWeight.Data, seqRandn(8, 12), m.OutProj.Weight.Data, seqRandn(9, 4))
}

func TestMultiheadAttentionDropoutModes(t *testing.T) {
	m := nn.NewMultiheadAttention(8, 2, 0.5, nn.WithGenerator(tensor.NewGenerator(5)))
	x := autograd.Const(seqRandn(1, 2, 5, 8))
	a, _ := m.Forward(x, x, x, nn.MHAOptions{})
	b, _ := m.Forward(x, x, x, nn.MHAOptions{})
	if seqClose(a.Data, b.Data, 1e-6) {
		t.Error("training mode: two calls gave the same output; dropout is off")
	}
	nn.Eval(m)
	a, _ = m.Forward(x, x, x, nn.MHAOptions{})
	b, _ = m.Forward(x, x, x, nn.MHAOptions{})
	if !seqClose(a.Data, b.Data, 0) {
		t.Error("eval mode: two calls differ")
	}
}
