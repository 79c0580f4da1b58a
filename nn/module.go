// Package nn holds Tessera's layers, losses and initialisers, and the state
// dicts that save and load them in the safetensors format.
//
// A layer is a plain struct built by a constructor (nn.NewLinear(in, out)),
// holding its parameters as exported *autograd.Var fields. It implements
// Module by listing its parameters, buffers and submodules by name, which
// gives PyTorch-compatible dotted names ("fc1.weight", "layers.0.bias"), so
// state dicts move to and from PyTorch.
package nn

import (
	"slices"
	"strconv"
	"sync"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Module is a layer or a model: anything with named parameters, buffers and
// submodules.
type Module interface {
	// Members lists the module's own parameters, buffers and direct
	// submodules, each with its local name ("weight", "fc1", "0").
	Members() Members
}

// Layer is a Module with one input and one output; Sequential chains Layers.
type Layer interface {
	Module
	Forward(x *autograd.Var) *autograd.Var
}

// Members is what a Module holds.
type Members struct {
	Params   []Named[*autograd.Var]
	Buffers  []Named[*tensor.Tensor] // persistent state that is not trained (running statistics)
	Children []Named[Module]
}

// Named pairs a value with its local name.
type Named[T any] struct {
	Name  string
	Value T
}

// P, B and C build Members entries tersely inside Members methods.
func P(name string, v *autograd.Var) Named[*autograd.Var]   { return Named[*autograd.Var]{name, v} }
func B(name string, t *tensor.Tensor) Named[*tensor.Tensor] { return Named[*tensor.Tensor]{name, t} }
func C(name string, m Module) Named[Module]                 { return Named[Module]{name, m} }

// NamedParam is a parameter with its full dotted name.
type NamedParam struct {
	Name  string
	Param *autograd.Var
}

// NamedParameters walks m and returns every parameter with its dotted name,
// in declaration order. A parameter shared by two modules is listed once,
// under its first name, as torch's named_parameters does. Nil entries (a
// Linear without bias) are skipped.
func NamedParameters(m Module) []NamedParam {
	var out []NamedParam
	seen := map[*autograd.Var]bool{}
	walk(m, "", func(prefix string, mm Members) {
		for _, p := range mm.Params {
			if p.Value == nil || seen[p.Value] {
				continue
			}
			seen[p.Value] = true
			out = append(out, NamedParam{prefix + p.Name, p.Value})
		}
	})
	return out
}

// Parameters returns every parameter of m, in declaration order.
func Parameters(m Module) []*autograd.Var {
	nps := NamedParameters(m)
	out := make([]*autograd.Var, len(nps))
	for i, np := range nps {
		out[i] = np.Param
	}
	return out
}

// NamedBuffer is a buffer with its full dotted name.
type NamedBuffer struct {
	Name   string
	Buffer *tensor.Tensor
}

// NamedBuffers walks m and returns every buffer with its dotted name.
func NamedBuffers(m Module) []NamedBuffer {
	var out []NamedBuffer
	walk(m, "", func(prefix string, mm Members) {
		for _, b := range mm.Buffers {
			if b.Value != nil {
				out = append(out, NamedBuffer{prefix + b.Name, b.Value})
			}
		}
	})
	return out
}

// NamedModule is a submodule with its full dotted name ("" for the root).
type NamedModule struct {
	Name   string
	Module Module
}

// Modules returns m and all its submodules, depth first, with dotted names.
func Modules(m Module) []NamedModule {
	out := []NamedModule{{"", m}}
	var rec func(prefix string, m Module)
	rec = func(prefix string, m Module) {
		for _, c := range m.Members().Children {
			if c.Value == nil {
				continue
			}
			name := prefix + c.Name
			out = append(out, NamedModule{name, c.Value})
			rec(name+".", c.Value)
		}
	}
	rec("", m)
	return out
}

func walk(m Module, prefix string, f func(prefix string, mm Members)) {
	mm := m.Members()
	f(prefix, mm)
	for _, c := range mm.Children {
		if c.Value != nil {
			walk(c.Value, prefix+c.Name+".", f)
		}
	}
}

// ZeroGrad clears the gradient of every parameter of m.
func ZeroGrad(m Module) {
	for _, p := range Parameters(m) {
		p.ZeroGrad()
	}
}

// NumParams counts the scalar parameters of m.
func NumParams(m Module) int {
	n := 0
	for _, p := range Parameters(m) {
		n += p.Data.Numel()
	}
	return n
}

// modal is implemented by modules whose behaviour depends on the mode
// (Dropout, BatchNorm); embedding Base provides it.
type modal interface {
	SetTraining(on bool)
}

// Train puts m and all its submodules in training mode.
func Train(m Module) { setMode(m, true) }

// Eval puts m and all its submodules in evaluation mode.
func Eval(m Module) { setMode(m, false) }

func setMode(m Module, on bool) {
	for _, nm := range Modules(m) {
		if t, ok := nm.Module.(modal); ok {
			t.SetTraining(on)
		}
	}
}

// Base gives a module a training flag (true from construction) and forward
// and backward hooks. Embed it; call RunHooks at the end of Forward.
type Base struct {
	mu       sync.Mutex
	eval     bool
	hooks    []ForwardHook
	hookNext int
	hookIDs  []int
	bwd      []BackwardHook
	bwdIDs   []int
}

// ForwardHook sees a module's input and output after Forward; it may return
// a replacement output, or nil to keep it.
type ForwardHook func(m Module, in, out *autograd.Var) *autograd.Var

// SetTraining switches the mode.
func (b *Base) SetTraining(on bool) { b.eval = !on }

// Training reports whether the module is in training mode.
func (b *Base) Training() bool { return !b.eval }

// RegisterForwardHook adds a hook and returns a function that removes it.
func (b *Base) RegisterForwardHook(h ForwardHook) (remove func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.hookNext
	b.hookNext++
	b.hooks = append(b.hooks, h)
	b.hookIDs = append(b.hookIDs, id)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if i := slices.Index(b.hookIDs, id); i >= 0 {
			b.hooks = slices.Delete(b.hooks, i, i+1)
			b.hookIDs = slices.Delete(b.hookIDs, i, i+1)
		}
	}
}

// BackwardHook sees the gradient of a module's output while Backward runs,
// before it flows back into the module; it may return a replacement of the
// same shape, or nil to keep it. It is torch's full backward pre-hook
// (register_full_backward_pre_hook: hook(module, grad_output)).
type BackwardHook func(m Module, gradOut *tensor.Tensor) *tensor.Tensor

// RegisterBackwardHook adds a backward hook and returns a function that
// removes it. The hook applies to the outputs of later Forward calls that
// require a gradient; removing it also silences it for graphs already
// built.
func (b *Base) RegisterBackwardHook(h BackwardHook) (remove func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.hookNext
	b.hookNext++
	b.bwd = append(b.bwd, h)
	b.bwdIDs = append(b.bwdIDs, id)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if i := slices.Index(b.bwdIDs, id); i >= 0 {
			b.bwd = slices.Delete(b.bwd, i, i+1)
			b.bwdIDs = slices.Delete(b.bwdIDs, i, i+1)
		}
	}
}

// RunHooks passes a Forward's result through the registered forward hooks
// and, when there are backward hooks and the result requires a gradient,
// returns it wrapped in a fresh node whose gradient the backward hooks see
// (fresh, so that a hook never lands on the input or on a Var another
// module returned, and an outer module's hook runs before an inner one's,
// as in torch).
func (b *Base) RunHooks(m Module, in, out *autograd.Var) *autograd.Var {
	b.mu.Lock()
	hooks := slices.Clone(b.hooks)
	nbwd := len(b.bwd)
	b.mu.Unlock()
	for _, h := range hooks {
		if r := h(m, in, out); r != nil {
			out = r
		}
	}
	if nbwd > 0 && out.RequiresGrad() && autograd.IsRecording() {
		out = out.Reshape(out.Shape()...)
		out.RegisterHook(func(g *tensor.Tensor) *tensor.Tensor {
			b.mu.Lock()
			bwd := slices.Clone(b.bwd)
			b.mu.Unlock()
			for _, h := range bwd {
				if r := h(m, g); r != nil {
					g = r
				}
			}
			return g
		})
	}
	return out
}

// Sequential applies its layers in order; they are named "0", "1", ...
type Sequential struct {
	Base
	Layers []Layer
}

// NewSequential chains layers.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Members implements Module.
func (s *Sequential) Members() Members {
	var m Members
	for i, l := range s.Layers {
		m.Children = append(m.Children, C(strconv.Itoa(i), l))
	}
	return m
}

// Forward implements Layer.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	in := x
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return s.RunHooks(s, in, x)
}
