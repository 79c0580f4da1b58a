package cpu

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/internal/asm"
)

// GELUGrad implements backend.Fused: dst = g·(Φ(x) + x·φ(x)), GELU's
// backward in one pass instead of the dozen elementwise ops of its
// formula. The reference computes in float64 per element; contiguous
// float32 takes asm.GELUGrad (within 2⁻²²·|g| of it).
func (*Backend) GELUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	d, gb, xb := buf(dst), buf(g), buf(x)
	if d.dt != gb.dt || d.dt != xb.dt {
		panic(fmt.Sprintf("cpu: GELUGrad: dtypes %v = %v, %v", d.dt, gb.dt, xb.dt))
	}
	ewCheckShapes("GELUGrad", dl, gl, xl)
	switch d.dt {
	case backend.Float32:
		if !fastOff.Load() && dl.IsContiguous() && gl.IsContiguous() && xl.IsContiguous() {
			n := dl.Size()
			asm.GELUGrad(d.F32[dl.Offset:dl.Offset+n], gb.F32[gl.Offset:gl.Offset+n], xb.F32[xl.Offset:xl.Offset+n])
			return
		}
		ewMap2(d.F32, dl, gb.F32, gl, xb.F32, xl, 30, func(d, g, x []float32) {
			g, x = g[:len(d)], x[:len(d)]
			for i := range d {
				d[i] = float32(float64(g[i]) * geluGrad64(float64(x[i])))
			}
		})
	case backend.Float64:
		ewMap2(d.F64, dl, gb.F64, gl, xb.F64, xl, 30, func(d, g, x []float64) {
			g, x = g[:len(d)], x[:len(d)]
			for i := range d {
				d[i] = g[i] * geluGrad64(x[i])
			}
		})
	default:
		panic(fmt.Sprintf("cpu: GELUGrad on %v not supported", d.dt))
	}
}

// ReLUGrad implements backend.Fused: dst = g where x > 0, else 0.
func (*Backend) ReLUGrad(dst backend.Buffer, dl backend.Layout, g backend.Buffer, gl backend.Layout, x backend.Buffer, xl backend.Layout) {
	d, gb, xb := buf(dst), buf(g), buf(x)
	if d.dt != gb.dt || d.dt != xb.dt {
		panic(fmt.Sprintf("cpu: ReLUGrad: dtypes %v = %v, %v", d.dt, gb.dt, xb.dt))
	}
	ewCheckShapes("ReLUGrad", dl, gl, xl)
	switch d.dt {
	case backend.Float32:
		if !fastOff.Load() && dl.IsContiguous() && gl.IsContiguous() && xl.IsContiguous() {
			n := dl.Size()
			asm.ReLUGrad(d.F32[dl.Offset:dl.Offset+n], gb.F32[gl.Offset:gl.Offset+n], xb.F32[xl.Offset:xl.Offset+n])
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
		d[i] = 0
		if x[i] > 0 {
			d[i] = g[i]
		}
	}
}

// geluGrad64 is gelu'(x) = Φ(x) + x·φ(x): 1 at +Inf, 0 at -Inf, NaN for NaN.
func geluGrad64(x float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return 1
	case math.IsInf(x, -1):
		return 0
	}
	return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}
