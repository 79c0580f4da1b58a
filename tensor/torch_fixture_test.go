package tensor_test

// PyTorch reference fixtures: testdata/torch_ops.json holds inputs and
// torch's outputs for every tensor op (written by testdata/gen_fixtures.py,
// whose docstring describes the format). This test rebuilds each case's
// inputs, calls the matching Tessera op through torchOps and compares shape,
// dtype and values, so `go test` checks Tessera against PyTorch without
// Python. Regenerate the fixtures with
//
//	/usr/bin/python3 tensor/testdata/gen_fixtures.py

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

const (
	torchFixturePath   = "testdata/torch_ops.json"
	torchFixtureFormat = "tessera-torch-fixtures/1"
)

type torchFixtureFile struct {
	Format       string            `json:"format"`
	TorchVersion string            `json:"torch_version"`
	Ops          map[string]string `json:"ops"`
	Cases        []torchCase       `json:"cases"`
}

type torchCase struct {
	Name    string        `json:"name"`
	Op      string        `json:"op"`
	Args    torchArgs     `json:"args"`
	Inputs  []torchTensor `json:"inputs"`
	Output  *torchTensor  `json:"output"`
	Outputs []torchTensor `json:"outputs"`
	Error   string        `json:"error"` // torch raised this: Tessera must panic with *tensor.Error
}

// torchTensor is a tensor as the fixtures write it: data row-major, NaN and
// the infinities as the strings "nan", "inf", "-inf", then views applied in
// order.
type torchTensor struct {
	DType string             `json:"dtype"`
	Shape []int              `json:"shape"`
	Data  []json.RawMessage  `json:"data"`
	Views []map[string][]int `json:"views"`
}

// torchHarnessError marks a panic caused by a malformed fixture rather than
// by Tessera.
type torchHarnessError string

func torchBadFixture(format string, args ...any) {
	panic(torchHarnessError(fmt.Sprintf(format, args...)))
}

// ---------------------------------------------------------------- decoding

// torchDTypes maps torch's dtype names (which DType.String also uses) to
// Tessera's dtypes.
var torchDTypes = map[string]tensor.DType{
	"float32":  tensor.Float32,
	"float64":  tensor.Float64,
	"float16":  tensor.Float16,
	"bfloat16": tensor.BFloat16,
	"int32":    tensor.Int32,
	"int64":    tensor.Int64,
	"bool":     tensor.Bool,
}

func torchDType(name string) tensor.DType {
	dt, ok := torchDTypes[name]
	if !ok {
		torchBadFixture("unknown dtype %q", name)
	}
	return dt
}

// torchFloat decodes a JSON number, or one of "nan", "inf", "-inf". bits is
// 32 for values stored as float32 (and float16/bfloat16, which float32 holds
// exactly): the fixtures write the shortest decimal that round-trips
// float32, which must be parsed straight to float32.
func torchFloat(raw json.RawMessage, bits int) float64 {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			torchBadFixture("bad string %s: %v", s, err)
		}
		switch str {
		case "nan":
			return math.NaN()
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
		torchBadFixture("bad float %q", str)
	}
	v, err := strconv.ParseFloat(s, bits)
	if err != nil {
		torchBadFixture("bad float %s: %v", s, err)
	}
	return v
}

func (ft *torchTensor) floats() []float64 {
	bits := 32
	if ft.DType == "float64" {
		bits = 64
	}
	out := make([]float64, len(ft.Data))
	for i, r := range ft.Data {
		out[i] = torchFloat(r, bits)
	}
	return out
}

func (ft *torchTensor) ints() []int64 {
	out := make([]int64, len(ft.Data))
	for i, r := range ft.Data {
		v, err := strconv.ParseInt(strings.TrimSpace(string(r)), 10, 64)
		if err != nil {
			torchBadFixture("bad integer %s: %v", r, err)
		}
		out[i] = v
	}
	return out
}

func (ft *torchTensor) bools() []bool {
	out := make([]bool, len(ft.Data))
	for i, r := range ft.Data {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			torchBadFixture("bad bool %s: %v", r, err)
		}
	}
	return out
}

// build makes the tensor with FromSlice (through float32 for the 16-bit
// floats, whose values float32 holds exactly), then applies the views.
func (ft *torchTensor) build() *tensor.Tensor {
	dt := torchDType(ft.DType)
	shape := append([]int{}, ft.Shape...) // non-nil: [] is a 0-d shape
	var x *tensor.Tensor
	switch dt {
	case tensor.Float64:
		x = tensor.FromSlice(ft.floats(), shape...)
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		f := ft.floats()
		f32 := make([]float32, len(f))
		for i, v := range f {
			f32[i] = float32(v)
		}
		x = tensor.FromSlice(f32, shape...).Cast(dt)
	case tensor.Int64:
		x = tensor.FromSlice(ft.ints(), shape...)
	case tensor.Int32:
		v := ft.ints()
		i32 := make([]int32, len(v))
		for i, e := range v {
			i32[i] = int32(e)
		}
		x = tensor.FromSlice(i32, shape...)
	case tensor.Bool:
		x = tensor.FromSlice(ft.bools(), shape...)
	}
	for _, v := range ft.Views {
		if len(v) != 1 {
			torchBadFixture("a view entry needs exactly one key, got %v", v)
		}
		for k, a := range v {
			x = torchApplyView(x, k, a)
		}
	}
	return x
}

func torchApplyView(x *tensor.Tensor, kind string, a []int) *tensor.Tensor {
	need := func(n int) {
		if len(a) != n {
			torchBadFixture("view %s takes %d arguments, got %v", kind, n, a)
		}
	}
	switch kind {
	case "transpose":
		need(2)
		return x.Transpose(a[0], a[1])
	case "permute":
		return x.Permute(a...)
	case "t":
		need(0)
		return x.T()
	case "slice":
		need(4)
		return x.Slice(a[0], a[1], a[2], a[3])
	case "narrow":
		need(3)
		return x.Narrow(a[0], a[1], a[2])
	case "index":
		need(2)
		return x.Index(a[0], a[1])
	case "expand":
		return x.Expand(a...)
	case "unsqueeze":
		need(1)
		return x.Unsqueeze(a[0])
	case "squeeze":
		return x.Squeeze(a...)
	case "reshape":
		return x.Reshape(a...)
	}
	torchBadFixture("unknown view %q", kind)
	return nil
}

// torchArgs are a case's op parameters.
type torchArgs map[string]json.RawMessage

func (a torchArgs) raw(key string) json.RawMessage {
	r, ok := a[key]
	if !ok {
		torchBadFixture("missing argument %q", key)
	}
	return r
}

func (a torchArgs) isNull(key string) bool {
	r, ok := a[key]
	return !ok || strings.TrimSpace(string(r)) == "null"
}

func (a torchArgs) int(key string) int {
	var v int
	if err := json.Unmarshal(a.raw(key), &v); err != nil {
		torchBadFixture("argument %q: %v", key, err)
	}
	return v
}

// ints decodes a list of integers; null gives nil (all axes).
func (a torchArgs) ints(key string) []int {
	if a.isNull(key) {
		return nil
	}
	var v []int
	if err := json.Unmarshal(a.raw(key), &v); err != nil {
		torchBadFixture("argument %q: %v", key, err)
	}
	return v
}

func (a torchArgs) float(key string) float64 { return torchFloat(a.raw(key), 64) }

func (a torchArgs) bool(key string) bool {
	var v bool
	if err := json.Unmarshal(a.raw(key), &v); err != nil {
		torchBadFixture("argument %q: %v", key, err)
	}
	return v
}

func (a torchArgs) str(key string) string {
	var v string
	if err := json.Unmarshal(a.raw(key), &v); err != nil {
		torchBadFixture("argument %q: %v", key, err)
	}
	return v
}

// ---------------------------------------------------------------- dispatch

// torchOp runs one fixture op on the rebuilt inputs.
type torchOp func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor

type torchTensorFn = func(*tensor.Tensor) *tensor.Tensor

func torchOne(x *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{x} }

func torchUnary(f torchTensorFn) torchOp {
	return func(_ torchArgs, in []*tensor.Tensor) []*tensor.Tensor { return torchOne(f(in[0])) }
}

func torchBinary(f func(x, y *tensor.Tensor) *tensor.Tensor) torchOp {
	return func(_ torchArgs, in []*tensor.Tensor) []*tensor.Tensor { return torchOne(f(in[0], in[1])) }
}

func torchScalar(f func(*tensor.Tensor, float64) *tensor.Tensor) torchOp {
	return func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(f(in[0], a.float("scalar")))
	}
}

// torchReduce calls drop or keep (Sum or SumKeep, ...) with args "axes"
// (null: all axes) and "keepdim".
func torchReduce(drop, keep func(*tensor.Tensor, ...int) *tensor.Tensor) torchOp {
	return func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		axes := a.ints("axes")
		if a.bool("keepdim") {
			return torchOne(keep(in[0], axes...))
		}
		return torchOne(drop(in[0], axes...))
	}
}

// torchVar is torch.var / torch.std (sqrt true) with "correction" (0 or 1),
// "axes" and "keepdim". Tessera's Var/Std cover correction 1 without
// keepdim; the other combinations go through VarCorrected (which is what
// Var and Std call).
func torchVar(sqrt bool) torchOp {
	return func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		axes, corr, keep := a.ints("axes"), a.int("correction"), a.bool("keepdim")
		switch {
		case corr == 1 && !keep && sqrt:
			return torchOne(in[0].Std(axes...))
		case corr == 1 && !keep:
			return torchOne(in[0].Var(axes...))
		}
		v := in[0].VarCorrected(corr, keep, axes...)
		if sqrt {
			v = v.Sqrt()
		}
		return torchOne(v)
	}
}

// torchArgReduce is torch.argmax/argmin with "axis" (null: flattened) and
// "keepdim".
func torchArgReduce(drop func(*tensor.Tensor, ...int) *tensor.Tensor, keep func(*tensor.Tensor, int) *tensor.Tensor) torchOp {
	return func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		if a.isNull("axis") {
			if a.bool("keepdim") {
				torchBadFixture("keepdim without an axis is not supported")
			}
			return torchOne(drop(in[0]))
		}
		if a.bool("keepdim") {
			return torchOne(keep(in[0], a.int("axis")))
		}
		return torchOne(drop(in[0], a.int("axis")))
	}
}

// torchOps maps every op name in the fixtures to the Tessera call it tests.
// The fixture file's "ops" object says which torch expression each name is.
var torchOps = map[string]torchOp{
	"neg":       torchUnary((*tensor.Tensor).Neg),
	"abs":       torchUnary((*tensor.Tensor).Abs),
	"sign":      torchUnary((*tensor.Tensor).Sign),
	"exp":       torchUnary((*tensor.Tensor).Exp),
	"log":       torchUnary((*tensor.Tensor).Log),
	"sqrt":      torchUnary((*tensor.Tensor).Sqrt),
	"rsqrt":     torchUnary((*tensor.Tensor).Rsqrt),
	"sin":       torchUnary((*tensor.Tensor).Sin),
	"cos":       torchUnary((*tensor.Tensor).Cos),
	"tanh":      torchUnary((*tensor.Tensor).Tanh),
	"sigmoid":   torchUnary((*tensor.Tensor).Sigmoid),
	"relu":      torchUnary((*tensor.Tensor).ReLU),
	"gelu":      torchUnary((*tensor.Tensor).GELU),
	"gelu_tanh": torchUnary((*tensor.Tensor).GELUTanh),
	"silu":      torchUnary((*tensor.Tensor).SiLU),
	"recip":     torchUnary((*tensor.Tensor).Recip),
	"square":    torchUnary((*tensor.Tensor).Square),
	"erf":       torchUnary((*tensor.Tensor).Erf),
	"log1p":     torchUnary((*tensor.Tensor).Log1p),
	"expm1":     torchUnary((*tensor.Tensor).Expm1),
	"floor":     torchUnary((*tensor.Tensor).Floor),
	"ceil":      torchUnary((*tensor.Tensor).Ceil),
	"round":     torchUnary((*tensor.Tensor).Round),
	"clamp": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Clamp(a.float("min"), a.float("max")))
	},

	"add":     torchBinary((*tensor.Tensor).Add),
	"sub":     torchBinary((*tensor.Tensor).Sub),
	"mul":     torchBinary((*tensor.Tensor).Mul),
	"div":     torchBinary((*tensor.Tensor).Div),
	"pow":     torchBinary((*tensor.Tensor).Pow),
	"maximum": torchBinary((*tensor.Tensor).Maximum),
	"minimum": torchBinary((*tensor.Tensor).Minimum),
	"eq":      torchBinary((*tensor.Tensor).Eq),
	"ne":      torchBinary((*tensor.Tensor).Ne),
	"lt":      torchBinary((*tensor.Tensor).Lt),
	"le":      torchBinary((*tensor.Tensor).Le),
	"gt":      torchBinary((*tensor.Tensor).Gt),
	"ge":      torchBinary((*tensor.Tensor).Ge),

	"add_scalar":     torchScalar((*tensor.Tensor).AddScalar),
	"sub_scalar":     torchScalar((*tensor.Tensor).SubScalar),
	"mul_scalar":     torchScalar((*tensor.Tensor).MulScalar),
	"div_scalar":     torchScalar((*tensor.Tensor).DivScalar),
	"pow_scalar":     torchScalar((*tensor.Tensor).PowScalar),
	"rsub_scalar":    torchScalar((*tensor.Tensor).RSubScalar),
	"rdiv_scalar":    torchScalar((*tensor.Tensor).RDivScalar),
	"maximum_scalar": torchScalar((*tensor.Tensor).MaximumScalar),
	"minimum_scalar": torchScalar((*tensor.Tensor).MinimumScalar),
	"eq_scalar":      torchScalar((*tensor.Tensor).EqScalar),
	"ne_scalar":      torchScalar((*tensor.Tensor).NeScalar),
	"lt_scalar":      torchScalar((*tensor.Tensor).LtScalar),
	"le_scalar":      torchScalar((*tensor.Tensor).LeScalar),
	"gt_scalar":      torchScalar((*tensor.Tensor).GtScalar),
	"ge_scalar":      torchScalar((*tensor.Tensor).GeScalar),

	"where": func(_ torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(tensor.Where(in[0], in[1], in[2]))
	},

	"sum":       torchReduce((*tensor.Tensor).Sum, (*tensor.Tensor).SumKeep),
	"mean":      torchReduce((*tensor.Tensor).Mean, (*tensor.Tensor).MeanKeep),
	"max":       torchReduce((*tensor.Tensor).Max, (*tensor.Tensor).MaxKeep),
	"min":       torchReduce((*tensor.Tensor).Min, (*tensor.Tensor).MinKeep),
	"prod":      torchReduce((*tensor.Tensor).Prod, (*tensor.Tensor).ProdKeep),
	"logsumexp": torchReduce((*tensor.Tensor).LogSumExp, (*tensor.Tensor).LogSumExpKeep),
	"var":       torchVar(false),
	"std":       torchVar(true),
	"argmax":    torchArgReduce((*tensor.Tensor).ArgMax, (*tensor.Tensor).ArgMaxKeep),
	"argmin":    torchArgReduce((*tensor.Tensor).ArgMin, (*tensor.Tensor).ArgMinKeep),

	"matmul": torchBinary((*tensor.Tensor).MatMul),
	"softmax": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Softmax(a.int("axis")))
	},
	"log_softmax": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].LogSoftmax(a.int("axis")))
	},

	"gather": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Gather(a.int("axis"), in[1]))
	},
	"index_select": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].IndexSelect(a.int("axis"), in[1]))
	},
	"scatter_add": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].ScatterAdd(a.int("axis"), in[1], in[2]))
	},
	"one_hot": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(tensor.OneHot(in[0], a.int("num_classes")))
	},

	"cat": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(tensor.Cat(in, a.int("axis")))
	},
	"stack": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(tensor.Stack(in, a.int("axis")))
	},
	"split": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return in[0].Split(a.int("size"), a.int("axis"))
	},
	"split_sizes": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return in[0].SplitSizes(a.ints("sizes"), a.int("axis"))
	},
	"chunk": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return in[0].Chunk(a.int("chunks"), a.int("axis"))
	},

	"cast": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Cast(torchDType(a.str("dtype"))))
	},
	"cast_roundtrip": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Cast(torchDType(a.str("via"))).Cast(in[0].DType()))
	},
	// runTorchCase also checks that the result reports IsContiguous.
	"contiguous": torchUnary((*tensor.Tensor).Contiguous),
	"reshape": func(a torchArgs, in []*tensor.Tensor) []*tensor.Tensor {
		return torchOne(in[0].Reshape(a.ints("shape")...))
	},
}

// -------------------------------------------------------------- tolerances

// torchTol is the allowed difference |got - want| <= abs + rel*|want| for
// finite values. NaN must meet NaN and an infinity the same infinity; the
// sign of zero is not checked.
type torchTol struct{ rel, abs float64 }

var (
	// float64 is Tessera's reference precision: arithmetic, sums and
	// products of a few dozen terms agree with torch to a few ulp.
	torchTolF64 = torchTol{rel: 1e-12, abs: 1e-12}
	// float64 ops built on exp/log/trig/erf/pow: neither torch (SLEEF and
	// libm vector kernels) nor Go's math package rounds these correctly,
	// each is good to a few ulp, and composites (softmax, logsumexp,
	// gelu, ...) chain several of them, so allow 1e-10.
	torchTolF64Transcendental = torchTol{rel: 1e-10, abs: 1e-10}
	// float32: a few ulp (ulp = 6e-8 relative) with room for a different
	// order of accumulation over the short (<= 64 term) reductions here.
	torchTolF32 = torchTol{rel: 1e-5, abs: 1e-6}
	// float32 matmul: an entry is a dot product of up to 33 terms whose
	// magnitudes sum to ~20 while the result cancels to ~0.1, and GEMM
	// kernels legitimately differ in blocking order and FMA use, so the
	// rounding differences are absolute (k·eps·Σ|a·b| bounds them at
	// ~4e-5; a few 1e-6 is typical: 1.25e-6 was observed against torch on
	// matmul_f32_mm_large, beside a default bound of 2e-6 there). The
	// absolute part is raised to 1e-5; the relative part is unchanged.
	torchTolF32MatMul = torchTol{rel: 1e-5, abs: 1e-5}
	// float16/bfloat16 results are a float32 computation rounded once to
	// 16 bits (casts, add, mul): they must match exactly.
	torchTolHalf = torchTol{}
)

// torchTranscendental lists the ops whose float64 results use
// torchTolF64Transcendental.
var torchTranscendental = map[string]bool{
	"exp": true, "log": true, "rsqrt": true, "sin": true, "cos": true, "tanh": true,
	"sigmoid": true, "gelu": true, "gelu_tanh": true, "silu": true, "erf": true,
	"log1p": true, "expm1": true, "pow": true, "pow_scalar": true,
	"logsumexp": true, "softmax": true, "log_softmax": true,
}

func torchTolerance(op, dtype string) torchTol {
	switch dtype {
	case "float64":
		if torchTranscendental[op] {
			return torchTolF64Transcendental
		}
		return torchTolF64
	case "float32":
		if op == "matmul" {
			return torchTolF32MatMul
		}
		return torchTolF32
	}
	return torchTolHalf
}

func torchClose(got, want float64, tol torchTol) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol.abs+tol.rel*math.Abs(want)
}

// ------------------------------------------------------------------ runner

func loadTorchFixtures(t *testing.T) *torchFixtureFile {
	t.Helper()
	b, err := os.ReadFile(torchFixturePath)
	if err != nil {
		t.Fatalf("reading PyTorch fixtures: %v (regenerate with /usr/bin/python3 tensor/testdata/gen_fixtures.py)", err)
	}
	var f torchFixtureFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decoding %s: %v", torchFixturePath, err)
	}
	if f.Format != torchFixtureFormat {
		t.Fatalf("%s has format %q, this test reads %q", torchFixturePath, f.Format, torchFixtureFormat)
	}
	if f.TorchVersion == "" || len(f.Cases) == 0 {
		t.Fatalf("%s: no torch_version or no cases", torchFixturePath)
	}
	return &f
}

func TestTorchFixtures(t *testing.T) {
	f := loadTorchFixtures(t)

	// Every op the fixtures use must have a dispatch entry, so that no
	// case can be skipped silently.
	ops := map[string]bool{}
	for op := range f.Ops {
		ops[op] = true
	}
	names := map[string]bool{}
	for _, c := range f.Cases {
		ops[c.Op] = true
		if c.Name == "" || names[c.Name] {
			t.Errorf("case name %q is empty or repeated", c.Name)
		}
		names[c.Name] = true
	}
	var missing []string
	for op := range ops {
		if torchOps[op] == nil {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("ops in %s with no entry in torchOps: %v", torchFixturePath, missing)
	}

	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) { runTorchCase(t, &c) })
	}
}

// torchCall runs f and returns what it panicked with (nil if nothing) and,
// for a panic that is not a *tensor.Error, the stack.
func torchCall(f func()) (r any, stack string) {
	defer func() {
		if r = recover(); r != nil {
			if _, ok := r.(*tensor.Error); !ok {
				if _, ok := r.(torchHarnessError); !ok {
					stack = torchShortStack()
				}
			}
		}
	}()
	f()
	return nil, ""
}

// torchShortStack is the stack from the panicking frame, a few frames deep.
func torchShortStack() string {
	lines := strings.Split(string(debug.Stack()), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			lines = lines[i:]
			break
		}
	}
	return strings.Join(lines[:min(len(lines), 16)], "\n")
}

func runTorchCase(t *testing.T, c *torchCase) {
	fn := torchOps[c.Op]
	if fn == nil {
		t.Fatalf("op %q has no entry in torchOps", c.Op)
	}
	var in []*tensor.Tensor
	if r, stack := torchCall(func() {
		for i := range c.Inputs {
			in = append(in, c.Inputs[i].build())
		}
	}); r != nil {
		t.Fatalf("building inputs panicked: %v\n%s", r, stack)
	}

	if c.Error != "" {
		var out []*tensor.Tensor
		r, stack := torchCall(func() { out = fn(c.Args, in) })
		switch r.(type) {
		case nil:
			t.Errorf("torch raised %s; Tessera returned %s without panicking", c.Error, torchDescribe(out))
		case *tensor.Error:
			// As expected.
		default:
			t.Errorf("torch raised %s; Tessera panicked with %T, not *tensor.Error: %v\n%s", c.Error, r, r, stack)
		}
		return
	}

	var got []*tensor.Tensor
	if r, stack := torchCall(func() { got = fn(c.Args, in) }); r != nil {
		t.Fatalf("%s panicked: %v\n%s", c.Op, r, stack)
	}
	want := c.Outputs
	if c.Output != nil {
		want = []torchTensor{*c.Output}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outputs %s, torch gives %d", len(got), torchDescribe(got), len(want))
	}
	for i := range want {
		what := "output"
		if len(want) > 1 {
			what = fmt.Sprintf("output %d", i)
		}
		if r, stack := torchCall(func() { torchCompare(t, c.Op, what, got[i], &want[i]) }); r != nil {
			t.Fatalf("reading %s panicked: %v\n%s", what, r, stack)
		}
	}
	if c.Op == "contiguous" && !got[0].IsContiguous() {
		t.Errorf("Contiguous returned shape %v with strides %v, which IsContiguous rejects (torch: is_contiguous() is true)",
			got[0].Shape(), got[0].Strides())
	}
}

func torchDescribe(ts []*tensor.Tensor) string {
	parts := make([]string, len(ts))
	for i, x := range ts {
		parts[i] = fmt.Sprintf("%v%v", x.DType(), x.Shape())
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// torchCompare checks got against torch's want: dtype, shape, then values
// (exact for integers and bools, within torchTolerance for floats). A dtype
// mismatch is reported and the values are still compared.
func torchCompare(t *testing.T, op, what string, got *tensor.Tensor, want *torchTensor) {
	t.Helper()
	if g := got.DType().String(); g != want.DType {
		t.Errorf("%s dtype: got %s, torch gives %s", what, g, want.DType)
	}
	if !slices.Equal(got.Shape(), want.Shape) {
		t.Errorf("%s shape: got %v, torch gives %v", what, got.Shape(), want.Shape)
		return
	}
	const show = 6
	var bad []string
	nbad := 0
	switch want.DType {
	case "int32", "int64":
		g, w := got.Int64s(), want.ints()
		for i := range w {
			if g[i] != w[i] {
				if nbad++; nbad <= show {
					bad = append(bad, fmt.Sprintf("[%d] got %d, want %d", i, g[i], w[i]))
				}
			}
		}
	case "bool":
		g, w := got.Bools(), want.bools()
		for i := range w {
			if g[i] != w[i] {
				if nbad++; nbad <= show {
					bad = append(bad, fmt.Sprintf("[%d] got %v, want %v", i, g[i], w[i]))
				}
			}
		}
	default:
		tol := torchTolerance(op, want.DType)
		g, w := got.Float64s(), want.floats()
		for i := range w {
			if !torchClose(g[i], w[i], tol) {
				if nbad++; nbad <= show {
					bad = append(bad, fmt.Sprintf("[%d] got %.17g, want %.17g (diff %.3g)", i, g[i], w[i], g[i]-w[i]))
				}
			}
		}
		if nbad > 0 {
			bad = append(bad, fmt.Sprintf("tolerance rel %g abs %g", tol.rel, tol.abs))
		}
	}
	if nbad > 0 {
		t.Errorf("%s: %d of %d values differ from torch:\n\t%s", what, nbad, len(want.Data), strings.Join(bad, "\n\t"))
	}
}
