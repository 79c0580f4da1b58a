package tensor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tessera-ml/tessera/backend"
)

// ErrorKind classifies a programmer error in a tensor operation.
type ErrorKind uint8

const (
	ShapeError  ErrorKind = iota + 1 // operand shapes do not fit the op
	DTypeError                       // an operand's dtype is not accepted
	DeviceError                      // operands live on different devices, or a device failed
	AxisError                        // an axis is out of range or repeated
	IndexError                       // an index or range is out of bounds
	ValueError                       // any other bad argument (a negative size, ...)
)

func (k ErrorKind) String() string {
	switch k {
	case ShapeError:
		return "shape"
	case DTypeError:
		return "dtype"
	case DeviceError:
		return "device"
	case AxisError:
		return "axis"
	case IndexError:
		return "index"
	case ValueError:
		return "value"
	}
	return "error"
}

// Error is the value a tensor operation panics with when it is called with
// operands it cannot accept: a programmer error, like an index out of range
// on a slice. Its message names the op and the operands' shapes:
//
//	tensor.MatMul: [2 3] @ [4 5]: inner dimensions 3 and 4 differ
//
// Try turns such a panic back into an error at an API boundary.
type Error struct {
	Kind   ErrorKind
	Op     string  // the operation, e.g. "MatMul"
	Shapes [][]int // the operands' shapes, in argument order
	Msg    string  // what is wrong
	sep    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if !strings.Contains(e.Op, ".") {
		b.WriteString("tensor.") // ops of other packages carry their own prefix
	}
	b.WriteString(e.Op)
	b.WriteString(": ")
	if len(e.Shapes) > 0 {
		sep := e.sep
		if sep == "" {
			sep = ", "
		}
		for i, s := range e.Shapes {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(shapeString(s))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func shapeString(s []int) string {
	return strings.ReplaceAll(fmt.Sprint(s), ",", "")
}

// fail panics with an *Error.
func fail(kind ErrorKind, op string, shapes [][]int, format string, args ...any) {
	panic(&Error{Kind: kind, Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// Try runs f and returns the *Error that a tensor operation inside it
// panicked with, or nil. Any other panic passes through unchanged.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if te, ok := r.(*Error); ok {
				err = te
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// shapesOf lists the shapes of ts, for error messages.
func shapesOf(ts ...*Tensor) [][]int {
	out := make([][]int, len(ts))
	for i, t := range ts {
		out[i] = t.Shape()
	}
	return out
}

// deviceFailure is the panic value for an error a backend returned from a
// transfer or a wait: a DeviceError, or an IndexError when it reports an
// index op queued earlier whose index was out of range (a CUDA backend
// reports those at the next Read or Synchronize; see backend.Gather).
func deviceFailure(op string, shapes [][]int, err error) *Error {
	kind := DeviceError
	if errors.Is(err, backend.ErrIndexOutOfRange) {
		kind = IndexError
	}
	return &Error{Kind: kind, Op: op, Shapes: shapes, Msg: err.Error()}
}
