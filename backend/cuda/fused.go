//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"runtime"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
)

// The optional fused kernels (kernels/fused.cu): backend.Axpby for the
// optimizers' in-place updates and backend.Fused for the activations'
// backward passes, one launch each where the composites take two or three
// and allocate temporaries. Each takes any strided layouts, as Binary does.

var (
	_ backend.Axpby = (*Backend)(nil)
	_ backend.Fused = (*Backend)(nil)
	_ backend.Adam  = (*Backend)(nil)
)

// fused ids within famFused.
const (
	fusedAxpby uint8 = iota
	fusedReLUGrad
	fusedGELUGrad
	fusedAdam
)

var fusedNames = [...]string{"axpby", "relugrad", "gelugrad", "adam"}

func (be *Backend) fused(id uint8, op string, dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout, bits ...uint64) {
	d, x, y := be.buf(dst), be.buf(a), be.buf(b)
	if d.dt != x.dt || d.dt != y.dt {
		panic(fmt.Sprintf("cuda: %s: dtypes %v, %v and %v differ", op, d.dt, x.dt, y.dt))
	}
	if d.dt != backend.Float32 && d.dt != backend.Float64 {
		panic(fmt.Sprintf("cuda: %s on %v not supported", op, d.dt))
	}
	checkShapes(op, dl, al, bl)
	k := be.kernel(kkey{famFused, id, uint8(d.dt), 0}, kernels.Fused, func() string { return fusedNames[id] + "_" + suffix(d.dt) })
	be.ew(k, []backend.Layout{dl, al, bl}, []uint64{d.addr(0), x.addr(0), y.addr(0)}, bits...)
	runtime.KeepAlive(d)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}

// Axpby implements backend.Axpby: dst = alpha·a + beta·b, computed in the
// element type (float32 rounds alpha and beta first, as the CPU does).
func (be *Backend) Axpby(dst backend.Buffer, dl backend.Layout, alpha float64, a backend.Buffer, al backend.Layout, beta float64, b backend.Buffer, bl backend.Layout) {
	be.fused(fusedAxpby, "Axpby", dst, dl, a, al, b, bl, math.Float64bits(alpha), math.Float64bits(beta))
}

// ReLUGrad implements backend.Fused: dst = g where x > 0, else 0.
func (be *Backend) ReLUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	be.fused(fusedReLUGrad, "ReLUGrad", dst, dl, g, gl, x, xl)
}

// GELUGrad implements backend.Fused: dst = g·gelu'(x) for the erf form,
// computed in double and rounded once.
func (be *Backend) GELUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	be.fused(fusedGELUGrad, "GELUGrad", dst, dl, g, gl, x, xl)
}

// AdamUpdate implements backend.Adam: one kernel per parameter, rounding
// as optim's composite update (and the CPU's AdamUpdate) does.
func (be *Backend) AdamUpdate(p backend.Buffer, pOff int, g backend.Buffer, gOff int, m backend.Buffer, mOff int, v backend.Buffer, vOff int, n int, a backend.AdamArgs) {
	bufs := [4]*Buffer{be.buf(p), be.buf(g), be.buf(m), be.buf(v)}
	offs := [4]int{pOff, gOff, mOff, vOff}
	dt := bufs[0].dt
	for j, b := range bufs {
		if b.dt != dt {
			panic(fmt.Sprintf("cuda: AdamUpdate: dtypes %v and %v differ", dt, b.dt))
		}
		if n < 0 || offs[j] < 0 || offs[j]+n > b.n {
			panic(fmt.Sprintf("cuda: AdamUpdate: [%d, %d) outside a buffer of %d elements", offs[j], offs[j]+n, b.n))
		}
	}
	if dt != backend.Float32 && dt != backend.Float64 {
		panic(fmt.Sprintf("cuda: AdamUpdate on %v not supported", dt))
	}
	if n == 0 {
		return
	}
	k := be.kernel(kkey{famFused, fusedAdam, uint8(dt), 0}, kernels.Fused, func() string { return "adam_" + suffix(dt) })
	args := adamArgs{
		N: int64(n), P: bufs[0].addr(pOff), G: bufs[1].addr(gOff), M: bufs[2].addr(mOff), V: bufs[3].addr(vOff),
		Decay: a.Decay, Beta1: a.Beta1, Beta2: a.Beta2, StepSize: a.StepSize, BC2Sqrt: a.BC2Sqrt, Eps: a.Eps,
	}
	ap, size := args.ptr()
	be.launch(k.fn, k.name, be.gridFor(args.N), 1, ap, size)
	runtime.KeepAlive(bufs)
}
