package cpu

import (
	"sync/atomic"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// Fast paths of the index kernels (index.go), giving the reference's
// results bit for bit:
//
//   - validation reads each distinct index once: an axis along which idx
//     has stride 0 (an index expanded over batch and channels, as
//     convolutions make) is checked at one position, and contiguous runs
//     are checked with one unsigned comparison per index. Only when an index
//     is out of range does the reference check run, for its error message
//     (the first offender in row-major order has index 0 on every stride-0
//     axis, so the same index is found);
//   - Gather and IndexSelect along a contiguous innermost axis copy with a
//     tight loop over the run's indices;
//   - ScatterAdd adds a run that has one index (a whole row) with asm.Add,
//     and a run along the innermost axis with a tight loop, in the
//     reference's order and with its split of the work.

// ixValidate returns ixCheck's error, checking the fast way first.
func ixValidate(op string, idx []int64, il backend.Layout, limit, axis int) error {
	if !fastOff.Load() && ixInRange(idx, il, limit) {
		return nil
	}
	return ixCheck(op, idx, il, limit, axis)
}

// ixInRange reports whether every index of idx under il is in [0, limit).
func ixInRange(idx []int64, il backend.Layout, limit int) bool {
	shape := make([]int, len(il.Shape))
	for d, n := range il.Shape {
		if il.Strides[d] == 0 && n > 0 {
			n = 1
		}
		shape[d] = n
	}
	rl := backend.Layout{Shape: shape, Strides: il.Strides, Offset: il.Offset}
	n := rl.Size()
	if n == 0 {
		return true
	}
	lim := uint64(limit)
	if rl.IsContiguous() {
		var bad atomic.Bool
		parallelFor(n, 1, func(lo, hi int) {
			for _, v := range idx[rl.Offset+lo : rl.Offset+hi] {
				if uint64(v) >= lim {
					bad.Store(true)
					return
				}
			}
		})
		return !bad.Load()
	}
	sh, st := redCollapse(rl.Shape, rl.Strides)
	ok := true
	forRuns(sh, st, []int{rl.Offset}, 0, n, func(offs []int, m int, inner []int) {
		o, s := offs[0], inner[0]
		if s == 1 {
			for _, v := range idx[o : o+m] {
				if uint64(v) >= lim {
					ok = false
				}
			}
			return
		}
		for t := 0; t < m; t++ {
			if uint64(idx[o+t*s]) >= lim {
				ok = false
			}
		}
	})
	return ok
}

// gatherRun runs the fast or the reference gather.
func gatherRun[T any](g ixGatherer, dst, src []T) {
	if fastOff.Load() {
		gather(g, dst, src)
		return
	}
	gatherFast(g, dst, src)
}

// gatherFast is gather with a tight loop for runs along which dst is
// contiguous and the index steps by one while src stays put (the run is
// along axis itself, the innermost axis).
func gatherFast[T any](g ixGatherer, dst, src []T) {
	idx, sAx := g.idx, g.sAx
	strides := [][]int{g.dl.Strides, g.sStr, g.il.Strides}
	bases := []int{g.dl.Offset, g.sOff, g.il.Offset}
	parallelFor(g.dl.Size(), 2, func(lo, hi int) {
		forRuns(g.dl.Shape, strides, bases, lo, hi, func(offs []int, n int, inner []int) {
			do, so, io := offs[0], offs[1], offs[2]
			ds, ss, is := inner[0], inner[1], inner[2]
			switch {
			case is == 0:
				so += int(idx[io]) * sAx
				if ds == 1 && ss == 1 {
					copy(dst[do:do+n], src[so:so+n])
					return
				}
				for t := 0; t < n; t++ {
					dst[do+t*ds] = src[so+t*ss]
				}
			case ds == 1 && is == 1 && ss == 0 && sAx == 1:
				d, ix, s := dst[do:do+n], idx[io:io+n], src[so:]
				for t, v := range ix {
					d[t] = s[v]
				}
			case ds == 1 && is == 1 && ss == 0:
				d, ix := dst[do:do+n], idx[io:io+n]
				for t, v := range ix {
					d[t] = src[so+int(v)*sAx]
				}
			default:
				for t := 0; t < n; t++ {
					dst[do+t*ds] = src[so+t*ss+int(idx[io+t*is])*sAx]
				}
			}
		})
	})
}

// scatterAddF32 is scatterAdd for float32 with the fast runs described at
// the top of this file; the additions are the reference's, in its order.
func scatterAddF32(sc ixScatter, dst, src []float32) {
	if fastOff.Load() || len(dst) > 0 && len(src) > 0 && &dst[0] == &src[0] {
		// A tensor scattered into itself: asm.Add must not see overlapping
		// rows, so the element-by-element reference runs.
		scatterAdd(sc, dst, src)
		return
	}
	idx, dAx := sc.idx, sc.dAx
	sc.walk(func(do, ds, so, ss, io, is, n int) {
		switch {
		case is == 0 && ds == 1 && ss == 1:
			o := do + int(idx[io])*dAx
			d := dst[o : o+n : o+n]
			asm.Add(d, d, src[so:so+n:so+n])
		case ds == 0 && is == 1 && ss == 1 && dAx == 1:
			d, ix, s := dst[do:], idx[io:io+n], src[so:so+n]
			for t, v := range ix {
				d[v] += s[t]
			}
		case ds == 0 && is == 1 && ss == 1:
			ix, s := idx[io:io+n], src[so:so+n]
			for t, v := range ix {
				dst[do+int(v)*dAx] += s[t]
			}
		default:
			for t := 0; t < n; t++ {
				dst[do+t*ds+int(idx[io+t*is])*dAx] += src[so+t*ss]
			}
		}
	})
}
