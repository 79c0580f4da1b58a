package nn_test

// PyTorch reference fixtures for the sequence layers — ScaledDotProductAttention,
// MultiheadAttention, TransformerEncoderLayer, TransformerEncoder, LSTM, GRU,
// LSTMCell, GRUCell: testdata/seq_fixtures.json, written with torch 1.13 by
// testdata/gen_seq_fixtures.py (whose docstring describes the format). Each
// case holds the module's whole state dict by torch's names, the inputs,
// random upstream gradients, and torch's outputs and gradients of the inputs
// and of every parameter. The test builds the Tessera module from the case's
// config, checks that its parameter names are exactly torch's, copies the
// values in, runs forward and backward, and compares.
//
// Tolerances. An element matches when |got − want| <= atol + rtol·|want|.
// Float32 cases use rtol = atol = 1e-5 (about 80 ulps at magnitude 1, where
// these tensors live); float64 cases use 1e-12, which checks the formulas
// themselves, rounding aside. No case needs a looser bound: the 40-step
// recurrences (lstm_long_sequence, gru_long_sequence), whose weight
// gradients sum 40 steps of products and carry rounding differences (the
// matrix products' summation order, the fused b_ih + b_hh) through the
// whole recurrence, stay below a tenth of the bound. The test logs each
// case's worst error as a fraction of its bound.
//
// Regenerate the fixtures with
//
//	/usr/bin/python3 nn/testdata/gen_seq_fixtures.py

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

const (
	seqFixturePath   = "testdata/seq_fixtures.json"
	seqFixtureFormat = "tessera-nn-seq-fixtures/1"
)

type seqFixtureFile struct {
	Format       string    `json:"format"`
	TorchVersion string    `json:"torch_version"`
	Cases        []seqCase `json:"cases"`
}

type seqCase struct {
	Name     string                     `json:"name"`
	Kind     string                     `json:"kind"`
	DType    string                     `json:"dtype"`
	Config   map[string]json.RawMessage `json:"config"`
	Params   map[string]*seqTensor      `json:"params"`
	Inputs   map[string]*seqTensor      `json:"inputs"`
	GradOf   []string                   `json:"grad_of"`
	Upstream map[string]*seqTensor      `json:"upstream"`
	Outputs  map[string]*seqTensor      `json:"outputs"`
	Grads    map[string]*seqTensor      `json:"grads"`
}

// seqTensor is a fixture tensor: row-major data, floats as the shortest
// decimal that round-trips in their dtype, bools as JSON booleans.
type seqTensor struct {
	DType string            `json:"dtype"`
	Shape []int             `json:"shape"`
	Data  []json.RawMessage `json:"data"`
}

func (st *seqTensor) floats() []float64 {
	bits := 32
	if st.DType == "float64" {
		bits = 64
	}
	out := make([]float64, len(st.Data))
	for i, raw := range st.Data {
		s := strings.TrimSpace(string(raw))
		switch s {
		case "true":
			out[i] = 1
		case "false":
			out[i] = 0
		default:
			v, err := strconv.ParseFloat(s, bits)
			if err != nil {
				panic(fmt.Sprintf("fixture: bad number %s: %v", s, err))
			}
			out[i] = v
		}
	}
	return out
}

func (st *seqTensor) tensor() *tensor.Tensor {
	dt, ok := map[string]tensor.DType{"float32": tensor.Float32, "float64": tensor.Float64, "bool": tensor.Bool}[st.DType]
	if !ok {
		panic(fmt.Sprintf("fixture: unknown dtype %q", st.DType))
	}
	return tensor.FromSlice(st.floats(), st.Shape...).Cast(dt)
}

func seqLoadFixtures(t *testing.T) *seqFixtureFile {
	t.Helper()
	raw, err := os.ReadFile(seqFixturePath)
	if err != nil {
		t.Fatalf("fixtures missing (regenerate with /usr/bin/python3 nn/testdata/gen_seq_fixtures.py): %v", err)
	}
	var f seqFixtureFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", seqFixturePath, err)
	}
	if f.Format != seqFixtureFormat {
		t.Fatalf("%s: format %q, want %q", seqFixturePath, f.Format, seqFixtureFormat)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", seqFixturePath)
	}
	return &f
}

// Config accessors; a missing key is a broken fixture.

func (c *seqCase) raw(key string) json.RawMessage {
	r, ok := c.Config[key]
	if !ok {
		panic(fmt.Sprintf("case %s: config has no %q", c.Name, key))
	}
	return r
}

func (c *seqCase) int(key string) int {
	var v int
	if err := json.Unmarshal(c.raw(key), &v); err != nil {
		panic(err)
	}
	return v
}

func (c *seqCase) float(key string) float64 {
	var v *float64
	if err := json.Unmarshal(c.raw(key), &v); err != nil {
		panic(err)
	}
	if v == nil {
		return 0
	}
	return *v
}

func (c *seqCase) bool(key string) bool {
	var v bool
	if err := json.Unmarshal(c.raw(key), &v); err != nil {
		panic(err)
	}
	return v
}

func (c *seqCase) str(key string) string {
	var v string
	if err := json.Unmarshal(c.raw(key), &v); err != nil {
		panic(err)
	}
	return v
}

func (c *seqCase) dtype() tensor.DType {
	if c.DType == "float64" {
		return tensor.Float64
	}
	return tensor.Float32
}

// mask returns the input tensor named key, or nil.
func (c *seqCase) mask(key string) *tensor.Tensor {
	if st, ok := c.Inputs[key]; ok {
		return st.tensor()
	}
	return nil
}

// seqRun is one case being run: its float inputs as Vars (leaves requiring
// a gradient when listed in grad_of).
type seqRun struct {
	c    *seqCase
	vars map[string]*autograd.Var
}

// v returns the input Var named key, or nil when the case has none.
func (r *seqRun) v(key string) *autograd.Var { return r.vars[key] }

// seqHandlers build the module for a case (its parameters are copied in
// by the caller before run is called) and run it.
type seqHandler func(c *seqCase, r *seqRun) (m nn.Module, run func() map[string]*autograd.Var)

var seqHandlers = map[string]seqHandler{
	"SDPA": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		return nil, func() map[string]*autograd.Var {
			out := nn.ScaledDotProductAttention(r.v("q"), r.v("k"), r.v("v"), nn.AttentionOptions{
				Mask: seqMaskInput(c, r, "mask"), IsCausal: c.bool("is_causal"), Scale: c.float("scale")})
			return map[string]*autograd.Var{"out": out}
		}
	},
	"MHA": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		var opts []nn.Option
		if !c.bool("bias") {
			opts = append(opts, nn.WithoutBias())
		}
		m := nn.NewMultiheadAttention(c.int("embed_dim"), c.int("num_heads"), c.float("dropout"), append(opts, nn.WithDType(c.dtype()))...)
		nn.Eval(m)
		return m, func() map[string]*autograd.Var {
			q, k, v := r.v("query"), r.v("key"), r.v("value")
			if c.bool("self") {
				k, v = q, q
			} else if c.bool("kv_same") {
				v = k
			}
			out, w := m.Forward(q, k, v, nn.MHAOptions{
				KeyPaddingMask: seqMaskInput(c, r, "key_padding_mask"),
				AttnMask:       seqMaskInput(c, r, "attn_mask"),
				IsCausal:       c.bool("is_causal"),
				NeedWeights:    c.bool("need_weights"),
				PerHeadWeights: !c.bool("average"),
			})
			res := map[string]*autograd.Var{"out": out}
			if w != nil {
				res["weights"] = w
			}
			return res
		}
	},
	"TransformerEncoderLayer": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		l := seqEncoderLayer(c)
		nn.Eval(l)
		return l, func() map[string]*autograd.Var {
			out := l.Forward(r.v("src"), seqMaskInput(c, r, "src_mask"), seqMaskInput(c, r, "src_key_padding_mask"), c.bool("is_causal"))
			return map[string]*autograd.Var{"out": out}
		}
	},
	"TransformerEncoder": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		layers := make([]*nn.TransformerEncoderLayer, c.int("num_layers"))
		for i := range layers {
			layers[i] = seqEncoderLayer(c)
		}
		var norm *nn.LayerNorm
		if c.bool("final_norm") {
			norm = nn.NewLayerNorm([]int{c.int("d_model")}, nn.WithDType(c.dtype()))
		}
		e := nn.NewTransformerEncoder(layers, norm)
		nn.Eval(e)
		return e, func() map[string]*autograd.Var {
			out := e.Forward(r.v("src"), seqMaskInput(c, r, "src_mask"), seqMaskInput(c, r, "src_key_padding_mask"), c.bool("is_causal"))
			return map[string]*autograd.Var{"out": out}
		}
	},
	"LSTM": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		m := nn.NewLSTM(c.int("input_size"), c.int("hidden_size"), seqRNNConfig(c), seqBiasOpts(c)...)
		nn.Eval(m)
		return m, func() map[string]*autograd.Var {
			out, hn, cn := m.Forward(r.v("x"), r.v("h0"), r.v("c0"))
			return map[string]*autograd.Var{"output": out, "h_n": hn, "c_n": cn}
		}
	},
	"GRU": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		m := nn.NewGRU(c.int("input_size"), c.int("hidden_size"), seqRNNConfig(c), seqBiasOpts(c)...)
		nn.Eval(m)
		return m, func() map[string]*autograd.Var {
			out, hn := m.Forward(r.v("x"), r.v("h0"))
			return map[string]*autograd.Var{"output": out, "h_n": hn}
		}
	},
	"LSTMCell": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		m := nn.NewLSTMCell(c.int("input_size"), c.int("hidden_size"), seqBiasOpts(c)...)
		return m, func() map[string]*autograd.Var {
			h, cc := m.Forward(r.v("x"), r.v("h"), r.v("c"))
			return map[string]*autograd.Var{"h": h, "c": cc}
		}
	},
	"GRUCell": func(c *seqCase, r *seqRun) (nn.Module, func() map[string]*autograd.Var) {
		m := nn.NewGRUCell(c.int("input_size"), c.int("hidden_size"), seqBiasOpts(c)...)
		return m, func() map[string]*autograd.Var {
			return map[string]*autograd.Var{"h": m.Forward(r.v("x"), r.v("h"))}
		}
	},
}

// seqMaskInput returns the mask input named key (a Bool or float tensor of
// the case's dtype), or nil.
func seqMaskInput(c *seqCase, r *seqRun, key string) *tensor.Tensor {
	if v := r.v(key); v != nil {
		return v.Data
	}
	return c.mask(key)
}

func seqEncoderLayer(c *seqCase) *nn.TransformerEncoderLayer {
	return nn.NewTransformerEncoderLayer(c.int("d_model"), c.int("nhead"), nn.TransformerEncoderLayerConfig{
		DimFeedforward: c.int("dim_feedforward"),
		Dropout:        c.float("dropout"),
		Activation:     c.str("activation"),
		LayerNormEps:   c.float("layer_norm_eps"),
		NormFirst:      c.bool("norm_first"),
	}, nn.WithDType(c.dtype()))
}

func seqRNNConfig(c *seqCase) nn.RNNConfig {
	return nn.RNNConfig{NumLayers: c.int("num_layers"), Dropout: c.float("dropout"), Bidirectional: c.bool("bidirectional")}
}

func seqBiasOpts(c *seqCase) []nn.Option {
	opts := []nn.Option{nn.WithDType(c.dtype())}
	if !c.bool("bias") {
		opts = append(opts, nn.WithoutBias())
	}
	return opts
}

// seqTol returns the case's (atol, rtol); see the file comment.
func seqTol(c *seqCase) (atol, rtol float64) {
	if c.DType == "float64" {
		return 1e-12, 1e-12
	}
	return 1e-5, 1e-5
}

// seqCompare fails unless got matches want elementwise within atol and
// rtol, and returns the largest error relative to the bound (≤ 1 passes).
func seqCompare(t *testing.T, what string, got *tensor.Tensor, want *seqTensor, atol, rtol float64) float64 {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing (want shape %v)", what, want.Shape)
		return math.Inf(1)
	}
	if !slices.Equal(got.Shape(), want.Shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape)
		return math.Inf(1)
	}
	g, w := got.Float64s(), want.floats()
	worst, at := 0.0, -1
	for i := range w {
		e := math.Abs(g[i]-w[i]) / (atol + rtol*math.Abs(w[i]))
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		if e > worst {
			worst, at = e, i
		}
	}
	if worst > 1 {
		t.Errorf("%s: element %d is %.9g, want %.9g (|err| %.3g > %.3g + %.3g·|want|)",
			what, at, g[at], w[at], math.Abs(g[at]-w[at]), atol, rtol)
	}
	return worst
}

func seqKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestSeqTorchFixtures(t *testing.T) {
	f := seqLoadFixtures(t)
	t.Logf("%d cases from torch %s", len(f.Cases), f.TorchVersion)
	kinds := map[string]bool{}
	for i := range f.Cases {
		c := &f.Cases[i]
		kinds[c.Kind] = true
		t.Run(c.Name, func(t *testing.T) { seqRunCase(t, c) })
	}
	for k := range seqHandlers {
		if !kinds[k] {
			t.Errorf("handler %s has no fixture case", k)
		}
	}
}

func seqRunCase(t *testing.T, c *seqCase) {
	h, ok := seqHandlers[c.Kind]
	if !ok {
		t.Fatalf("no handler for kind %q", c.Kind)
	}
	dt := c.dtype()
	r := &seqRun{c: c, vars: map[string]*autograd.Var{}}
	for name, st := range c.Inputs {
		x := st.tensor()
		if !x.DType().IsFloat() {
			continue // bool masks are read with c.mask
		}
		r.vars[name] = autograd.New(x.Cast(dt), slices.Contains(c.GradOf, name))
	}
	m, run := h(c, r)

	// The module's parameter names must be exactly torch's state dict.
	params := map[string]*autograd.Var{}
	if m != nil {
		for _, np := range nn.NamedParameters(m) {
			params[np.Name] = np.Param
		}
	}
	if got, want := seqKeys(params), seqKeys(c.Params); !slices.Equal(got, want) {
		t.Fatalf("parameter names %v, torch has %v", got, want)
	}
	for name, p := range params {
		want := c.Params[name]
		if !slices.Equal(p.Shape(), want.Shape) {
			t.Fatalf("parameter %s: shape %v, torch has %v", name, p.Shape(), want.Shape)
		}
		p.Data.CopyFrom(want.tensor())
	}

	outs := run()
	if got, want := seqKeys(outs), seqKeys(c.Outputs); !slices.Equal(got, want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	atol, rtol := seqTol(c)
	worst := 0.0
	var loss *autograd.Var
	for _, name := range seqKeys(outs) {
		out := outs[name]
		if out.DType() != dt {
			t.Errorf("output %s: dtype %v, want %v", name, out.DType(), dt)
		}
		worst = max(worst, seqCompare(t, "output "+name, out.Data, c.Outputs[name], atol, rtol))
		term := out.Mul(autograd.Const(c.Upstream[name].tensor().Cast(dt))).Sum()
		if loss == nil {
			loss = term
		} else {
			loss = loss.Add(term)
		}
	}
	loss.Backward()
	for _, name := range seqKeys(c.Grads) {
		var got *tensor.Tensor
		if v, ok := r.vars[name]; ok {
			got = v.Grad()
		} else if p, ok := params[name]; ok {
			got = p.Grad()
		} else {
			t.Errorf("gradient of %s: no such input or parameter", name)
			continue
		}
		worst = max(worst, seqCompare(t, "grad "+name, got, c.Grads[name], atol, rtol))
	}
	t.Logf("worst error / tolerance: %.3f (atol %g, rtol %g)", worst, atol, rtol)
}
