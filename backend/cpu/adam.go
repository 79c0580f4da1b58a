package cpu

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
)

var _ backend.Adam = (*Backend)(nil)

// AdamUpdate implements backend.Adam in plain Go, in chunks over the
// worker pool. Explicit conversions keep every product and sum rounded to
// the element type on its own (Go fuses no multiply-add across them).
func (*Backend) AdamUpdate(p backend.Buffer, pOff int, g backend.Buffer, gOff int, m backend.Buffer, mOff int, v backend.Buffer, vOff int, n int, a backend.AdamArgs) {
	pb, gb, mb, vb := buf(p), buf(g), buf(m), buf(v)
	if pb.dt != gb.dt || pb.dt != mb.dt || pb.dt != vb.dt {
		panic(fmt.Sprintf("cpu: AdamUpdate: dtypes %v, %v, %v and %v differ", pb.dt, gb.dt, mb.dt, vb.dt))
	}
	spanCheck("AdamUpdate", "p", pb, pOff, n)
	spanCheck("AdamUpdate", "g", gb, gOff, n)
	spanCheck("AdamUpdate", "m", mb, mOff, n)
	spanCheck("AdamUpdate", "v", vb, vOff, n)
	switch pb.dt {
	case backend.Float32:
		adamChunks(pb.F32[pOff:pOff+n], gb.F32[gOff:gOff+n], mb.F32[mOff:mOff+n], vb.F32[vOff:vOff+n], a,
			func(x float32) float32 { return float32(math.Sqrt(float64(x))) })
	case backend.Float64:
		adamChunks(pb.F64[pOff:pOff+n], gb.F64[gOff:gOff+n], mb.F64[mOff:mOff+n], vb.F64[vOff:vOff+n], a, math.Sqrt)
	default:
		panic(fmt.Sprintf("cpu: AdamUpdate on %v not supported", pb.dt))
	}
}

func adamChunks[T float32 | float64](p, g, m, v []T, a backend.AdamArgs, sqrt func(T) T) {
	decay, b1, c1, b2, c2 := T(a.Decay), T(a.Beta1), T(1-a.Beta1), T(a.Beta2), T(1-a.Beta2)
	step, bc2, eps := T(-a.StepSize), T(a.BC2Sqrt), T(a.Eps)
	scaleP := a.Decay != 1
	parallelFor(len(p), 12, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pi := p[i]
			if scaleP {
				pi = T(pi * decay)
			}
			gi := g[i]
			mi := T(T(b1*m[i]) + T(c1*gi))
			vi := T(T(v[i]*b2) + T(c2*T(gi*gi)))
			d := T(T(sqrt(vi)/bc2) + eps)
			p[i] = T(pi + T(step*T(mi/d)))
			m[i], v[i] = mi, vi
		}
	})
}
