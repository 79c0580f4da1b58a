package nn

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/tensor"
)

// Initialisers, after torch.nn.init. Each one overwrites the elements of t
// in place (through CopyFrom, so t keeps its storage, dtype and device and
// every view of it sees the new values) and returns t for chaining:
//
//	nn.KaimingUniform(lin.Weight.Data, g, nn.KaimingOptions{A: math.Sqrt(5)})
//
// Random ones draw from g, or from tensor's default generator when g is nil
// (tensor.ManualSeed reseeds it). The same seed gives the same values, but
// not the values torch draws: the generators differ. A tensor with no
// elements is left alone.

// Uniform fills t with values drawn uniformly from [lo, hi).
func Uniform(t *tensor.Tensor, g *tensor.Generator, lo, hi float64) *tensor.Tensor {
	if t.Numel() > 0 {
		t.CopyFrom(tensor.Uniform(g, lo, hi, t.Shape(), tensor.WithDType(t.DType())))
	}
	return t
}

// Normal fills t with values drawn from N(mean, std²).
func Normal(t *tensor.Tensor, g *tensor.Generator, mean, std float64) *tensor.Tensor {
	if t.Numel() > 0 {
		t.CopyFrom(tensor.Normal(g, mean, std, t.Shape(), tensor.WithDType(t.DType())))
	}
	return t
}

// Constant fills t with v.
func Constant(t *tensor.Tensor, v float64) *tensor.Tensor {
	t.Fill_(v)
	return t
}

// Zeros fills t with 0.
func Zeros(t *tensor.Tensor) *tensor.Tensor { return Constant(t, 0) }

// Ones fills t with 1.
func Ones(t *tensor.Tensor) *tensor.Tensor { return Constant(t, 1) }

// Fans returns the fan-in and fan-out of a weight of the given shape, as
// torch.nn.init._calculate_fan_in_and_fan_out computes them: shape[1] and
// shape[0], each times the receptive field (the product of shape[2:]), so a
// Linear weight [out, in] has fan-in in and a Conv2d weight [out, in, kh, kw]
// has fan-in in·kh·kw. It panics (ValueError) for fewer than 2 dimensions.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.Fans", Shapes: [][]int{shape},
			Msg: "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions"})
	}
	receptive := 1
	for _, d := range shape[2:] {
		receptive *= d
	}
	return shape[1] * receptive, shape[0] * receptive
}

// CalculateGain returns torch.nn.init.calculate_gain's recommended scale for
// a nonlinearity: 1 for "linear", "conv1d" … "conv_transpose3d" and
// "sigmoid"; 5/3 for "tanh"; √2 for "relu"; √(2/(1+slope²)) for
// "leaky_relu" (param is the negative slope, 0.01 when omitted); 3/4 for
// "selu". Any other name panics (ValueError).
func CalculateGain(nonlinearity string, param ...float64) float64 {
	switch nonlinearity {
	case "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid":
		return 1
	case "tanh":
		return 5.0 / 3
	case "relu":
		return math.Sqrt2
	case "leaky_relu":
		slope := 0.01
		if len(param) > 0 {
			slope = param[0]
		}
		return math.Sqrt(2 / (1 + slope*slope))
	case "selu":
		return 3.0 / 4
	}
	panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.CalculateGain", Msg: fmt.Sprintf("unsupported nonlinearity %q", nonlinearity)})
}

// XavierUniform fills t with U(−a, a), a = gain·√(6/(fan_in+fan_out))
// (Glorot & Bengio 2010; torch's xavier_uniform_, whose gain defaults to 1).
func XavierUniform(t *tensor.Tensor, g *tensor.Generator, gain float64) *tensor.Tensor {
	fanIn, fanOut := Fans(t.Shape())
	a := math.Sqrt(3) * gain * math.Sqrt(2/float64(fanIn+fanOut))
	return Uniform(t, g, -a, a)
}

// XavierNormal fills t with N(0, std²), std = gain·√(2/(fan_in+fan_out)).
func XavierNormal(t *tensor.Tensor, g *tensor.Generator, gain float64) *tensor.Tensor {
	fanIn, fanOut := Fans(t.Shape())
	return Normal(t, g, 0, gain*math.Sqrt(2/float64(fanIn+fanOut)))
}

// FanMode picks the fan that Kaiming initialisation keeps the variance of.
type FanMode int

const (
	FanIn  FanMode = iota // the forward pass's variance (torch's default)
	FanOut                // the backward pass's variance
)

// KaimingOptions are kaiming_uniform_'s and kaiming_normal_'s arguments.
// The zero value is torch's defaults: a = 0, mode fan_in, nonlinearity
// "leaky_relu".
type KaimingOptions struct {
	A            float64 // the negative slope of the rectifier after this layer (leaky_relu only)
	Mode         FanMode
	Nonlinearity string // a CalculateGain name; "" means "leaky_relu"
}

func (o KaimingOptions) std(shape []int) float64 {
	fanIn, fanOut := Fans(shape)
	fan := fanIn
	if o.Mode == FanOut {
		fan = fanOut
	}
	nl := o.Nonlinearity
	if nl == "" {
		nl = "leaky_relu"
	}
	return CalculateGain(nl, o.A) / math.Sqrt(float64(fan))
}

// KaimingUniform fills t with U(−b, b), b = gain·√(3/fan) (He et al. 2015;
// torch's kaiming_uniform_). Linear's default weight is KaimingUniform with
// A = √5, which gives b = 1/√fan_in.
func KaimingUniform(t *tensor.Tensor, g *tensor.Generator, o KaimingOptions) *tensor.Tensor {
	if t.Numel() == 0 {
		return t
	}
	b := math.Sqrt(3) * o.std(t.Shape())
	return Uniform(t, g, -b, b)
}

// KaimingNormal fills t with N(0, std²), std = gain/√fan.
func KaimingNormal(t *tensor.Tensor, g *tensor.Generator, o KaimingOptions) *tensor.Tensor {
	if t.Numel() == 0 {
		return t
	}
	return Normal(t, g, 0, o.std(t.Shape()))
}

// Orthogonal fills t (at least 2-D, seen as a matrix of shape[0] rows and
// numel/shape[0] columns) with a random (semi-)orthogonal matrix times gain,
// as torch's orthogonal_ does (Saxe et al. 2013): the Q factor of a
// standard normal matrix, its signs fixed so that R has a positive
// diagonal, which makes Q uniformly (Haar) distributed. The rows are
// orthonormal when there are fewer rows than columns, the columns
// otherwise. Q is computed on the host in float64 by modified Gram–Schmidt,
// applied twice for stability, which suits the small matrices of layer
// weights.
func Orthogonal(t *tensor.Tensor, g *tensor.Generator, gain float64) *tensor.Tensor {
	shape := t.Shape()
	if len(shape) < 2 {
		panic(&tensor.Error{Kind: tensor.ValueError, Op: "nn.Orthogonal", Shapes: [][]int{shape},
			Msg: "only tensors with 2 or more dimensions are supported"})
	}
	if t.Numel() == 0 {
		return t
	}
	rows := shape[0]
	cols := t.Numel() / rows
	// Work on a tall matrix m×n (m >= n), transposing a wide one.
	m, n := rows, cols
	if rows < cols {
		m, n = cols, rows
	}
	a := tensor.RandN(g, []int{m, n}, tensor.WithDType(tensor.Float64)).Float64s()
	q := gramSchmidt(a, m, n)
	out := make([]float64, rows*cols)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := gain * q[i*n+j]
			if rows < cols {
				out[j*cols+i] = v // transpose back
			} else {
				out[i*n+j] = v
			}
		}
	}
	t.CopyFrom(tensor.FromSlice(out, shape...))
	return t
}

// gramSchmidt returns the m×n (m >= n) matrix whose orthonormal columns span
// those of a (row-major), each column the normalised residual of a's column
// after removing the previous ones: the Q of a = QR with diag(R) > 0.
func gramSchmidt(a []float64, m, n int) []float64 {
	q := append([]float64(nil), a...)
	for j := 0; j < n; j++ {
		for pass := 0; pass < 2; pass++ { // reorthogonalise: "twice is enough"
			for k := 0; k < j; k++ {
				dot := 0.0
				for i := 0; i < m; i++ {
					dot += q[i*n+k] * q[i*n+j]
				}
				for i := 0; i < m; i++ {
					q[i*n+j] -= dot * q[i*n+k]
				}
			}
		}
		norm := 0.0
		for i := 0; i < m; i++ {
			norm += q[i*n+j] * q[i*n+j]
		}
		norm = math.Sqrt(norm)
		for i := 0; i < m; i++ {
			q[i*n+j] /= norm
		}
	}
	return q
}
