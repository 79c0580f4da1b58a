package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// windowTap returns the in-plane position that tap (ki, kj) of output
// (oh, ow) reads, or -1 in the padding: the definition the kernels are
// checked against.
func windowTap(w backend.Window2d, oh, ow, ki, kj int) int {
	ih, iw := oh*w.SH-w.PadT+ki*w.DH, ow*w.SW-w.PadL+kj*w.DW
	if ih < 0 || ih >= w.InH || iw < 0 || iw >= w.InW {
		return -1
	}
	return ih*w.InW + iw
}

// emptyWindow reports whether some window of w has no tap in the plane.
func emptyWindow(w backend.Window2d) bool {
	for o := range w.OutH * w.OutW {
		in := false
		for tap := range w.KH * w.KW {
			in = in || windowTap(w, o/w.OutW, o%w.OutW, tap/w.KW, tap%w.KW) >= 0
		}
		if !in {
			return true
		}
	}
	return false
}

// randomWindows returns window geometries with every kind of stride,
// padding, dilation and kernel shape, outputs sized as a convolution's
// (and a few with extra output positions past the input).
func randomWindows(rng *rand.Rand, n int) []backend.Window2d {
	ws := []backend.Window2d{
		{InH: 26, InW: 26, OutH: 13, OutW: 13, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{InH: 5, InW: 7, OutH: 2, OutW: 3, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{InH: 28, InW: 28, OutH: 26, OutW: 26, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
		{InH: 4, InW: 4, OutH: 4, OutW: 4, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, DH: 1, DW: 1},
		// Pools in ceil mode: a last, partial window.
		{InH: 7, InW: 7, OutH: 4, OutW: 4, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{InH: 6, InW: 7, OutH: 3, OutW: 4, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{InH: 8, InW: 9, OutH: 4, OutW: 4, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, DH: 1, DW: 1},
	}
	for len(ws) < n {
		w := backend.Window2d{InH: 1 + rng.IntN(9), InW: 1 + rng.IntN(9), KH: 1 + rng.IntN(4), KW: 1 + rng.IntN(4),
			SH: 1 + rng.IntN(3), SW: 1 + rng.IntN(3), DH: 1 + rng.IntN(2), DW: 1 + rng.IntN(2)}
		w.PadT, w.PadL = rng.IntN(w.KH/2+1), rng.IntN(w.KW/2+1)
		w.OutH = (w.InH+2*w.PadT-w.DH*(w.KH-1)-1)/w.SH + 1
		w.OutW = (w.InW+2*w.PadL-w.DW*(w.KW-1)-1)/w.SW + 1
		if w.OutH < 1 || w.OutW < 1 {
			continue
		}
		ws = append(ws, w)
	}
	return ws
}

// TestWindowKernels checks Unfold2d, Fold2d and WindowMax2d against the
// definition, for float32 and float64, from nonzero buffer offsets, with
// the columns stored [N, C, K, L] and [C, K, N, L], and with ties, NaNs
// and −∞ among the values.
func TestWindowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const nb, nc, off = 2, 3, 5
	const planes = nb * nc
	for _, w := range randomWindows(rng, 60) {
		hw, k, l := w.InH*w.InW, w.KH*w.KW, w.OutH*w.OutW
		layouts := map[string]backend.ColStrides{
			"NCKL": {N: nc * k * l, C: k * l, K: l},
			"CKNL": {N: l, C: k * nb * l, K: nb * l},
		}
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			// Values from a small set make ties common; some NaN and −∞.
			xv := make([]float64, off+planes*hw)
			for i := range xv {
				xv[i] = float64(rng.IntN(5))
				switch rng.IntN(25) {
				case 0:
					xv[i] = math.NaN()
				case 1:
					xv[i] = math.Inf(-1)
				}
			}
			x := NewBuffer(dt, len(xv))
			Default.Write(x, 0, castTo(dt, xv))

			for name, cs := range layouts {
				at := func(p, tap, o int) int { return (p/nc)*cs.N + (p%nc)*cs.C + tap*cs.K + o }
				cols := NewBuffer(dt, off+planes*k*l)
				Default.Unfold2d(cols, off, cs, x, off, nb, nc, w)
				got := readF64(cols)[off:]
				for p := range planes {
					for tap := range k {
						for o := range l {
							pos := windowTap(w, o/w.OutW, o%w.OutW, tap/w.KW, tap%w.KW)
							want := 0.0
							if pos >= 0 {
								want = xv[off+p*hw+pos]
							}
							if g := got[at(p, tap, o)]; g != want && !(math.IsNaN(g) && math.IsNaN(want)) {
								t.Fatalf("Unfold2d %v %s %+v: plane %d tap %d output %d = %v, want %v", dt, name, w, p, tap, o, g, want)
							}
						}
					}
				}

				cv := make([]float64, off+planes*k*l)
				for i := range cv {
					cv[i] = rng.NormFloat64()
				}
				c := NewBuffer(dt, len(cv))
				Default.Write(c, 0, castTo(dt, cv))
				folded := NewBuffer(dt, off+planes*hw)
				Default.Write(folded, 0, castTo(dt, xv)) // garbage that Fold2d overwrites
				Default.Fold2d(folded, off, c, off, cs, nb, nc, w)
				fg := readF64(folded)[off:]
				want := make([]float64, planes*hw)
				for p := range planes {
					for tap := range k {
						for o := range l {
							if pos := windowTap(w, o/w.OutW, o%w.OutW, tap/w.KW, tap%w.KW); pos >= 0 {
								want[p*hw+pos] += cv[off+at(p, tap, o)]
							}
						}
					}
				}
				for i := range want {
					if math.Abs(fg[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
						t.Fatalf("Fold2d %v %s %+v: element %d = %v, want %v", dt, name, w, i, fg[i], want[i])
					}
				}
			}

			if emptyWindow(w) {
				continue // WindowMax2d's precondition
			}
			am, mx := NewBuffer(backend.Int64, off+planes*l), NewBuffer(dt, off+planes*l)
			Default.WindowMax2d(mx, off, am, off, x, off, planes, w)
			ag, mg := am.I64[off:], readF64(mx)[off:]
			for p := range planes {
				for o := range l {
					// torch's max_pool2d scan: start at the first tap in the
					// plane, take a greater value or any NaN.
					best, m := -1, math.Inf(-1)
					for tap := range k {
						at := windowTap(w, o/w.OutW, o%w.OutW, tap/w.KW, tap%w.KW)
						if at < 0 {
							continue
						}
						if best < 0 {
							best = at
						}
						if v := xv[off+p*hw+at]; v > m || math.IsNaN(v) {
							best, m = at, v
						}
					}
					if best < 0 {
						t.Fatalf("%+v: window %d holds no element of the plane", w, o)
					}
					if ag[p*l+o] != int64(best) {
						t.Fatalf("WindowMax2d %v %+v: plane %d output %d at %d, want %d", dt, w, p, o, ag[p*l+o], best)
					}
					if want := xv[off+p*hw+best]; mg[p*l+o] != want && !(math.IsNaN(want) && math.IsNaN(mg[p*l+o])) {
						t.Fatalf("WindowMax2d %v %+v: plane %d output %d = %v, want %v", dt, w, p, o, mg[p*l+o], want)
					}
				}
			}

			// The adjoint: each window's gradient added at its position.
			gv := make([]float64, off+planes*l)
			for i := range gv {
				gv[i] = rng.NormFloat64()
			}
			gb := NewBuffer(dt, len(gv))
			Default.Write(gb, 0, castTo(dt, gv))
			dx := NewBuffer(dt, off+planes*hw)
			Default.Write(dx, 0, castTo(dt, xv)) // garbage that WindowMax2dGrad overwrites
			Default.WindowMax2dGrad(dx, off, gb, off, am, off, planes, w)
			dg := readF64(dx)[off:]
			want := make([]float64, planes*hw)
			for p := range planes {
				for o := range l {
					want[p*hw+int(ag[p*l+o])] += gv[off+p*l+o]
				}
			}
			for i := range want {
				if math.Abs(dg[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("WindowMax2dGrad %v %+v: element %d = %v, want %v", dt, w, i, dg[i], want[i])
				}
			}
		}
	}
}

// TestWindowKernelsCheckBounds checks that a window that does not fit its
// buffers panics instead of reading or writing past them.
func TestWindowKernelsCheckBounds(t *testing.T) {
	w := backend.Window2d{InH: 4, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
	x, small := NewBuffer(backend.Float32, 16), NewBuffer(backend.Float32, 15)
	cs := backend.ColStrides{N: 16, C: 16, K: 4}
	cases := map[string]func(){
		"Unfold2d src":      func() { Default.Unfold2d(NewBuffer(backend.Float32, 16), 0, cs, small, 0, 1, 1, w) },
		"Unfold2d dst":      func() { Default.Unfold2d(small, 1, cs, x, 0, 1, 1, w) },
		"Unfold2d strides":  func() { Default.Unfold2d(x, 0, backend.ColStrides{N: 16, C: 16, K: 5}, x, 0, 1, 1, w) },
		"Unfold2d negative": func() { Default.Unfold2d(x, 0, backend.ColStrides{N: 16, C: -1, K: 4}, x, 0, 1, 2, w) },
		"Fold2d dst":        func() { Default.Fold2d(small, 0, x, 0, cs, 1, 1, w) },
		"Fold2d src":        func() { Default.Fold2d(x, 0, small, 0, cs, 1, 1, w) },
		"WindowMax2d src": func() {
			Default.WindowMax2d(NewBuffer(backend.Float32, 4), 0, NewBuffer(backend.Int64, 4), 0, small, 0, 1, w)
		},
		"WindowMax2d at": func() {
			Default.WindowMax2d(NewBuffer(backend.Float32, 4), 0, NewBuffer(backend.Float32, 4), 0, x, 0, 1, w)
		},
		"WindowMax2d max": func() {
			Default.WindowMax2d(NewBuffer(backend.Float32, 3), 0, NewBuffer(backend.Int64, 4), 0, x, 0, 1, w)
		},
		"WindowMax2dGrad position": func() {
			at := NewBuffer(backend.Int64, 4)
			at.I64[2] = 16
			Default.WindowMax2dGrad(NewBuffer(backend.Float32, 16), 0, NewBuffer(backend.Float32, 4), 0, at, 0, 1, w)
		},
		"WindowMax2dGrad dst": func() {
			Default.WindowMax2dGrad(small, 0, NewBuffer(backend.Float32, 4), 0, NewBuffer(backend.Int64, 4), 0, 1, w)
		},
		"WindowMax2d empty window": func() {
			// Taps at columns −1 and 1 of a plane one column wide.
			Default.WindowMax2d(NewBuffer(backend.Float32, 5), 0, NewBuffer(backend.Int64, 5), 0, NewBuffer(backend.Float32, 7), 0, 1,
				backend.Window2d{InH: 7, InW: 1, OutH: 5, OutW: 1, KH: 3, KW: 2, SH: 1, SW: 2, PadL: 1, DH: 1, DW: 2})
		},
		"zero stride": func() {
			Default.Unfold2d(x, 0, cs, x, 0, 1, 1, backend.Window2d{InH: 4, InW: 4, OutH: 2, OutW: 2, KH: 2, KW: 2, DH: 1, DW: 1})
		},
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
