package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// TestAxpby checks the fused scaled add against alpha·a + beta·b computed
// here, for every aliasing the optimizers use, on the fast and the
// reference path, contiguous and strided.
func TestAxpby(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fast := range []bool{false, true} {
		prev := SetFastPaths(fast)
		for _, n := range []int{0, 1, 7, 8, 33, 1000} {
			for _, alias := range []string{"none", "a", "b"} {
				for _, ab := range [][2]float64{{1, -0.1}, {0.9, 1}, {0.9, 0.1}, {-2, 3}} {
					for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
						a, b := NewBuffer(dt, n), NewBuffer(dt, n)
						av, bv := make([]float64, n), make([]float64, n)
						for i := range n {
							av[i], bv[i] = rng.NormFloat64(), rng.NormFloat64()
						}
						Default.Write(a, 0, castTo(dt, av))
						Default.Write(b, 0, castTo(dt, bv))
						l := backend.Layout{Shape: []int{n}, Strides: []int{1}}
						d := NewBuffer(dt, n)
						switch alias {
						case "a":
							d = a
						case "b":
							d = b
						}
						Default.Axpby(d, l, ab[0], a, l, ab[1], b, l)
						got := readF64(d)
						for i := range n {
							want := ab[0]*av[i] + ab[1]*bv[i]
							if dt == backend.Float32 {
								want = float64(float32(ab[0])*float32(av[i]) + float32(ab[1])*float32(bv[i]))
							}
							if math.Abs(got[i]-want) > 1e-6*(1+math.Abs(want)) {
								t.Fatalf("fast=%v %v n=%d alias=%s alpha,beta=%v: [%d] = %v, want %v", fast, dt, n, alias, ab, i, got[i], want)
							}
						}
					}
				}
			}
		}
		// A strided (transposed) destination takes the general path.
		a, b, d := NewBuffer(backend.Float32, 6), NewBuffer(backend.Float32, 6), NewBuffer(backend.Float32, 6)
		Default.Write(a, 0, []float32{1, 2, 3, 4, 5, 6})
		Default.Write(b, 0, []float32{10, 20, 30, 40, 50, 60})
		row := backend.Layout{Shape: []int{2, 3}, Strides: []int{3, 1}}
		col := backend.Layout{Shape: []int{2, 3}, Strides: []int{1, 2}}
		Default.Axpby(d, col, 2, a, row, 1, b, col)
		// d[i,j] at offset i+2j = 2*a[3i+j] + b[i+2j].
		want := []float32{12, 28, 34, 50, 56, 72}
		for k, w := range want {
			if d.F32[k] != w {
				t.Fatalf("fast=%v strided: d = %v, want %v", fast, d.F32, want)
			}
		}
		SetFastPaths(prev)
	}
}

func castTo(dt backend.DType, v []float64) any {
	if dt == backend.Float64 {
		return v
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return f
}

func readF64(b *Buffer) []float64 {
	if b.dt == backend.Float64 {
		return b.F64
	}
	out := make([]float64, len(b.F32))
	for i, x := range b.F32 {
		out[i] = float64(x)
	}
	return out
}

func TestPoolReuse(t *testing.T) {
	prev := SetPoolLimit(1 << 20)
	defer SetPoolLimit(prev)
	b, _ := Default.Alloc(backend.Float32, 1000)
	buf(b).F32[3] = 7
	Default.Free(b)
	before := Pool()
	u, _ := Default.AllocUninit(backend.Float32, 1000)
	if u != b {
		t.Fatal("AllocUninit did not reuse the freed buffer")
	}
	Default.Free(u)
	z, _ := Default.Alloc(backend.Float32, 1000)
	if z != b || buf(z).F32[3] != 0 {
		t.Fatalf("Alloc reused %v with element 3 = %v, want the freed buffer zeroed", z == b, buf(z).F32[3])
	}
	if s := Pool(); s.Hits-before.Hits != 2 {
		t.Fatalf("pool hits grew by %d, want 2", s.Hits-before.Hits)
	}
	Default.Free(z)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("double Free did not panic")
			}
		}()
		Default.Free(z)
	}()
	// Over the limit, a freed buffer is dropped, not kept.
	big, _ := Default.Alloc(backend.Float64, 1<<18) // 2 MiB > 1 MiB limit
	Default.Free(big)
	if again, _ := Default.Alloc(backend.Float64, 1<<18); again == big {
		t.Fatal("a buffer over the pool limit was kept")
	}
	SetPoolLimit(0)
	if s := Pool(); s.HeldBytes != 0 {
		t.Fatalf("SetPoolLimit(0) left %d bytes held", s.HeldBytes)
	}
}

// TestFastGELUGrad compares the assembly path of GELUGrad with the float64
// reference, contiguous, and checks a strided layout takes the reference.
func TestFastGELUGrad(t *testing.T) {
	n := 1000
	x, g := NewBuffer(backend.Float32, n), NewBuffer(backend.Float32, n)
	for i := range n {
		x.F32[i] = float32(i-500) / 60
		g.F32[i] = float32(i%7) - 3
	}
	x.F32[3], x.F32[4] = float32(math.Inf(1)), float32(math.Inf(-1))
	x.F32[5] = float32(math.NaN())
	l := backend.Layout{Shape: []int{n}, Strides: []int{1}}
	ref, fast := NewBuffer(backend.Float32, n), NewBuffer(backend.Float32, n)
	prev := SetFastPaths(false)
	Default.GELUGrad(ref, l, g, l, x, l)
	SetFastPaths(true)
	Default.GELUGrad(fast, l, g, l, x, l)
	SetFastPaths(prev)
	for i := range n {
		r, f := ref.F32[i], fast.F32[i]
		if math.IsNaN(float64(r)) != math.IsNaN(float64(f)) || math.Abs(float64(r-f)) > 0x1p-21*math.Abs(float64(g.F32[i])) {
			t.Fatalf("[%d] x=%g g=%g: fast %g, reference %g", i, x.F32[i], g.F32[i], f, r)
		}
	}
	if ref.F32[3] != g.F32[3] || ref.F32[4] != 0 {
		t.Fatalf("gelu'(±Inf): %g·g, %g", ref.F32[3], ref.F32[4])
	}
	// A strided (every other element) layout takes the reference path.
	half := backend.Layout{Shape: []int{n / 2}, Strides: []int{2}}
	d := NewBuffer(backend.Float32, n)
	Default.GELUGrad(d, half, g, half, x, half)
	for i := 0; i < n; i += 2 {
		if d.F32[i] != ref.F32[i] && !(math.IsNaN(float64(d.F32[i])) && math.IsNaN(float64(ref.F32[i]))) {
			t.Fatalf("strided [%d]: %g, want %g", i, d.F32[i], ref.F32[i])
		}
	}
}
