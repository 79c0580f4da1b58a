//go:build cuda

package cuda

import (
	"math"
	"testing"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cpu"
)

// TestFusedMatchesCPU runs Axpby, ReLUGrad and GELUGrad on this backend
// and on the CPU backend over contiguous, offset, transposed, broadcast
// (stride 0) and in-place layouts, float32 and float64, with NaN, ±Inf and
// zeros among the inputs, and requires the same results: bit for bit for
// ReLUGrad, within a few ulps for the others (the CPU's vector kernels may
// fuse a multiply and an add; GELU's erfc and exp come from two libms).
func TestFusedMatchesCPU(t *testing.T) {
	be := openOrSkip(t)
	ref := cpu.Default
	const rows, cols = 7, 37
	n := rows * cols
	vals := make([]float64, n+3)
	for i := range vals {
		vals[i] = math.Sin(float64(i)*0.7) * 4
	}
	vals[5], vals[11], vals[12], vals[40] = math.NaN(), math.Inf(1), math.Inf(-1), 0
	contig := backend.Contiguous([]int{rows, cols})
	layouts := map[string]backend.Layout{
		"contiguous": contig,
		"offset":     {Shape: []int{rows, cols}, Strides: []int{cols, 1}, Offset: 3},
		"transposed": {Shape: []int{rows, cols}, Strides: []int{1, rows}},
		"broadcast":  {Shape: []int{rows, cols}, Strides: []int{0, 1}, Offset: 1},
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		// put writes vals (shifted by k) to a new buffer of either backend.
		put := func(b backend.Backend, k int) backend.Buffer {
			buf, err := b.Alloc(dt, len(vals))
			if err != nil {
				t.Fatal(err)
			}
			v := make([]float64, len(vals))
			for i := range v {
				v[i] = vals[(i+k)%len(vals)]
			}
			var src any = v
			if dt == backend.Float32 {
				f := make([]float32, len(v))
				for i := range v {
					f[i] = float32(v[i])
				}
				src = f
			}
			if err := b.Write(buf, 0, src); err != nil {
				t.Fatal(err)
			}
			return buf
		}
		get := func(b backend.Backend, buf backend.Buffer) []float64 {
			out := make([]float64, len(vals))
			if dt == backend.Float32 {
				f := make([]float32, len(vals))
				if err := b.Read(buf, 0, f); err != nil {
					t.Fatal(err)
				}
				for i := range f {
					out[i] = float64(f[i])
				}
				return out
			}
			if err := b.Read(buf, 0, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		type op struct {
			name  string
			ulps  float64
			floor float64 // ulps are of max(|result|, floor): Axpby's cancel
			run   func(b backend.Backend, d backend.Buffer, dl backend.Layout, x backend.Buffer, xl backend.Layout, y backend.Buffer, yl backend.Layout)
		}
		ops := []op{
			{"Axpby", 2, 6, func(b backend.Backend, d backend.Buffer, dl backend.Layout, x backend.Buffer, xl backend.Layout, y backend.Buffer, yl backend.Layout) {
				b.(backend.Axpby).Axpby(d, dl, 0.9, x, xl, -1.5, y, yl)
			}},
			{"ReLUGrad", 0, 0, func(b backend.Backend, d backend.Buffer, dl backend.Layout, x backend.Buffer, xl backend.Layout, y backend.Buffer, yl backend.Layout) {
				b.(backend.Fused).ReLUGrad(d, dl, x, xl, y, yl)
			}},
			{"GELUGrad", 4, 0, func(b backend.Backend, d backend.Buffer, dl backend.Layout, x backend.Buffer, xl backend.Layout, y backend.Buffer, yl backend.Layout) {
				b.(backend.Fused).GELUGrad(d, dl, x, xl, y, yl)
			}},
		}
		for _, o := range ops {
			for lname, l := range layouts {
				for _, inPlace := range []bool{false, true} {
					if inPlace && lname == "broadcast" {
						continue // a destination may not overlap itself
					}
					var res [2][]float64
					for j, b := range []backend.Backend{ref, be} {
						x, y := put(b, 0), put(b, 17)
						d, dl := put(b, 29), contig
						if inPlace {
							d, dl = x, l // dst is exactly a
						}
						o.run(b, d, dl, x, l, y, l)
						res[j] = get(b, d)
					}
					for i := range res[0] {
						w, g := res[0][i], res[1][i]
						if math.IsNaN(w) && math.IsNaN(g) || w == g {
							continue
						}
						m := max(math.Abs(w), o.floor)
						ulp := m * 0x1p-52
						if dt == backend.Float32 {
							ulp = m * 0x1p-23
						}
						if o.ulps == 0 || !(math.Abs(w-g) <= o.ulps*ulp) {
							t.Fatalf("%v %s %s in place %v: [%d] = %v, the CPU gives %v", dt, o.name, lname, inPlace, i, g, w)
						}
					}
				}
			}
		}
	}
}

// TestAdamMatchesCPU runs the fused Adam update on this backend and on the
// CPU backend from the same state, for both dtypes, with and without
// AdamW's decay, at offsets, and requires identical bits: both round every
// step to the element type with IEEE square root and division.
func TestAdamMatchesCPU(t *testing.T) {
	be := openOrSkip(t)
	ref := cpu.Default
	const n, span = 1001, 1010
	args := []backend.AdamArgs{
		{Decay: 1, Beta1: 0.9, Beta2: 0.999, StepSize: 0.01 / (1 - 0.9), BC2Sqrt: math.Sqrt(1 - 0.999), Eps: 1e-8},
		{Decay: 1 - 1e-3*0.01, Beta1: 0.8, Beta2: 0.99, StepSize: 3e-3, BC2Sqrt: 0.5, Eps: 0},
	}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		for ai, a := range args {
			var res [2][4][]float64
			for j, b := range []backend.Backend{ref, be} {
				bufs := make([]backend.Buffer, 4)
				for k := range bufs {
					v := make([]float64, span)
					for i := range v {
						v[i] = math.Sin(float64(i*(k+3))) * 2
						if k == 3 {
							v[i] = v[i] * v[i] // the second moment is not negative
						}
					}
					if k == 1 {
						v[7] = 0
					}
					buf, err := b.Alloc(dt, span)
					if err != nil {
						t.Fatal(err)
					}
					if dt == backend.Float32 {
						f := make([]float32, span)
						for i := range v {
							f[i] = float32(v[i])
						}
						err = b.Write(buf, 0, f)
					} else {
						err = b.Write(buf, 0, v)
					}
					if err != nil {
						t.Fatal(err)
					}
					bufs[k] = buf
				}
				for range 3 {
					b.(backend.Adam).AdamUpdate(bufs[0], 2, bufs[1], 5, bufs[2], 0, bufs[3], 9, n, a)
				}
				for k, buf := range bufs {
					out := make([]float64, span)
					if dt == backend.Float32 {
						f := make([]float32, span)
						if err := b.Read(buf, 0, f); err != nil {
							t.Fatal(err)
						}
						for i := range f {
							out[i] = float64(f[i])
						}
					} else if err := b.Read(buf, 0, out); err != nil {
						t.Fatal(err)
					}
					res[j][k] = out
					b.Free(buf)
				}
			}
			for k, name := range []string{"p", "g", "m", "v"} {
				for i := range res[0][k] {
					if res[0][k][i] != res[1][k][i] {
						t.Fatalf("%v args %d: %s[%d] = %v, the CPU gives %v", dt, ai, name, i, res[1][k][i], res[0][k][i])
					}
				}
			}
		}
	}
}
