// Command backprop shows why Tessera differentiates in reverse mode.
//
// For multilayer perceptrons whose parameter count grows from about 10² to
// 10⁵ it computes the gradient of a cross-entropy loss twice: by central
// finite differences (two loss evaluations per parameter) and by one
// backward pass. It prints, for each size, the time of each, the time of one
// forward pass, and the largest difference between the two gradients.
// Finite differences grow linearly with the parameter count; backprop stays
// a small constant multiple of one forward pass.
//
// Above -fdmax parameters, finite differences are timed on a random sample
// of -sample parameters and the full time is extrapolated (marked "~").
//
//	go run ./examples/backprop [-dot graph.dot]
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"time"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

const (
	inputs  = 16
	classes = 4
	batch   = 8
)

type mlp struct {
	w1, b1, w2, b2 *autograd.Var
}

func newMLP(g *tensor.Generator, hidden int) *mlp {
	f64 := tensor.WithDType(tensor.Float64)
	return &mlp{
		w1: autograd.Param(tensor.RandN(g, []int{inputs, hidden}, f64).MulScalar(1 / math.Sqrt(inputs))),
		b1: autograd.Param(tensor.Zeros([]int{hidden}, f64)),
		w2: autograd.Param(tensor.RandN(g, []int{hidden, classes}, f64).MulScalar(1 / math.Sqrt(float64(hidden)))),
		b2: autograd.Param(tensor.Zeros([]int{classes}, f64)),
	}
}

func (m *mlp) params() []*autograd.Var { return []*autograd.Var{m.w1, m.b1, m.w2, m.b2} }

// loss is the mean cross-entropy of the network on (x, y).
func (m *mlp) loss(x *autograd.Var, y *tensor.Tensor) *autograd.Var {
	h := x.MatMul(m.w1).Add(m.b1).Tanh()
	logp := h.MatMul(m.w2).Add(m.b2).LogSoftmax(1)
	return logp.Gather(1, y.Unsqueeze(1)).Mean().Neg()
}

// median runs f n times and returns the median duration.
func median(n int, f func()) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		t0 := time.Now()
		f()
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	return d[n/2]
}

func main() {
	dot := flag.String("dot", "", "write the graph of a small expression to this DOT file")
	fdMax := flag.Int("fdmax", 12000, "largest model whose finite differences are run in full")
	sample := flag.Int("sample", 2000, "parameters sampled for finite differences above -fdmax")
	flag.Parse()

	g := tensor.NewGenerator(1)
	f64 := tensor.WithDType(tensor.Float64)
	x := autograd.Const(tensor.RandN(g, []int{batch, inputs}, f64))
	y := tensor.RandInt(g, 0, classes, []int{batch})
	const eps = 1e-6

	fmt.Printf("%10s  %14s  %12s  %12s  %9s  %14s\n", "parameters", "finite diff.", "backprop", "forward", "bp / fwd", "max |Δg|/max|g|")
	for _, hidden := range []int{5, 48, 476, 4762} {
		m := newMLP(g, hidden)
		ps := m.params()
		n := 0
		for _, p := range ps {
			n += p.Data.Numel()
		}

		fwd := median(7, func() { tensor.Tidy(func() { autograd.NoGrad(func() { m.loss(x, y) }) }) })
		bp := median(7, func() {
			tensor.Tidy(func() {
				for _, p := range ps {
					p.ZeroGrad()
				}
				m.loss(x, y).Backward()
			})
		})
		var grads [][]float64
		for _, p := range ps {
			grads = append(grads, p.Grad().Float64s())
		}

		// Finite differences, one parameter at a time: perturb it in place,
		// evaluate the loss twice.
		type ref struct{ p, i int }
		var which []ref
		for pi, p := range ps {
			for i := 0; i < p.Data.Numel(); i++ {
				which = append(which, ref{pi, i})
			}
		}
		full := n <= *fdMax
		if !full {
			perm := g.Perm(len(which))
			sub := make([]ref, *sample)
			for k := range sub {
				sub[k] = which[perm[k]]
			}
			which = sub
		}
		evalLoss := func() float64 {
			var v float64
			autograd.NoGrad(func() { v = m.loss(x, y).Item() })
			return v
		}
		gmax := 0.0
		for _, gs := range grads {
			for _, v := range gs {
				gmax = math.Max(gmax, math.Abs(v))
			}
		}
		worst := 0.0
		t0 := time.Now()
		for _, r := range which {
			p := ps[r.p].Data
			shape := p.Shape()
			idx := make([]int, len(shape))
			rem := r.i
			for d := len(shape) - 1; d >= 0; d-- {
				idx[d] = rem % shape[d]
				rem /= shape[d]
			}
			cell := p
			for _, k := range idx {
				cell = cell.Narrow(0, k, 1).Squeeze(0)
			}
			orig := cell.Item()
			cell.Fill_(orig + eps)
			up := evalLoss()
			cell.Fill_(orig - eps)
			down := evalLoss()
			cell.Fill_(orig)
			fd := (up - down) / (2 * eps)
			an := grads[r.p][r.i]
			if d := math.Abs(fd-an) / gmax; d > worst {
				worst = d
			}
		}
		fdTime := time.Since(t0)
		mark := " "
		if !full {
			fdTime = time.Duration(float64(fdTime) * float64(n) / float64(len(which)))
			mark = "~"
		}
		fmt.Printf("%10d  %s%13s  %12s  %12s  %8.1fx  %14.2e\n", n, mark, fdTime.Round(time.Microsecond), bp.Round(time.Microsecond),
			fwd.Round(time.Microsecond), float64(bp)/float64(fwd), worst)
	}
	fmt.Println("\n~ extrapolated from a random sample of parameters. backprop includes its own forward pass;")
	fmt.Println("max |Δg|/max|g| is the largest disagreement between the two gradients, relative to the largest gradient.")

	if *dot != "" {
		a := autograd.Param(tensor.FromSlice([]float64{1, 2, 3})).SetName("a")
		b := autograd.Param(tensor.FromSlice([]float64{0.5})).SetName("b")
		e := a.Mul(b).Tanh().Add(a).Sum().SetName("e")
		f, err := os.Create(*dot)
		if err != nil {
			log.Fatal(err)
		}
		if err := autograd.WriteDOT(f, e); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote the graph of e = sum(tanh(a*b) + a) to %s (render: dot -Tsvg %s)\n", *dot, *dot)
	}
}
