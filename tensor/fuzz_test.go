package tensor_test

import (
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// FuzzShapeOps drives the shape, broadcast and view logic with arbitrary
// shapes and view sequences and checks each result against index arithmetic
// done here on the host. Its seed corpus runs with every `go test`.
func FuzzShapeOps(f *testing.F) {
	f.Add([]byte{2, 3, 4, 0, 1, 2, 3})
	f.Add([]byte{1, 0, 5, 9, 9, 9})
	f.Add([]byte{4, 1, 2, 1, 3, 7, 200, 13})
	f.Add([]byte{0})
	f.Add([]byte{3, 2, 2, 2, 5, 5, 5, 5, 5, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := int(data[0])
			data = data[1:]
			return b
		}
		rank := next() % 5
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = next() % 5
		}
		x := seq(shape...)
		ref := rowMajor(x) // the values, in row-major order
		refShape := slices.Clone(shape)
		for step := 0; step < 4 && len(data) > 0; step++ {
			op := next() % 6
			n := len(refShape)
			switch op {
			case 0: // Reshape to a random factorisation.
				total := len(ref)
				var ns []int
				if total > 0 {
					rem := total
					for rem > 1 && len(ns) < 4 {
						d := 1 + next()%rem
						for rem%d != 0 {
							d--
						}
						ns = append(ns, d)
						rem /= d
					}
					if rem > 1 {
						ns = append(ns, rem)
					}
				} else {
					ns = []int{0}
				}
				x = x.Reshape(ns...)
				refShape = ns
			case 1: // Permute by a rotation.
				if n < 2 {
					continue
				}
				k := next() % n
				perm := make([]int, n)
				for i := range perm {
					perm[i] = (i + k) % n
				}
				x = x.Permute(perm...)
				ref, refShape = refPermute(ref, refShape, perm)
			case 2: // Slice with a step.
				if n == 0 {
					continue
				}
				ax := next() % n
				start, end, stepv := next()%6-1, next()%7, 1+next()%3
				x = x.Slice(ax, start, end, stepv)
				ref, refShape = refSlice(ref, refShape, ax, start, end, stepv)
			case 3: // Unsqueeze then expand the new axis.
				ax := next() % (n + 1)
				k := next() % 3
				x = x.Unsqueeze(ax)
				es := slices.Insert(slices.Clone(refShape), ax, k)
				x = x.Expand(es...)
				ref, refShape = refExpandNew(ref, refShape, ax, k)
			case 4: // Broadcast against a random shape.
				other := make([]int, next()%4)
				for i := range other {
					other[i] = 1 + next()%2
					if next()%2 == 0 {
						other[i] = 1
					}
				}
				bs, ok := tensor.BroadcastShapes(refShape, other)
				bs2, ok2 := tensor.BroadcastShapes(other, refShape)
				if ok != ok2 || !slices.Equal(bs, bs2) {
					t.Fatalf("BroadcastShapes not symmetric: %v %v", refShape, other)
				}
				if ok {
					y := x.BroadcastTo(bs...)
					got := rowMajor(y)
					for i := range got {
						if got[i] != ref[broadcastIndex(bs, refShape, i)] {
							t.Fatalf("BroadcastTo %v -> %v: element %d = %v", refShape, bs, i, got[i])
						}
					}
				}
			case 5: // Flatten and come back.
				x = x.Flatten().Reshape(refShape...)
			}
			checkShape(t, "fuzz", x, refShape)
			if got := rowMajor(x); !slices.Equal(got, ref) {
				t.Fatalf("values %v, want %v (shape %v)", got, ref, refShape)
			}
			if got := x.Contiguous().Float64s(); !slices.Equal(got, ref) && len(ref) > 0 {
				t.Fatalf("Contiguous values %v, want %v", got, ref)
			}
		}
	})
}

func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

func ravel(idx, shape []int) int {
	k := 0
	for d := range shape {
		k = k*shape[d] + idx[d]
	}
	return k
}

func refPermute(v []float64, shape, perm []int) ([]float64, []int) {
	ns := make([]int, len(shape))
	for i, p := range perm {
		ns[i] = shape[p]
	}
	out := make([]float64, len(v))
	for i := range out {
		idx := unravel(i, ns)
		src := make([]int, len(shape))
		for j, p := range perm {
			src[p] = idx[j]
		}
		out[i] = v[ravel(src, shape)]
	}
	return out, ns
}

func refSlice(v []float64, shape []int, ax, start, end, step int) ([]float64, []int) {
	n := shape[ax]
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(0, min(start, n)), max(0, min(end, n))
	var keep []int
	for i := start; i < end; i += step {
		keep = append(keep, i)
	}
	ns := slices.Clone(shape)
	ns[ax] = len(keep)
	total := 1
	for _, d := range ns {
		total *= d
	}
	out := make([]float64, total)
	for i := range out {
		idx := unravel(i, ns)
		idx[ax] = keep[idx[ax]]
		out[i] = v[ravel(idx, shape)]
	}
	return out, ns
}

func refExpandNew(v []float64, shape []int, ax, k int) ([]float64, []int) {
	ns := slices.Insert(slices.Clone(shape), ax, k)
	total := 1
	for _, d := range ns {
		total *= d
	}
	out := make([]float64, total)
	for i := range out {
		idx := unravel(i, ns)
		idx = slices.Delete(idx, ax, ax+1)
		out[i] = v[ravel(idx, shape)]
	}
	return out, ns
}
