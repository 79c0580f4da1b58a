package autograd

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/tensor"
)

// CheckOptions sets the tolerances of GradCheck and GradGradCheck. A
// gradient element passes when |analytic − numeric| <= Atol + Rtol·|numeric|.
type CheckOptions struct {
	Eps  float64 // finite-difference step (default 1e-6)
	Atol float64 // absolute tolerance (default 1e-5)
	Rtol float64 // relative tolerance (default 1e-3)
}

func (o *CheckOptions) defaults() CheckOptions {
	c := CheckOptions{Eps: 1e-6, Atol: 1e-5, Rtol: 1e-3}
	if o != nil {
		if o.Eps > 0 {
			c.Eps = o.Eps
		}
		if o.Atol > 0 {
			c.Atol = o.Atol
		}
		if o.Rtol > 0 {
			c.Rtol = o.Rtol
		}
	}
	return c
}

// CheckError reports the worst element of a failed gradient check.
type CheckError struct {
	Input    int     // which input
	Index    int     // flat row-major index in that input
	Output   int     // flat index of the output element
	Analytic float64 // d output / d input from backprop
	Numeric  float64 // the same from central differences
	AbsErr   float64
	Order    int // 1 for GradCheck, 2 for GradGradCheck
}

func (e *CheckError) Error() string {
	name := "GradCheck"
	if e.Order == 2 {
		name = "GradGradCheck"
	}
	return fmt.Sprintf("autograd.%s: d output[%d] / d input %d [%d]: analytic %.10g, numeric %.10g (abs err %.3g)",
		name, e.Output, e.Input, e.Index, e.Analytic, e.Numeric, e.AbsErr)
}

// GradCheck compares the gradients that backprop computes for f with central
// finite differences, element by element of the Jacobian. The inputs are
// converted to float64 (finite differences are useless in float32) and each
// is made a leaf that requires a gradient. It returns nil when every element
// is within tolerance, or a *CheckError describing the worst one.
func GradCheck(f func(xs ...*Var) *Var, inputs []*tensor.Tensor, opts *CheckOptions) error {
	o := opts.defaults()
	vars := make([]*Var, len(inputs))
	for i, in := range inputs {
		vars[i] = Param(in.Cast(tensor.Float64).Clone())
	}
	out := f(vars...)
	if out.DType() != tensor.Float64 {
		return fmt.Errorf("autograd.GradCheck: f returned %v, want float64 (did it cast?)", out.DType())
	}
	nOut := out.Data.Numel()

	// Analytic Jacobian, one backward pass per output element.
	analytic := make([][][]float64, nOut) // [out][input][elem]
	for k := 0; k < nOut; k++ {
		seed := make([]float64, nOut)
		seed[k] = 1
		var gs []*Var
		if out.RequiresGrad() {
			gs = Grad([]*Var{out}, vars, []*tensor.Tensor{tensor.FromSlice(seed, out.Shape()...)}, RetainGraph())
		} else {
			gs = make([]*Var, len(vars))
		}
		analytic[k] = make([][]float64, len(vars))
		for i, g := range gs {
			if g == nil {
				analytic[k][i] = make([]float64, vars[i].Data.Numel())
			} else {
				analytic[k][i] = g.Data.Float64s()
			}
		}
	}

	// Numeric Jacobian by central differences, one input element at a time.
	var worst *CheckError
	worstExcess := 0.0
	for i, v := range vars {
		base := v.Data.Float64s()
		for j := range base {
			eval := func(x float64) []float64 {
				p := append([]float64(nil), base...)
				p[j] = x
				// Fresh leaves that require gradients: f may differentiate
				// internally (GradGradCheck), so recording stays on.
				xs := make([]*Var, len(vars))
				for k, u := range vars {
					xs[k] = Param(u.Data)
				}
				xs[i] = Param(tensor.FromSlice(p, v.Shape()...))
				return f(xs...).Data.Float64s()
			}
			hi, lo := eval(base[j]+o.Eps), eval(base[j]-o.Eps)
			for k := 0; k < nOut; k++ {
				num := (hi[k] - lo[k]) / (2 * o.Eps)
				an := analytic[k][i][j]
				diff := math.Abs(an - num)
				tol := o.Atol + o.Rtol*math.Abs(num)
				bad := diff > tol || math.IsNaN(an) != math.IsNaN(num)
				if bad && (worst == nil || diff-tol > worstExcess || math.IsNaN(diff)) {
					worst = &CheckError{Input: i, Index: j, Output: k, Analytic: an, Numeric: num, AbsErr: diff, Order: 1}
					worstExcess = diff - tol
				}
			}
		}
	}
	if worst != nil {
		return worst
	}
	return nil
}

// GradGradCheck checks second derivatives: it differentiates f with
// CreateGraph, contracts the gradients with fixed random weights, and runs
// GradCheck on that function of the inputs.
func GradGradCheck(f func(xs ...*Var) *Var, inputs []*tensor.Tensor, opts *CheckOptions) error {
	g := tensor.NewGenerator(12345)
	var outShape []int
	NoGrad(func() {
		xs := make([]*Var, len(inputs))
		for i, in := range inputs {
			xs[i] = Const(in.Cast(tensor.Float64))
		}
		outShape = f(xs...).Shape()
	})
	w := tensor.RandN(g, outShape, tensor.WithDType(tensor.Float64))
	second := func(xs ...*Var) *Var {
		y := f(xs...)
		grads := Grad([]*Var{y}, xs, []*tensor.Tensor{w}, CreateGraph())
		var total *Var
		for i, gi := range grads {
			if gi == nil {
				continue
			}
			r := Const(tensor.RandN(tensor.NewGenerator(uint64(100+i)), gi.Shape(), tensor.WithDType(tensor.Float64)))
			term := gi.Mul(r).Sum()
			if total == nil {
				total = term
			} else {
				total = total.Add(term)
			}
		}
		if total == nil {
			return Const(tensor.Scalar(0, tensor.WithDType(tensor.Float64)))
		}
		return total
	}
	err := GradCheck(second, inputs, opts)
	if ce, ok := err.(*CheckError); ok {
		ce.Order = 2
	}
	return err
}
