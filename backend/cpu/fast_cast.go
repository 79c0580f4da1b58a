package cpu

import (
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// Fast paths of Copy:
//
//   - a copy without conversion whose source is transposed against dst
//     (dst's innermost axis is strided in src while another axis is
//     contiguous there) moves cache-sized tiles, trTile × trTile elements,
//     so both sides are read and written a cache line at a time; a
//     broadcast (stride-0) source run is a fill;
//   - Bool → Float32 is a branch-free loop;
//   - Float16 and BFloat16 ↔ Float32 use internal/asm's conversions, which
//     give the reference's bits (NaN payloads aside: a signalling NaN comes
//     out quiet).
//
// The results are those of the reference (cast.go) bit for bit, except for
// NaN payloads in the half conversions.

// trTile is the side of the square tiles a transposing copy moves.
const trTile = 32

// copyFast runs a fast path of Copy and reports whether it did.
func copyFast(d *Buffer, dl backend.Layout, s *Buffer, sl backend.Layout) bool {
	if fastOff.Load() {
		return false
	}
	if d.dt == s.dt {
		switch d.dt {
		case backend.Float32:
			moveFast(d.F32, dl, s.F32, sl)
		case backend.Float64:
			moveFast(d.F64, dl, s.F64, sl)
		case backend.Float16, backend.BFloat16:
			moveFast(d.U16, dl, s.U16, sl)
		case backend.Int32:
			moveFast(d.I32, dl, s.I32, sl)
		case backend.Int64:
			moveFast(d.I64, dl, s.I64, sl)
		case backend.Bool:
			moveFast(d.B, dl, s.B, sl)
		default:
			return false
		}
		return true
	}
	switch {
	case s.dt == backend.Bool && d.dt == backend.Float32:
		ewMap1(d.F32, dl, s.B, sl, ewCostCheap, boolToF32)
	case s.dt == backend.Float16 && d.dt == backend.Float32:
		ewMap1(d.F32, dl, s.U16, sl, ewCostCheap, asm.Float16ToFloat32)
	case s.dt == backend.BFloat16 && d.dt == backend.Float32:
		ewMap1(d.F32, dl, s.U16, sl, ewCostCheap, asm.BFloat16ToFloat32)
	case s.dt == backend.Float32 && d.dt == backend.Float16:
		ewMap1(d.U16, dl, s.F32, sl, ewCostCheap, asm.Float32ToFloat16)
	case s.dt == backend.Float32 && d.dt == backend.BFloat16:
		ewMap1(d.U16, dl, s.F32, sl, ewCostCheap, asm.Float32ToBFloat16)
	default:
		return false
	}
	return true
}

// b2u is 1 for true and 0 for false, without a branch.
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

// boolToF32 sets d[i] to 1 where s[i] and to 0 elsewhere.
func boolToF32(d []float32, s []bool) {
	s = s[:len(d)]
	for i, x := range s {
		d[i] = math.Float32frombits(b2u(x) * 0x3f800000) // the bits of 1.0
	}
}

// moveFast copies src into dst without conversion: a transposing layout in
// tiles (see trTranspose), everything else run by run, with copy for
// contiguous runs and a fill for broadcast ones.
func moveFast[T any](dst []T, dl backend.Layout, src []T, sl backend.Layout) {
	if dl.Size() == 0 || trTranspose(dst, dl, src, sl) {
		return
	}
	ewWalk([]backend.Layout{dl, sl}, ewCostCheap, func(sc *ewScratch) ewRunFunc {
		return func(offs []int, n int, inner []int) {
			do, so, ds, ss := offs[0], offs[1], inner[0], inner[1]
			switch {
			case ds == 1 && ss == 1:
				copy(dst[do:do+n], src[so:so+n])
			case ds == 1 && ss == 0:
				d, v := dst[do:do+n], src[so]
				for i := range d {
					d[i] = v
				}
			default:
				for i := range n {
					dst[do+i*ds] = src[so+i*ss]
				}
			}
		}
	})
}

// trTranspose copies src into dst when, after merging axes, dst's
// innermost axis (stride 1 in dst) is strided in src and some other axis
// is the contiguous one of src: for every index of the remaining axes it
// copies a 2-D transpose in trTile × trTile tiles. It reports false, doing
// nothing, for any other layout or when either side of the transpose is
// shorter than redFastRun.
func trTranspose[T any](dst []T, dl backend.Layout, src []T, sl backend.Layout) bool {
	shape, st := ewCoalesce([]backend.Layout{dl, sl})
	r := len(shape)
	if r < 2 || st[0][r-1] != 1 || st[1][r-1] == 1 || st[1][r-1] == 0 {
		return false
	}
	j := -1
	for ax := r - 2; ax >= 0; ax-- {
		if st[1][ax] == 1 {
			j = ax
			break
		}
	}
	if j < 0 || shape[j] < redFastRun || shape[r-1] < redFastRun {
		return false
	}
	var oSh, oD, oS []int
	for ax := 0; ax < r-1; ax++ {
		if ax != j {
			oSh = append(oSh, shape[ax])
			oD = append(oD, st[0][ax])
			oS = append(oS, st[1][ax])
		}
	}
	nA, nB := shape[j], shape[r-1]
	dA, sB := st[0][j], st[1][r-1]
	nOuter := backend.NumElements(oSh)
	tilesA := (nA + trTile - 1) / trTile
	parallelFor(nOuter*tilesA, trTile*nB, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			o, a0 := it/tilesA, it%tilesA*trTile
			a1 := min(a0+trTile, nA)
			db := dl.Offset + redOffset(o, oSh, oD)
			sb := sl.Offset + redOffset(o, oSh, oS)
			for b0 := 0; b0 < nB; b0 += trTile {
				trTile2D(dst, db, dA, src, sb, sB, a0, a1, b0, min(b0+trTile, nB))
			}
		}
	})
	return true
}

// trTile2D copies the tile a0 ≤ a < a1, b0 ≤ b < b1 of the transpose
// dst[db + a·dA + b] = src[sb + a + b·sB], in 4 × 4 blocks where it can.
func trTile2D[T any](dst []T, db, dA int, src []T, sb, sB, a0, a1, b0, b1 int) {
	a := a0
	for ; a+4 <= a1; a += 4 {
		d0 := db + a*dA
		b := b0
		for ; b+4 <= b1; b += 4 {
			s := sb + a + b*sB
			s0 := src[s : s+4 : s+4]
			s1 := src[s+sB : s+sB+4 : s+sB+4]
			s2 := src[s+2*sB : s+2*sB+4 : s+2*sB+4]
			s3 := src[s+3*sB : s+3*sB+4 : s+3*sB+4]
			o := d0 + b
			r0 := dst[o : o+4 : o+4]
			r1 := dst[o+dA : o+dA+4 : o+dA+4]
			r2 := dst[o+2*dA : o+2*dA+4 : o+2*dA+4]
			r3 := dst[o+3*dA : o+3*dA+4 : o+3*dA+4]
			r0[0], r0[1], r0[2], r0[3] = s0[0], s1[0], s2[0], s3[0]
			r1[0], r1[1], r1[2], r1[3] = s0[1], s1[1], s2[1], s3[1]
			r2[0], r2[1], r2[2], r2[3] = s0[2], s1[2], s2[2], s3[2]
			r3[0], r3[1], r3[2], r3[3] = s0[3], s1[3], s2[3], s3[3]
		}
		for ; b < b1; b++ {
			s := sb + a + b*sB
			x := src[s : s+4 : s+4]
			dst[d0+b], dst[d0+dA+b], dst[d0+2*dA+b], dst[d0+3*dA+b] = x[0], x[1], x[2], x[3]
		}
	}
	for ; a < a1; a++ {
		row := dst[db+a*dA+b0 : db+a*dA+b1]
		s := sb + a + b0*sB
		for i := range row {
			row[i] = src[s+i*sB]
		}
	}
}
