package nn

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// Activation layers: elementwise nonlinearities with no parameters, plus
// Softmax and LogSoftmax along an axis. Each is a thin Layer over the
// autograd op of the same name, so its gradient is that op's rule.

// ReLU is max(x, 0) (torch.nn.ReLU); its gradient at 0 is 0.
type ReLU struct{ Base }

// NewReLU makes a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Members implements Module; ReLU has none.
func (*ReLU) Members() Members { return Members{} }

// Forward implements Layer.
func (l *ReLU) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x.ReLU()) }

// GELU is x·Φ(x) (torch.nn.GELU). Approximate is "none" (or "") for the
// exact form with erf, or "tanh" for ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
type GELU struct {
	Base
	Approximate string
}

// NewGELU makes a GELU layer; approximate is torch's argument, "none" or
// "tanh".
func NewGELU(approximate string) *GELU {
	if approximate != "" && approximate != "none" && approximate != "tanh" {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.NewGELU",
			Msg: fmt.Sprintf("approximate must be \"none\" or \"tanh\", not %q", approximate)})
	}
	return &GELU{Approximate: approximate}
}

// Members implements Module; GELU has none.
func (*GELU) Members() Members { return Members{} }

// Forward implements Layer.
func (l *GELU) Forward(x *autograd.Var) *autograd.Var {
	if l.Approximate == "tanh" {
		return l.RunHooks(l, x, x.GELUTanh())
	}
	return l.RunHooks(l, x, x.GELU())
}

// SiLU is x·σ(x), also called swish (torch.nn.SiLU).
type SiLU struct{ Base }

// NewSiLU makes a SiLU layer.
func NewSiLU() *SiLU { return &SiLU{} }

// Members implements Module; SiLU has none.
func (*SiLU) Members() Members { return Members{} }

// Forward implements Layer.
func (l *SiLU) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x.SiLU()) }

// Tanh is the hyperbolic tangent (torch.nn.Tanh).
type Tanh struct{ Base }

// NewTanh makes a Tanh layer.
func NewTanh() *Tanh { return &Tanh{} }

// Members implements Module; Tanh has none.
func (*Tanh) Members() Members { return Members{} }

// Forward implements Layer.
func (l *Tanh) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x.Tanh()) }

// Sigmoid is 1/(1+e^−x) (torch.nn.Sigmoid).
type Sigmoid struct{ Base }

// NewSigmoid makes a Sigmoid layer.
func NewSigmoid() *Sigmoid { return &Sigmoid{} }

// Members implements Module; Sigmoid has none.
func (*Sigmoid) Members() Members { return Members{} }

// Forward implements Layer.
func (l *Sigmoid) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x.Sigmoid()) }

// LeakyReLU is x for x > 0 and NegativeSlope·x elsewhere
// (torch.nn.LeakyReLU, whose default slope is 0.01).
type LeakyReLU struct {
	Base
	NegativeSlope float64
}

// NewLeakyReLU makes a LeakyReLU layer; torch's default slope is 0.01.
func NewLeakyReLU(negativeSlope float64) *LeakyReLU { return &LeakyReLU{NegativeSlope: negativeSlope} }

// Members implements Module; LeakyReLU has none.
func (*LeakyReLU) Members() Members { return Members{} }

// Forward implements Layer. It is where(x > 0, x, slope·x) rather than
// max(x, slope·x): that is right for slopes above 1 too, and it gives the
// gradient at 0 torch gives (the slope), where Maximum would split it.
func (l *LeakyReLU) Forward(x *autograd.Var) *autograd.Var {
	out := autograd.Where(x.Data.GtScalar(0), x, x.MulScalar(l.NegativeSlope))
	return l.RunHooks(l, x, out)
}

// Softmax normalises exp(x) along Dim to sum to 1 (torch.nn.Softmax).
type Softmax struct {
	Base
	Dim int
}

// NewSoftmax makes a Softmax layer along dim (negative counts from the end).
func NewSoftmax(dim int) *Softmax { return &Softmax{Dim: dim} }

// Members implements Module; Softmax has none.
func (*Softmax) Members() Members { return Members{} }

// Forward implements Layer.
func (l *Softmax) Forward(x *autograd.Var) *autograd.Var { return l.RunHooks(l, x, x.Softmax(l.Dim)) }

// LogSoftmax is log(softmax(x)) along Dim, computed stably
// (torch.nn.LogSoftmax).
type LogSoftmax struct {
	Base
	Dim int
}

// NewLogSoftmax makes a LogSoftmax layer along dim.
func NewLogSoftmax(dim int) *LogSoftmax { return &LogSoftmax{Dim: dim} }

// Members implements Module; LogSoftmax has none.
func (*LogSoftmax) Members() Members { return Members{} }

// Forward implements Layer.
func (l *LogSoftmax) Forward(x *autograd.Var) *autograd.Var {
	return l.RunHooks(l, x, x.LogSoftmax(l.Dim))
}

// String methods print the layers as torch's reprs do.

func (*ReLU) String() string    { return "ReLU()" }
func (*SiLU) String() string    { return "SiLU()" }
func (*Tanh) String() string    { return "Tanh()" }
func (*Sigmoid) String() string { return "Sigmoid()" }

func (l *GELU) String() string {
	a := l.Approximate
	if a == "" {
		a = "none"
	}
	return fmt.Sprintf("GELU(approximate='%s')", a)
}

func (l *LeakyReLU) String() string {
	return fmt.Sprintf("LeakyReLU(negative_slope=%v)", l.NegativeSlope)
}

func (l *Softmax) String() string    { return fmt.Sprintf("Softmax(dim=%d)", l.Dim) }
func (l *LogSoftmax) String() string { return fmt.Sprintf("LogSoftmax(dim=%d)", l.Dim) }
