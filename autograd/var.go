// Package autograd is Tessera's reverse-mode automatic differentiation.
//
// A Var wraps a *tensor.Tensor. Ops on Vars compute their result with package
// tensor and, when an input requires a gradient, record a node of the graph
// that produced it (define-by-run). Backward walks that graph once in
// reverse topological order and yields the gradient of every leaf for a
// small multiple of the forward cost.
//
// Every differentiable op is one entry of one table (ops.go): its forward
// (a call into package tensor) beside its backward rule, written with Var
// ops so that the backward pass can itself be recorded and differentiated
// (CreateGraph). The engine, not the rules, sums gradients where a value fans
// out and reduces broadcast gradients back to each input's shape.
//
// GradCheck and GradGradCheck compare the rules with central finite
// differences in float64; finite differences are the checker, never the
// method.
package autograd

import (
	"fmt"
	"sync"

	"github.com/tessera-ml/tessera/tensor"
)

// Var is a tensor in a differentiable computation.
type Var struct {
	// Data is the value. Optimizers update it in place with tensor ops,
	// which record nothing.
	Data *tensor.Tensor

	node *node // the op that produced this Var; nil for leaves
	grad *Var
	meta *varMeta // hooks and name, rarely set: kept out of line so that
	// the Vars every op makes stay small
	mu           sync.Mutex // guards grad, gradOwned and meta.hooks
	requiresGrad bool
	gradOwned    bool // grad.Data is a handle of v's own, released by ZeroGrad
}

// varMeta is the part of a Var that few Vars use.
type varMeta struct {
	hooks []func(*tensor.Tensor) *tensor.Tensor
	name  string
}

// New wraps t in a leaf Var; requiresGrad says whether gradients flow to it.
// A leaf that requires a gradient is a parameter, meant to outlive any
// tensor scope: New keeps t (see tensor.Keep).
func New(t *tensor.Tensor, requiresGrad bool) *Var {
	if requiresGrad && !t.DType().IsFloat() {
		panic(&tensor.Error{Kind: tensor.DTypeError, Op: "autograd.New", Shapes: [][]int{t.Shape()},
			Msg: fmt.Sprintf("only floating-point tensors can require gradients, not %v", t.DType())})
	}
	if requiresGrad {
		tensor.Keep(t)
	}
	return &Var{Data: t, requiresGrad: requiresGrad}
}

// Param wraps t in a leaf Var that requires a gradient (a parameter).
func Param(t *tensor.Tensor) *Var { return New(t, true) }

// Const wraps t in a Var that requires no gradient.
func Const(t *tensor.Tensor) *Var { return New(t, false) }

// Scalar returns a constant 0-d Var of dtype dt.
func Scalar(v float64, dt tensor.DType) *Var {
	return Const(tensor.Scalar(v, tensor.WithDType(dt)))
}

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad marks a leaf as requiring (or not) a gradient. It panics
// on a non-leaf, whose flag follows from its inputs.
func (v *Var) SetRequiresGrad(on bool) *Var {
	if v.node != nil {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "autograd.SetRequiresGrad", Shapes: [][]int{v.Data.Shape()},
			Msg: "only a leaf Var's flag can be set; use Detach for a non-leaf"})
	}
	if on && !v.Data.DType().IsFloat() {
		panic(&tensor.Error{Kind: tensor.DTypeError, Op: "autograd.SetRequiresGrad", Shapes: [][]int{v.Data.Shape()},
			Msg: fmt.Sprintf("only floating-point tensors can require gradients, not %v", v.Data.DType())})
	}
	if on {
		tensor.Keep(v.Data)
	}
	v.requiresGrad = on
	return v
}

// IsLeaf reports whether v was made by New rather than by an op.
func (v *Var) IsLeaf() bool { return v.node == nil }

// Grad returns the gradient accumulated in v by Backward, or nil. It is a
// handle of the caller's own on the gradient's elements: it stays readable
// after ZeroGrad, and the memory is reused only once every such handle is
// released (by its tensor.Scope, or Release). Read gradients inside the
// step's tensor.Tidy, or Release the handle, so that ZeroGrad can recycle
// them; optim's clipping functions do so themselves.
func (v *Var) Grad() *tensor.Tensor {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.grad == nil {
		return nil
	}
	return v.grad.Data.Alias()
}

// GradVar returns the accumulated gradient as a Var; after a Backward with
// CreateGraph it carries the graph that computed it.
func (v *Var) GradVar() *Var {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gradOwned = false // the caller holds it now
	return v.grad
}

// ZeroGrad drops the accumulated gradient (PyTorch's zero_grad with
// set_to_none), releasing v's handle on it so that its buffer can be reused.
func (v *Var) ZeroGrad() {
	v.mu.Lock()
	v.dropGrad()
	v.mu.Unlock()
}

// dropGrad clears v.grad; v.mu is held.
func (v *Var) dropGrad() {
	if v.grad != nil && v.gradOwned {
		v.grad.Data.Release()
	}
	v.grad, v.gradOwned = nil, false
}

// storeGrad accumulates g, a kept handle the engine made for v, into v's
// gradient; v.mu is held. Like PyTorch's AccumulateGrad, it adopts g's
// storage when nothing else sees it and g is laid out like v (dense and
// row-major when v is), and otherwise stores a copy, so that in-place
// updates of one gradient (clipping) never change another tensor and
// optimizers read gradients as densely as parameters.
func (v *Var) storeGrad(g *tensor.Tensor) {
	if v.grad != nil {
		sum := tensor.Keep(v.grad.Data.Add(g))
		g.Release()
		v.dropGrad()
		v.grad, v.gradOwned = Const(sum), true
		return
	}
	if !g.ExclusiveStorage() || (v.Data.IsContiguous() && !g.IsContiguous()) {
		c := tensor.Keep(g.Clone())
		g.Release()
		g = c
	}
	v.grad, v.gradOwned = Const(g), true
}

// SetGrad replaces the accumulated gradient (nil clears it).
func (v *Var) SetGrad(g *tensor.Tensor) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dropGrad()
	if g != nil {
		v.grad = Const(g)
	}
}

// Keep keeps v's data and gradient past the tensor scopes they were made in
// (see tensor.Keep) and returns v: for a loss or output that a training
// loop stores beyond its step's tensor.Tidy.
func Keep(v *Var) *Var {
	tensor.Keep(v.Data)
	v.mu.Lock()
	if v.grad != nil {
		tensor.Keep(v.grad.Data)
	}
	v.mu.Unlock()
	return v
}

// Detach returns a leaf sharing v's data that requires no gradient.
func (v *Var) Detach() *Var { return &Var{Data: v.Data} }

// RegisterHook adds f to the functions called with v's gradient when
// Backward computes it, before it is accumulated or passed on. A hook may
// return a replacement gradient, or nil to keep it.
func (v *Var) RegisterHook(f func(grad *tensor.Tensor) *tensor.Tensor) {
	v.mu.Lock()
	if v.meta == nil {
		v.meta = &varMeta{}
	}
	v.meta.hooks = append(v.meta.hooks, f)
	v.mu.Unlock()
}

// SetName labels v in graph exports.
func (v *Var) SetName(name string) *Var {
	v.mu.Lock()
	if v.meta == nil {
		v.meta = &varMeta{}
	}
	v.meta.name = name
	v.mu.Unlock()
	return v
}

// Name returns v's label.
func (v *Var) Name() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.meta == nil {
		return ""
	}
	return v.meta.name
}

// Shape returns the shape of v's data.
func (v *Var) Shape() []int { return v.Data.Shape() }

// DType returns the dtype of v's data.
func (v *Var) DType() tensor.DType { return v.Data.DType() }

// Dim returns the number of dimensions.
func (v *Var) Dim() int { return v.Data.Dim() }

// Item returns the value of a one-element Var.
func (v *Var) Item() float64 { return v.Data.Item() }

// Op returns the name of the op that produced v ("" for a leaf).
func (v *Var) Op() string {
	if v.node == nil {
		return ""
	}
	return v.node.op.name
}

// String prints the data and, for a non-leaf, the op that made it.
func (v *Var) String() string {
	s := v.Data.String()
	if v.node != nil {
		s += fmt.Sprintf(" (grad_fn=%s)", v.node.op.name)
	} else if v.requiresGrad {
		s += " (requires_grad)"
	}
	return s
}
