package nn_test

import (
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// seqSetWeights points the weights ws at xs, in Members order (weight_ih,
// weight_hh, bias_ih, bias_hh for each entry).
func seqSetWeights(ws []nn.RNNWeights, xs []*autograd.Var) {
	for i := range ws {
		w := &ws[i]
		w.WeightIH, w.WeightHH, w.BiasIH, w.BiasHH = xs[4*i], xs[4*i+1], xs[4*i+2], xs[4*i+3]
	}
}

func TestRNNNamesShapesInit(t *testing.T) {
	const h = 16
	lstm := nn.NewLSTM(5, h, nn.RNNConfig{NumLayers: 2, Bidirectional: true}, nn.WithGenerator(tensor.NewGenerator(1)))
	var names []string
	var shapes [][]int
	for _, np := range nn.NamedParameters(lstm) {
		names = append(names, np.Name)
		shapes = append(shapes, np.Param.Shape())
		if hi := np.Param.Data.Abs().Max().Item(); hi > 1/math.Sqrt(h) || hi < 0.8/math.Sqrt(h) {
			t.Errorf("%s: max |w| %v, want just under 1/√%d", np.Name, hi, h)
		}
	}
	var want []string
	for _, l := range []string{"_l0", "_l0_reverse", "_l1", "_l1_reverse"} {
		for _, p := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
			want = append(want, p+l)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	wantShapes := [][]int{{64, 5}, {64, 16}, {64}, {64}, {64, 5}, {64, 16}, {64}, {64}, {64, 32}, {64, 16}, {64}, {64}, {64, 32}, {64, 16}, {64}, {64}}
	for i := range shapes {
		if !slices.Equal(shapes[i], wantShapes[i]) {
			t.Errorf("%s: shape %v, want %v", names[i], shapes[i], wantShapes[i])
		}
	}
	gru := nn.NewGRU(5, h, nn.RNNConfig{}, nn.WithoutBias())
	names = names[:0]
	for _, np := range nn.NamedParameters(gru) {
		names = append(names, np.Name)
	}
	if !slices.Equal(names, []string{"weight_ih_l0", "weight_hh_l0"}) || gru.Weights[0].WeightIH.Shape()[0] != 3*h {
		t.Errorf("GRU without bias: %v", names)
	}
	cell := nn.NewGRUCell(3, 4)
	names = names[:0]
	for _, np := range nn.NamedParameters(cell) {
		names = append(names, np.Name)
	}
	if !slices.Equal(names, []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
		t.Errorf("GRUCell: %v", names)
	}
}

func TestRNNOutputs(t *testing.T) {
	x := autograd.Const(seqRandn(1, 3, 6, 4)) // N 3, L 6, features 4
	for _, bidi := range []bool{false, true} {
		d := 1
		if bidi {
			d = 2
		}
		lstm := nn.NewLSTM(4, 5, nn.RNNConfig{NumLayers: 2, Bidirectional: bidi}, nn.WithGenerator(tensor.NewGenerator(2)))
		out, hn, cn := lstm.Forward(x, nil, nil)
		gru := nn.NewGRU(4, 5, nn.RNNConfig{NumLayers: 2, Bidirectional: bidi}, nn.WithGenerator(tensor.NewGenerator(3)))
		gout, ghn := gru.Forward(x, nil)
		for _, r := range []struct {
			name    string
			out, hn *autograd.Var
		}{{"LSTM", out, hn}, {"GRU", gout, ghn}} {
			if !slices.Equal(r.out.Shape(), []int{3, 6, 5 * d}) || !slices.Equal(r.hn.Shape(), []int{2 * d, 3, 5}) {
				t.Fatalf("%s bidirectional=%v: output %v, h_n %v", r.name, bidi, r.out.Shape(), r.hn.Shape())
			}
			// The forward direction's last step is its final state; the
			// reverse direction's final state is its output at step 0.
			last := r.hn.Data.Index(0, 2*d-d)
			if !seqClose(r.out.Data.Index(1, 5).Narrow(-1, 0, 5), last, 0) {
				t.Errorf("%s: output[:, L-1] is not h_n of the last layer", r.name)
			}
			if bidi && !seqClose(r.out.Data.Index(1, 0).Narrow(-1, 5, 5), r.hn.Data.Index(0, 3), 0) {
				t.Errorf("%s: reverse output[:, 0] is not the reverse h_n", r.name)
			}
		}
		if !slices.Equal(cn.Shape(), []int{2 * d, 3, 5}) {
			t.Errorf("c_n %v", cn.Shape())
		}
		// Zeros given explicitly are the default.
		z := autograd.Const(tensor.Zeros([]int{2 * d, 3, 5}))
		out2, _, _ := lstm.Forward(x, z, z)
		if !seqClose(out.Data, out2.Data, 1e-6) {
			t.Error("nil initial states differ from zeros")
		}
	}
}

func TestRNNMatchesCells(t *testing.T) {
	// A one-layer LSTM (GRU) is its cell stepped over time with the same
	// weights; the reverse direction steps from the end.
	x := autograd.Const(seqRandn(1, 2, 5, 3))
	h0 := autograd.Const(seqRandn(2, 2, 2, 4))
	c0 := autograd.Const(seqRandn(3, 2, 2, 4))
	lstm := nn.NewLSTM(3, 4, nn.RNNConfig{Bidirectional: true})
	gru := nn.NewGRU(3, 4, nn.RNNConfig{Bidirectional: true})
	out, hn, cn := lstm.Forward(x, h0, c0)
	gout, ghn := gru.Forward(x, h0)
	for dir := range 2 {
		lc, gc := nn.NewLSTMCell(3, 4), nn.NewGRUCell(3, 4)
		lc.RNNWeights, gc.RNNWeights = lstm.Weights[dir], gru.Weights[dir]
		h, c, gh := h0.Index(0, dir), c0.Index(0, dir), h0.Index(0, dir)
		for step := range 5 {
			tt := step
			if dir == 1 {
				tt = 4 - step
			}
			h, c = lc.Forward(x.Index(1, tt), h, c)
			gh = gc.Forward(x.Index(1, tt), gh)
			if !seqClose(out.Data.Index(1, tt).Narrow(-1, 4*dir, 4), h.Data, 1e-6) {
				t.Errorf("LSTM direction %d step %d differs from LSTMCell", dir, tt)
			}
			if !seqClose(gout.Data.Index(1, tt).Narrow(-1, 4*dir, 4), gh.Data, 1e-6) {
				t.Errorf("GRU direction %d step %d differs from GRUCell", dir, tt)
			}
		}
		if !seqClose(hn.Data.Index(0, dir), h.Data, 1e-6) || !seqClose(cn.Data.Index(0, dir), c.Data, 1e-6) ||
			!seqClose(ghn.Data.Index(0, dir), gh.Data, 1e-6) {
			t.Errorf("direction %d: final states differ from the cells'", dir)
		}
	}
	// Unbatched input is batch one.
	uo, uh, uc := lstm.Forward(x.Index(0, 1), h0.Index(1, 1), c0.Index(1, 1))
	if !seqClose(uo.Data, out.Data.Index(0, 1), 1e-6) || !seqClose(uh.Data, hn.Data.Index(1, 1), 1e-6) ||
		!seqClose(uc.Data, cn.Data.Index(1, 1), 1e-6) {
		t.Error("unbatched LSTM differs from its batch row")
	}
	cu := nn.NewGRUCell(3, 4)
	if got := cu.Forward(x.Index(0, 0).Index(0, 0), nil); !slices.Equal(got.Shape(), []int{4}) {
		t.Errorf("unbatched GRUCell: %v", got.Shape())
	}
}

func TestRNNDropoutModes(t *testing.T) {
	x := autograd.Const(seqRandn(1, 2, 5, 3))
	m := nn.NewGRU(3, 8, nn.RNNConfig{NumLayers: 3, Dropout: 0.5}, nn.WithGenerator(tensor.NewGenerator(4)))
	a, _ := m.Forward(x, nil)
	b, _ := m.Forward(x, nil)
	if seqClose(a.Data, b.Data, 1e-6) {
		t.Error("training mode: dropout between layers is off")
	}
	nn.Eval(m)
	a, _ = m.Forward(x, nil)
	b, _ = m.Forward(x, nil)
	if !seqClose(a.Data, b.Data, 0) {
		t.Error("eval mode: two calls differ")
	}
	// One layer has no dropout at all (torch applies it between layers only).
	one := nn.NewLSTM(3, 8, nn.RNNConfig{Dropout: 0.5})
	a, _, _ = one.Forward(x, nil, nil)
	b, _, _ = one.Forward(x, nil, nil)
	if !seqClose(a.Data, b.Data, 0) {
		t.Error("one-layer LSTM dropped out its output")
	}
}

func TestRNNErrors(t *testing.T) {
	m := nn.NewLSTM(3, 4, nn.RNNConfig{NumLayers: 2})
	x := autograd.Const(seqRandn(1, 2, 5, 3))
	seqPanics(t, "input width", func() { m.Forward(autograd.Const(seqRandn(1, 2, 5, 4)), nil, nil) })
	seqPanics(t, "input rank", func() { m.Forward(autograd.Const(seqRandn(1, 5)), nil, nil) })
	seqPanics(t, "state shape", func() { m.Forward(x, autograd.Const(seqRandn(2, 1, 2, 4)), nil) })
	seqPanics(t, "cell state shape", func() { m.Forward(x, nil, autograd.Const(seqRandn(2, 2, 3, 4))) })
	seqPanics(t, "sizes", func() { nn.NewGRU(0, 4, nn.RNNConfig{}) })
	seqPanics(t, "dropout", func() { nn.NewGRU(3, 4, nn.RNNConfig{Dropout: -1}) })
	seqPanics(t, "option", func() { nn.NewGRU(3, 4, nn.RNNConfig{}, nn.WithEps(1)) })
	seqPanics(t, "cell input", func() { nn.NewLSTMCell(3, 4).Forward(autograd.Const(seqRandn(1, 2, 4)), nil, nil) })
	seqPanics(t, "cell state", func() {
		nn.NewGRUCell(3, 4).Forward(autograd.Const(seqRandn(1, 2, 3)), autograd.Const(seqRandn(1, 3, 4)))
	})
}

func TestRNNGradCheck(t *testing.T) {
	// Every input, initial state and parameter of two-layer bidirectional
	// networks, in float64.
	x, h0, c0 := seqRandn(1, 2, 3, 2), seqRandn(2, 4, 2, 2), seqRandn(3, 4, 2, 2)
	f64 := []nn.Option{nn.WithDType(tensor.Float64), nn.WithGenerator(tensor.NewGenerator(5))}
	lstm := nn.NewLSTM(2, 2, nn.RNNConfig{NumLayers: 2, Bidirectional: true}, f64...)
	inputs := []*tensor.Tensor{x, h0, c0}
	for _, p := range nn.Parameters(lstm) {
		inputs = append(inputs, p.Data.Clone())
	}
	seqGradCheck(t, "LSTM", func(xs ...*autograd.Var) *autograd.Var {
		seqSetWeights(lstm.Weights, xs[3:])
		out, hn, cn := lstm.Forward(xs[0], xs[1], xs[2])
		return seqWeighted(out, hn, cn)
	}, inputs...)

	gru := nn.NewGRU(2, 2, nn.RNNConfig{NumLayers: 2, Bidirectional: true}, f64...)
	inputs = []*tensor.Tensor{x, h0}
	for _, p := range nn.Parameters(gru) {
		inputs = append(inputs, p.Data.Clone())
	}
	seqGradCheck(t, "GRU", func(xs ...*autograd.Var) *autograd.Var {
		seqSetWeights(gru.Weights, xs[2:])
		out, hn := gru.Forward(xs[0], xs[1])
		return seqWeighted(out, hn)
	}, inputs...)

	// Zero initial states.
	seqGradCheck(t, "GRU zero state", func(xs ...*autograd.Var) *autograd.Var {
		seqSetWeights(gru.Weights, xs[1:])
		out, hn := gru.Forward(xs[0], nil)
		return seqWeighted(out, hn)
	}, append([]*tensor.Tensor{x}, inputs[2:]...)...)

	cell := nn.NewLSTMCell(2, 3, f64...)
	inputs = []*tensor.Tensor{seqRandn(6, 2, 2), seqRandn(7, 2, 3), seqRandn(8, 2, 3)}
	for _, p := range nn.Parameters(cell) {
		inputs = append(inputs, p.Data.Clone())
	}
	seqGradCheck(t, "LSTMCell", func(xs ...*autograd.Var) *autograd.Var {
		ws := []nn.RNNWeights{cell.RNNWeights}
		seqSetWeights(ws, xs[3:])
		cell.RNNWeights = ws[0]
		h, c := cell.Forward(xs[0], xs[1], xs[2])
		return seqWeighted(h, c)
	}, inputs...)
}
