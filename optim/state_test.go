package optim_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// saveParams and loadParams stand in for a model checkpoint (package nn's
// safetensors files) in the resume tests: raw float32 values, little-endian.
func saveParams(t *testing.T, path string, params []*autograd.Var) {
	t.Helper()
	var b bytes.Buffer
	for _, p := range params {
		binary.Write(&b, binary.LittleEndian, p.Data.Float32s())
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadParams(t *testing.T, path string, shapes [][]int) []*autograd.Var {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	var out []*autograd.Var
	for _, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		v := make([]float32, n)
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
		out = append(out, autograd.Param(tensor.FromSlice(v, s...)))
	}
	return out
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestResumeBitForBit runs every optimizer case of the fixtures 20 steps
// straight, and again as 10 steps, a checkpoint written to files (the
// parameters and the optimizer's state), a fresh optimizer on parameters
// read back from it, and 10 more steps: the two runs must agree to the bit.
func TestResumeBitForBit(t *testing.T) {
	f := loadFixtures(t)
	init := make([][]float32, len(f.Params.Init))
	for i, v := range f.Params.Init {
		init[i] = v
	}
	const half = 10
	for i := range f.Optimizers {
		c := &f.Optimizers[i]
		t.Run(c.Name, func(t *testing.T) {
			straight := newOptRun(t, f, c, init)
			for k := range f.Steps {
				straight.step(k)
			}

			first := newOptRun(t, f, c, init)
			for k := range half {
				first.step(k)
			}
			dir := t.TempDir()
			saveParams(t, filepath.Join(dir, "params.bin"), first.params)
			if err := optim.SaveState(filepath.Join(dir, "optim.state"), first.opt.StateDict()); err != nil {
				t.Fatal(err)
			}

			resumed := newOptRun(t, f, c, init) // fresh optimizer with the case's configuration
			resumed.params = loadParams(t, filepath.Join(dir, "params.bin"), f.Params.Shapes)
			resumed.opt = rebuild(t, c, resumed.params)
			st, err := optim.LoadState(filepath.Join(dir, "optim.state"))
			if err != nil {
				t.Fatal(err)
			}
			if err := resumed.opt.LoadStateDict(st); err != nil {
				t.Fatal(err)
			}
			for k := half; k < f.Steps; k++ {
				resumed.step(k)
			}
			for i := range straight.params {
				if !bitsEqual(resumed.params[i].Data.Float32s(), straight.params[i].Data.Float32s()) {
					t.Errorf("param %d after resuming differs from the straight run", i)
				}
			}
		})
	}
}

// rebuild makes c's optimizer on params.
func rebuild(t *testing.T, c *optCase, params []*autograd.Var) optim.Optimizer {
	var groups []optim.ParamGroup
	for _, g := range c.Groups {
		var ps []*autograd.Var
		for _, i := range g.Params {
			ps = append(ps, params[i])
		}
		groups = append(groups, optim.Group(ps, hyperOptions(t, g.Options)...))
	}
	return optimizers[c.Optimizer](groups, hyperOptions(t, c.Defaults)...)
}

// TestSchedulerResume runs every scheduler case of the fixtures straight
// and again with the optimizer's and scheduler's state saved to one file
// midway and loaded into fresh ones: the learning rates (and momenta) must
// agree to the bit.
func TestSchedulerResume(t *testing.T) {
	f := loadFixtures(t)
	for i := range f.Schedulers {
		c := &f.Schedulers[i]
		t.Run(c.Name, func(t *testing.T) {
			straight := newSchedRun(t, c)
			var want [][]float64
			for k := range c.Steps {
				straight.step(c, k)
				want = append(want, append(straight.lastLR(), straight.momenta()...))
			}

			cut := c.Steps / 2
			first := newSchedRun(t, c)
			for k := range cut {
				first.step(c, k)
			}
			st := first.opt.StateDict()
			ss := first.stateDict()
			st.Scheduler = &ss
			path := filepath.Join(t.TempDir(), "state")
			if err := optim.SaveState(path, st); err != nil {
				t.Fatal(err)
			}

			resumed := newSchedRun(t, c)
			loaded, err := optim.LoadState(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := resumed.opt.LoadStateDict(loaded); err != nil {
				t.Fatal(err)
			}
			if err := resumed.loadStateDict(*loaded.Scheduler); err != nil {
				t.Fatal(err)
			}
			if got, w := resumed.lastLR(), first.lastLR(); !slices.Equal(got, w) {
				t.Fatalf("LastLR after loading %v, want %v", got, w)
			}
			for k := cut; k < c.Steps; k++ {
				resumed.step(c, k)
				got := append(resumed.lastLR(), resumed.momenta()...)
				if !slices.Equal(got, want[k]) {
					t.Fatalf("step %d after resuming: %v, straight run %v", k+1, got, want[k])
				}
			}
		})
	}
}

func (r *schedRun) stateDict() optim.SchedulerState {
	if r.plateau != nil {
		return r.plateau.StateDict()
	}
	return r.sched.StateDict()
}

func (r *schedRun) loadStateDict(s optim.SchedulerState) error {
	if r.plateau != nil {
		return r.plateau.LoadStateDict(s)
	}
	return r.sched.LoadStateDict(s)
}

// TestStateFileRoundTrip writes a state with every dtype and non-finite
// numbers and reads it back.
func TestStateFileRoundTrip(t *testing.T) {
	f16 := tensor.FromSlice([]float32{1.5, -2, 65504}, 3).Cast(tensor.Float16)
	bf16 := tensor.FromSlice([]float32{1.5, -2, 3e38}, 3).Cast(tensor.BFloat16)
	s := optim.State{
		Optimizer: "Adam",
		State: map[int]optim.ParamState{
			0: {Step: 3, Tensors: map[string]*tensor.Tensor{
				"a": tensor.FromSlice([]float32{1, float32(math.Inf(-1)), float32(math.NaN()), 0.1}, 2, 2),
				"b": tensor.FromSlice([]float64{math.Pi, -0.0}, 2),
				"c": f16, "d": bf16,
				"e": tensor.FromSlice([]int32{1, -2}, 2),
				"f": tensor.FromSlice([]int64{1 << 40}, 1),
				"g": tensor.FromSlice([]bool{true, false, true}, 3),
				"h": tensor.Zeros([]int{0, 3}),
				"i": tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3).T(), // a strided view
			}},
			2: {Step: 1e9, Tensors: map[string]*tensor.Tensor{"x": tensor.Scalar(7)}},
		},
		ParamGroups: []optim.GroupState{
			{Params: []int{0, 1}, Hyper: optim.Hyper{LR: 0.1, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, AMSGrad: true}},
			{Params: []int{2}, Hyper: optim.Hyper{LR: 1.0 / 3, InitialLR: 0.5, Maximize: true}},
		},
		Scheduler: &optim.SchedulerState{Kind: "SequentialLR", LastEpoch: 4, LastLR: []float64{0.1, 1.0 / 3},
			Children: []optim.SchedulerState{
				{Kind: "ReduceLROnPlateau", Values: map[string]float64{"best": math.Inf(1), "nan": math.NaN(), "neg": math.Inf(-1)}},
				{Kind: "StepLR", StepCount: 2, BaseLRs: []float64{0.1}},
			}},
	}
	var buf bytes.Buffer
	if err := optim.WriteState(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, err := optim.ReadState(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Optimizer != s.Optimizer || len(got.State) != 2 {
		t.Fatalf("got %+v", got)
	}
	for idx, ps := range s.State {
		gps := got.State[idx]
		if gps.Step != ps.Step || len(gps.Tensors) != len(ps.Tensors) {
			t.Fatalf("param %d: %+v, want %+v", idx, gps, ps)
		}
		for name, want := range ps.Tensors {
			g := gps.Tensors[name]
			if g == nil || g.DType() != want.DType() || !slices.Equal(g.Shape(), want.Shape()) {
				t.Fatalf("param %d %s: %v, want %v", idx, name, g, want)
			}
			if !bitsEqual(g.Float32s(), want.Float32s()) || !slices.Equal(g.Int64s(), want.Int64s()) {
				t.Errorf("param %d %s: %v, want %v", idx, name, g, want)
			}
		}
	}
	for i, g := range s.ParamGroups {
		gg := got.ParamGroups[i]
		if !slices.Equal(gg.Params, g.Params) || gg.Hyper != g.Hyper {
			t.Errorf("group %d: %+v, want %+v", i, gg, g)
		}
	}
	sch := got.Scheduler
	if sch == nil || sch.Kind != "SequentialLR" || sch.LastEpoch != 4 || !slices.Equal(sch.LastLR, s.Scheduler.LastLR) ||
		len(sch.Children) != 2 || sch.Children[1].StepCount != 2 || !slices.Equal(sch.Children[1].BaseLRs, []float64{0.1}) {
		t.Fatalf("scheduler %+v", sch)
	}
	v := sch.Children[0].Values
	if !math.IsInf(v["best"], 1) || !math.IsNaN(v["nan"]) || !math.IsInf(v["neg"], -1) {
		t.Errorf("values %v", v)
	}

	// Corrupt files are errors, not panics.
	data := buf.Bytes()
	for _, bad := range [][]byte{nil, data[:10], []byte("NOTOPTIM" + string(data[8:])), data[:len(data)-1]} {
		if _, err := optim.ReadState(bytes.NewReader(bad)); err == nil {
			t.Errorf("reading %d corrupt bytes: no error", len(bad))
		}
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	a := autograd.Param(tensor.Zeros([]int{2, 2}))
	b := autograd.Param(tensor.Zeros([]int{3}))
	opt := optim.NewAdam([]*autograd.Var{a, b}, optim.WithLR(0.1))
	a.SetGrad(tensor.Ones([]int{2, 2}))
	b.SetGrad(tensor.Ones([]int{3}))
	opt.Step()
	good := opt.StateDict()

	other := optim.NewSGD([]*autograd.Var{a, b}, optim.WithLR(0.1))
	if err := other.LoadStateDict(good); err == nil || !strings.Contains(err.Error(), "Adam") {
		t.Errorf("loading Adam's state into SGD: %v", err)
	}
	small := optim.NewAdam([]*autograd.Var{a})
	if err := small.LoadStateDict(good); err == nil {
		t.Error("loading a state with more parameters: no error")
	}
	swapped := optim.NewAdam([]*autograd.Var{b, a})
	if err := swapped.LoadStateDict(good); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("loading state of the wrong shape: %v", err)
	}
	// A failed load leaves the optimizer as it was.
	if s := swapped.StateDict(); len(s.State) != 0 || s.ParamGroups[0].LR != 1e-3 {
		t.Errorf("failed load changed the optimizer: %+v", s)
	}
	// The state dict is a copy: stepping does not change it.
	before := good.State[0].Tensors["exp_avg"].Float32s()
	opt.Step()
	if !slices.Equal(good.State[0].Tensors["exp_avg"].Float32s(), before) {
		t.Error("StateDict shares tensors with the optimizer")
	}
	// Loading converts to the parameter's dtype.
	p64 := autograd.Param(tensor.Zeros([]int{2, 2}, tensor.WithDType(tensor.Float64)))
	q64 := autograd.Param(tensor.Zeros([]int{3}, tensor.WithDType(tensor.Float64)))
	o64 := optim.NewAdam([]*autograd.Var{p64, q64})
	if err := o64.LoadStateDict(good); err != nil {
		t.Fatal(err)
	}
	if dt := o64.StateDict().State[0].Tensors["exp_avg"].DType(); dt != tensor.Float64 {
		t.Errorf("loaded state is %v, want float64", dt)
	}
	if err := optim.NewStepLR(opt, 2, 0.5).LoadStateDict(optim.SchedulerState{Kind: "ExponentialLR"}); err == nil {
		t.Error("loading ExponentialLR's state into StepLR: no error")
	}
}
