package autograd

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/tessera-ml/tessera/tensor"
)

// attrs are the non-tensor arguments of an op (axes, shapes, scalars) and
// the non-differentiable tensor arguments (indices, masks).
type attrs struct {
	axes       []int
	axis       int
	keep       bool
	shape      []int
	perm       []int
	start, end int
	step       int
	lo, hi     float64
	idx        *tensor.Tensor
	dtype      tensor.DType
	saved      *tensor.Tensor   // what a forward keeps for its rule (Normalize's 1/σ)
	win        *tensor.Window2d // the window ops' geometry (a pointer: attrs is copied per op)
}

// noAttrs is the attrs of every op applied without any (most of them):
// rules only read attrs, so they share it instead of a copy per node.
var noAttrs attrs

// zero reports whether a holds no attribute.
func (a *attrs) zero() bool {
	return a.axes == nil && a.axis == 0 && !a.keep && a.shape == nil && a.perm == nil &&
		a.start == 0 && a.end == 0 && a.step == 0 && a.lo == 0 && a.hi == 0 && a.idx == nil && a.dtype == 0 &&
		a.saved == nil && a.win == nil
}

// node records one op application in the graph.
type node struct {
	op     *opDef
	inputs []*Var
	out    *Var
	a      *attrs // noAttrs when the op has none
	seq    uint64 // creation order
	freed  bool
}

var nodeSeq atomic.Uint64

// ctx is what a backward rule sees: the op's inputs, its output, its
// attributes and the gradient flowing into the output.
type ctx struct {
	in  []*Var
	out *Var
	a   *attrs
	g   *Var
	// graph is set with CreateGraph: a rule whose gradient depends on the
	// inputs (or the output) must then build it from Var ops, even when g
	// itself is a constant, so that it can be differentiated again.
	graph bool
}

// apply runs op's forward on the inputs' data and, when recording and some
// input requires a gradient, links the result into the graph.
func apply(op *opDef, a attrs, in ...*Var) *Var {
	data := make([]*tensor.Tensor, len(in))
	for i, x := range in {
		data[i] = x.Data
	}
	ap := &noAttrs
	if !a.zero() {
		c := a
		ap = &c
	}
	out := &Var{Data: op.forward(data, ap)}
	if op.backward == nil || !IsRecording() {
		return out
	}
	need := false
	for _, x := range in {
		if x.requiresGrad {
			need = true
			break
		}
	}
	if need {
		out.requiresGrad = true
		out.node = &node{op: op, inputs: in, out: out, a: ap, seq: nodeSeq.Add(1)}
	}
	return out
}

// BackwardOption changes how Backward and Grad run.
type BackwardOption func(*backwardConfig)

type backwardConfig struct {
	retain, create bool
}

// RetainGraph keeps the graph after the pass so that it can be walked again.
// Without it the graph is freed and a second Backward through it panics.
func RetainGraph() BackwardOption { return func(c *backwardConfig) { c.retain = true } }

// CreateGraph records the backward pass itself, so that the gradients it
// returns can be differentiated again (Hessian-vector products, gradient
// penalties). It implies RetainGraph.
func CreateGraph() BackwardOption {
	return func(c *backwardConfig) { c.create, c.retain = true, true }
}

// Backward computes the gradient of the scalar v with respect to every leaf
// that requires one and adds it to that leaf's Grad.
func (v *Var) Backward(opts ...BackwardOption) {
	if v.Data.Numel() != 1 {
		panic(&tensor.Error{Kind: tensor.ShapeError, Op: "autograd.Backward", Shapes: [][]int{v.Shape()},
			Msg: "a gradient can be created implicitly only for a one-element output; use BackwardWith"})
	}
	v.BackwardWith(tensor.OnesLike(v.Data), opts...)
}

// BackwardWith is Backward for an output of any shape, seeded with grad
// (the gradient of some scalar with respect to v), which must have v's shape.
func (v *Var) BackwardWith(grad *tensor.Tensor, opts ...BackwardOption) {
	run("autograd.Backward", []*Var{v}, []*tensor.Tensor{grad}, nil, opts)
}

// Grad returns the gradients of outputs with respect to inputs without
// touching any Var's accumulated Grad. gradOutputs seeds each output (nil, or
// a nil entry, means ones, allowed for one-element outputs). An input that
// the outputs do not depend on gets a nil gradient. With CreateGraph the
// returned Vars carry their own graph and can be differentiated again.
func Grad(outputs, inputs []*Var, gradOutputs []*tensor.Tensor, opts ...BackwardOption) []*Var {
	if gradOutputs == nil {
		gradOutputs = make([]*tensor.Tensor, len(outputs))
	}
	if len(gradOutputs) != len(outputs) {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "autograd.Grad",
			Msg: fmt.Sprintf("%d outputs but %d output gradients", len(outputs), len(gradOutputs))})
	}
	for i, o := range outputs {
		if gradOutputs[i] == nil {
			if o.Data.Numel() != 1 {
				panic(&tensor.Error{Kind: tensor.ShapeError, Op: "autograd.Grad", Shapes: [][]int{o.Shape()},
					Msg: "a gradient can be created implicitly only for a one-element output"})
			}
			gradOutputs[i] = tensor.OnesLike(o.Data)
		}
	}
	return run("autograd.Grad", outputs, gradOutputs, inputs, opts)
}

// run is the engine. It orders the graph below roots topologically (an
// explicit stack: a 10,000-op chain does not grow the Go stack), then walks
// it in reverse, calling each node's rule once with the sum of the
// gradients that reached its output. With capture nil, leaf gradients are
// accumulated into Grad; otherwise the gradients of the captured Vars are
// returned.
func run(op string, roots []*Var, seeds []*tensor.Tensor, capture []*Var, opts []BackwardOption) []*Var {
	var cfg backwardConfig
	for _, o := range opts {
		o(&cfg)
	}
	for i, r := range roots {
		if !r.requiresGrad {
			panic(&tensor.Error{Kind: tensor.ValueError, Op: op, Shapes: [][]int{r.Shape()},
				Msg: "output does not require a gradient: no input of the computation requires one"})
		}
		if !slices.Equal(seeds[i].Shape(), r.Shape()) {
			panic(&tensor.Error{Kind: tensor.ShapeError, Op: op, Shapes: [][]int{r.Shape(), seeds[i].Shape()},
				Msg: "gradient shape differs from the output's"})
		}
	}
	// Without CreateGraph, every tensor the pass makes (the gradients
	// flowing through the graph) is released when it ends: they go back to
	// the buffer pool, and the leaf gradients' storage is then exclusive
	// unless something else really shares it (see storeGrad). The leaf
	// gradients and captured results are kept first.
	var sc tensor.Scope // the zero Scope (CreateGraph): nothing is tracked or dropped
	scoped := !cfg.create
	var pending []pendingGrad
	if scoped {
		sc = tensor.OpenScope()
		defer sc.Close() // on a panic; closing twice does nothing
	}
	order := topoOrder(roots)
	acc := newGradMap(len(order), sc, scoped)
	for i, r := range roots {
		acc.add(r, Const(seeds[i].Cast(r.DType())))
	}
	var want map[*Var]int
	if capture != nil {
		want = make(map[*Var]int, len(capture))
		for i, c := range capture {
			want[c] = i
		}
	}
	result := make([]*Var, len(capture))

	body := func() {
		for i := len(order) - 1; i >= 0; i-- {
			v := order[i]
			g := acc.take(v)
			if g == nil {
				continue
			}
			g = runHooks(v, g)
			if capture != nil {
				if j, ok := want[v]; ok {
					if scoped {
						g = Const(tensor.Keep(g.Data.Alias()))
					}
					result[j] = g
				}
			}
			n := v.node
			if n == nil {
				if capture == nil {
					if !cfg.create {
						pending = append(pending, pendingGrad{v, tensor.Keep(g.Data.Alias())})
						continue
					}
					// The gradient keeps its graph: store the Var itself,
					// kept past the scope, for the caller.
					v.mu.Lock()
					if v.grad != nil {
						g = v.grad.Add(g)
					}
					tensor.Keep(g.Data)
					v.grad, v.gradOwned = g, false
					v.mu.Unlock()
				}
				continue
			}
			if n.freed {
				panic(&tensor.Error{Kind: tensor.ValueError, Op: op, Shapes: [][]int{v.Shape()},
					Msg: fmt.Sprintf("the graph through %s was already freed by a Backward; pass RetainGraph to walk it twice", n.op.name)})
			}
			gin := callRule(n, g, scoped)
			for j, x := range n.inputs {
				if !x.requiresGrad || j >= len(gin) || gin[j] == nil {
					continue
				}
				acc.add(x, sumTo(gin[j], x.Data.Shape()))
			}
			// What this node received and made is dead now unless the
			// map still holds it (Add passes its gradient on as is).
			for _, gj := range gin {
				if gj != nil {
					acc.drop(gj.Data)
				}
			}
			acc.drop(g.Data)
		}
	}
	if cfg.create {
		body()
	} else {
		NoGrad(body)
	}
	if scoped {
		sc.Close()
		for _, p := range pending {
			p.v.mu.Lock()
			p.v.storeGrad(p.g)
			p.v.mu.Unlock()
		}
	}
	if !cfg.retain {
		for _, v := range order {
			if v.node != nil {
				v.node.freed = true
				v.node.inputs = nil
				v.node.out = nil
			}
		}
	}
	return result
}

// callRule runs n's backward rule on g. With scoped set, the rule runs in a
// scope of its own: its temporaries go back to the pool as soon as it
// returns, and only the gradients it returns move on to the pass's scope.
func callRule(n *node, g *Var, scoped bool) (gin []*Var) {
	c := &ctx{in: n.inputs, out: n.out, a: n.a, g: g, graph: !scoped}
	if !scoped {
		return n.op.backward(c)
	}
	rs := tensor.OpenScope()
	defer rs.Close() // on a panic
	gin = n.op.backward(c)
	var buf [4]*tensor.Tensor
	keep := buf[:0]
	for _, v := range gin {
		if v != nil {
			keep = append(keep, v.Data)
		}
	}
	rs.CloseReturning(keep...)
	return gin
}

// pendingGrad is a leaf gradient to store once the pass's tensors are
// released: g is a kept handle of its own.
type pendingGrad struct {
	v *Var
	g *tensor.Tensor
}

// gradMap collects the gradients reaching each Var during a pass (summing
// fan-in) and counts how many entries hold each tensor handle, so that a
// handle no entry holds any more can go back to the pass's scope (sc; nil
// with CreateGraph, when nothing is dropped) as soon as it is dead.
type gradMap struct {
	grads  map[*Var]*Var
	uses   map[*tensor.Tensor]int
	sc     tensor.Scope
	scoped bool
}

func newGradMap(n int, sc tensor.Scope, scoped bool) *gradMap {
	return &gradMap{grads: make(map[*Var]*Var, n), uses: make(map[*tensor.Tensor]int, n), sc: sc, scoped: scoped}
}

// add adds g to the gradient collected for v.
func (m *gradMap) add(v *Var, g *Var) {
	if old := m.grads[v]; old != nil {
		sum := old.Add(g)
		m.uses[old.Data]--
		m.drop(old.Data)
		g = sum
	}
	m.grads[v] = g
	m.uses[g.Data]++
}

// take removes and returns v's gradient (nil if none reached it).
func (m *gradMap) take(v *Var) *Var {
	g := m.grads[v]
	if g != nil {
		delete(m.grads, v)
		m.uses[g.Data]--
	}
	return g
}

// drop releases t if no entry holds it and the pass's scope made it.
func (m *gradMap) drop(t *tensor.Tensor) {
	if !m.scoped || m.uses[t] > 0 {
		return
	}
	delete(m.uses, t)
	m.sc.Drop(t)
}

// runHooks passes g through v's hooks.
func runHooks(v *Var, g *Var) *Var {
	v.mu.Lock()
	var hooks []func(*tensor.Tensor) *tensor.Tensor
	if v.meta != nil {
		hooks = slices.Clone(v.meta.hooks)
	}
	v.mu.Unlock()
	for _, h := range hooks {
		if r := h(g.Data); r != nil {
			if !slices.Equal(r.Shape(), g.Shape()) {
				panic(&tensor.Error{Kind: tensor.ShapeError, Op: "autograd.Hook", Shapes: [][]int{g.Shape(), r.Shape()},
					Msg: "a hook returned a gradient of another shape"})
			}
			g = Const(r)
		}
	}
	return g
}

// sumTo reduces a gradient computed for a broadcast result back to shape:
// leading axes it added are summed away, and axes of length 1 that were
// stretched are summed with keepdim.
func sumTo(g *Var, shape []int) *Var {
	gs := g.Data.Shape()
	if slices.Equal(gs, shape) {
		return g
	}
	lead := len(gs) - len(shape)
	var axes []int
	for i := range gs {
		if i < lead || (shape[i-lead] == 1 && gs[i] != 1) {
			axes = append(axes, i)
		}
	}
	if len(axes) > 0 {
		g = g.SumKeep(axes...)
	}
	return g.Reshape(shape...)
}

// topoOrder returns the Vars that require a gradient below roots, each after
// all of its inputs (post-order of an iterative depth-first search).
func topoOrder(roots []*Var) []*Var {
	type frame struct {
		v    *Var
		next int
	}
	visited := map[*Var]bool{}
	var order []*Var
	var stack []frame
	for _, r := range roots {
		if visited[r] {
			continue
		}
		visited[r] = true
		stack = append(stack, frame{v: r})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			var ins []*Var
			if top.v.node != nil {
				ins = top.v.node.inputs
			}
			pushed := false
			for top.next < len(ins) {
				x := ins[top.next]
				top.next++
				if x.requiresGrad && !visited[x] {
					visited[x] = true
					stack = append(stack, frame{v: x})
					pushed = true
					break
				}
			}
			if !pushed {
				order = append(order, top.v)
				stack = stack[:len(stack)-1]
			}
		}
	}
	return order
}
