package nn_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/safetensors"
	"github.com/tessera-ml/tessera/tensor"
)

// Test-only layers with torch's parameter names, so that these tests do not
// depend on the real layers.

type stLinear struct{ W, B *autograd.Var }

func stNewLinear(in, out int) *stLinear {
	return &stLinear{autograd.Param(tensor.Zeros([]int{out, in})), autograd.Param(tensor.Zeros([]int{out}))}
}

func (l *stLinear) Members() nn.Members {
	return nn.Members{Params: []nn.Named[*autograd.Var]{nn.P("weight", l.W), nn.P("bias", l.B)}}
}

func (l *stLinear) Forward(x *autograd.Var) *autograd.Var { return x.MatMul(l.W.T()).Add(l.B) }

// stBatchNorm is torch.nn.BatchNorm1d in eval mode.
type stBatchNorm struct {
	W, B                  *autograd.Var
	Mean, Var, NumBatches *tensor.Tensor
}

func stNewBatchNorm(n int) *stBatchNorm {
	return &stBatchNorm{
		W: autograd.Param(tensor.Ones([]int{n})), B: autograd.Param(tensor.Zeros([]int{n})),
		Mean: tensor.Zeros([]int{n}), Var: tensor.Ones([]int{n}),
		NumBatches: tensor.Zeros(nil, tensor.WithDType(tensor.Int64)),
	}
}

func (b *stBatchNorm) Members() nn.Members {
	return nn.Members{
		Params: []nn.Named[*autograd.Var]{nn.P("weight", b.W), nn.P("bias", b.B)},
		Buffers: []nn.Named[*tensor.Tensor]{
			nn.B("running_mean", b.Mean), nn.B("running_var", b.Var), nn.B("num_batches_tracked", b.NumBatches),
		},
	}
}

func (b *stBatchNorm) Forward(x *autograd.Var) *autograd.Var {
	inv := autograd.Const(b.Var.AddScalar(1e-5).Rsqrt())
	return x.Sub(autograd.Const(b.Mean)).Mul(inv).Mul(b.W).Add(b.B)
}

type stReLU struct{}

func (stReLU) Members() nn.Members                   { return nn.Members{} }
func (stReLU) Forward(x *autograd.Var) *autograd.Var { return x.ReLU() }

// stMLP is torch.nn.Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(),
// Linear(8, 3)), zero-initialised.
func stMLP() *nn.Sequential {
	return nn.NewSequential(stNewLinear(4, 8), stNewBatchNorm(8), stReLU{}, stNewLinear(8, 3))
}

// stNet holds one Linear called fc.
type stNet struct{ FC *stLinear }

func (n *stNet) Members() nn.Members {
	return nn.Members{Children: []nn.Named[nn.Module]{nn.C("fc", n.FC)}}
}

// stTied shares one parameter between two submodules (tied weights).
type stTied struct{ A, B *stLinear }

func (n *stTied) Members() nn.Members {
	return nn.Members{Children: []nn.Named[nn.Module]{nn.C("enc", n.A), nn.C("dec", n.B)}}
}

func stKeys(sd map[string]*tensor.Tensor) []string {
	var ks []string
	for k := range sd {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestStateDictNamesAndLiveness(t *testing.T) {
	m := stMLP()
	sd := nn.StateDict(m)
	want := []string{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var",
		"1.weight", "3.bias", "3.weight"}
	if got := stKeys(sd); !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	lin := m.Layers[0].(*stLinear)
	if sd["0.weight"] != lin.W.Data {
		t.Fatal("StateDict does not return the live parameter tensor")
	}
	sd["0.weight"].Fill_(2) // writes into the model
	if lin.W.Data.Sum().Item() != 2*32 {
		t.Fatal("a write through the state dict did not reach the model")
	}
}

func TestStateLoadStrictErrors(t *testing.T) {
	m := &stNet{FC: stNewLinear(4, 4)}
	m.FC.W.Data.Fill_(1)
	sd := map[string]*tensor.Tensor{
		"fc.weight": tensor.Zeros([]int{3, 4}),
		"extra":     tensor.Zeros([]int{1}),
		"another":   tensor.Zeros([]int{1}),
	}
	res, err := nn.LoadStateDict(m, sd, true)
	const want = "nn: error(s) in loading state_dict for *nn_test.stNet:\n" +
		"\tMissing key(s) in state_dict: \"fc.bias\".\n" +
		"\tUnexpected key(s) in state_dict: \"another\", \"extra\".\n" +
		"\tsize mismatch for fc.weight: copying a param with shape [3 4] from checkpoint, the shape in current model is [4 4]."
	if err == nil || err.Error() != want {
		t.Fatalf("got error\n%v\nwant\n%s", err, want)
	}
	var sde *nn.StateDictError
	if !errors.As(err, &sde) || len(sde.Mismatched) != 1 || sde.Mismatched[0].Key != "fc.weight" ||
		!slices.Equal(sde.Mismatched[0].Checkpoint, []int{3, 4}) || !slices.Equal(sde.Mismatched[0].Model, []int{4, 4}) {
		t.Fatalf("error value %#v", sde)
	}
	if !slices.Equal(res.Missing, []string{"fc.bias"}) || !slices.Equal(res.Unexpected, []string{"another", "extra"}) {
		t.Fatalf("result %+v", res)
	}

	// Only missing keys: strict fails and changes nothing.
	sd = map[string]*tensor.Tensor{"fc.weight": tensor.Zeros([]int{4, 4})}
	_, err = nn.LoadStateDict(m, sd, true)
	if err == nil || err.Error() != "nn: error(s) in loading state_dict for *nn_test.stNet:\n\tMissing key(s) in state_dict: \"fc.bias\"." {
		t.Fatalf("got %v", err)
	}
	if m.FC.W.Data.Sum().Item() != 16 {
		t.Fatal("a failed strict load changed the model")
	}
}

func TestStateLoadNonStrict(t *testing.T) {
	m := &stNet{FC: stNewLinear(2, 2)}
	w := m.FC.W.Data
	sd := map[string]*tensor.Tensor{
		// float64 into a float32 parameter: converted, like torch.
		"fc.weight": tensor.FromSlice([]float64{1, 2, 3, 4}, 2, 2),
		"unused":    tensor.Ones([]int{5}),
	}
	res, err := nn.LoadStateDict(m, sd, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Missing, []string{"fc.bias"}) || !slices.Equal(res.Unexpected, []string{"unused"}) {
		t.Fatalf("result %+v", res)
	}
	if m.FC.W.Data != w || w.DType() != tensor.Float32 || !slices.Equal(w.Float32s(), []float32{1, 2, 3, 4}) {
		t.Fatalf("weight %v (%v), want [1 2 3 4] float32 in the same tensor", w, w.DType())
	}

	// A shape mismatch is an error even when not strict; it lists no keys
	// and leaves the model unchanged.
	sd = map[string]*tensor.Tensor{"fc.weight": tensor.Ones([]int{2, 2}), "fc.bias": tensor.Ones([]int{3})}
	_, err = nn.LoadStateDict(m, sd, false)
	want := "nn: error(s) in loading state_dict for *nn_test.stNet:\n" +
		"\tsize mismatch for fc.bias: copying a param with shape [3] from checkpoint, the shape in current model is [2]."
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if !slices.Equal(w.Float32s(), []float32{1, 2, 3, 4}) {
		t.Fatal("a failed load changed the model")
	}
	// 0-d and [1] differ, as in torch.
	m2 := stNewBatchNorm(1)
	_, err = nn.LoadStateDict(m2, map[string]*tensor.Tensor{"num_batches_tracked": tensor.Zeros([]int{1})}, false)
	if err == nil {
		t.Fatal("a [1] tensor loaded into a 0-d buffer")
	}
	if _, err := nn.LoadStateDict(m2, map[string]*tensor.Tensor{"weight": nil}, false); err == nil {
		t.Fatal("a nil entry loaded")
	}
}

func TestStateTiedWeights(t *testing.T) {
	shared := stNewLinear(2, 2)
	m := &stTied{A: shared, B: &stLinear{W: shared.W, B: autograd.Param(tensor.Zeros([]int{2}))}}
	if got := stKeys(nn.StateDict(m)); !slices.Equal(got, []string{"dec.bias", "dec.weight", "enc.bias", "enc.weight"}) {
		t.Fatalf("keys %q", got)
	}
	path := filepath.Join(t.TempDir(), "tied.safetensors")
	shared.W.Data.Fill_(3)
	if err := nn.Save(m, path); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := stKeys(f.Tensors); !slices.Equal(got, []string{"dec.bias", "enc.bias", "enc.weight"}) {
		t.Fatalf("saved keys %q: a tied weight should be stored once", got)
	}
	m2 := &stTied{A: stNewLinear(2, 2)}
	m2.B = &stLinear{W: m2.A.W, B: autograd.Param(tensor.Zeros([]int{2}))}
	res, err := nn.Load(m2, path, true)
	if err != nil || len(res.Missing) != 0 || len(res.Unexpected) != 0 {
		t.Fatalf("strict load of a tied checkpoint: %+v, %v", res, err)
	}
	if m2.B.W.Data.Sum().Item() != 12 {
		t.Fatal("tied weight not loaded")
	}
}

// stTorchMLP is nn/testdata/torch_mlp.json, written by
// safetensors/testdata/gen_fixtures.py.
type stTorchMLP struct {
	Format       string   `json:"format"`
	TorchVersion string   `json:"torch_version"`
	Keys         []string `json:"keys"`
	Input        struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"input"`
	Output struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"output"`
}

// TestStateTorchMLP loads a state dict that torch saved into an equivalent
// module, reproduces torch's outputs, and saves it back byte for byte. With
// TESSERA_ST_OUT set it leaves its file there, for the generator to read
// back with Python.
func TestStateTorchMLP(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_mlp.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx stTorchMLP
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if fx.Format != "tessera-torch-mlp/1" {
		t.Fatalf("fixture format %q", fx.Format)
	}
	m := stMLP()
	res, err := nn.Load(m, "testdata/torch_mlp.safetensors", true)
	if err != nil || len(res.Missing)+len(res.Unexpected) != 0 {
		t.Fatalf("load: %+v, %v", res, err)
	}
	if got := stKeys(nn.StateDict(m)); !slices.Equal(got, slices.Sorted(slices.Values(fx.Keys))) {
		t.Fatalf("module keys %q, torch keys %q", got, fx.Keys)
	}
	if n := m.Layers[1].(*stBatchNorm).NumBatches.Item(); n != 3 {
		t.Fatalf("num_batches_tracked = %v, want 3", n)
	}

	x := tensor.FromSlice(fx.Input.Data, fx.Input.Shape...).Cast(tensor.Float32)
	var y *tensor.Tensor
	autograd.NoGrad(func() { y = m.Forward(autograd.Const(x)).Data })
	if !slices.Equal(y.Shape(), fx.Output.Shape) {
		t.Fatalf("output shape %v, want %v", y.Shape(), fx.Output.Shape)
	}
	for i, g := range y.Float64s() {
		w := fx.Output.Data[i]
		if math.Abs(g-w) > 1e-5*math.Abs(w)+1e-6 {
			t.Fatalf("output[%d] = %v, torch %v", i, g, w)
		}
	}

	// Saving gives back torch's file, byte for byte.
	dir := t.TempDir()
	if out := os.Getenv("TESSERA_ST_OUT"); out != "" {
		dir = out
	}
	path := filepath.Join(dir, "tessera_mlp.safetensors")
	if err := nn.Save(m, path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/torch_mlp.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Save wrote\n%q\ntorch wrote\n%q", got, want)
	}
}

func TestStateSaveLoadRoundTrip(t *testing.T) {
	src := stMLP()
	g := tensor.NewGenerator(1)
	for _, v := range nn.StateDict(src) {
		v.CopyFrom(tensor.RandN(g, v.Shape()).Cast(v.DType()))
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := nn.Save(src, path); err != nil {
		t.Fatal(err)
	}
	dst := stMLP()
	before := map[string]*tensor.Tensor{}
	for k, v := range nn.StateDict(dst) {
		before[k] = v
	}
	if _, err := nn.Load(dst, path, true); err != nil {
		t.Fatal(err)
	}
	want := nn.StateDict(src)
	for k, v := range nn.StateDict(dst) {
		if v != before[k] {
			t.Fatalf("%s: Load replaced the tensor instead of copying into it", k)
		}
		if !slices.Equal(v.Float64s(), want[k].Float64s()) {
			t.Fatalf("%s: %v, want %v", k, v, want[k])
		}
	}
}

func TestStateSaveLoadErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	m := &stNet{FC: stNewLinear(2, 2)}
	if err := nn.Save(m, path); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)

	// A module whose state cannot be written (a name that is not UTF-8)
	// leaves the previous file intact and no temporary file behind.
	if err := nn.Save(stBadName{stNewLinear(2, 2)}, path); err == nil {
		t.Fatal("saving an invalid name succeeded")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Fatal("a failed Save changed the file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("directory holds %d entries after a failed Save", len(ents))
	}
	if err := nn.Save(m, filepath.Join(dir, "missing", "m.safetensors")); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}

	if _, err := nn.Load(m, filepath.Join(dir, "nope.safetensors"), true); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, old[:len(old)-2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Load(m, corrupt, true); !errors.Is(err, safetensors.ErrFormat) {
		t.Fatalf("got %v", err)
	}
}

// stBadName has a parameter whose name is not valid UTF-8.
type stBadName struct{ L *stLinear }

func (b stBadName) Members() nn.Members {
	return nn.Members{Params: []nn.Named[*autograd.Var]{nn.P("w\xff", b.L.W)}}
}
