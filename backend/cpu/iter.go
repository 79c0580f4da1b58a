package cpu

// offsets walks the elements [lo, hi) of a row-major index space of shape,
// yielding for each element its buffer offset in each of several layouts
// (given by their strides and base offsets). It is the one place that turns
// an n-dimensional index into strided offsets; kernels call it and loop over
// the innermost axis themselves.
//
// fn is called once per run of the innermost axis with the starting offsets
// of each layout, the run's length, and the innermost stride of each layout.
func forRuns(shape []int, strides [][]int, bases []int, lo, hi int, fn func(offs []int, n int, inner []int)) {
	nd := len(shape)
	k := len(strides)
	offs := make([]int, k)
	inner := make([]int, k)
	if nd == 0 {
		if lo < hi {
			copy(offs, bases)
			fn(offs, 1, inner)
		}
		return
	}
	last := shape[nd-1]
	for j := 0; j < k; j++ {
		inner[j] = strides[j][nd-1]
	}
	if last == 0 {
		return
	}
	// Decompose lo into an index.
	idx := make([]int, nd)
	rem := lo
	for d := nd - 1; d >= 0; d-- {
		if shape[d] == 0 {
			return
		}
		idx[d] = rem % shape[d]
		rem /= shape[d]
	}
	pos := lo
	for pos < hi {
		for j := 0; j < k; j++ {
			o := bases[j]
			for d := 0; d < nd; d++ {
				o += idx[d] * strides[j][d]
			}
			offs[j] = o
		}
		n := min(last-idx[nd-1], hi-pos)
		fn(offs, n, inner)
		pos += n
		// Advance the index by n along the last axis, carrying.
		idx[nd-1] += n
		for d := nd - 1; d > 0 && idx[d] >= shape[d]; d-- {
			idx[d] = 0
			idx[d-1]++
		}
	}
}
