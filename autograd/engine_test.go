package autograd_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

func f64(v ...float64) *tensor.Tensor { return tensor.FromSlice(v) }

func near(t *testing.T, what string, got []float64, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
}

func TestFanInAndBroadcast(t *testing.T) {
	x := autograd.Param(f64(1, 2, 3))
	b := autograd.Param(tensor.Scalar(2, tensor.WithDType(tensor.Float64)))
	// y = Σ (x·x + x·b): x fans out three times, b is broadcast.
	y := x.Mul(x).Add(x.Mul(b)).Sum()
	y.Backward()
	near(t, "dx", x.Grad().Float64s(), 2*1+2, 2*2+2, 2*3+2)
	near(t, "db", b.Grad().Float64s(), 6)
	if got := b.Grad().Shape(); len(got) != 0 {
		t.Fatalf("broadcast gradient not summed back to a scalar: %v", got)
	}
}

func TestGradientsAccumulateAcrossCalls(t *testing.T) {
	x := autograd.Param(f64(1, 2))
	for i := 0; i < 3; i++ {
		x.MulScalar(2).Sum().Backward()
	}
	near(t, "accumulated", x.Grad().Float64s(), 6, 6)
	x.ZeroGrad()
	if x.Grad() != nil {
		t.Fatal("ZeroGrad left a gradient")
	}
}

func TestRetainGraph(t *testing.T) {
	x := autograd.Param(f64(3))
	y := x.Mul(x).Sum()
	y.Backward(autograd.RetainGraph())
	y.Backward()
	near(t, "twice", x.Grad().Float64s(), 12)
	err := tensor.Try(func() { y.Backward() })
	if err == nil || !strings.Contains(err.Error(), "freed") {
		t.Fatalf("third Backward through a freed graph: %v", err)
	}
}

func TestGradDoesNotTouchDotGrad(t *testing.T) {
	x := autograd.Param(f64(1, 2))
	w := autograd.Param(f64(3, 4))
	unused := autograd.Param(f64(5))
	y := x.Mul(w).Sum()
	gs := autograd.Grad([]*autograd.Var{y}, []*autograd.Var{x, w, unused}, nil)
	near(t, "dx", gs[0].Data.Float64s(), 3, 4)
	near(t, "dw", gs[1].Data.Float64s(), 1, 2)
	if gs[2] != nil {
		t.Fatal("gradient for an input the output does not depend on")
	}
	if x.Grad() != nil || w.Grad() != nil {
		t.Fatal("Grad wrote into .Grad")
	}
}

func TestLongChainDoesNotOverflow(t *testing.T) {
	x := autograd.Param(f64(1))
	y := x
	for i := 0; i < 10000; i++ {
		y = y.MulScalar(1.0001)
	}
	y.Sum().Backward()
	near(t, "chain", x.Grad().Float64s(), math.Pow(1.0001, 10000))
}

func TestHooks(t *testing.T) {
	x := autograd.Param(f64(1, 2))
	h := x.MulScalar(3)
	var seen []float64
	h.RegisterHook(func(g *tensor.Tensor) *tensor.Tensor {
		seen = g.Float64s()
		return g.MulScalar(10) // replace the gradient
	})
	x.RegisterHook(func(g *tensor.Tensor) *tensor.Tensor { return nil })
	h.Sum().Backward()
	near(t, "hook saw", seen, 1, 1)
	near(t, "replaced", x.Grad().Float64s(), 30, 30)
}

func TestNoGrad(t *testing.T) {
	x := autograd.Param(f64(1, 2))
	var y *autograd.Var
	autograd.NoGrad(func() { y = x.Mul(x) })
	if y.RequiresGrad() || !y.IsLeaf() {
		t.Fatal("NoGrad recorded a graph")
	}
	if !autograd.IsRecording() {
		t.Fatal("recording not restored after NoGrad")
	}
	if z := x.Mul(x); !z.RequiresGrad() {
		t.Fatal("recording off outside NoGrad")
	}
}

// TestNoGradIsPerGoroutine runs inference under NoGrad in some goroutines
// while others train: the trainers' graphs must be recorded all along.
func TestNoGradIsPerGoroutine(t *testing.T) {
	w := autograd.Param(f64(1, 2, 3))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	release := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() { // inference
			defer wg.Done()
			autograd.NoGrad(func() {
				<-release
				for k := 0; k < 50; k++ {
					if w.MulScalar(2).RequiresGrad() {
						mu.Lock()
						failures = append(failures, "inference recorded")
						mu.Unlock()
					}
				}
			})
		}()
		go func() { // training
			defer wg.Done()
			<-release
			for k := 0; k < 50; k++ {
				y := w.MulScalar(2).Sum()
				if !y.RequiresGrad() {
					mu.Lock()
					failures = append(failures, "training did not record while another goroutine was in NoGrad")
					mu.Unlock()
					return
				}
				gs := autograd.Grad([]*autograd.Var{y}, []*autograd.Var{w}, nil)
				if v := gs[0].Data.Float64s(); !slices.Equal(v, []float64{2, 2, 2}) {
					mu.Lock()
					failures = append(failures, "wrong gradient")
					mu.Unlock()
				}
			}
		}()
	}
	close(release)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures[0])
	}
	// A goroutine started inside NoGrad does not inherit it.
	autograd.NoGrad(func() {
		done := make(chan bool)
		go func() { done <- autograd.IsRecording() }()
		if !<-done {
			t.Error("a goroutine started inside NoGrad inherited it")
		}
	})
}

func TestConcurrentBackwardAccumulates(t *testing.T) {
	w := autograd.Param(f64(1, 1))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.MulScalar(1).Sum().Backward()
		}()
	}
	wg.Wait()
	near(t, "8 backward passes", w.Grad().Float64s(), 8, 8)
}

func TestHigherOrder(t *testing.T) {
	// d²/dx² tanh x = −2 tanh x (1 − tanh² x)
	xs := []float64{-1.5, -0.2, 0.3, 2}
	x := autograd.Param(f64(xs...))
	y := x.Tanh().Sum()
	g := autograd.Grad([]*autograd.Var{y}, []*autograd.Var{x}, nil, autograd.CreateGraph())[0]
	g2 := autograd.Grad([]*autograd.Var{g.Sum()}, []*autograd.Var{x}, nil)[0]
	want := make([]float64, len(xs))
	for i, v := range xs {
		th := math.Tanh(v)
		want[i] = -2 * th * (1 - th*th)
	}
	near(t, "tanh''", g2.Data.Float64s(), want...)

	// Hessian-vector product of f(x) = Σ x_i³ x_j (i≠j terms via (Σx)·Σx³):
	// compare H·v with finite differences of the gradient.
	gen := tensor.NewGenerator(3)
	x0 := tensor.RandN(gen, []int{5}, tensor.WithDType(tensor.Float64))
	v := tensor.RandN(gen, []int{5}, tensor.WithDType(tensor.Float64))
	f := func(x *autograd.Var) *autograd.Var { return x.Sum().Mul(x.PowScalar(3).Sum()).Add(x.Sin().Sum()) }
	xv := autograd.Param(x0)
	gx := autograd.Grad([]*autograd.Var{f(xv)}, []*autograd.Var{xv}, nil, autograd.CreateGraph())[0]
	hv := autograd.Grad([]*autograd.Var{gx.Mul(autograd.Const(v)).Sum()}, []*autograd.Var{xv}, nil)[0].Data.Float64s()
	grad := func(x *tensor.Tensor) []float64 {
		p := autograd.Param(x)
		return autograd.Grad([]*autograd.Var{f(p)}, []*autograd.Var{p}, nil)[0].Data.Float64s()
	}
	eps := 1e-6
	gp := grad(x0.Add(v.MulScalar(eps)))
	gm := grad(x0.Sub(v.MulScalar(eps)))
	for i := range hv {
		fd := (gp[i] - gm[i]) / (2 * eps)
		if math.Abs(fd-hv[i]) > 1e-5*math.Max(1, math.Abs(fd)) {
			t.Fatalf("Hv[%d] = %v, finite differences %v", i, hv[i], fd)
		}
	}
}

func TestGradGradCheckOps(t *testing.T) {
	g := tensor.NewGenerator(4)
	f64o := tensor.WithDType(tensor.Float64)
	x := tensor.RandN(g, []int{3, 4}, f64o)
	w := tensor.RandN(g, []int{4, 2}, f64o)
	cases := map[string]func(xs ...*autograd.Var) *autograd.Var{
		"tanh":       func(v ...*autograd.Var) *autograd.Var { return v[0].Tanh() },
		"sigmoid":    func(v ...*autograd.Var) *autograd.Var { return v[0].Sigmoid() },
		"gelu":       func(v ...*autograd.Var) *autograd.Var { return v[0].GELU() },
		"softmax":    func(v ...*autograd.Var) *autograd.Var { return v[0].Softmax(1) },
		"logsoftmax": func(v ...*autograd.Var) *autograd.Var { return v[0].LogSoftmax(0) },
		"mlp": func(v ...*autograd.Var) *autograd.Var {
			return v[0].MatMul(v[1]).Tanh().Square().Mean()
		},
		"slice":  func(v ...*autograd.Var) *autograd.Var { return v[0].Slice(1, 1, 4, 2).Exp() },
		"gather": func(v ...*autograd.Var) *autograd.Var { return v[0].Gather(1, idx([]int64{1, 3, 0}, 3, 1)).Square() },
		"div":    func(v ...*autograd.Var) *autograd.Var { return v[0].Div(v[0].Square().AddScalar(1)) },
		"normalize": func(v ...*autograd.Var) *autograd.Var {
			return v[0].Normalize(1e-3, 1)
		},
		"unfold": func(v ...*autograd.Var) *autograd.Var {
			w := tensor.Window2d{InH: 3, InW: 4, OutH: 2, OutW: 3, KH: 2, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1}
			return v[0].Reshape(1, 1, 3, 4).Unfold2d(w).Square().Fold2d(w)
		},
		"windowmax": func(v ...*autograd.Var) *autograd.Var {
			w := tensor.Window2d{InH: 3, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, SH: 1, SW: 2, DH: 1, DW: 1}
			return v[0].Reshape(1, 1, 3, 4).WindowMax2d(w).Square()
		},
	}
	for name, f := range cases {
		in := []*tensor.Tensor{x}
		if name == "mlp" {
			in = append(in, w)
		}
		if err := autograd.GradGradCheck(f, in, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGradCheckCatchesAWrongRule(t *testing.T) {
	// A function whose "gradient" is wrong on purpose: stop the gradient of
	// one factor with Detach. GradCheck must notice.
	wrong := func(v ...*autograd.Var) *autograd.Var { return v[0].Mul(v[0].Detach()) }
	err := autograd.GradCheck(wrong, []*tensor.Tensor{f64(1, 2, 3)}, nil)
	ce, ok := err.(*autograd.CheckError)
	if !ok {
		t.Fatalf("GradCheck accepted a wrong gradient: %v", err)
	}
	if math.Abs(ce.Analytic-ce.Numeric) < 0.5 {
		t.Fatalf("worst element %+v", ce)
	}
}

func TestWriteDOT(t *testing.T) {
	x := autograd.Param(tensor.Zeros([]int{2, 3})).SetName("x")
	w := autograd.Param(tensor.Zeros([]int{3, 4})).SetName("w")
	c := autograd.Const(tensor.Zeros([]int{4}))
	y := x.MatMul(w).Add(c).ReLU().Sum()
	var buf bytes.Buffer
	if err := autograd.WriteDOT(&buf, y); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{"digraph", "MatMul", "ReLU", "Sum", "x\\n[2×3] float32", "requires grad", "->"} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "->"); n != 6 {
		t.Errorf("%d edges, want 6:\n%s", n, s)
	}
}

func TestBackwardErrors(t *testing.T) {
	x := autograd.Param(f64(1, 2))
	if err := tensor.Try(func() { x.MulScalar(2).Backward() }); err == nil {
		t.Fatal("Backward of a non-scalar without a seed")
	}
	c := autograd.Const(f64(1))
	if err := tensor.Try(func() { c.MulScalar(2).Backward() }); err == nil {
		t.Fatal("Backward of a Var that requires no gradient")
	}
	if err := tensor.Try(func() { autograd.Param(tensor.FromSlice([]int64{1})) }); err == nil {
		t.Fatal("an integer Param")
	}
}

// The same gradient reaching two leaves (Add passes it to both) must not
// leave them sharing storage: clipping one in place would change the other.
func TestLeafGradsDoNotAlias(t *testing.T) {
	a := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	b := autograd.Param(tensor.FromSlice([]float32{3, 4}, 2))
	a.Add(b).Sum().Backward()
	ga := a.Grad()
	ga.MulScalar_(10)
	if got := b.Grad().Float64s(); got[0] != 1 || got[1] != 1 {
		t.Fatalf("scaling a's gradient in place changed b's: %v", got)
	}
	if got := a.Grad().Float64s(); got[0] != 10 {
		t.Fatalf("a's gradient after in-place scaling: %v", got)
	}
}

// Inside a scope, gradients accumulated by Backward outlive it, ZeroGrad
// gives their buffers back, and the intermediate tensors are released.
func TestBackwardInScope(t *testing.T) {
	w := autograd.Param(tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2))
	x := tensor.FromSlice([]float32{1, 1}, 1, 2)
	var h *autograd.Var
	for step := range 3 {
		tensor.Tidy(func() {
			w.ZeroGrad()
			h = autograd.Const(x).MatMul(w).ReLU()
			h.Sum().Backward()
		})
		if !h.Data.Released() {
			t.Fatal("an activation made in the scope was not released")
		}
		g := w.Grad()
		if g == nil || g.Released() {
			t.Fatalf("step %d: the parameter's gradient did not outlive the scope", step)
		}
		near(t, "grad", g.Float64s(), 1, 1, 1, 1)
	}
	old := w.Grad()
	w.ZeroGrad()
	if w.Grad() != nil || old.Released() {
		t.Fatal("ZeroGrad: the gradient must be gone from w, and a handle taken before stays usable")
	}
}

// A weight used transposed (x·Wᵀ, as in a Linear layer) gets a dense,
// row-major gradient, computed in that layout rather than copied into it.
func TestTransposedWeightGradIsContiguous(t *testing.T) {
	w := autograd.Param(tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 3, 2))
	x := autograd.Const(tensor.FromSlice([]float64{1, 0, 2, 1}, 2, 2))
	x.MatMul(w.T()).Sum().Backward()
	g := w.Grad()
	if !g.IsContiguous() {
		t.Fatalf("weight gradient strides %v, want row-major", g.Strides())
	}
	near(t, "dW", g.Float64s(), 3, 1, 3, 1, 3, 1)
	// The same through a scope, twice, with ZeroGrad recycling buffers.
	for range 2 {
		tensor.Tidy(func() {
			w.ZeroGrad()
			x.MatMul(w.T()).Sum().Backward()
		})
		near(t, "dW in scope", w.Grad().Float64s(), 3, 1, 3, 1, 3, 1)
	}
}
