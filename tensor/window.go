package tensor

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tessera-ml/tessera/backend"
)

// Window2d is the geometry of a 2-D sliding window with zero padding (see
// backend.Window2d): the convolutions and pools of package nn describe
// their windows with it.
type Window2d = backend.Window2d

// windowKernels lets tests turn the backends' window kernels off, to check
// the composite fallbacks against them.
var windowKernels = true

// windowsOf returns be's window kernels, if it has them and they are on.
func windowsOf(be backend.Backend) (backend.Windows, bool) {
	f, ok := be.(backend.Windows)
	return f, ok && windowKernels
}

// Unfold2d returns the sliding windows of x [N, C, H, W] as [N, C, K, L]
// (im2col; torch.nn.functional.unfold with the channel and tap axes kept
// apart): entry (n, c, k, l) is the element that tap k of output position l
// reads from plane (n, c), and 0 where the tap falls into the padding. x's
// H and W must be the window's InH and InW.
//
// On backends with direct window kernels the result is stored batch-inner:
// Permute(1, 2, 0, 3) of it is contiguous, so that the columns of the
// whole batch are one C·K × N·L matrix (what a convolution multiplies);
// Contiguous() gives the row-major layout.
func Unfold2d(x *Tensor, w Window2d) *Tensor {
	const name = "Unfold2d"
	n, c := windowInput(name, x, w, w.InH, w.InW)
	k, l := w.KH*w.KW, w.OutH*w.OutW
	if f, ok := windowsOf(x.be); ok && (x.dtype == Float32 || x.dtype == Float64) {
		xc := x.Contiguous()
		out := emptyUninit(x.be, x.dtype, []int{c, k, n, l})
		f.Unfold2d(out.buf, out.offset, backend.ColStrides{N: l, C: k * n * l, K: n * l}, xc.buf, xc.offset, n, c, w)
		return out.Permute(2, 0, 1, 3)
	}
	e := windowIndexOf(w, x.Device())
	flat := x.Reshape(n, c, w.InH*w.InW)
	if e.padded {
		flat = Cat([]*Tensor{flat, Zeros([]int{n, c, 1}, WithDType(x.dtype), WithDevice(x.Device()))}, 2)
	}
	return flat.IndexSelect(2, e.idx).Reshape(n, c, k, l)
}

// Fold2d is Unfold2d's adjoint (col2im; torch.nn.functional.fold): it
// returns [N, C, InH, InW] in which each element is the sum of the entries
// of cols [N, C, K, L] that Unfold2d would read from it. Sums run in a
// fixed order, independent of the number of threads. cols may have any
// layout; those whose L axis is contiguous (Unfold2d's among them) are
// read in place.
func Fold2d(cols *Tensor, w Window2d) *Tensor {
	const name = "Fold2d"
	n, c := windowInput(name, cols, w, w.KH*w.KW, w.OutH*w.OutW)
	if !cols.dtype.IsFloat() {
		fail(DTypeError, name, shapesOf(cols), "input must be floating point, not %v", cols.dtype)
	}
	store := cols.dtype
	x := cols.Cast(computeType(store))
	if f, ok := windowsOf(x.be); ok {
		if x.strides[3] != 1 || x.strides[0] < 0 || x.strides[1] < 0 || x.strides[2] < 0 {
			x = x.Contiguous()
		}
		out := emptyUninit(x.be, x.dtype, []int{n, c, w.InH, w.InW})
		f.Fold2d(out.buf, out.offset, x.buf, x.offset, backend.ColStrides{N: x.strides[0], C: x.strides[1], K: x.strides[2]}, n, c, w)
		return out.Cast(store)
	}
	e := windowIndexOf(w, x.Device())
	size := w.InH * w.InW
	if e.padded {
		size++ // a dump for the taps that read padding
	}
	k, l := w.KH*w.KW, w.OutH*w.OutW
	out := Zeros([]int{n, c, size}, WithDType(x.dtype), WithDevice(x.Device()))
	out.ScatterAdd_(2, e.idx.Reshape(1, 1, k*l).Expand(n, c, k*l), x.Reshape(n, c, k*l))
	return out.Narrow(2, 0, w.InH*w.InW).Reshape(n, c, w.InH, w.InW).Cast(store)
}

// WindowMax2d returns the maximum of each window of x [N, C, InH, InW] and
// its position within its plane (row·InW + column), both
// [N, C, OutH, OutW] (the positions Int64), chosen as torch's max_pool2d
// chooses them: over the window's taps inside the plane, the first of
// equal maxima, except that a NaN replaces any value before it (see
// backend.Windows; the composite fallback of other backends takes the
// first NaN instead). Every window must hold an element of the plane.
// Package autograd's WindowMax2d is the differentiable form, whose
// gradient goes to the chosen elements.
func WindowMax2d(x *Tensor, w Window2d) (max, at *Tensor) {
	const name = "WindowMax2d"
	n, c := windowInput(name, x, w, w.InH, w.InW)
	if !x.dtype.IsFloat() {
		fail(DTypeError, name, shapesOf(x), "input must be floating point, not %v", x.dtype)
	}
	if oh, ow, ok := windowsHoldInput(w); !ok {
		fail(ValueError, name, shapesOf(x), "window (%d, %d) of %s holds no element of the input", oh, ow, w2s(w))
	}
	xf := x.Cast(computeType(x.dtype))
	if f, ok := windowsOf(xf.be); ok {
		xc := xf.Contiguous()
		max = emptyUninit(xf.be, xf.dtype, []int{n, c, w.OutH, w.OutW})
		at = emptyUninit(xf.be, Int64, []int{n, c, w.OutH, w.OutW})
		f.WindowMax2d(max.buf, max.offset, at.buf, at.offset, xc.buf, xc.offset, n*c, w)
		return max.Cast(x.dtype), at
	}
	at = windowArgMaxComposite(xf, w, n, c)
	max = x.Reshape(n, c, w.InH*w.InW).Gather(2, at.Reshape(n, c, w.OutH*w.OutW)).Reshape(n, c, w.OutH, w.OutW)
	return max, at
}

// WindowMax2dGrad is WindowMax2d's adjoint: [N, C, InH, InW] zeros with
// each window's gradient g [N, C, OutH, OutW] added at its position at
// (WindowMax2d's second result). Windows add in order, so sums do not
// depend on the number of threads.
func WindowMax2dGrad(g, at *Tensor, w Window2d) *Tensor {
	const name = "WindowMax2dGrad"
	n, c := windowInput(name, g, w, w.OutH, w.OutW)
	sameDevice(name, g, at)
	if !g.dtype.IsFloat() || at.dtype != Int64 {
		fail(DTypeError, name, shapesOf(g, at), "want a float gradient and Int64 positions, not %v and %v", g.dtype, at.dtype)
	}
	if !slices.Equal(at.shape, g.shape) {
		fail(ShapeError, name, shapesOf(g, at), "the gradient and the positions differ in shape")
	}
	gf := g.Cast(computeType(g.dtype))
	if f, ok := windowsOf(gf.be); ok {
		gc, ac := gf.Contiguous(), at.Contiguous()
		out := emptyUninit(gf.be, gf.dtype, []int{n, c, w.InH, w.InW})
		f.WindowMax2dGrad(out.buf, out.offset, gc.buf, gc.offset, ac.buf, ac.offset, n*c, w)
		return out.Cast(g.dtype)
	}
	l := w.OutH * w.OutW
	out := Zeros([]int{n, c, w.InH * w.InW}, WithDType(gf.dtype), WithDevice(g.Device()))
	out.ScatterAdd_(2, at.Reshape(n, c, l), gf.Reshape(n, c, l))
	return out.Reshape(n, c, w.InH, w.InW).Cast(g.dtype)
}

// windowsHoldInput reports whether every window of w has a tap inside the
// plane, or else the first window that has none.
func windowsHoldInput(w Window2d) (oh, ow int, ok bool) {
	axis := func(out, stride, pad, k, dil, n int) int {
		for o := range out {
			hit := false
			for t := range k {
				if i := o*stride - pad + t*dil; i >= 0 && i < n {
					hit = true
					break
				}
			}
			if !hit {
				return o
			}
		}
		return -1
	}
	if o := axis(w.OutH, w.SH, w.PadT, w.KH, w.DH, w.InH); o >= 0 {
		return o, 0, false
	}
	if o := axis(w.OutW, w.SW, w.PadL, w.KW, w.DW, w.InW); o >= 0 {
		return 0, o, false
	}
	return 0, 0, true
}

// windowArgMaxComposite is WindowMax2d's positions from IndexSelect and ArgMax: the
// taps of each window, padding replaced by the window's first element in
// the plane (so it never wins unless that element does), reduced by an
// ArgMax over the taps, mapped back through the index.
func windowArgMaxComposite(x *Tensor, w Window2d, n, c int) *Tensor {
	e := windowIndexOf(w, x.Device())
	k, l := w.KH*w.KW, w.OutH*w.OutW
	idx := e.first
	if idx == nil {
		idx = e.idx
	}
	taps := x.Reshape(n, c, w.InH*w.InW).IndexSelect(2, idx).Reshape(n, c, k, l)
	pos := taps.ArgMax(2) // [N, C, L]
	sel := pos.MulScalar(float64(l)).Add(Arange(0, float64(l), 1, WithDType(Int64), WithDevice(x.Device())))
	return idx.IndexSelect(0, sel.Reshape(-1)).Reshape(n, c, w.OutH, w.OutW)
}

// windowIndex is the index of a window geometry for the composite
// fallbacks: idx [K·L] holds the flat in-plane position that tap k of
// output position l reads, or InH·InW (one element appended to each plane)
// where it reads padding; first holds the window's first in-plane element
// instead of InH·InW (nil when no tap reads padding).
type windowIndex struct {
	idx, first *Tensor
	padded     bool
}

type windowKey struct {
	w   Window2d
	dev Device
}

// windowIndexes caches windowIndex by geometry and device for the life of
// the program: a model has few geometries.
var windowIndexes sync.Map

func windowIndexOf(w Window2d, dev Device) windowIndex {
	key := windowKey{w, dev}
	if e, ok := windowIndexes.Load(key); ok {
		return e.(windowIndex)
	}
	k, l := w.KH*w.KW, w.OutH*w.OutW
	idx := make([]int64, k*l)
	first := make([]int64, k*l)
	pad := int64(w.InH * w.InW)
	padded := false
	for oh := range w.OutH {
		for ow := range w.OutW {
			f := int64(-1)
			for tap := range k {
				ih := oh*w.SH - w.PadT + (tap/w.KW)*w.DH
				iw := ow*w.SW - w.PadL + (tap%w.KW)*w.DW
				at := tap*l + oh*w.OutW + ow
				if ih < 0 || ih >= w.InH || iw < 0 || iw >= w.InW {
					idx[at], padded = pad, true
					continue
				}
				idx[at] = int64(ih*w.InW + iw)
				if f < 0 {
					f = idx[at]
				}
			}
			for tap := range k {
				at := tap*l + oh*w.OutW + ow
				first[at] = idx[at]
				if idx[at] == pad {
					first[at] = max(f, 0)
				}
			}
		}
	}
	e := windowIndex{idx: Keep(FromSlice(idx, k*l).To(dev)), padded: padded}
	if padded {
		e.first = Keep(FromSlice(first, k*l).To(dev))
	}
	got, _ := windowIndexes.LoadOrStore(key, e)
	return got.(windowIndex)
}

// windowInput checks x [N, C, a, b] against the window and returns N and C.
func windowInput(name string, x *Tensor, w Window2d, a, b int) (n, c int) {
	x.live(name)
	if w.InH < 1 || w.InW < 1 || w.OutH < 1 || w.OutW < 1 || w.KH < 1 || w.KW < 1 || w.SH < 1 || w.SW < 1 ||
		w.DH < 1 || w.DW < 1 || w.PadT < 0 || w.PadL < 0 {
		fail(ValueError, name, shapesOf(x), "invalid window %+v", w)
	}
	if x.Dim() != 4 || x.shape[2] != a || x.shape[3] != b {
		fail(ShapeError, name, shapesOf(x), "want [N, C, %d, %d] for window %s", a, b, w2s(w))
	}
	return x.shape[0], x.shape[1]
}

func w2s(w Window2d) string {
	return fmt.Sprintf("%dx%d → %dx%d (kernel %dx%d, stride %dx%d, padding %dx%d, dilation %dx%d)",
		w.InH, w.InW, w.OutH, w.OutW, w.KH, w.KW, w.SH, w.SW, w.PadT, w.PadL, w.DH, w.DW)
}
