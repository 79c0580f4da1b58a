package backend

// Op identifies a primitive kernel. Every primitive is one entry of the ops
// table below: its name (also the stem of its CUDA kernel symbol, e.g.
// "exp" -> "uexp_f32"), its family and arity. Composite operations (Var,
// LogSumExp, Clamp, ...) are written in package tensor from these primitives
// and need no entry here.
type Op uint8

// Family groups ops that share one kernel entry point of Backend.
type Family uint8

const (
	FamilyUnary     Family = iota // Backend.Unary: out = f(x)
	FamilyBinary                  // Backend.Binary: out = f(a, b)
	FamilyCompare                 // Backend.Binary with a Bool output
	FamilyReduce                  // Backend.Reduce
	FamilyArgReduce               // Backend.ArgReduce (Int64 output)
)

// Unary elementwise ops.
const (
	OpNeg Op = iota
	OpAbs
	OpSign
	OpExp
	OpLog
	OpSqrt
	OpRsqrt
	OpSin
	OpCos
	OpTanh
	OpSigmoid
	OpReLU
	OpGELU     // x·Φ(x), the exact (erf) form
	OpGELUTanh // the tanh approximation
	OpSiLU
	OpRecip
	OpSquare
	OpErf
	OpLog1p
	OpExpm1
	OpFloor
	OpCeil
	OpRound // half to even, like torch.round

	// Binary elementwise ops.
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpPow
	OpMaximum
	OpMinimum

	// Comparisons (Bool output).
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe

	// Reductions.
	OpSum
	OpProd
	OpMax
	OpMin

	// Index reductions (Int64 output).
	OpArgMax
	OpArgMin

	numOps
)

// OpInfo describes one primitive.
type OpInfo struct {
	Name   string
	Family Family
	Arity  int
}

var opTable = [numOps]OpInfo{
	OpNeg:      {"neg", FamilyUnary, 1},
	OpAbs:      {"abs", FamilyUnary, 1},
	OpSign:     {"sign", FamilyUnary, 1},
	OpExp:      {"exp", FamilyUnary, 1},
	OpLog:      {"log", FamilyUnary, 1},
	OpSqrt:     {"sqrt", FamilyUnary, 1},
	OpRsqrt:    {"rsqrt", FamilyUnary, 1},
	OpSin:      {"sin", FamilyUnary, 1},
	OpCos:      {"cos", FamilyUnary, 1},
	OpTanh:     {"tanh", FamilyUnary, 1},
	OpSigmoid:  {"sigmoid", FamilyUnary, 1},
	OpReLU:     {"relu", FamilyUnary, 1},
	OpGELU:     {"gelu", FamilyUnary, 1},
	OpGELUTanh: {"gelu_tanh", FamilyUnary, 1},
	OpSiLU:     {"silu", FamilyUnary, 1},
	OpRecip:    {"recip", FamilyUnary, 1},
	OpSquare:   {"square", FamilyUnary, 1},
	OpErf:      {"erf", FamilyUnary, 1},
	OpLog1p:    {"log1p", FamilyUnary, 1},
	OpExpm1:    {"expm1", FamilyUnary, 1},
	OpFloor:    {"floor", FamilyUnary, 1},
	OpCeil:     {"ceil", FamilyUnary, 1},
	OpRound:    {"round", FamilyUnary, 1},

	OpAdd:     {"add", FamilyBinary, 2},
	OpSub:     {"sub", FamilyBinary, 2},
	OpMul:     {"mul", FamilyBinary, 2},
	OpDiv:     {"div", FamilyBinary, 2},
	OpPow:     {"pow", FamilyBinary, 2},
	OpMaximum: {"maximum", FamilyBinary, 2},
	OpMinimum: {"minimum", FamilyBinary, 2},

	OpEq: {"eq", FamilyCompare, 2},
	OpNe: {"ne", FamilyCompare, 2},
	OpLt: {"lt", FamilyCompare, 2},
	OpLe: {"le", FamilyCompare, 2},
	OpGt: {"gt", FamilyCompare, 2},
	OpGe: {"ge", FamilyCompare, 2},

	OpSum:  {"sum", FamilyReduce, 1},
	OpProd: {"prod", FamilyReduce, 1},
	OpMax:  {"max", FamilyReduce, 1},
	OpMin:  {"min", FamilyReduce, 1},

	OpArgMax: {"argmax", FamilyArgReduce, 1},
	OpArgMin: {"argmin", FamilyArgReduce, 1},
}

// Info returns the table entry of op.
func (op Op) Info() OpInfo { return opTable[op] }

// String returns the op's name.
func (op Op) String() string {
	if op >= numOps {
		return "op?"
	}
	return opTable[op].Name
}

// Ops lists every primitive op.
func Ops() []Op {
	out := make([]Op, numOps)
	for i := range out {
		out[i] = Op(i)
	}
	return out
}

// IntOK reports whether the op is defined on integer (and bool, for
// comparisons and Max/Min) inputs. Ops for which it is false are computed
// only on float dtypes; package tensor promotes integer inputs first.
func (op Op) IntOK() bool {
	switch op {
	case OpNeg, OpAbs, OpSign, OpSquare, OpReLU, OpFloor, OpCeil, OpRound,
		OpAdd, OpSub, OpMul, OpMaximum, OpMinimum,
		OpEq, OpNe, OpLt, OpLe, OpGt, OpGe,
		OpSum, OpProd, OpMax, OpMin, OpArgMax, OpArgMin:
		return true
	}
	return false
}
