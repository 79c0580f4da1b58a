package cpu

import (
	"fmt"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// fusedOperands checks a fused kernel's three same-dtype operands and
// layouts and returns their buffers.
func fusedOperands(name string, dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) (d, x, y *Buffer) {
	d, x, y = buf(dst), buf(a), buf(b)
	if d.dt != x.dt || d.dt != y.dt {
		panic(fmt.Sprintf("cpu: %s: dtypes %v = %v, %v", name, d.dt, x.dt, y.dt))
	}
	ewCheckShapes(name, dl, al, bl)
	return d, x, y
}

// contiguousF32 returns the float32 elements of three dense layouts, or
// ok = false (also with fast paths off), for the assembly fast paths.
func contiguousF32(d *Buffer, dl backend.Layout, x *Buffer, al backend.Layout, y *Buffer, bl backend.Layout) (dv, av, bv []float32, ok bool) {
	if fastOff.Load() || !dl.IsContiguous() || !al.IsContiguous() || !bl.IsContiguous() {
		return nil, nil, nil, false
	}
	n := dl.Size()
	return d.F32[dl.Offset : dl.Offset+n], x.F32[al.Offset : al.Offset+n], y.F32[bl.Offset : bl.Offset+n], true
}

// GELUGrad implements backend.Fused: dst = g·(Φ(x) + x·φ(x)), GELU's
// backward in one pass instead of the dozen elementwise ops of its
// formula. The reference computes in float64 per element (asm.GELUGrad64);
// contiguous float32 takes asm.GELUGrad (within 2⁻²²·|g| of it).
func (*Backend) GELUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	d, gb, xb := fusedOperands("GELUGrad", dst, dl, g, gl, x, xl)
	switch d.dt {
	case backend.Float32:
		if dv, gv, xv, ok := contiguousF32(d, dl, gb, gl, xb, xl); ok {
			asm.GELUGrad(dv, gv, xv)
			return
		}
		ewMap2(d.F32, dl, gb.F32, gl, xb.F32, xl, 30, func(d, g, x []float32) {
			g, x = g[:len(d)], x[:len(d)]
			for i := range d {
				d[i] = float32(float64(g[i]) * asm.GELUGrad64(float64(x[i])))
			}
		})
	case backend.Float64:
		ewMap2(d.F64, dl, gb.F64, gl, xb.F64, xl, 30, func(d, g, x []float64) {
			g, x = g[:len(d)], x[:len(d)]
			for i := range d {
				d[i] = g[i] * asm.GELUGrad64(x[i])
			}
		})
	default:
		panic(fmt.Sprintf("cpu: GELUGrad on %v not supported", d.dt))
	}
}

// ReLUGrad implements backend.Fused: dst = g where x > 0, else 0.
func (*Backend) ReLUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	d, gb, xb := fusedOperands("ReLUGrad", dst, dl, g, gl, x, xl)
	switch d.dt {
	case backend.Float32:
		if dv, gv, xv, ok := contiguousF32(d, dl, gb, gl, xb, xl); ok {
			asm.ReLUGrad(dv, gv, xv)
			return
		}
		ewMap2(d.F32, dl, gb.F32, gl, xb.F32, xl, 1, reluGradRef[float32])
	case backend.Float64:
		ewMap2(d.F64, dl, gb.F64, gl, xb.F64, xl, 1, reluGradRef[float64])
	default:
		panic(fmt.Sprintf("cpu: ReLUGrad on %v not supported", d.dt))
	}
}

func reluGradRef[T float32 | float64](d, g, x []T) {
	g, x = g[:len(d)], x[:len(d)]
	for i := range d {
		v := T(0) // d may be g itself: read before writing
		if x[i] > 0 {
			v = g[i]
		}
		d[i] = v
	}
}
