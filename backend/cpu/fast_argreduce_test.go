package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// argVals returns a float32 buffer of n values: mode 0 draws from {0, 1, 2}
// (many ties), mode 1 from a small set with NaN, ±Inf and ±0 as well, mode
// 2 normal values with about one special in 29.
func argVals(r *rand.Rand, n, mode int) *Buffer {
	if mode == 2 {
		return fastVals(r, n, 1, true)
	}
	set := []float32{0, 1, 2}
	if mode == 1 {
		nan := float32(math.NaN())
		set = append(set, nan, -nan, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0)
	}
	b := NewBuffer(backend.Float32, n)
	for i := range b.F32 {
		b.F32[i] = set[r.IntN(len(set))]
	}
	return b
}

// The fast ArgMax and ArgMin give the reference's indices exactly: the
// first extreme among equals and the first NaN.
func TestFastArgMaxMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][]int{{2, 3, 4, 5}, {7, 1, 5}, {3, 2, 20}, {2, 3, 1500}, {5, 9, 3, 17}, {64, 32, 9, 169}}
	for _, shape := range shapes {
		big := backend.NumElements(shape) > 1<<20
		for axis := range shape {
			dshape := append([]int(nil), shape...)
			dshape[axis] = 1
			for i, sk := range fastKinds {
				dks := fastOutKinds
				if big {
					if sk != ktContig && sk != ktSwapLast {
						continue
					}
					dks = fastOutKinds[i%len(fastOutKinds) : i%len(fastOutKinds)+1]
				}
				for _, dk := range dks {
					sl, sn := ktLayout(shape, sk)
					dl, dn := ktLayout(dshape, dk)
					for mode := range 3 {
						src := argVals(r, sn, mode)
						for _, op := range []backend.Op{backend.OpArgMax, backend.OpArgMin} {
							init := NewBuffer(backend.Int64, dn)
							for j := range init.I64 {
								init.I64[j] = -7
							}
							want, got := fastRefAndFast(init, func(d *Buffer) { Default.ArgReduce(op, d, dl, src, sl, axis) })
							bad := 0
							for j := range want.I64 {
								if got.I64[j] != want.I64[j] {
									if bad < 3 {
										t.Errorf("%v shape %v axis %d src %v dst %v mode %d: element %d: fast %d, reference %d",
											op, shape, axis, sk, dk, mode, j, got.I64[j], want.I64[j])
									}
									bad++
								}
							}
							if bad > 0 {
								t.Fatalf("%v shape %v axis %d src %v dst %v mode %d: %d elements differ", op, shape, axis, sk, dk, mode, bad)
							}
						}
					}
				}
			}
		}
	}
}

// The layouts of a max pool's window reduction take the fast path; those
// without a contiguous kept axis inside the reduced one do not.
func TestFastArgMaxTaken(t *testing.T) {
	for _, c := range []struct {
		shape []int
		axis  int
		kind  ktKind
		want  bool
	}{
		{[]int{64, 32, 9, 169}, 2, ktContig, true},
		{[]int{3, 2, 20}, 1, ktPadded, false},
		{[]int{3, 2, 20}, 1, ktOffset, true},
		{[]int{3, 20, 2}, 1, ktSwapLast, false},
		{[]int{3, 2, 20}, 2, ktContig, false},
		{[]int{2, 3, 4, 5}, 2, ktContig, false}, // runs shorter than argFastRun
	} {
		sl, sn := ktLayout(c.shape, c.kind)
		dshape := append([]int(nil), c.shape...)
		dshape[c.axis] = 1
		dl, dn := ktLayout(dshape, ktContig)
		reduced := make([]bool, len(c.shape))
		reduced[c.axis] = true
		p := newRedPlan("test", dl, sl, reduced)
		var got bool
		withFast(true, func() { got = argReduceF32Fast(true, make([]int64, dn), make([]float32, sn), p) })
		if got != c.want {
			t.Errorf("shape %v axis %d src %v: fast path taken %v, want %v", c.shape, c.axis, c.kind, got, c.want)
		}
	}
}

// The row kernels against argBetter on every pair of special values.
func TestFastArgMaxRowSpecials(t *testing.T) {
	nan := float32(math.NaN())
	vals := []float32{nan, -nan, float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32}
	for _, isMax := range []bool{true, false} {
		knan := int32(math.MaxInt32)
		if !isMax {
			knan = math.MinInt32
		}
		for _, b := range vals {
			for _, x := range vals {
				best, where := []int32{argKey(b, knan)}, []int64{0}
				if isMax {
					argRowMax(best, where, []float32{x}, 1)
				} else {
					argRowMin(best, where, []float32{x}, 1)
				}
				if want := argBetter(isMax, x, b); (where[0] == 1) != want {
					t.Errorf("isMax %v best %v x %v: replaced %v, argBetter %v", isMax, b, x, where[0] == 1, want)
				}
			}
		}
	}
}

func BenchmarkFastArgMax(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, shape := range [][]int{{64, 32, 9, 169}} {
		const axis = 2
		dshape := append([]int(nil), shape...)
		dshape[axis] = 1
		sl, dl := backend.Contiguous(shape), backend.Contiguous(dshape)
		src := fastVals(r, backend.NumElements(shape), 1, false)
		dst := NewBuffer(backend.Int64, backend.NumElements(dshape))
		b.Run(fmt.Sprintf("shape=%v/axis=%d", shape, axis), func(b *testing.B) {
			fastBench(b, func() { Default.ArgReduce(backend.OpArgMax, dst, dl, src, sl, axis) })
		})
	}
}
