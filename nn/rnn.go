package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Recurrent layers: LSTM and GRU (stacked, optionally bidirectional) and
// their single-step cells, after torch.nn.LSTM, GRU, LSTMCell and GRUCell.
// LSTM's doc comment describes the layout, states, parameter names and
// initialisation that all of them share.

// RNNConfig holds the architecture of a stacked recurrent layer. Its zero
// value is torch's defaults: one layer, no dropout, one direction.
type RNNConfig struct {
	NumLayers     int     // stacked layers, each taking the previous one's output sequence; 1 when 0
	Dropout       float64 // dropout on each layer's output except the last, while training
	Bidirectional bool    // also run each layer from the last step to the first and concatenate
}

// RNNWeights are one layer's parameters in one direction. BiasIH and BiasHH
// are nil without bias.
type RNNWeights struct {
	WeightIH, WeightHH *autograd.Var // [G·H, in], [G·H, H]
	BiasIH, BiasHH     *autograd.Var // [G·H], [G·H]
}

// RNNStack is what LSTM and GRU share: the sizes, the settings (see
// RNNConfig) and the weights.
type RNNStack struct {
	InputSize     int               // features per step of the input
	HiddenSize    int               // features of the hidden state, per direction
	NumLayers     int               // stacked layers
	Dropout       float64           // between layers, while training
	Bidirectional bool              // two directions per layer
	Gen           *tensor.Generator // draws the dropout masks; nil: tensor's default generator
	// Weights holds one entry per layer and direction, in torch's order:
	// layer 0 forward, layer 0 reverse (when bidirectional), layer 1
	// forward, ...
	Weights []RNNWeights
}

func rnnFail(kind tensor.ErrorKind, op string, shapes [][]int, format string, args ...any) {
	panic(&tensor.Error{Kind: kind, Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// rnnUniform returns a parameter of shape drawn from U(−1/√h, 1/√h).
func rnnUniform(c *layerConfig, h int, shape ...int) *autograd.Var {
	b := 1 / math.Sqrt(float64(h))
	return autograd.Param(Uniform(tensor.Zeros(shape, c.tensorOpts()...), c.gen, -b, b))
}

func rnnCellWeights(c *layerConfig, gates, in, h int) RNNWeights {
	w := RNNWeights{WeightIH: rnnUniform(c, h, gates*h, in), WeightHH: rnnUniform(c, h, gates*h, h)}
	if c.bias {
		w.BiasIH = rnnUniform(c, h, gates*h)
		w.BiasHH = rnnUniform(c, h, gates*h)
	}
	return w
}

func newRNNStack(op string, gates, inputSize, hiddenSize int, cfg RNNConfig, opts []Option) RNNStack {
	c := layerOptions(op, opts, "WithoutBias", "WithGenerator", "WithDType", "WithDevice")
	if cfg.NumLayers == 0 {
		cfg.NumLayers = 1
	}
	if inputSize <= 0 || hiddenSize <= 0 || cfg.NumLayers < 0 {
		rnnFail(tensor.ValueError, op, nil, "input_size %d, hidden_size %d and num_layers %d must be positive", inputSize, hiddenSize, cfg.NumLayers)
	}
	if !(cfg.Dropout >= 0 && cfg.Dropout <= 1) {
		rnnFail(tensor.ValueError, op, nil, "dropout probability %v is not in [0, 1]", cfg.Dropout)
	}
	s := RNNStack{InputSize: inputSize, HiddenSize: hiddenSize, NumLayers: cfg.NumLayers,
		Dropout: cfg.Dropout, Bidirectional: cfg.Bidirectional, Gen: c.gen}
	dirs := s.dirs()
	for k := 0; k < cfg.NumLayers; k++ {
		in := inputSize
		if k > 0 {
			in = dirs * hiddenSize
		}
		for range dirs {
			s.Weights = append(s.Weights, rnnCellWeights(&c, gates, in, hiddenSize))
		}
	}
	return s
}

func (s *RNNStack) dirs() int {
	if s.Bidirectional {
		return 2
	}
	return 1
}

// members lists the parameters with torch's names, in torch's order.
func (s *RNNStack) members() Members {
	var m Members
	dirs := s.dirs()
	for i, w := range s.Weights {
		suffix := fmt.Sprintf("_l%d", i/dirs)
		if i%dirs == 1 {
			suffix += "_reverse"
		}
		m.Params = append(m.Params, P("weight_ih"+suffix, w.WeightIH), P("weight_hh"+suffix, w.WeightHH))
		if w.BiasIH != nil {
			m.Params = append(m.Params, P("bias_ih"+suffix, w.BiasIH), P("bias_hh"+suffix, w.BiasHH))
		}
	}
	return m
}

// rnnStepper runs one layer in one direction over the time steps: xp are
// the precomputed input projections [N, L, G·H] (bias included), h the
// initial hidden state [N, H] and c the initial cell state or nil for zeros. It returns the per-step
// hidden states, in time order, and the final states.
type rnnStepper func(w RNNWeights, xp *autograd.Var, h, c *autograd.Var, reverse bool) (outs []*autograd.Var, hn, cn *autograd.Var)

// run is the stacked, multi-direction loop shared by LSTM and GRU. h0 and
// c0 are [layers·D, N, H] or nil; withC says whether there is a cell state.
func (s *RNNStack) run(op string, training bool, x, h0, c0 *autograd.Var, withC bool, step rnnStepper, foldHHBias bool) (out, hn, cn *autograd.Var) {
	unbatched := x.Dim() == 2
	if x.Dim() != 3 && !unbatched {
		rnnFail(tensor.ShapeError, op, [][]int{x.Shape()}, "input must be [N, L, %d] (or [L, %d] unbatched)", s.InputSize, s.InputSize)
	}
	if unbatched {
		x = x.Unsqueeze(0)
		if h0 != nil {
			h0 = h0.Unsqueeze(1)
		}
		if c0 != nil {
			c0 = c0.Unsqueeze(1)
		}
	}
	n := x.Shape()[0]
	if x.Shape()[2] != s.InputSize {
		rnnFail(tensor.ShapeError, op, [][]int{x.Shape()}, "input's last axis must have length input_size %d", s.InputSize)
	}
	dirs := s.dirs()
	stateShape := []int{s.NumLayers * dirs, n, s.HiddenSize}
	for _, st := range []*autograd.Var{h0, c0} {
		if st != nil && !slices.Equal(st.Shape(), stateShape) {
			rnnFail(tensor.ShapeError, op, [][]int{x.Shape(), st.Shape()}, "initial state must be [layers·directions, N, hidden] = %v", stateShape)
		}
	}
	var hs, cs []*autograd.Var
	layerIn := x
	for k := 0; k < s.NumLayers; k++ {
		var dirOut []*autograd.Var
		for d := 0; d < dirs; d++ {
			i := k*dirs + d
			w := s.Weights[i]
			// All time steps' input projections in one product.
			xp := layerIn.MatMul(w.WeightIH.T())
			if w.BiasIH != nil {
				b := w.BiasIH
				if foldHHBias {
					b = b.Add(w.BiasHH)
				}
				xp = xp.Add(b)
			}
			h := rnnZeroState(layerIn, n, s.HiddenSize)
			var c *autograd.Var
			if h0 != nil {
				h = h0.Index(0, i)
			}
			if c0 != nil {
				c = c0.Index(0, i)
			}
			outs, hl, cl := step(w, xp, h, c, d == 1)
			dirOut = append(dirOut, autograd.Stack(outs, 1))
			hs = append(hs, hl)
			if withC {
				cs = append(cs, cl)
			}
		}
		if dirs == 1 {
			layerIn = dirOut[0]
		} else {
			layerIn = autograd.Cat(dirOut, -1)
		}
		if training && s.Dropout > 0 && k < s.NumLayers-1 {
			layerIn = layerIn.Mul(autograd.Const(attnDropoutMask(layerIn.Data, s.Dropout, s.Gen)))
		}
	}
	out, hn = layerIn, autograd.Stack(hs, 0)
	if withC {
		cn = autograd.Stack(cs, 0)
	}
	if unbatched {
		out, hn = out.Squeeze(0), hn.Squeeze(1)
		if cn != nil {
			cn = cn.Squeeze(1)
		}
	}
	return out, hn, cn
}

// rnnTimeSteps returns the time indices in processing order.
func rnnTimeSteps(l int, reverse bool) []int {
	ts := make([]int, l)
	for i := range ts {
		if reverse {
			ts[i] = l - 1 - i
		} else {
			ts[i] = i
		}
	}
	return ts
}

// LSTM is a stacked long short-term memory network: torch.nn.LSTM with
// batch_first=True. Each step of each layer computes, from its input x_t
// and the previous hidden and cell states h, c:
//
//	i = σ(W_ii x_t + b_ii + W_hi h + b_hi)     input gate
//	f = σ(W_if x_t + b_if + W_hf h + b_hf)     forget gate
//	g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)  cell candidate
//	o = σ(W_io x_t + b_io + W_ho h + b_ho)     output gate
//	c' = f ⊙ c + i ⊙ g
//	h' = o ⊙ tanh(c')
//
// where W_ii, W_if, W_ig, W_io are the four row blocks of weight_ih_l{k} in
// that order (torch's), and likewise for the other parameters.
//
// # Shapes
//
// Sequences are batch-first: an input is [N, L, input_size], N sequences
// of L time steps, and the output is [N, L, D·hidden_size], where D is 2
// for a bidirectional network and 1 otherwise. The states are not
// batch-first (in torch neither): h_0, c_0, h_n and c_n are
// [num_layers·D, N, hidden_size], row layer·D + direction (direction 0
// forward, 1 reverse). Initial states are zeros when nil. An unbatched
// input [L, input_size] takes and gives states [num_layers·D, hidden_size]
// and gives output [L, D·hidden_size].
//
// # Layers and directions
//
// Layer 0 reads the input; layer k > 0 reads layer k−1's output sequence,
// with dropout applied to it while training when RNNConfig.Dropout > 0
// (never to the last layer's output). A reverse direction reads its input
// from step L−1 back to step 0; its output for step t is stored at t, beside
// the forward direction's, so output[:, t] describes step t in both
// directions.
//
// # Parameters
//
// Parameters have torch's names and shapes, so state dicts move both ways.
// For layer k, and with the suffix "_reverse" for the reverse direction:
//
//	weight_ih_l{k}  [G·hidden_size, in_k]   in_0 = input_size, in_k = D·hidden_size
//	weight_hh_l{k}  [G·hidden_size, hidden_size]
//	bias_ih_l{k}    [G·hidden_size]          (absent WithoutBias)
//	bias_hh_l{k}    [G·hidden_size]
//
// with G = 4 gates for LSTM (i, f, g, o) and 3 for GRU (r, z, n). Every
// parameter starts from U(−1/√hidden_size, 1/√hidden_size), as in torch.
// Weights holds them, one RNNWeights per layer and direction.
//
// # Computation
//
// For each layer and direction, the input projections of all time steps
// are one matrix product [N·L, in] × [in, G·H]; only the recurrent product
// h·W_hhᵀ is computed step by step. Gradients come from the autograd op
// table (backpropagation through time) and match torch's (see the fixture
// test).
type LSTM struct {
	Base
	RNNStack
}

// NewLSTM makes an LSTM from inputSize features to hiddenSize per
// direction. Options: WithoutBias, WithGenerator (initialisation and
// dropout), WithDType, WithDevice.
func NewLSTM(inputSize, hiddenSize int, cfg RNNConfig, opts ...Option) *LSTM {
	return &LSTM{RNNStack: newRNNStack("nn.NewLSTM", 4, inputSize, hiddenSize, cfg, opts)}
}

// Members implements Module: weight_ih_l0, weight_hh_l0, bias_ih_l0,
// bias_hh_l0, then the reverse direction and the next layers (torch's
// order).
func (m *LSTM) Members() Members { return m.members() }

// Forward runs the LSTM over the sequences x [N, L, input_size]. h0 and c0
// are the initial hidden and cell states [num_layers·D, N, hidden_size];
// nil means zeros (either may be nil without the other). It returns
//
//   - output [N, L, D·hidden_size]: the last layer's hidden state h at
//     every time step (for D = 2, the forward direction's in the first
//     hidden_size features and the reverse direction's after them, each
//     aligned with the input step it read last);
//   - hn [num_layers·D, N, hidden_size]: every layer's hidden state after
//     its last step (for the reverse direction, after reading step 0);
//   - cn, the same for the cell state.
//
// For a one-direction LSTM, output[:, L−1] equals hn[num_layers−1].
// Passing hn and cn back as the next call's h0 and c0 continues the
// sequences (truncated backpropagation through time: Detach them first to
// cut the graph). There are no packed sequences: for a batch padded at the
// end, the forward direction's state after sequence n's last real step is
// output[n, length_n − 1], while hn has run over the padding too.
// Forward hooks see x and output.
func (m *LSTM) Forward(x, h0, c0 *autograd.Var) (output, hn, cn *autograd.Var) {
	out, hn, cn := m.run("nn.LSTM", m.Training(), x, h0, c0, true, lstmLayer, true)
	return m.RunHooks(m, x, out), hn, cn
}

// lstmLayer runs one LSTM layer in one direction (biases folded into xp).
func lstmLayer(w RNNWeights, xp, h, c *autograd.Var, reverse bool) ([]*autograd.Var, *autograd.Var, *autograd.Var) {
	l := xp.Shape()[1]
	outs := make([]*autograd.Var, l)
	whh := w.WeightHH.T()
	for _, t := range rnnTimeSteps(l, reverse) {
		h, c = lstmStep(xp.Index(1, t), h, c, whh)
		outs[t] = h
	}
	return outs, h, c
}

// lstmStep is one LSTM step: gx holds the input projections and both
// biases [N, 4H]; h is the hidden state [N, H], c the cell state or nil
// for zeros; whh is W_hhᵀ [H, 4H]. A zero h is still multiplied, so that
// W_hh gets a (zero) gradient as in torch rather than none.
func lstmStep(gx, h, c, whh *autograd.Var) (*autograd.Var, *autograd.Var) {
	gates := gx.Add(h.MatMul(whh))
	hs := whh.Shape()[0]
	sif := gates.Narrow(-1, 0, 2*hs).Sigmoid()
	i, f := sif.Narrow(-1, 0, hs), sif.Narrow(-1, hs, hs)
	g := gates.Narrow(-1, 2*hs, hs).Tanh()
	o := gates.Narrow(-1, 3*hs, hs).Sigmoid()
	c1 := i.Mul(g)
	if c != nil {
		c1 = f.Mul(c).Add(c1)
	}
	return o.Mul(c1.Tanh()), c1
}

// GRU is a stacked gated recurrent unit network: torch.nn.GRU with
// batch_first=True. Each step of each layer computes, from its input x_t
// and the previous hidden state h:
//
//	r = σ(W_ir x_t + b_ir + W_hr h + b_hr)          reset gate
//	z = σ(W_iz x_t + b_iz + W_hz h + b_hz)          update gate
//	n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))  candidate state
//	h' = (1 − z) ⊙ n + z ⊙ h
//
// where W_ir, W_iz, W_in are the three row blocks of weight_ih_l{k} in that
// order (torch's), and likewise for the other parameters. b_hn sits inside
// the reset gate's product, so it does not merge with b_in.
//
// Shapes, states (zeros when nil), stacking, directions, parameter names
// and initialisation are as described for LSTM, with G = 3 gates and no
// cell state.
type GRU struct {
	Base
	RNNStack
}

// NewGRU makes a GRU from inputSize features to hiddenSize per direction.
// Options: WithoutBias, WithGenerator (initialisation and dropout),
// WithDType, WithDevice.
func NewGRU(inputSize, hiddenSize int, cfg RNNConfig, opts ...Option) *GRU {
	return &GRU{RNNStack: newRNNStack("nn.NewGRU", 3, inputSize, hiddenSize, cfg, opts)}
}

// Members implements Module: weight_ih_l0, weight_hh_l0, bias_ih_l0,
// bias_hh_l0, then the reverse direction and the next layers (torch's
// order).
func (m *GRU) Members() Members { return m.members() }

// Forward runs the GRU over the sequences x [N, L, input_size]. h0 is the
// initial hidden state [num_layers·D, N, hidden_size]; nil means zeros. It
// returns
//
//   - output [N, L, D·hidden_size]: the last layer's hidden state at every
//     time step (for D = 2, forward then reverse features, each aligned
//     with the input step it read last);
//   - hn [num_layers·D, N, hidden_size]: every layer's hidden state after
//     its last step (for the reverse direction, after reading step 0).
//
// For a one-direction GRU, output[:, L−1] equals hn[num_layers−1].
// Passing hn back as the next call's h0 continues the sequences. There are
// no packed sequences (see LSTM.Forward). Forward hooks see x and output.
func (m *GRU) Forward(x, h0 *autograd.Var) (output, hn *autograd.Var) {
	out, hn, _ := m.run("nn.GRU", m.Training(), x, h0, nil, false, gruLayer, false)
	return m.RunHooks(m, x, out), hn
}

// gruLayer runs one GRU layer in one direction (b_ih folded into xp).
func gruLayer(w RNNWeights, xp, h, _ *autograd.Var, reverse bool) ([]*autograd.Var, *autograd.Var, *autograd.Var) {
	l := xp.Shape()[1]
	outs := make([]*autograd.Var, l)
	whh := w.WeightHH.T()
	for _, t := range rnnTimeSteps(l, reverse) {
		h = gruStep(xp.Index(1, t), h, whh, w.BiasHH)
		outs[t] = h
	}
	return outs, h, nil
}

// gruStep is one GRU step: gx holds the input projections and b_ih
// [N, 3H]; h is the hidden state [N, H]; whh is W_hhᵀ [H, 3H]; bhh may be
// nil.
func gruStep(gx, h, whh, bhh *autograd.Var) *autograd.Var {
	hs := whh.Shape()[0]
	gh := h.MatMul(whh) // W_hh h + b_hh
	if bhh != nil {
		gh = gh.Add(bhh)
	}
	rz := gx.Narrow(-1, 0, 2*hs).Add(gh.Narrow(-1, 0, 2*hs)).Sigmoid()
	r, z := rz.Narrow(-1, 0, hs), rz.Narrow(-1, hs, hs)
	cand := gx.Narrow(-1, 2*hs, hs).Add(r.Mul(gh.Narrow(-1, 2*hs, hs))).Tanh()
	return cand.Add(z.Mul(h.Sub(cand))) // (1 − z)·n + z·h
}

// LSTMCell is one LSTM step (torch.nn.LSTMCell): the equations of LSTM for
// a single time step, with parameters weight_ih [4H, input_size],
// weight_hh [4H, H], bias_ih [4H] and bias_hh [4H], initialised from
// U(−1/√H, 1/√H). Use it to write the time loop yourself (attention over
// encoder states, scheduled sampling); LSTM is faster for whole sequences
// because it projects every step's input at once.
type LSTMCell struct {
	Base
	InputSize, HiddenSize int
	RNNWeights
}

// NewLSTMCell makes an LSTMCell. Options: WithoutBias, WithGenerator,
// WithDType, WithDevice.
func NewLSTMCell(inputSize, hiddenSize int, opts ...Option) *LSTMCell {
	s := newRNNStack("nn.NewLSTMCell", 4, inputSize, hiddenSize, RNNConfig{}, opts)
	return &LSTMCell{InputSize: inputSize, HiddenSize: hiddenSize, RNNWeights: s.Weights[0]}
}

// Members implements Module: weight_ih, weight_hh, bias_ih, bias_hh.
func (m *LSTMCell) Members() Members { return rnnCellMembers(m.RNNWeights) }

func rnnCellMembers(w RNNWeights) Members {
	mm := Members{Params: []Named[*autograd.Var]{P("weight_ih", w.WeightIH), P("weight_hh", w.WeightHH)}}
	if w.BiasIH != nil {
		mm.Params = append(mm.Params, P("bias_ih", w.BiasIH), P("bias_hh", w.BiasHH))
	}
	return mm
}

// rnnCellInput checks a cell's input [N, in] (or [in]) and state, and returns
// them batched with a function that undoes the batching.
func rnnCellInput(op string, x *autograd.Var, in, hidden int, states ...*autograd.Var) (*autograd.Var, []*autograd.Var, func(*autograd.Var) *autograd.Var) {
	undo := func(v *autograd.Var) *autograd.Var { return v }
	if x.Dim() == 1 {
		x = x.Unsqueeze(0)
		for i, s := range states {
			if s != nil {
				states[i] = s.Unsqueeze(0)
			}
		}
		undo = func(v *autograd.Var) *autograd.Var { return v.Squeeze(0) }
	}
	if x.Dim() != 2 || x.Shape()[1] != in {
		rnnFail(tensor.ShapeError, op, [][]int{x.Shape()}, "input must be [N, %d] (or [%d])", in, in)
	}
	for _, s := range states {
		if s != nil && !slices.Equal(s.Shape(), []int{x.Shape()[0], hidden}) {
			rnnFail(tensor.ShapeError, op, [][]int{x.Shape(), s.Shape()}, "state must be [N, %d]", hidden)
		}
	}
	if states[0] == nil {
		states[0] = rnnZeroState(x, x.Shape()[0], hidden)
	}
	return x, states, undo
}

// rnnZeroState returns a constant zero state [n, h] of like's dtype and
// device.
func rnnZeroState(like *autograd.Var, n, h int) *autograd.Var {
	return autograd.Const(tensor.Zeros([]int{n, h}, tensor.WithDType(like.DType()), tensor.WithDevice(like.Data.Device())))
}

// Forward computes one step from x [N, input_size] (or [input_size]) and
// the states h, c [N, hidden_size] (nil for zeros), returning the next
// hidden state h' and cell state c', both [N, hidden_size].
func (m *LSTMCell) Forward(x, h, c *autograd.Var) (h1, c1 *autograd.Var) {
	in := x
	x, st, undo := rnnCellInput("nn.LSTMCell", x, m.InputSize, m.HiddenSize, h, c)
	gx := x.MatMul(m.WeightIH.T())
	if m.BiasIH != nil {
		gx = gx.Add(m.BiasIH.Add(m.BiasHH))
	}
	h1, c1 = lstmStep(gx, st[0], st[1], m.WeightHH.T())
	return m.RunHooks(m, in, undo(h1)), undo(c1)
}

// GRUCell is one GRU step (torch.nn.GRUCell): the equations of GRU for a
// single time step, with parameters weight_ih [3H, input_size], weight_hh
// [3H, H], bias_ih [3H] and bias_hh [3H], initialised from
// U(−1/√H, 1/√H).
type GRUCell struct {
	Base
	InputSize, HiddenSize int
	RNNWeights
}

// NewGRUCell makes a GRUCell. Options: WithoutBias, WithGenerator,
// WithDType, WithDevice.
func NewGRUCell(inputSize, hiddenSize int, opts ...Option) *GRUCell {
	s := newRNNStack("nn.NewGRUCell", 3, inputSize, hiddenSize, RNNConfig{}, opts)
	return &GRUCell{InputSize: inputSize, HiddenSize: hiddenSize, RNNWeights: s.Weights[0]}
}

// Members implements Module: weight_ih, weight_hh, bias_ih, bias_hh.
func (m *GRUCell) Members() Members { return rnnCellMembers(m.RNNWeights) }

// Forward computes the next hidden state [N, hidden_size] from x
// [N, input_size] (or [input_size]) and h [N, hidden_size] (nil for
// zeros).
func (m *GRUCell) Forward(x, h *autograd.Var) *autograd.Var {
	in := x
	x, st, undo := rnnCellInput("nn.GRUCell", x, m.InputSize, m.HiddenSize, h)
	gx := x.MatMul(m.WeightIH.T())
	if m.BiasIH != nil {
		gx = gx.Add(m.BiasIH)
	}
	return m.RunHooks(m, in, undo(gruStep(gx, st[0], m.WeightHH.T(), m.BiasHH)))
}
