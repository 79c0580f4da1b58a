package tensor_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

var floatTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16}

// broadcastIndex maps a row-major index of out to the row-major index of an
// operand of shape s under broadcasting.
func broadcastIndex(out []int, s []int, flat int) int {
	idx := make([]int, len(out))
	for d := len(out) - 1; d >= 0; d-- {
		idx[d] = flat % out[d]
		flat /= out[d]
	}
	k, stride := 0, 1
	for d := len(s) - 1; d >= 0; d-- {
		od := d + len(out) - len(s)
		i := idx[od]
		if s[d] == 1 {
			i = 0
		}
		k += i * stride
		stride *= s[d]
	}
	return k
}

func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

var unaryRefs = []struct {
	name string
	f    func(*tensor.Tensor) *tensor.Tensor
	ref  func(float64) float64
	pos  bool // needs positive inputs
}{
	{"Neg", (*tensor.Tensor).Neg, func(x float64) float64 { return -x }, false},
	{"Abs", (*tensor.Tensor).Abs, math.Abs, false},
	{"Sign", (*tensor.Tensor).Sign, func(x float64) float64 {
		if x > 0 {
			return 1
		} else if x < 0 {
			return -1
		}
		return 0
	}, false},
	{"Exp", (*tensor.Tensor).Exp, math.Exp, false},
	{"Log", (*tensor.Tensor).Log, math.Log, true},
	{"Sqrt", (*tensor.Tensor).Sqrt, math.Sqrt, true},
	{"Rsqrt", (*tensor.Tensor).Rsqrt, func(x float64) float64 { return 1 / math.Sqrt(x) }, true},
	{"Sin", (*tensor.Tensor).Sin, math.Sin, false},
	{"Cos", (*tensor.Tensor).Cos, math.Cos, false},
	{"Tanh", (*tensor.Tensor).Tanh, math.Tanh, false},
	{"Sigmoid", (*tensor.Tensor).Sigmoid, sigmoid, false},
	{"ReLU", (*tensor.Tensor).ReLU, func(x float64) float64 { return math.Max(x, 0) }, false},
	{"GELU", (*tensor.Tensor).GELU, gelu, false},
	{"GELUTanh", (*tensor.Tensor).GELUTanh, geluTanh, false},
	{"SiLU", (*tensor.Tensor).SiLU, func(x float64) float64 { return x * sigmoid(x) }, false},
	{"Square", (*tensor.Tensor).Square, func(x float64) float64 { return x * x }, false},
	{"Recip", (*tensor.Tensor).Recip, func(x float64) float64 { return 1 / x }, true},
	{"Erf", (*tensor.Tensor).Erf, math.Erf, false},
	{"Log1p", (*tensor.Tensor).Log1p, math.Log1p, true},
	{"Expm1", (*tensor.Tensor).Expm1, math.Expm1, false},
	{"Floor", (*tensor.Tensor).Floor, math.Floor, false},
	{"Ceil", (*tensor.Tensor).Ceil, math.Ceil, false},
	{"Round", (*tensor.Tensor).Round, math.RoundToEven, false},
}

func TestUnaryAgainstReference(t *testing.T) {
	g := tensor.NewGenerator(1)
	shapes := [][]int{{}, {0}, {7}, {3, 5}, {2, 3, 4}}
	for _, op := range unaryRefs {
		for _, dt := range floatTypes {
			for _, kind := range layoutKinds {
				for _, shape := range shapes {
					name := fmt.Sprintf("%s/%v/%s/%v", op.name, dt, kind, shape)
					x := makeInput(t, g, kind, shape, dt)
					if op.pos {
						x = x.Abs().AddScalar(0.1)
					}
					got := op.f(x)
					if got.DType() != dt {
						t.Fatalf("%s: dtype %v, want %v", name, got.DType(), dt)
					}
					checkShape(t, name, got, shape)
					in := rowMajor(x)
					want := make([]float64, len(in))
					for i, v := range in {
						want[i] = op.ref(v)
					}
					// The reference is applied to the input as stored, then
					// rounded to dt like the kernel's output.
					wantT := tensor.FromSlice(want, shape...).Cast(dt)
					tol := tolFor(dt)
					if dt == tensor.Float32 {
						tol = 4e-6
					}
					checkClose(t, name, rowMajor(got), rowMajor(wantT), tol)
				}
			}
		}
	}
}

func TestUnaryIntegerInputs(t *testing.T) {
	x := tensor.FromSlice([]int64{-2, 0, 3})
	if got := x.Neg().Int64s(); !slices.Equal(got, []int64{2, 0, -3}) || x.Neg().DType() != tensor.Int64 {
		t.Fatalf("Neg on int64 = %v (%v)", got, x.Neg().DType())
	}
	if got := x.Abs(); got.DType() != tensor.Int64 || !slices.Equal(got.Int64s(), []int64{2, 0, 3}) {
		t.Fatalf("Abs on int64 = %v", got.Int64s())
	}
	e := x.Exp()
	if e.DType() != tensor.Float32 {
		t.Fatalf("Exp of int64 has dtype %v, want float32 (PyTorch promotes)", e.DType())
	}
	checkClose(t, "Exp int", e.Float64s(), []float64{math.Exp(-2), 1, math.Exp(3)}, 1e-6)
}

var binaryRefs = []struct {
	name  string
	f     func(a, b *tensor.Tensor) *tensor.Tensor
	ref   func(a, b float64) float64
	ints  bool
	bpos  bool
	apos  bool
	isCmp bool
}{
	{"Add", (*tensor.Tensor).Add, func(a, b float64) float64 { return a + b }, true, false, false, false},
	{"Sub", (*tensor.Tensor).Sub, func(a, b float64) float64 { return a - b }, true, false, false, false},
	{"Mul", (*tensor.Tensor).Mul, func(a, b float64) float64 { return a * b }, true, false, false, false},
	{"Div", (*tensor.Tensor).Div, func(a, b float64) float64 { return a / b }, false, true, false, false},
	{"Pow", (*tensor.Tensor).Pow, math.Pow, false, false, true, false},
	{"Maximum", (*tensor.Tensor).Maximum, math.Max, true, false, false, false},
	{"Minimum", (*tensor.Tensor).Minimum, math.Min, true, false, false, false},
	{"Eq", (*tensor.Tensor).Eq, func(a, b float64) float64 { return b2f(a == b) }, true, false, false, true},
	{"Ne", (*tensor.Tensor).Ne, func(a, b float64) float64 { return b2f(a != b) }, true, false, false, true},
	{"Lt", (*tensor.Tensor).Lt, func(a, b float64) float64 { return b2f(a < b) }, true, false, false, true},
	{"Le", (*tensor.Tensor).Le, func(a, b float64) float64 { return b2f(a <= b) }, true, false, false, true},
	{"Gt", (*tensor.Tensor).Gt, func(a, b float64) float64 { return b2f(a > b) }, true, false, false, true},
	{"Ge", (*tensor.Tensor).Ge, func(a, b float64) float64 { return b2f(a >= b) }, true, false, false, true},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestBinaryAgainstReference(t *testing.T) {
	g := tensor.NewGenerator(2)
	pairs := [][2][]int{
		{{}, {}}, {{4}, {}}, {{}, {3, 2}}, {{3, 4}, {3, 4}}, {{3, 1, 4}, {2, 1}},
		{{2, 3, 4}, {4}}, {{0, 3}, {1, 3}}, {{5, 1}, {1, 6}},
	}
	dts := append(slices.Clone(floatTypes), tensor.Int32, tensor.Int64)
	for _, op := range binaryRefs {
		for _, dt := range dts {
			if dt.IsInt() && !op.ints {
				continue
			}
			for _, kind := range layoutKinds {
				for _, p := range pairs {
					name := fmt.Sprintf("%s/%v/%s/%v,%v", op.name, dt, kind, p[0], p[1])
					a := makeInput(t, g, kind, p[0], dt)
					b := makeInput(t, g, "contiguous", p[1], dt)
					if op.apos {
						a = a.Abs().AddScalar(0.5)
					}
					if op.bpos {
						b = b.Abs().AddScalar(0.5)
					}
					if dt.IsFloat() && op.isCmp {
						// Make some elements equal so Eq/Le/Ge see ties.
						b = b.Round().DivScalar(2)
						a = a.Round().DivScalar(2)
					}
					got := op.f(a, b)
					out, _ := tensor.BroadcastShapes(p[0], p[1])
					checkShape(t, name, got, out)
					wantDT := dt
					if op.isCmp {
						wantDT = tensor.Bool
					}
					if got.DType() != wantDT {
						t.Fatalf("%s: dtype %v, want %v", name, got.DType(), wantDT)
					}
					av, bv := rowMajor(a), rowMajor(b)
					n := len(rowMajor(got))
					want := make([]float64, n)
					for i := range want {
						want[i] = op.ref(av[broadcastIndex(out, p[0], i)], bv[broadcastIndex(out, p[1], i)])
					}
					wantT := tensor.FromSlice(want, out...).Cast(wantDT)
					checkClose(t, name, rowMajor(got), rowMajor(wantT), tolFor(dt))
				}
			}
		}
	}
}

func TestTypePromotion(t *testing.T) {
	cases := []struct {
		a, b, want tensor.DType
	}{
		{tensor.Int32, tensor.Float32, tensor.Float32},
		{tensor.Int64, tensor.Int32, tensor.Int64},
		{tensor.Float16, tensor.BFloat16, tensor.Float32},
		{tensor.Float16, tensor.Float64, tensor.Float64},
		{tensor.Bool, tensor.Int32, tensor.Int32},
		{tensor.Bool, tensor.Float16, tensor.Float16},
	}
	for _, c := range cases {
		a := tensor.Ones([]int{2}, tensor.WithDType(c.a))
		b := tensor.Ones([]int{2}, tensor.WithDType(c.b))
		if got := a.Add(b).DType(); got != c.want {
			t.Errorf("%v + %v = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	i := tensor.FromSlice([]int64{1, 2})
	if d := i.Div(i).DType(); d != tensor.Float32 {
		t.Errorf("int64 / int64 has dtype %v, want float32", d)
	}
	if d := i.AddScalar(1).DType(); d != tensor.Int64 {
		t.Errorf("int64 + 1 has dtype %v, want int64", d)
	}
	if d := i.AddScalar(0.5).DType(); d != tensor.Float32 {
		t.Errorf("int64 + 0.5 has dtype %v, want float32", d)
	}
	if got := i.PowScalar(3).Int64s(); !slices.Equal(got, []int64{1, 8}) {
		t.Errorf("int pow = %v", got)
	}
}

func TestNaNPropagation(t *testing.T) {
	nan := math.NaN()
	a := tensor.FromSlice([]float32{1, float32(nan), 3})
	b := tensor.FromSlice([]float32{float32(nan), 2, 1})
	for _, r := range [][]float64{a.Maximum(b).Float64s(), a.Minimum(b).Float64s()} {
		if !math.IsNaN(r[0]) || !math.IsNaN(r[1]) {
			t.Fatalf("Maximum/Minimum must propagate NaN, got %v", r)
		}
	}
	if got := a.Max().Item(); !math.IsNaN(got) {
		t.Fatalf("Max with NaN = %v, want NaN", got)
	}
	if got := a.ArgMax().Item(); got != 1 {
		t.Fatalf("ArgMax with NaN = %v, want 1", got)
	}
	if got := a.Ne(a).Bools(); !slices.Equal(got, []bool{false, true, false}) {
		t.Fatalf("NaN != NaN: %v", got)
	}
	if got := a.Clamp(0, 2).Float64s(); got[0] != 1 || !math.IsNaN(got[1]) || got[2] != 2 {
		t.Fatalf("Clamp = %v", got)
	}
	s := tensor.FromSlice([]float32{-1000, 0, 1000}).Sigmoid().Float64s()
	if s[0] != 0 || s[1] != 0.5 || s[2] != 1 {
		t.Fatalf("Sigmoid at ±1000 = %v", s)
	}
}

func TestWhere(t *testing.T) {
	g := tensor.NewGenerator(3)
	for _, kind := range layoutKinds {
		c := makeInput(t, g, kind, []int{3, 4}, tensor.Bool)
		a := makeInput(t, g, kind, []int{3, 4}, tensor.Float32)
		b := tensor.Scalar(-7)
		got := tensor.Where(c, a, b)
		cv, av := rowMajor(c), rowMajor(a)
		want := make([]float64, 12)
		for i := range want {
			want[i] = -7
			if cv[i] != 0 {
				want[i] = av[i]
			}
		}
		checkClose(t, "Where/"+kind, rowMajor(got), want, 0)
	}
	for _, dt := range []tensor.DType{tensor.Float16, tensor.BFloat16, tensor.Int32, tensor.Bool} {
		a := tensor.Ones([]int{2}, tensor.WithDType(dt))
		b := tensor.Zeros([]int{2}, tensor.WithDType(dt))
		got := tensor.Where(tensor.FromSlice([]bool{true, false}), a, b)
		if got.DType() != dt || !slices.Equal(got.Float64s(), []float64{1, 0}) {
			t.Fatalf("Where on %v = %v (%v)", dt, got.Float64s(), got.DType())
		}
	}
	e := mustPanic(t, func() { tensor.Where(tensor.Ones([]int{2}), tensor.Ones([]int{2}), tensor.Ones([]int{2})) })
	if e.Kind != tensor.DTypeError {
		t.Fatalf("Where with float condition: %v", e)
	}
}
