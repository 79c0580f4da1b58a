package cpu

// MatMul: dst[p] = a[p] @ b[p] for a [B, M, K], b [B, K, N], dst [B, M, N].
//
// The kernel is the i-k-j loop over rows of b: row i of the result is
// built as Σ_k a[i,k]·b[k,:], which streams rows of b and of the result
// contiguously. It is blocked for the caches: the result is cut into tiles
// of mmRows × mmCols (the unit of parallel work, over batch × row tiles ×
// column tiles), and K into slabs of mmDepth, so that a slab of b
// (mmDepth × mmCols) stays in cache while it is applied to every row of a
// tile. b is packed into contiguous scratch first when its rows are not
// contiguous (a transposed b), and a tile is computed into contiguous
// scratch and scattered when dst's rows are not contiguous. a is read one
// element at a time, so any layout of it is fine.
//
// Each result element is accumulated in the element type (float32 in
// float32, integers wrapping) over k in increasing order, starting from 0;
// K = 0 gives zeros. Nothing is skipped for zero operands, so 0·Inf and NaN
// propagate as IEEE arithmetic says.

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
)

const (
	mmRows  = 32  // rows of a result tile
	mmCols  = 256 // columns of a result tile
	mmDepth = 128 // length of a slab of K
)

type mmNum interface {
	float32 | float64 | int32 | int64
}

// MatMul implements backend.Backend for Float32, Float64, Int32 and Int64;
// a, b and dst share the dtype.
func (*Backend) MatMul(dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, x, y := buf(dst), buf(a), buf(b)
	if x.dt != d.dt || y.dt != d.dt {
		panic(fmt.Sprintf("cpu: MatMul: dtypes differ: %v @ %v into %v", x.dt, y.dt, d.dt))
	}
	mmCheck(dl, al, bl)
	switch d.dt {
	case backend.Float32:
		if !matmulF32Fast(d.F32, dl, x.F32, al, y.F32, bl) {
			matmul(d.F32, dl, x.F32, al, y.F32, bl)
		}
	case backend.Float64:
		matmul(d.F64, dl, x.F64, al, y.F64, bl)
	case backend.Int32:
		matmul(d.I32, dl, x.I32, al, y.I32, bl)
	case backend.Int64:
		matmul(d.I64, dl, x.I64, al, y.I64, bl)
	default:
		panic(fmt.Sprintf("cpu: MatMul on %v not supported", d.dt))
	}
}

func mmCheck(dl, al, bl backend.Layout) {
	for _, l := range []backend.Layout{dl, al, bl} {
		if len(l.Shape) != 3 || len(l.Strides) != 3 {
			panic(fmt.Sprintf("cpu: MatMul: layouts must be rank 3, got %v @ %v into %v", al.Shape, bl.Shape, dl.Shape))
		}
	}
	if al.Shape[0] != bl.Shape[0] || al.Shape[0] != dl.Shape[0] || al.Shape[2] != bl.Shape[1] ||
		al.Shape[1] != dl.Shape[1] || bl.Shape[2] != dl.Shape[2] {
		panic(fmt.Sprintf("cpu: MatMul: shapes do not match: %v @ %v into %v", al.Shape, bl.Shape, dl.Shape))
	}
}

func matmul[T mmNum](c []T, cl backend.Layout, a []T, al backend.Layout, b []T, bl backend.Layout) {
	nb, m, k, n := al.Shape[0], al.Shape[1], al.Shape[2], bl.Shape[2]
	if nb == 0 || m == 0 || n == 0 {
		return
	}
	cB, cM, cN := cl.Strides[0], cl.Strides[1], cl.Strides[2]
	if k == 0 {
		parallelFor(nb*m, n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				off := cl.Offset + (r/m)*cB + (r%m)*cM
				for j := 0; j < n; j++ {
					c[off+j*cN] = 0
				}
			}
		})
		return
	}
	aB, aM, aK := al.Strides[0], al.Strides[1], al.Strides[2]
	bB, bK, bOff := bl.Strides[0], bl.Strides[1], bl.Offset
	if bN := bl.Strides[2]; bN != 1 && n > 1 {
		// Pack b (each distinct matrix once) into contiguous rows.
		cnt := nb
		if bB == 0 {
			cnt = 1
		}
		packed := make([]T, cnt*k*n)
		parallelFor(cnt*k, n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				off := bOff + (r/k)*bB + (r%k)*bK
				row := packed[r*n : (r+1)*n]
				for j := range row {
					row[j] = b[off+j*bN]
				}
			}
		})
		b, bOff, bK = packed, 0, n
		if cnt > 1 {
			bB = k * n
		}
	}
	rowTiles := (m + mmRows - 1) / mmRows
	colTiles := (n + mmCols - 1) / mmCols
	cContig := cN == 1 || n == 1
	parallelFor(nb*rowTiles*colTiles, min(m, mmRows)*min(n, mmCols)*k, func(lo, hi int) {
		var tmp []T
		if !cContig {
			tmp = make([]T, mmRows*min(n, mmCols))
		}
		for it := lo; it < hi; it++ {
			p := it / (rowTiles * colTiles)
			i0 := (it / colTiles) % rowTiles * mmRows
			j0 := it % colTiles * mmCols
			rows, cols := min(mmRows, m-i0), min(mmCols, n-j0)
			aBase := al.Offset + p*aB + i0*aM
			bBase := bOff + p*bB + j0
			cBase := cl.Offset + p*cB + i0*cM + j0*cN
			if cContig {
				mmTile(c, cBase, cM, a, aBase, aM, aK, b, bBase, bK, rows, cols, k)
				continue
			}
			mmTile(tmp, 0, cols, a, aBase, aM, aK, b, bBase, bK, rows, cols, k)
			for i := 0; i < rows; i++ {
				for j, v := range tmp[i*cols : (i+1)*cols] {
					c[cBase+i*cM+j*cN] = v
				}
			}
		}
	})
}

// mmTile sets c[cBase + i*ldc + j] = Σ_kk a[aBase + i*aM + kk*aK] ·
// b[bBase + kk*ldb + j] for i < rows, j < cols, kk < k, accumulating over kk
// in increasing order.
func mmTile[T mmNum](c []T, cBase, ldc int, a []T, aBase, aM, aK int, b []T, bBase, ldb int, rows, cols, k int) {
	for i := 0; i < rows; i++ {
		clear(c[cBase+i*ldc : cBase+i*ldc+cols])
	}
	for k0 := 0; k0 < k; k0 += mmDepth {
		k1 := min(k0+mmDepth, k)
		for i := 0; i < rows; i++ {
			cr := c[cBase+i*ldc : cBase+i*ldc+cols]
			ai := aBase + i*aM
			kk := k0
			for ; kk+4 <= k1; kk += 4 {
				a0, a1, a2, a3 := a[ai+kk*aK], a[ai+(kk+1)*aK], a[ai+(kk+2)*aK], a[ai+(kk+3)*aK]
				o := bBase + kk*ldb
				b0 := b[o:][:len(cr)]
				b1 := b[o+ldb:][:len(cr)]
				b2 := b[o+2*ldb:][:len(cr)]
				b3 := b[o+3*ldb:][:len(cr)]
				for j := range cr {
					// One expression, evaluated left to right: the same
					// order as four separate updates.
					cr[j] = cr[j] + a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
				}
			}
			for ; kk < k1; kk++ {
				a0 := a[ai+kk*aK]
				b0 := b[bBase+kk*ldb:][:len(cr)]
				for j := range cr {
					cr[j] += a0 * b0[j]
				}
			}
		}
	}
}
