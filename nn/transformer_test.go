package nn_test

import (
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

func TestTransformerEncoderNames(t *testing.T) {
	cfg := nn.DefaultTransformerEncoderLayerConfig()
	cfg.DimFeedforward = 16
	layers := []*nn.TransformerEncoderLayer{nn.NewTransformerEncoderLayer(8, 2, cfg), nn.NewTransformerEncoderLayer(8, 2, cfg)}
	e := nn.NewTransformerEncoder(layers, nn.NewLayerNorm([]int{8}))
	var names []string
	for _, np := range nn.NamedParameters(e) {
		names = append(names, np.Name)
	}
	// torch's state_dict order.
	var want []string
	for _, l := range []string{"0", "1"} {
		for _, p := range []string{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
			"self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
			"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"} {
			want = append(want, "layers."+l+"."+p)
		}
	}
	want = append(want, "norm.weight", "norm.bias")
	if !slices.Equal(names, want) {
		t.Errorf("names\n%v\nwant\n%v", names, want)
	}
	if l := layers[0]; l.Linear1.Out != 16 || l.Dropout.P != 0.1 || l.SelfAttn.Dropout != 0.1 || l.Norm1.Eps != 1e-5 || l.Activation != "relu" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	nb := nn.NewTransformerEncoderLayer(8, 2, nn.TransformerEncoderLayerConfig{DimFeedforward: 4}, nn.WithoutBias())
	for _, np := range nn.NamedParameters(nb) {
		if len(np.Name) >= 4 && np.Name[len(np.Name)-4:] == "bias" {
			t.Errorf("WithoutBias: has %s", np.Name)
		}
	}
}

func TestTransformerEncoderLayerModes(t *testing.T) {
	g := tensor.NewGenerator(11)
	l := nn.NewTransformerEncoderLayer(8, 2, nn.TransformerEncoderLayerConfig{DimFeedforward: 16, Dropout: 0.3, NormFirst: true},
		nn.WithGenerator(g))
	x := autograd.Const(seqRandn(1, 2, 5, 8))
	a, b := l.Forward(x, nil, nil, true), l.Forward(x, nil, nil, true)
	if seqClose(a.Data, b.Data, 1e-6) {
		t.Error("training mode: dropout is off")
	}
	nn.Eval(l)
	a, b = l.Forward(x, nil, nil, true), l.Forward(x, nil, nil, true)
	if !seqClose(a.Data, b.Data, 0) {
		t.Error("eval mode: two calls differ")
	}
	// Causality: changing the last position leaves earlier outputs alone.
	x2 := x.Data.Clone()
	x2.Index(1, 4).CopyFrom(seqRandn(2, 2, 8))
	c := l.Forward(autograd.Const(x2), nil, nil, true)
	if !seqClose(a.Data.Narrow(1, 0, 4), c.Data.Narrow(1, 0, 4), 1e-6) {
		t.Error("causal layer: earlier positions see a later one")
	}
	if seqClose(a.Data.Narrow(1, 4, 1), c.Data.Narrow(1, 4, 1), 1e-6) {
		t.Error("causal layer: the changed position did not change")
	}
	// Unbatched input is batch one.
	u := l.Forward(x.Index(0, 0), nil, nil, false)
	bt := l.Forward(x, nil, nil, false)
	if !seqClose(u.Data, bt.Data.Index(0, 0), 1e-6) {
		t.Error("unbatched input differs from its batch row")
	}
}

func TestTransformerEncoderLayerGradCheck(t *testing.T) {
	l := nn.NewTransformerEncoderLayer(4, 2, nn.TransformerEncoderLayerConfig{DimFeedforward: 6, Activation: "gelu"},
		nn.WithDType(tensor.Float64), nn.WithGenerator(tensor.NewGenerator(12)))
	kpm := tensor.FromSlice([]bool{false, false, true, false, false, false}, 2, 3)
	for _, pre := range []bool{false, true} {
		l.NormFirst = pre
		seqGradCheck(t, "TransformerEncoderLayer", func(xs ...*autograd.Var) *autograd.Var {
			return seqWeighted(l.Forward(xs[0], nil, kpm, true))
		}, seqRandn(13, 2, 3, 4))
	}
}
