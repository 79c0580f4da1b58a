package tensor

import (
	"sync"
	"sync/atomic"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/goid"
)

// Memory: scopes, Keep and Release.
//
// Go's garbage collector reclaims tensors nobody references, but only when it
// next runs, and a training step's activations and gradients are megabytes of
// fresh, zeroed memory every step. A Scope gives them back as soon as the
// step is over: every tensor created on a goroutine while a scope is open
// there — by a constructor, an op or a view — is released when the scope
// closes, and its buffer goes back to the backend's pool (the CPU backend
// recycles it for the next allocation of the same size; the CUDA backend
// returns it to its caching allocator). A steady-state training step then
// allocates almost nothing:
//
//	for x, y := range loader.All() {
//		tensor.Tidy(func() {
//			opt.ZeroGrad()
//			loss := nn.CrossEntropyLoss(model.Forward(x), y)
//			loss.Backward()
//			opt.Step()
//		})
//	}
//
// What must outlive the scope is kept: Keep(t) takes t out of every scope.
// Parameters, their gradients and optimizer state are created outside the
// step or kept by the packages that make them (autograd keeps the gradients
// it accumulates, optim its state), so a loop like the one above needs no
// Keep of its own unless it stores a tensor made inside, such as the loss
// for a later plot (keep it, or copy out its Item).
//
// A released tensor must not be used again: every op on it panics with an
// *Error saying so, instead of reading memory that now belongs to another
// tensor. Buffers are reference counted across views, so releasing a handle
// frees nothing while another live handle (a view, or the tensor a view was
// taken from) still sees the buffer; handles made outside any scope and
// never released are left to the garbage collector, as before. Scopes are
// per goroutine, like grad mode: a tensor made by another goroutine (a data
// loader's) is not in this goroutine's scope.

// storage is the shared part of every handle on one buffer.
type storage struct {
	refs atomic.Int32 // handles not yet released
}

// Handle states.
const (
	handleLive     uint32 = iota // tracked by the scope it was made in, if any
	handleKept                   // taken out of scopes by Keep
	handleReleased               // released: using it panics
)

// Scope collects the tensors a goroutine creates while it is open; Close
// releases them. Scopes nest: a tensor belongs to the innermost scope open
// when it was made. A Scope is a small value (a handle on pooled state): once
// closed, every method of it and of its copies does nothing.
type Scope struct {
	st  *scopeState
	gen uint32 // st.gen while this handle's scope is open
}

// scopeState is a scope's state, reused through a pool; gen advances when
// the scope closes, so stale handles see that it is no longer theirs.
type scopeState struct {
	gen    atomic.Uint32
	g      uintptr
	parent *scopeState
	ts     []*Tensor
}

var (
	scopesOpen atomic.Int64 // scopes open on all goroutines
	scopeMu    sync.Mutex
	scopes     = map[uintptr]*scopeState{} // goroutine -> innermost open scope
	scopeFree  = sync.Pool{New: func() any { return new(scopeState) }}
)

// OpenScope opens a scope on the calling goroutine; pair it with Close on
// the same goroutine, usually with defer:
//
//	s := tensor.OpenScope()
//	defer s.Close()
func OpenScope() Scope {
	st := scopeFree.Get().(*scopeState)
	st.g = goid.Get()
	scopeMu.Lock()
	st.parent = scopes[st.g]
	scopes[st.g] = st
	scopeMu.Unlock()
	scopesOpen.Add(1)
	return Scope{st: st, gen: st.gen.Load()}
}

// open reports whether s's scope is still open.
func (s Scope) open() bool { return s.st != nil && s.st.gen.Load() == s.gen }

// Close releases every tensor created in the scope and not kept, and makes
// the enclosing scope (if any) current again. Closing a scope that is not the
// goroutine's innermost one, or closing from another goroutine, panics;
// closing twice does nothing.
func (s Scope) Close() {
	if !s.open() {
		return
	}
	st := s.st
	g := goid.Get()
	scopeMu.Lock()
	if g != st.g || scopes[g] != st {
		scopeMu.Unlock()
		panic(&Error{Kind: ValueError, Op: "Scope.Close", Msg: "not the innermost scope open on this goroutine"})
	}
	if st.parent != nil {
		scopes[g] = st.parent
	} else {
		delete(scopes, g)
	}
	scopeMu.Unlock()
	scopesOpen.Add(-1)
	st.gen.Add(1)
	ts := st.ts
	for i, t := range ts {
		if t.sc == st { // not handed on by CloseReturning
			t.release(handleLive)
		}
		ts[i] = nil
	}
	outermost := st.parent == nil
	st.ts, st.parent = ts[:0], nil
	scopeFree.Put(st)
	if outermost {
		gcPace()
	}
}

// CloseReturning is Close, except that the tensors in keep that s tracks
// are handed to the enclosing scope (released when it closes) instead of
// released: the way a function that makes temporaries returns its result.
// Tensors in keep that s does not track are left alone.
func (s Scope) CloseReturning(keep ...*Tensor) {
	if !s.open() {
		return
	}
	st := s.st
	for _, t := range keep {
		if t == nil || t.sc != st || t.state.Load() != handleLive {
			continue
		}
		t.sc = st.parent
		if st.parent != nil {
			st.parent.ts = append(st.parent.ts, t)
		}
	}
	s.Close()
}

// Tidy runs f inside a scope: every tensor f creates and does not Keep is
// released when f returns (or panics), and its buffer goes back to the
// backend's pool for the next step to reuse. A training loop:
//
//	for b := range loader.All() {
//		tensor.Tidy(func() {
//			opt.ZeroGrad()
//			loss := nn.CrossEntropyLoss(model.Forward(autograd.Const(b.X)), autograd.Const(b.Y))
//			loss.Backward()
//			opt.Step()
//			total += loss.Item()
//		})
//	}
//
// Parameters, the gradients Backward accumulates, optimizer state and
// batch-norm statistics outlive the scope on their own.
func Tidy(f func()) {
	s := OpenScope()
	defer s.Close()
	f()
}

// Keep takes tensors out of the scopes they were made in, so they outlive
// them; they are then left to the garbage collector, or to Release. Keep
// returns its first argument for chaining (nil when called with none).
// Keeping a released tensor panics.
func Keep(ts ...*Tensor) *Tensor {
	for _, t := range ts {
		t.live("Keep")
		t.state.CompareAndSwap(handleLive, handleKept)
	}
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

// Release gives t's handle up now: t must not be used afterwards, and its
// buffer returns to the backend's pool once no other live handle views it.
// Releasing a tensor twice does nothing. A tensor handed to Release
// inside a scope needs nothing more from the scope.
func (t *Tensor) Release() {
	if !t.release(handleLive) {
		t.release(handleKept)
	}
}

// ExclusiveStorage reports whether t is the only live handle on its
// buffer: no view of it, nor tensor it is a view of, has been made and not
// released. (Handles dropped without Release still count, so a false answer
// may be conservative.) Writing in place through an exclusive handle
// changes no other tensor's values.
func (t *Tensor) ExclusiveStorage() bool {
	return t.state.Load() != handleReleased && t.st.refs.Load() == 1
}

// Released reports whether t was released, by Release or by its scope.
func (t *Tensor) Released() bool { return t.state.Load() == handleReleased }

// release moves t from state from to released, dropping its reference to
// the storage (and freeing the buffer with the last one). It reports
// whether t was in state from.
func (t *Tensor) release(from uint32) bool {
	if !t.state.CompareAndSwap(from, handleReleased) {
		return false
	}
	be, buf := t.be, t.buf
	t.be, t.buf = released, nil
	if t.st.refs.Add(-1) == 0 {
		be.Free(buf)
	}
	return true
}

// track adds a new handle to the calling goroutine's scope, if one is open.
func track(t *Tensor) {
	if scopesOpen.Load() == 0 {
		return
	}
	g := goid.Get()
	scopeMu.Lock()
	s := scopes[g]
	scopeMu.Unlock()
	if s != nil {
		s.ts = append(s.ts, t)
		t.sc = s
	}
}

// Drop releases t now if s tracks it (t was made while s was innermost,
// and not kept), and otherwise does nothing: for code that knows a
// temporary is dead before its scope ends, such as the backward pass
// handing each gradient back to the pool once the rule that consumes it
// has run. It reports whether t was released.
func (s Scope) Drop(t *Tensor) bool {
	if !s.open() || t.sc != s.st {
		return false
	}
	return t.release(handleLive)
}

// live panics with an *Error naming op if t was released.
func (t *Tensor) live(op string) {
	if t.state.Load() == handleReleased {
		panic(&Error{Kind: ValueError, Op: op, Shapes: [][]int{t.shape},
			Msg: "tensor used after it was released (by Release, or by the Scope it was made in: Keep it to use it afterwards)"})
	}
}

// released is the backend of released handles: every kernel call panics,
// so a forgotten Keep fails loudly instead of reading a recycled buffer.
var released backend.Backend = releasedBackend{}

type releasedBackend struct{}

func (releasedBackend) fail(op string) {
	panic(&Error{Kind: ValueError, Op: op,
		Msg: "tensor used after it was released (by Release, or by the Scope it was made in: Keep it to use it afterwards)"})
}

func (releasedBackend) Device() backend.Device { return backend.Device{Type: backend.CPU} }
func (releasedBackend) Name() string           { return "released" }
func (r releasedBackend) Alloc(backend.DType, int) (backend.Buffer, error) {
	r.fail("Alloc")
	return nil, nil
}
func (releasedBackend) Free(backend.Buffer) {}
func (r releasedBackend) Write(backend.Buffer, int, any) error {
	r.fail("Write")
	return nil
}
func (r releasedBackend) Read(backend.Buffer, int, any) error {
	r.fail("Read")
	return nil
}
func (r releasedBackend) Fill(backend.Buffer, backend.Layout, float64) { r.fail("Fill") }
func (r releasedBackend) Copy(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout) {
	r.fail("Copy")
}
func (r releasedBackend) Unary(backend.Op, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout) {
	r.fail("Unary")
}
func (r releasedBackend) Binary(backend.Op, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout) {
	r.fail("Binary")
}
func (r releasedBackend) Where(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout) {
	r.fail("Where")
}
func (r releasedBackend) Reduce(backend.Op, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, []int) {
	r.fail("Reduce")
}
func (r releasedBackend) ArgReduce(backend.Op, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, int) {
	r.fail("ArgReduce")
}
func (r releasedBackend) MatMul(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout) {
	r.fail("MatMul")
}
func (r releasedBackend) Softmax(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, int, bool) {
	r.fail("Softmax")
}
func (r releasedBackend) Gather(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, int) error {
	r.fail("Gather")
	return nil
}
func (r releasedBackend) IndexSelect(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, int) error {
	r.fail("IndexSelect")
	return nil
}
func (r releasedBackend) ScatterAdd(backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, backend.Buffer, backend.Layout, int) error {
	r.fail("ScatterAdd")
	return nil
}
func (releasedBackend) Synchronize() error { return nil }
