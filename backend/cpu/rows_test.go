package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// TestRowKernels checks NormalizeRows, NormalizeRowsGrad and
// SoftmaxRowsGrad against their formulas in float64, for float32 and
// float64 buffers, from nonzero offsets, at row lengths around the vector
// widths.
func TestRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const off, eps = 3, 1e-5
	for _, n := range []int{1, 2, 7, 8, 9, 31, 64, 100, 128, 257} {
		for _, rows := range []int{1, 5} {
			for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
				tol := 1e-12
				if dt == backend.Float32 {
					tol = 2e-5
				}
				vals := func(scale, shift float64) []float64 {
					v := make([]float64, off+rows*n)
					for i := range v {
						v[i] = rng.NormFloat64()*scale + shift
					}
					return v
				}
				xv, gv := vals(2, 3), vals(1, 0)
				// The kernels read what was stored: compare with the rounded values.
				load := func(v []float64) (*Buffer, []float64) {
					b := NewBuffer(dt, len(v))
					Default.Write(b, 0, castTo(dt, v))
					return b, readF64(b)
				}
				x, xs := load(xv)
				g, gs := load(gv)
				y, rstd := NewBuffer(dt, off+rows*n), NewBuffer(dt, off+rows)
				Default.NormalizeRows(y, off, rstd, off, x, off, rows, n, eps)
				ys, rs := readF64(y), readF64(rstd)
				dx := NewBuffer(dt, off+rows*n)
				Default.NormalizeRowsGrad(dx, off, g, off, y, off, rstd, off, rows, n)
				dxs := readF64(dx)
				sm := NewBuffer(dt, off+rows*n)
				Default.SoftmaxRowsGrad(sm, off, g, off, y, off, rows, n)
				sms := readF64(sm)
				for r := range rows {
					at := off + r*n
					var mean, q float64
					for i := range n {
						mean += xs[at+i]
					}
					mean /= float64(n)
					for i := range n {
						q += (xs[at+i] - mean) * (xs[at+i] - mean)
					}
					wr := 1 / math.Sqrt(q/float64(n)+eps)
					if math.Abs(rs[off+r]-wr) > tol*wr {
						t.Fatalf("%v n=%d row %d: rstd %v, want %v", dt, n, r, rs[off+r], wr)
					}
					var mg, mgy, sgy float64
					for i := range n {
						mg += gs[at+i]
						mgy += gs[at+i] * ys[at+i]
					}
					sgy = mgy
					mg, mgy = mg/float64(n), mgy/float64(n)
					for i := range n {
						if w := (xs[at+i] - mean) * wr; math.Abs(ys[at+i]-w) > tol*(1+math.Abs(w))*4 {
							t.Fatalf("%v n=%d row %d: y[%d] = %v, want %v", dt, n, r, i, ys[at+i], w)
						}
						if w := (gs[at+i] - mg - ys[at+i]*mgy) * rs[off+r]; math.Abs(dxs[at+i]-w) > tol*(1+math.Abs(w))*float64(n) {
							t.Fatalf("%v n=%d row %d: dx[%d] = %v, want %v", dt, n, r, i, dxs[at+i], w)
						}
						if w := ys[at+i] * (gs[at+i] - sgy); math.Abs(sms[at+i]-w) > tol*(1+math.Abs(w))*float64(n) {
							t.Fatalf("%v n=%d row %d: softmax dx[%d] = %v, want %v", dt, n, r, i, sms[at+i], w)
						}
					}
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NormalizeRows past its buffer: no panic")
		}
	}()
	Default.NormalizeRows(NewBuffer(backend.Float32, 8), 0, NewBuffer(backend.Float32, 2), 0, NewBuffer(backend.Float32, 7), 0, 2, 4, 1e-5)
}
