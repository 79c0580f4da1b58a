//go:build cuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/tessera-ml/tessera/backend"
)

// The kernels' argument structs, field for field as in
// kernels/common.cuh (every field 8 bytes, so Go and C lay them out
// alike). A kernel receives one of them by value.

// maxDims is MAXD of common.cuh: the largest rank a layout may have once
// its axes are merged.
const maxDims = 12

type ewArgs struct {
	N, ND  int64
	Shape  [maxDims]int64
	Off    [4]int64
	St     [4][maxDims]int64
	Ptr    [4]uint64
	Bits   uint64
	Bits2  uint64
	Contig int64
}

type adamArgs struct {
	N                                           int64
	P, G, M, V                                  uint64
	Decay, Beta1, Beta2, StepSize, BC2Sqrt, Eps float64
}

func (a *adamArgs) ptr() (unsafe.Pointer, uintptr) { return unsafe.Pointer(a), unsafe.Sizeof(*a) }

type redArgs struct {
	NOut, NIn                int64
	NDOut, NDIn              int64
	OutShape, OutSrc, OutDst [maxDims]int64
	InShape, InSrc           [maxDims]int64
	SrcOff, DstOff           int64
	Src, Dst                 uint64
	NSplit, Partial          int64
	DstIn, Flag              int64
}

type ixArgs struct {
	N, ND           int64
	Shape           [maxDims]int64
	Off             [3]int64
	St              [3][maxDims]int64
	AxStride, Limit int64
	Ptr             [3]uint64
	Flag            uint64
}

type mmArgs struct {
	B, M, N, K       int64
	AOff, AB, AM, AK int64
	BOff, BB, BK, BN int64
	COff, CB, CM, CN int64
	APtr, BPtr, CPtr uint64
}

func (a *ewArgs) ptr() (unsafe.Pointer, uintptr)  { return unsafe.Pointer(a), unsafe.Sizeof(*a) }
func (a *redArgs) ptr() (unsafe.Pointer, uintptr) { return unsafe.Pointer(a), unsafe.Sizeof(*a) }
func (a *ixArgs) ptr() (unsafe.Pointer, uintptr)  { return unsafe.Pointer(a), unsafe.Sizeof(*a) }
func (a *mmArgs) ptr() (unsafe.Pointer, uintptr)  { return unsafe.Pointer(a), unsafe.Sizeof(*a) }

// coalesce drops the axes of length 1 of the layouts' common shape and
// merges each axis into the one inside it wherever every layout steps
// over both as over one axis. Its result has at least one axis (a shape
// of no axes becomes [1] with stride 0).
func coalesce(shape []int, strides ...[]int) ([]int, [][]int) {
	sh := make([]int, 0, len(shape)+1)
	st := make([][]int, len(strides))
	for d, n := range shape {
		if n == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 {
			merge := true
			for j := range strides {
				if st[j][k] != strides[j][d]*n {
					merge = false
					break
				}
			}
			if merge {
				sh[k] *= n
				for j := range strides {
					st[j][k] = strides[j][d]
				}
				continue
			}
		}
		sh = append(sh, n)
		for j := range strides {
			st[j] = append(st[j], strides[j][d])
		}
	}
	if len(sh) == 0 {
		sh = append(sh, 1)
		for j := range strides {
			st[j] = append(st[j], 0)
		}
	}
	return sh, st
}

// checkShapes panics unless every layout has dl's shape and one stride per
// axis.
func checkShapes(what string, dl backend.Layout, ls ...backend.Layout) {
	if len(dl.Strides) != len(dl.Shape) {
		panic(fmt.Sprintf("cuda: %s: dst layout has shape %v but %d strides", what, dl.Shape, len(dl.Strides)))
	}
	for _, l := range ls {
		if len(l.Shape) != len(dl.Shape) {
			panic(fmt.Sprintf("cuda: %s: operand shape %v differs from dst shape %v", what, l.Shape, dl.Shape))
		}
		for i := range l.Shape {
			if l.Shape[i] != dl.Shape[i] {
				panic(fmt.Sprintf("cuda: %s: operand shape %v differs from dst shape %v", what, l.Shape, dl.Shape))
			}
		}
		if len(l.Strides) != len(l.Shape) {
			panic(fmt.Sprintf("cuda: %s: layout has shape %v but %d strides", what, l.Shape, len(l.Strides)))
		}
	}
}

// oneIfScalar returns a 0-d layout as the 1-d layout of one element.
func oneIfScalar(l backend.Layout) backend.Layout {
	if len(l.Shape) > 0 {
		return l
	}
	return backend.Layout{Shape: []int{1}, Strides: []int{0}, Offset: l.Offset}
}

func suffix(dt backend.DType) string {
	switch dt {
	case backend.Float32:
		return "f32"
	case backend.Float64:
		return "f64"
	case backend.Float16:
		return "f16"
	case backend.BFloat16:
		return "bf16"
	case backend.Int32:
		return "i32"
	case backend.Int64:
		return "i64"
	case backend.Bool:
		return "bool"
	}
	panic(fmt.Sprintf("cuda: invalid dtype %v", dt))
}

// bitsName is the suffix of the kernels that only move bits.
func bitsName(dt backend.DType) string { return fmt.Sprint(dt.Size() * 8) }
