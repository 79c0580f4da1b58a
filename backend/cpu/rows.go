package cpu

// Fused row kernels (backend.Rows): LayerNorm's normalisation and the
// backward passes of it and of softmax, one row at a time so that a row
// stays in L1 across the few passes each needs. float32 rows use
// internal/asm's vector kernels (sums in 64 partial float32 sums), float64
// rows plain loops.

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

var _ backend.Rows = (*Backend)(nil)

// rowsCheck panics unless rows·n elements (per) fit each buffer from its
// offset, all of one float dtype; per[i] is the elements per row of
// buffer i (n, or 1 for rstd).
func rowsCheck(op string, rows, n int, bufs []*Buffer, offs, per []int) backend.DType {
	if rows < 0 || n < 0 {
		panic(fmt.Sprintf("cpu: %s: %d rows of %d", op, rows, n))
	}
	dt := bufs[0].dt
	for i, b := range bufs {
		if b.dt != dt {
			panic(fmt.Sprintf("cpu: %s: dtypes %v and %v differ", op, dt, b.dt))
		}
		spanCheck(op, "operand", b, offs[i], rows*per[i])
	}
	if dt != backend.Float32 && dt != backend.Float64 {
		panic(fmt.Sprintf("cpu: %s on %v not supported", op, dt))
	}
	return dt
}

// NormalizeRows implements backend.Rows.
func (*Backend) NormalizeRows(y backend.Buffer, yOff int, rstd backend.Buffer, rOff int, x backend.Buffer, xOff int, rows, n int, eps float64) {
	yb, rb, xb := buf(y), buf(rstd), buf(x)
	if rowsCheck("NormalizeRows", rows, n, []*Buffer{yb, rb, xb}, []int{yOff, rOff, xOff}, []int{n, 1, n}) == backend.Float32 {
		ys, rs, xs := yb.F32[yOff:yOff+rows*n], rb.F32[rOff:rOff+rows], xb.F32[xOff:xOff+rows*n]
		parallelFor(rows, 4*n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				yr, xr := ys[r*n:(r+1)*n], xs[r*n:(r+1)*n]
				mean := asm.Sum(xr) / float32(n)
				asm.AddScalar(yr, xr, -mean)
				v := asm.Dot(yr, yr) / float32(n)
				rs[r] = float32(1 / math.Sqrt(float64(v)+eps))
				asm.MulScalar(yr, yr, rs[r])
			}
		})
		return
	}
	ys, rs, xs := yb.F64[yOff:yOff+rows*n], rb.F64[rOff:rOff+rows], xb.F64[xOff:xOff+rows*n]
	parallelFor(rows, 4*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, xr := ys[r*n:(r+1)*n], xs[r*n:(r+1)*n]
			var s float64
			for _, v := range xr {
				s += v
			}
			mean := s / float64(n)
			var q float64
			for i, v := range xr {
				d := v - mean
				yr[i] = d
				q += d * d
			}
			rs[r] = 1 / math.Sqrt(q/float64(n)+eps)
			for i := range yr {
				yr[i] *= rs[r]
			}
		}
	})
}

// NormalizeRowsGrad implements backend.Rows.
func (*Backend) NormalizeRowsGrad(dx backend.Buffer, dOff int, g backend.Buffer, gOff int, y backend.Buffer, yOff int, rstd backend.Buffer, rOff int, rows, n int) {
	db, gb, yb, rb := buf(dx), buf(g), buf(y), buf(rstd)
	if rowsCheck("NormalizeRowsGrad", rows, n, []*Buffer{db, gb, yb, rb}, []int{dOff, gOff, yOff, rOff}, []int{n, n, n, 1}) == backend.Float32 {
		ds, gs, ys, rs := db.F32[dOff:dOff+rows*n], gb.F32[gOff:gOff+rows*n], yb.F32[yOff:yOff+rows*n], rb.F32[rOff:rOff+rows]
		parallelFor(rows, 5*n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dr, gr, yr := ds[r*n:(r+1)*n], gs[r*n:(r+1)*n], ys[r*n:(r+1)*n]
				mg := asm.Sum(gr) / float32(n)
				mgy := asm.Dot(gr, yr) / float32(n)
				copy(dr, gr)
				asm.Axpy(-mgy, yr, dr) // g − y·mean(g·y)
				asm.AddScalar(dr, dr, -mg)
				asm.MulScalar(dr, dr, rs[r])
			}
		})
		return
	}
	ds, gs, ys, rs := db.F64[dOff:dOff+rows*n], gb.F64[gOff:gOff+rows*n], yb.F64[yOff:yOff+rows*n], rb.F64[rOff:rOff+rows]
	parallelFor(rows, 5*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dr, gr, yr := ds[r*n:(r+1)*n], gs[r*n:(r+1)*n], ys[r*n:(r+1)*n]
			var sg, sgy float64
			for i, v := range gr {
				sg += v
				sgy += v * yr[i]
			}
			mg, mgy := sg/float64(n), sgy/float64(n)
			for i, v := range gr {
				dr[i] = (v - mg - yr[i]*mgy) * rs[r]
			}
		}
	})
}

// SoftmaxRowsGrad implements backend.Rows.
func (*Backend) SoftmaxRowsGrad(dx backend.Buffer, dOff int, g backend.Buffer, gOff int, y backend.Buffer, yOff int, rows, n int) {
	db, gb, yb := buf(dx), buf(g), buf(y)
	if rowsCheck("SoftmaxRowsGrad", rows, n, []*Buffer{db, gb, yb}, []int{dOff, gOff, yOff}, []int{n, n, n}) == backend.Float32 {
		ds, gs, ys := db.F32[dOff:dOff+rows*n], gb.F32[gOff:gOff+rows*n], yb.F32[yOff:yOff+rows*n]
		parallelFor(rows, 3*n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dr, gr, yr := ds[r*n:(r+1)*n], gs[r*n:(r+1)*n], ys[r*n:(r+1)*n]
				s := asm.Dot(gr, yr)
				asm.Mul(dr, gr, yr)
				asm.Axpy(-s, yr, dr) // y·g − y·s
			}
		})
		return
	}
	ds, gs, ys := db.F64[dOff:dOff+rows*n], gb.F64[gOff:gOff+rows*n], yb.F64[yOff:yOff+rows*n]
	parallelFor(rows, 3*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dr, gr, yr := ds[r*n:(r+1)*n], gs[r*n:(r+1)*n], ys[r*n:(r+1)*n]
			var s float64
			for i, v := range gr {
				s += v * yr[i]
			}
			for i, v := range gr {
				dr[i] = yr[i] * (v - s)
			}
		}
	})
}
