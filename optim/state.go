package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/tensor"
)

// State is an optimizer's state (torch's optimizer.state_dict()), with an
// optional scheduler's state beside it so that one file resumes a run.
type State struct {
	// Optimizer is the optimizer's kind: "SGD", "Adam", "AdamW", "RMSprop"
	// or "Adagrad". LoadStateDict refuses another kind's state.
	Optimizer string
	// State holds per-parameter state keyed by the parameter's index,
	// counting from 0 through the groups in order. Parameters that have not
	// been stepped yet have no entry.
	State map[int]ParamState
	// ParamGroups holds each group's hyperparameters and the indices of its
	// parameters.
	ParamGroups []GroupState
	// Scheduler is optional: set it to save a scheduler's state with the
	// optimizer's (LoadStateDict ignores it).
	Scheduler *SchedulerState
}

// ParamState is one parameter's state.
type ParamState struct {
	// Step is the number of updates the parameter has had (0 for SGD, which
	// keeps no count).
	Step float64
	// Tensors holds the state tensors under torch's names: momentum_buffer
	// (SGD, RMSprop), exp_avg, exp_avg_sq, max_exp_avg_sq (Adam, AdamW),
	// square_avg, grad_avg (RMSprop), sum (Adagrad).
	Tensors map[string]*tensor.Tensor
}

// GroupState is a parameter group in a State.
type GroupState struct {
	Params []int // indices of the group's parameters
	Hyper
}

// SchedulerState is a learning-rate scheduler's progress. A scheduler's
// configuration (step sizes, factors, milestones) is not part of it: build
// the scheduler with the same arguments, then load its state.
type SchedulerState struct {
	Kind      string    `json:"kind"`       // "StepLR", "OneCycleLR", ...
	LastEpoch int       `json:"last_epoch"` // steps taken (torch's last_epoch)
	StepCount int       `json:"step_count"` // calls to step, counting the one at construction
	BaseLRs   []float64 `json:"base_lrs,omitempty"`
	LastLR    []float64 `json:"last_lr,omitempty"`
	// Values holds numbers particular to a scheduler (ReduceLROnPlateau's
	// best, num_bad_epochs and cooldown_counter).
	Values map[string]float64 `json:"values,omitempty"`
	// Children holds the states of SequentialLR's and ChainedScheduler's
	// schedulers, in order.
	Children []SchedulerState `json:"children,omitempty"`
}

const (
	stateMagic  = "TSOPTIM1"
	stateFormat = "tessera-optim-state/1"
	// maxHeader bounds the header a reader accepts, against corrupt files.
	maxHeader = 1 << 30
)

// SaveState writes s to the file at path, atomically: it writes a temporary
// file in the same directory and renames it over path.
func SaveState(path string, s State) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("optim.SaveState: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = WriteState(f, s); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("optim.SaveState: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("optim.SaveState: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("optim.SaveState: %w", err)
	}
	return nil
}

// LoadState reads a state written by SaveState. Its tensors are on the CPU;
// LoadStateDict moves them to each parameter's device.
func LoadState(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, fmt.Errorf("optim.LoadState: %w", err)
	}
	defer f.Close()
	return ReadState(f)
}

// JSON mirrors of State. Floats go through jsonFloat so that non-finite
// values survive.

type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"nan"`), nil
	case math.IsInf(v, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"nan"`:
		*f = jsonFloat(math.NaN())
		return nil
	case `"inf"`:
		*f = jsonFloat(math.Inf(1))
		return nil
	case `"-inf"`:
		*f = jsonFloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = jsonFloat(v)
	return nil
}

type jsonTensor struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

type jsonParamState struct {
	Step    jsonFloat             `json:"step"`
	Tensors map[string]jsonTensor `json:"tensors"`
}

type jsonGroup struct {
	Params                  []int        `json:"params"`
	LR                      jsonFloat    `json:"lr"`
	Momentum                jsonFloat    `json:"momentum"`
	Dampening               jsonFloat    `json:"dampening"`
	Nesterov                bool         `json:"nesterov"`
	Betas                   [2]jsonFloat `json:"betas"`
	Eps                     jsonFloat    `json:"eps"`
	WeightDecay             jsonFloat    `json:"weight_decay"`
	AMSGrad                 bool         `json:"amsgrad"`
	Alpha                   jsonFloat    `json:"alpha"`
	Centered                bool         `json:"centered"`
	LRDecay                 jsonFloat    `json:"lr_decay"`
	InitialAccumulatorValue jsonFloat    `json:"initial_accumulator_value"`
	Maximize                bool         `json:"maximize"`
	InitialLR               jsonFloat    `json:"initial_lr"`
}

type jsonScheduler struct {
	Kind      string               `json:"kind"`
	LastEpoch int                  `json:"last_epoch"`
	StepCount int                  `json:"step_count"`
	BaseLRs   []jsonFloat          `json:"base_lrs,omitempty"`
	LastLR    []jsonFloat          `json:"last_lr,omitempty"`
	Values    map[string]jsonFloat `json:"values,omitempty"`
	Children  []jsonScheduler      `json:"children,omitempty"`
}

type jsonHeader struct {
	Format      string                    `json:"format"`
	Optimizer   string                    `json:"optimizer"`
	State       map[string]jsonParamState `json:"state"`
	ParamGroups []jsonGroup               `json:"param_groups"`
	Scheduler   *jsonScheduler            `json:"scheduler,omitempty"`
}

func toGroup(g GroupState) jsonGroup {
	h := g.Hyper
	return jsonGroup{
		Params: g.Params, LR: jsonFloat(h.LR), Momentum: jsonFloat(h.Momentum),
		Dampening: jsonFloat(h.Dampening), Nesterov: h.Nesterov,
		Betas: [2]jsonFloat{jsonFloat(h.Betas[0]), jsonFloat(h.Betas[1])},
		Eps:   jsonFloat(h.Eps), WeightDecay: jsonFloat(h.WeightDecay), AMSGrad: h.AMSGrad,
		Alpha: jsonFloat(h.Alpha), Centered: h.Centered, LRDecay: jsonFloat(h.LRDecay),
		InitialAccumulatorValue: jsonFloat(h.InitialAccumulatorValue), Maximize: h.Maximize,
		InitialLR: jsonFloat(h.InitialLR),
	}
}

func fromGroup(g jsonGroup) GroupState {
	return GroupState{Params: g.Params, Hyper: Hyper{
		LR: float64(g.LR), Momentum: float64(g.Momentum), Dampening: float64(g.Dampening),
		Nesterov: g.Nesterov, Betas: [2]float64{float64(g.Betas[0]), float64(g.Betas[1])},
		Eps: float64(g.Eps), WeightDecay: float64(g.WeightDecay), AMSGrad: g.AMSGrad,
		Alpha: float64(g.Alpha), Centered: g.Centered, LRDecay: float64(g.LRDecay),
		InitialAccumulatorValue: float64(g.InitialAccumulatorValue), Maximize: g.Maximize,
		InitialLR: float64(g.InitialLR),
	}}
}

func floatsTo(v []float64) []jsonFloat {
	if v == nil {
		return nil
	}
	out := make([]jsonFloat, len(v))
	for i, x := range v {
		out[i] = jsonFloat(x)
	}
	return out
}

func floatsFrom(v []jsonFloat) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func toScheduler(s SchedulerState) jsonScheduler {
	j := jsonScheduler{Kind: s.Kind, LastEpoch: s.LastEpoch, StepCount: s.StepCount,
		BaseLRs: floatsTo(s.BaseLRs), LastLR: floatsTo(s.LastLR)}
	if s.Values != nil {
		j.Values = make(map[string]jsonFloat, len(s.Values))
		for k, v := range s.Values {
			j.Values[k] = jsonFloat(v)
		}
	}
	for _, c := range s.Children {
		j.Children = append(j.Children, toScheduler(c))
	}
	return j
}

func fromScheduler(j jsonScheduler) SchedulerState {
	s := SchedulerState{Kind: j.Kind, LastEpoch: j.LastEpoch, StepCount: j.StepCount,
		BaseLRs: floatsFrom(j.BaseLRs), LastLR: floatsFrom(j.LastLR)}
	if j.Values != nil {
		s.Values = make(map[string]float64, len(j.Values))
		for k, v := range j.Values {
			s.Values[k] = float64(v)
		}
	}
	for _, c := range j.Children {
		s.Children = append(s.Children, fromScheduler(c))
	}
	return s
}

// hostSlice makes the Go slice that Backend.Read and Write take for n
// elements of dt.
func hostSlice(dt tensor.DType, n int) any {
	switch dt {
	case tensor.Float32:
		return make([]float32, n)
	case tensor.Float64:
		return make([]float64, n)
	case tensor.Float16, tensor.BFloat16:
		return make([]uint16, n)
	case tensor.Int32:
		return make([]int32, n)
	case tensor.Int64:
		return make([]int64, n)
	}
	return make([]bool, n) // ParseDType accepts no other dtype
}

// hostData copies t's elements, row-major, into the Go slice type its
// backend reads (uint16 bits for the half types).
func hostData(t *tensor.Tensor) any {
	c := t.Contiguous()
	n := c.Numel()
	host := hostSlice(c.DType(), n)
	if n > 0 {
		if err := c.Backend().Read(c.Buffer(), c.Offset(), host); err != nil {
			panic(&tensor.Error{Kind: tensor.DeviceError, Op: "optim.WriteState", Shapes: [][]int{t.Shape()}, Msg: err.Error()})
		}
	}
	return host
}

// WriteState writes s to w in the state file format.
//
// A state file is laid out like a safetensors file, so that it needs no
// other package and stays readable from any language:
//
//	bytes 0–7    the magic "TSOPTIM1"
//	bytes 8–15   N, the header's length in bytes (little-endian uint64)
//	next N       the header: a UTF-8 JSON object (below)
//	the rest     tensor data: each tensor's elements row-major,
//	             little-endian (bool one byte, float16/bfloat16 their 16
//	             bits), at the offsets the header gives
//
// The header:
//
//	{"format": "tessera-optim-state/1",
//	 "optimizer": "Adam",
//	 "state": {"0": {"step": 10,
//	                 "tensors": {"exp_avg": {"dtype": "float32", "shape": [3, 4],
//	                                         "data_offsets": [0, 48]}, ...}}, ...},
//	 "param_groups": [{"params": [0, 1], "lr": 0.001, "betas": [0.9, 0.999], ...}],
//	 "scheduler": {"kind": "OneCycleLR", "last_epoch": 10, ...}}
//
// Keys of "state" are parameter indices in group order, as in torch's
// state_dict; "data_offsets" are [begin, end) byte offsets into the data
// section. Numbers are written in the shortest form that reads back to the
// same float64, so a saved state resumes bit for bit; NaN and the
// infinities (a plateau scheduler's best value starts at +inf) are the
// strings "nan", "inf" and "-inf".
func WriteState(w io.Writer, s State) error {
	h := jsonHeader{Format: stateFormat, Optimizer: s.Optimizer, State: map[string]jsonParamState{}}
	var data bytes.Buffer
	for _, idx := range slices.Sorted(maps.Keys(s.State)) {
		ps := s.State[idx]
		jp := jsonParamState{Step: jsonFloat(ps.Step), Tensors: map[string]jsonTensor{}}
		for _, name := range slices.Sorted(maps.Keys(ps.Tensors)) {
			t := ps.Tensors[name]
			if t == nil {
				continue
			}
			begin := data.Len()
			if err := binary.Write(&data, binary.LittleEndian, hostData(t)); err != nil {
				return fmt.Errorf("optim.WriteState: %w", err)
			}
			jp.Tensors[name] = jsonTensor{DType: t.DType().String(), Shape: slices.Clone(t.Shape()),
				DataOffsets: [2]int{begin, data.Len()}}
		}
		h.State[strconv.Itoa(idx)] = jp
	}
	for _, g := range s.ParamGroups {
		h.ParamGroups = append(h.ParamGroups, toGroup(g))
	}
	if s.Scheduler != nil {
		js := toScheduler(*s.Scheduler)
		h.Scheduler = &js
	}
	header, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("optim.WriteState: %w", err)
	}
	var pre [16]byte
	copy(pre[:8], stateMagic)
	binary.LittleEndian.PutUint64(pre[8:], uint64(len(header)))
	for _, b := range [][]byte{pre[:], header, data.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("optim.WriteState: %w", err)
		}
	}
	return nil
}

// ReadState reads a state in the state file format from r.
func ReadState(r io.Reader) (State, error) {
	fail := func(format string, args ...any) (State, error) {
		return State{}, fmt.Errorf("optim.ReadState: "+format, args...)
	}
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return fail("reading the header: %w", err)
	}
	if string(pre[:8]) != stateMagic {
		return fail("not an optimizer state file (magic %q)", pre[:8])
	}
	n := binary.LittleEndian.Uint64(pre[8:])
	if n > maxHeader {
		return fail("header of %d bytes is too large", n)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(r, header); err != nil {
		return fail("reading the header: %w", err)
	}
	var h jsonHeader
	if err := json.Unmarshal(header, &h); err != nil {
		return fail("decoding the header: %w", err)
	}
	if h.Format != stateFormat {
		return fail("unknown format %q (want %q)", h.Format, stateFormat)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fail("reading tensor data: %w", err)
	}
	s := State{Optimizer: h.Optimizer, State: map[int]ParamState{}}
	for key, jp := range h.State {
		idx, err := strconv.Atoi(key)
		if err != nil || idx < 0 {
			return fail("bad parameter index %q", key)
		}
		ps := ParamState{Step: float64(jp.Step), Tensors: map[string]*tensor.Tensor{}}
		for name, jt := range jp.Tensors {
			t, err := decodeTensor(jt, data)
			if err != nil {
				return fail("parameter %d, %s: %w", idx, name, err)
			}
			ps.Tensors[name] = t
		}
		s.State[idx] = ps
	}
	for _, g := range h.ParamGroups {
		s.ParamGroups = append(s.ParamGroups, fromGroup(g))
	}
	if h.Scheduler != nil {
		sch := fromScheduler(*h.Scheduler)
		s.Scheduler = &sch
	}
	return s, nil
}

func decodeTensor(jt jsonTensor, data []byte) (*tensor.Tensor, error) {
	dt, err := backend.ParseDType(jt.DType)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range jt.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("bad shape %v", jt.Shape)
		}
		n *= d
	}
	begin, end := jt.DataOffsets[0], jt.DataOffsets[1]
	if begin < 0 || end < begin || end > len(data) || end-begin != n*dt.Size() {
		return nil, fmt.Errorf("data offsets %v do not fit %d elements of %v in %d bytes", jt.DataOffsets, n, dt, len(data))
	}
	t := tensor.Zeros(jt.Shape, tensor.WithDType(dt))
	host := hostSlice(dt, n)
	if err := binary.Read(bytes.NewReader(data[begin:end]), binary.LittleEndian, host); err != nil {
		return nil, err
	}
	if n > 0 {
		if err := t.Backend().Write(t.Buffer(), t.Offset(), host); err != nil {
			return nil, err
		}
	}
	return t, nil
}
