package cpu

// Copy and Cast between any two of the seven dtypes.
//
// Conversions, with each value rounded exactly once:
//
//   - to a float type: round to nearest, ties to even, overflow to ±Inf;
//     NaN stays NaN. Integers convert directly (int64 → float16 and
//     bfloat16 do not pass through float64, which would round twice), as do
//     float64 → float16/bfloat16 (not through float32).
//   - float to int: truncate toward zero. A NaN, an infinity or a value
//     outside the integer's range gives whatever Go's conversion gives,
//     which the Go spec leaves implementation-dependent (on amd64 it is the
//     minimum integer, 0x80…0).
//   - int64 to int32 keeps the low 32 bits (wraps), like Go and PyTorch.
//   - to Bool: x != 0 (NaN is true, -0 is false); from Bool: 0 or 1.
//   - float16 ↔ bfloat16 convert through float32, which holds every value of
//     both exactly.

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
)

// Copy implements backend.Backend.
func (*Backend) Copy(dst backend.Buffer, dl backend.Layout, src backend.Buffer, sl backend.Layout) {
	d, s := buf(dst), buf(src)
	ewCheckShapes("Copy", dl, sl)
	if copyFast(d, dl, s, sl) {
		return
	}
	if d.dt == s.dt {
		switch d.dt {
		case backend.Float32:
			castMove(d.F32, dl, s.F32, sl)
		case backend.Float64:
			castMove(d.F64, dl, s.F64, sl)
		case backend.Float16, backend.BFloat16:
			castMove(d.U16, dl, s.U16, sl)
		case backend.Int32:
			castMove(d.I32, dl, s.I32, sl)
		case backend.Int64:
			castMove(d.I64, dl, s.I64, sl)
		case backend.Bool:
			castMove(d.B, dl, s.B, sl)
		default:
			panic(fmt.Sprintf("cpu: Copy of %v not supported", d.dt))
		}
		return
	}
	switch s.dt {
	case backend.Float32:
		if d.dt.IsHalf() {
			enc := Float32ToFloat16
			if d.dt == backend.BFloat16 {
				enc = Float32ToBFloat16
			}
			ewMap1(d.U16, dl, s.F32, sl, castCostHalf, castWith(enc))
			return
		}
		castFromNum(d, dl, s.F32, sl)
	case backend.Float64:
		if d.dt.IsHalf() {
			enc := float64ToFloat16
			if d.dt == backend.BFloat16 {
				enc = float64ToBFloat16
			}
			ewMap1(d.U16, dl, s.F64, sl, castCostHalf, castWith(enc))
			return
		}
		castFromNum(d, dl, s.F64, sl)
	case backend.Int32:
		if d.dt.IsHalf() {
			enc := float64ToFloat16 // float64 holds every int32 exactly
			if d.dt == backend.BFloat16 {
				enc = float64ToBFloat16
			}
			ewMap1(d.U16, dl, s.I32, sl, castCostHalf, castWith(func(x int32) uint16 { return enc(float64(x)) }))
			return
		}
		castFromNum(d, dl, s.I32, sl)
	case backend.Int64:
		if d.dt.IsHalf() {
			enc := int64ToFloat16
			if d.dt == backend.BFloat16 {
				enc = int64ToBFloat16
			}
			ewMap1(d.U16, dl, s.I64, sl, castCostHalf, castWith(enc))
			return
		}
		castFromNum(d, dl, s.I64, sl)
	case backend.Bool:
		castFromBool(d, dl, s.B, sl)
	case backend.Float16, backend.BFloat16:
		dec := Float16ToFloat32
		if s.dt == backend.BFloat16 {
			dec = BFloat16ToFloat32
		}
		castFromHalf(d, dl, s.U16, sl, dec)
	default:
		panic(fmt.Sprintf("cpu: Copy from %v to %v not supported", s.dt, d.dt))
	}
}

// Parallel cost per element of a conversion to or from a 16-bit float.
const castCostHalf = 4

// castMove copies without conversion.
func castMove[T any](dst []T, dl backend.Layout, src []T, sl backend.Layout) {
	ewWalk([]backend.Layout{dl, sl}, ewCostCheap, func(sc *ewScratch) ewRunFunc {
		return func(offs []int, n int, inner []int) {
			do, so, ds, ss := offs[0], offs[1], inner[0], inner[1]
			if ds == 1 && ss == 1 {
				copy(dst[do:do+n], src[so:so+n])
				return
			}
			for i := range n {
				dst[do+i*ds] = src[so+i*ss]
			}
		}
	})
}

// castWith makes a kernel from a per-element conversion.
func castWith[D, S any](f func(S) D) func(d []D, s []S) {
	return func(d []D, s []S) {
		s = s[:len(d)]
		for i, x := range s {
			d[i] = f(x)
		}
	}
}

// castNum converts between the numeric types with Go's conversion.
func castNum[D, S ewNum](d []D, s []S) {
	s = s[:len(d)]
	for i, x := range s {
		d[i] = D(x)
	}
}

func castToBool[S ewNum](d []bool, s []S) {
	s = s[:len(d)]
	for i, x := range s {
		d[i] = x != 0
	}
}

func castBoolTo[D ewNum](d []D, s []bool) {
	s = s[:len(d)]
	for i, x := range s {
		if x {
			d[i] = 1
		} else {
			d[i] = 0
		}
	}
}

// castFromNum converts a numeric src into a numeric or Bool dst.
func castFromNum[S ewNum](d *Buffer, dl backend.Layout, s []S, sl backend.Layout) {
	switch d.dt {
	case backend.Float32:
		ewMap1(d.F32, dl, s, sl, ewCostCheap, castNum[float32, S])
	case backend.Float64:
		ewMap1(d.F64, dl, s, sl, ewCostCheap, castNum[float64, S])
	case backend.Int32:
		ewMap1(d.I32, dl, s, sl, ewCostCheap, castNum[int32, S])
	case backend.Int64:
		ewMap1(d.I64, dl, s, sl, ewCostCheap, castNum[int64, S])
	case backend.Bool:
		ewMap1(d.B, dl, s, sl, ewCostCheap, castToBool[S])
	default:
		panic(fmt.Sprintf("cpu: Copy to %v not supported", d.dt))
	}
}

// castFromBool converts a Bool src into any other dtype.
func castFromBool(d *Buffer, dl backend.Layout, s []bool, sl backend.Layout) {
	switch d.dt {
	case backend.Float32:
		ewMap1(d.F32, dl, s, sl, ewCostCheap, castBoolTo[float32])
	case backend.Float64:
		ewMap1(d.F64, dl, s, sl, ewCostCheap, castBoolTo[float64])
	case backend.Int32:
		ewMap1(d.I32, dl, s, sl, ewCostCheap, castBoolTo[int32])
	case backend.Int64:
		ewMap1(d.I64, dl, s, sl, ewCostCheap, castBoolTo[int64])
	case backend.Float16, backend.BFloat16:
		one := Float32ToFloat16(1)
		if d.dt == backend.BFloat16 {
			one = Float32ToBFloat16(1)
		}
		ewMap1(d.U16, dl, s, sl, ewCostCheap, castWith(func(x bool) uint16 {
			if x {
				return one
			}
			return 0
		}))
	default:
		panic(fmt.Sprintf("cpu: Copy to %v not supported", d.dt))
	}
}

// castFromHalf converts a float16 or bfloat16 src, decoded exactly to
// float32 by dec, into any other dtype.
func castFromHalf(d *Buffer, dl backend.Layout, s []uint16, sl backend.Layout, dec func(uint16) float32) {
	switch d.dt {
	case backend.Float32:
		ewMap1(d.F32, dl, s, sl, castCostHalf, castWith(dec))
	case backend.Float64:
		ewMap1(d.F64, dl, s, sl, castCostHalf, castWith(func(h uint16) float64 { return float64(dec(h)) }))
	case backend.Int32:
		ewMap1(d.I32, dl, s, sl, castCostHalf, castWith(func(h uint16) int32 { return int32(dec(h)) }))
	case backend.Int64:
		ewMap1(d.I64, dl, s, sl, castCostHalf, castWith(func(h uint16) int64 { return int64(dec(h)) }))
	case backend.Bool:
		ewMap1(d.B, dl, s, sl, castCostHalf, castWith(func(h uint16) bool { return dec(h) != 0 }))
	case backend.Float16:
		ewMap1(d.U16, dl, s, sl, castCostHalf, castWith(func(h uint16) uint16 { return Float32ToFloat16(dec(h)) }))
	case backend.BFloat16:
		ewMap1(d.U16, dl, s, sl, castCostHalf, castWith(func(h uint16) uint16 { return Float32ToBFloat16(dec(h)) }))
	default:
		panic(fmt.Sprintf("cpu: Copy to %v not supported", d.dt))
	}
}
