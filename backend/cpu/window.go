package cpu

// Direct sliding-window kernels (backend.Windows): im2col, col2im, max
// pooling and its backward, reading the planes row by row instead of
// through an index tensor. For each kernel tap, the output rows and
// columns whose tap lands inside the input form one contiguous range each
// (winCols); everything outside reads padding. With stride 1 the tap's
// block of rows is a strided 2-D block of the input, so Unfold2d copies
// it and Fold2d adds it with one call (asm.CopyRows, asm.AddRows).

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

var _ backend.Windows = (*Backend)(nil)

// winCols returns the range [lo, hi) of output columns (or rows) whose tap,
// at offset off = tap·dilation − padding, falls inside an axis of n
// elements: out·stride + off ∈ [0, n).
func winCols(out, stride, off, n int) (lo, hi int) {
	// out·stride + off ≥ 0  ⇔  out ≥ ceil(−off / stride)
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// out·stride + off ≤ n − 1  ⇔  out ≤ floor((n − 1 − off) / stride)
	if n-1-off < 0 {
		return lo, lo
	}
	hi = min(out, (n-1-off)/stride+1)
	return min(lo, hi), hi
}

// winBuffers returns the CPU buffers of Unfold2d or Fold2d, checked: one
// dtype, dLen elements of dst from dOff and sLen of src from sOff.
func winBuffers(op string, dst backend.Buffer, dOff, dLen int, src backend.Buffer, sOff, sLen int) (db, sb *Buffer) {
	db, sb = buf(dst), buf(src)
	if db.dt != sb.dt {
		panic(fmt.Sprintf("cpu: %s: dtypes %v and %v differ", op, db.dt, sb.dt))
	}
	spanCheck(op, "dst", db, dOff, dLen)
	spanCheck(op, "src", sb, sOff, sLen)
	return db, sb
}

// colSpan checks the window and the column strides and returns the extent of the
// columns from their offset.
func colSpan(op string, cs backend.ColStrides, n, c int, w backend.Window2d) int {
	winValid(op, n, c, w)
	if cs.N < 0 || cs.C < 0 || cs.K < 0 {
		panic(fmt.Sprintf("cpu: %s: negative column strides %+v", op, cs))
	}
	if n == 0 || c == 0 {
		return 0
	}
	return (n-1)*cs.N + (c-1)*cs.C + (w.KH*w.KW-1)*cs.K + w.OutH*w.OutW
}

func winValid(op string, n, c int, w backend.Window2d) {
	if n < 0 || c < 0 || w.InH < 1 || w.InW < 1 || w.OutH < 1 || w.OutW < 1 || w.KH < 1 || w.KW < 1 ||
		w.SH < 1 || w.SW < 1 || w.DH < 1 || w.DW < 1 || w.PadT < 0 || w.PadL < 0 {
		panic(fmt.Sprintf("cpu: %s: invalid window %+v over %d×%d planes", op, w, n, c))
	}
}

// Unfold2d implements backend.Windows.
func (*Backend) Unfold2d(dst backend.Buffer, dOff int, ds backend.ColStrides, src backend.Buffer, sOff int, n, c int, w backend.Window2d) {
	const op = "Unfold2d"
	span, planes := colSpan(op, ds, n, c, w), n*c*w.InH*w.InW
	db, sb := winBuffers(op, dst, dOff, span, src, sOff, planes)
	switch db.dt {
	case backend.Float32:
		unfold2d(db.F32[dOff:dOff+span], ds, sb.F32[sOff:sOff+planes], n, c, w, asm.CopyRows)
	case backend.Float64:
		unfold2d(db.F64[dOff:dOff+span], ds, sb.F64[sOff:sOff+planes], n, c, w, copyRows)
	default:
		panic(fmt.Sprintf("cpu: %s on %v not supported", op, db.dt))
	}
}

// rowsFunc moves a block of rows×width elements between strided layouts
// (asm.CopyRows, asm.AddRows).
type rowsFunc[T float32 | float64] func(dst []T, dstStride int, src []T, srcStride, rows, width int)

func copyRows(dst []float64, dstStride int, src []float64, srcStride, rows, width int) {
	for r := range rows {
		copy(dst[r*dstStride:][:width], src[r*srcStride:][:width])
	}
}

func addRows(dst []float64, dstStride int, src []float64, srcStride, rows, width int) {
	for r := range rows {
		d, s := dst[r*dstStride:][:width], src[r*srcStride:][:width]
		for j := range d {
			d[j] += s[j]
		}
	}
}

func unfold2d[T float32 | float64](dst []T, ds backend.ColStrides, src []T, n, c int, w backend.Window2d, copyRows rowsFunc[T]) {
	k, l, hw := w.KH*w.KW, w.OutH*w.OutW, w.InH*w.InW
	// One task per (plane, tap): a block of L outputs, taken in the order
	// of dst when it is batch-inner ([C, K, N, L]) so that writes stream;
	// the planes of one channel, read K times over, stay in cache.
	inner := ds.N < ds.K
	parallelFor(n*c*k, l, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			var ni, ci, tap int
			if inner {
				ci, tap, ni = t/(k*n), (t/n)%k, t%n
			} else {
				ni, ci, tap = t/(c*k), (t/k)%c, t%k
			}
			ki, kj := tap/w.KW, tap%w.KW
			p := ni*c + ci
			in := src[p*hw : (p+1)*hw]
			at := ni*ds.N + ci*ds.C + tap*ds.K
			out := dst[at : at+l]
			rowOff, colOff := ki*w.DH-w.PadT, kj*w.DW-w.PadL
			rlo, rhi := winCols(w.OutH, w.SH, rowOff, w.InH)
			clo, chi := winCols(w.OutW, w.SW, colOff, w.InW)
			clear(out[:rlo*w.OutW])
			clear(out[rhi*w.OutW:])
			if clo > 0 || chi < w.OutW {
				for oh := rlo; oh < rhi; oh++ {
					o := out[oh*w.OutW : (oh+1)*w.OutW]
					clear(o[:clo])
					clear(o[chi:])
				}
			}
			if rlo >= rhi || clo >= chi {
				continue
			}
			if w.SW == 1 {
				copyRows(out[rlo*w.OutW+clo:], w.OutW, in[(rlo*w.SH+rowOff)*w.InW+clo+colOff:], w.SH*w.InW, rhi-rlo, chi-clo)
				continue
			}
			for oh := rlo; oh < rhi; oh++ {
				o := out[oh*w.OutW : (oh+1)*w.OutW]
				row := in[(oh*w.SH+rowOff)*w.InW:]
				for ow := clo; ow < chi; ow++ {
					o[ow] = row[ow*w.SW+colOff]
				}
			}
		}
	})
}

// Fold2d implements backend.Windows.
func (*Backend) Fold2d(dst backend.Buffer, dOff int, src backend.Buffer, sOff int, ss backend.ColStrides, n, c int, w backend.Window2d) {
	const op = "Fold2d"
	span, planes := colSpan(op, ss, n, c, w), n*c*w.InH*w.InW
	db, sb := winBuffers(op, dst, dOff, planes, src, sOff, span)
	switch db.dt {
	case backend.Float32:
		fold2d(db.F32[dOff:dOff+planes], sb.F32[sOff:sOff+span], ss, n, c, w, asm.AddRows)
	case backend.Float64:
		fold2d(db.F64[dOff:dOff+planes], sb.F64[sOff:sOff+span], ss, n, c, w, addRows)
	default:
		panic(fmt.Sprintf("cpu: %s on %v not supported", op, db.dt))
	}
}

// fold2d sums each plane's columns into it, tap by tap and row by row, so
// that every element's sum runs in the same order whatever the split of
// planes among workers. With batch-inner columns ([C, K, N, L]) a worker
// takes a run of planes of one channel and goes tap by tap over the run,
// so that its reads stream.
func fold2d[T float32 | float64](dst, src []T, ss backend.ColStrides, n, c int, w backend.Window2d, addRows rowsFunc[T]) {
	k, l, hw := w.KH*w.KW, w.OutH*w.OutW, w.InH*w.InW
	inner := ss.N < ss.K
	parallelFor(n*c, k*l, func(lo, hi int) {
		for lo < hi {
			// Planes (n0+j, ci) for j < run: task t is ci·n + ni when inner,
			// else ni·c + ci (one plane at a time).
			ci, n0, run := lo%c, lo/c, 1
			if inner {
				ci, n0 = lo/n, lo%n
				run = min(hi-lo, n-n0)
			}
			for j := range run {
				p := (n0+j)*c + ci
				clear(dst[p*hw : (p+1)*hw])
			}
			for tap := range k {
				ki, kj := tap/w.KW, tap%w.KW
				rowOff, colOff := ki*w.DH-w.PadT, kj*w.DW-w.PadL
				rlo, rhi := winCols(w.OutH, w.SH, rowOff, w.InH)
				clo, chi := winCols(w.OutW, w.SW, colOff, w.InW)
				if clo >= chi {
					continue
				}
				if rlo >= rhi {
					continue
				}
				for j := range run {
					p := (n0+j)*c + ci
					out := dst[p*hw : (p+1)*hw]
					at := (n0+j)*ss.N + ci*ss.C + tap*ss.K
					cols := src[at : at+l]
					if w.SW == 1 {
						addRows(out[(rlo*w.SH+rowOff)*w.InW+clo+colOff:], w.SH*w.InW, cols[rlo*w.OutW+clo:], w.OutW, rhi-rlo, chi-clo)
						continue
					}
					for oh := rlo; oh < rhi; oh++ {
						cr := cols[oh*w.OutW : (oh+1)*w.OutW]
						row := out[(oh*w.SH+rowOff)*w.InW:]
						for ow := clo; ow < chi; ow++ {
							row[ow*w.SW+colOff] += cr[ow]
						}
					}
				}
			}
			lo += run
		}
	})
}

// WindowMax2d implements backend.Windows.
func (*Backend) WindowMax2d(max backend.Buffer, mOff int, at backend.Buffer, aOff int, src backend.Buffer, sOff int, planes int, w backend.Window2d) {
	const op = "WindowMax2d"
	winValid(op, planes, 1, w)
	mb, ab, sb := buf(max), buf(at), buf(src)
	l, hw := w.OutH*w.OutW, w.InH*w.InW
	if ab.dt != backend.Int64 || mb.dt != sb.dt {
		panic(fmt.Sprintf("cpu: %s: maxima %v, positions %v and input %v: want the input's dtype and int64", op, mb.dt, ab.dt, sb.dt))
	}
	spanCheck(op, "max", mb, mOff, planes*l)
	spanCheck(op, "at", ab, aOff, planes*l)
	spanCheck(op, "src", sb, sOff, planes*hw)
	pos := ab.I64[aOff : aOff+planes*l]
	switch sb.dt {
	case backend.Float32:
		windowMax2d(mb.F32[mOff:mOff+planes*l], pos, sb.F32[sOff:sOff+planes*hw], planes, w)
	case backend.Float64:
		windowMax2d(mb.F64[mOff:mOff+planes*l], pos, sb.F64[sOff:sOff+planes*hw], planes, w)
	default:
		panic(fmt.Sprintf("cpu: %s on %v not supported", op, sb.dt))
	}
}

func windowMax2d[T float32 | float64](max []T, at []int64, src []T, planes int, w backend.Window2d) {
	l, hw := w.OutH*w.OutW, w.InH*w.InW
	k := w.KH * w.KW
	simple := w.KH == 2 && w.KW == 2 && w.SH == 2 && w.SW == 2 && w.DH == 1 && w.DW == 1 &&
		w.PadT == 0 && w.PadL == 0 && 2*w.OutH <= w.InH && 2*w.OutW <= w.InW
	parallelFor(planes, l*k, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			in := src[p*hw : (p+1)*hw]
			mx, pos := max[p*l:(p+1)*l], at[p*l:(p+1)*l]
			if simple && maxPool2x2(mx, pos, in, w) {
				continue
			}
			// The general scan: torch's loop.
			for oh := range w.OutH {
				h0 := oh*w.SH - w.PadT
				h1 := min(h0+(w.KH-1)*w.DH+1, w.InH)
				for h0 < 0 {
					h0 += w.DH
				}
				for ow := range w.OutW {
					w0 := ow*w.SW - w.PadL
					w1 := min(w0+(w.KW-1)*w.DW+1, w.InW)
					for w0 < 0 {
						w0 += w.DW
					}
					if h0 >= h1 || w0 >= w1 {
						panic(fmt.Sprintf("cpu: WindowMax2d: window (%d, %d) of %+v holds no element of the input", oh, ow, w))
					}
					best := h0*w.InW + w0
					m := in[best]
					for ih := h0; ih < h1; ih += w.DH {
						for iw := w0; iw < w1; iw += w.DW {
							i := ih*w.InW + iw
							if v := in[i]; v > m || v != v {
								m, best = v, i
							}
						}
					}
					mx[oh*w.OutW+ow], pos[oh*w.OutW+ow] = m, int64(best)
				}
			}
		}
	})
}

// maxPool2x2 is windowMax2d for 2×2 windows at stride 2 without padding or
// dilation (the usual max pool), one output row at a time: asm's
// MaxPool2x2 for float32 (AVX2, or a loop without data-dependent branches)
// makes the same choice among ties and NaNs as the general scan, which
// float64 planes and planes too large for int32 positions take.
func maxPool2x2[T float32 | float64](max []T, at []int64, in []T, w backend.Window2d) bool {
	f32, ok := any(in).([]float32)
	if !ok || len(in) >= math.MaxInt32 {
		return false
	}
	m32 := any(max).([]float32)
	for oh := range w.OutH {
		o := oh * w.OutW
		asm.MaxPool2x2(m32[o:o+w.OutW], at[o:o+w.OutW], f32[2*oh*w.InW:(2*oh+1)*w.InW], f32[(2*oh+1)*w.InW:(2*oh+2)*w.InW],
			int32(2*oh*w.InW), int32((2*oh+1)*w.InW))
	}
	return true
}

// WindowMax2dGrad implements backend.Windows: plane by plane, a clear and
// a scatter of the plane's windows, so that the plane is written to memory
// once, from cache.
func (*Backend) WindowMax2dGrad(dst backend.Buffer, dOff int, g backend.Buffer, gOff int, at backend.Buffer, aOff int, planes int, w backend.Window2d) {
	const op = "WindowMax2dGrad"
	winValid(op, planes, 1, w)
	db, gb, ab := buf(dst), buf(g), buf(at)
	l, hw := w.OutH*w.OutW, w.InH*w.InW
	if ab.dt != backend.Int64 || db.dt != gb.dt {
		panic(fmt.Sprintf("cpu: %s: dst %v, gradient %v and positions %v: want one float dtype and int64", op, db.dt, gb.dt, ab.dt))
	}
	spanCheck(op, "dst", db, dOff, planes*hw)
	spanCheck(op, "g", gb, gOff, planes*l)
	spanCheck(op, "at", ab, aOff, planes*l)
	pos := ab.I64[aOff : aOff+planes*l]
	switch db.dt {
	case backend.Float32:
		windowMax2dGrad(db.F32[dOff:dOff+planes*hw], gb.F32[gOff:gOff+planes*l], pos, planes, w)
	case backend.Float64:
		windowMax2dGrad(db.F64[dOff:dOff+planes*hw], gb.F64[gOff:gOff+planes*l], pos, planes, w)
	default:
		panic(fmt.Sprintf("cpu: %s on %v not supported", op, db.dt))
	}
}

func windowMax2dGrad[T float32 | float64](dst, g []T, at []int64, planes int, w backend.Window2d) {
	l, hw := w.OutH*w.OutW, w.InH*w.InW
	parallelFor(planes, hw+l, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			out := dst[p*hw : (p+1)*hw]
			clear(out)
			gp, ap := g[p*l:(p+1)*l], at[p*l:(p+1)*l]
			for j, i := range ap {
				if uint64(i) >= uint64(hw) {
					panic(fmt.Sprintf("cpu: WindowMax2dGrad: position %d outside a plane of %d elements", i, hw))
				}
				out[i] += gp[j]
			}
		}
	})
}
