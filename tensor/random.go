package tensor

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Generator is an explicit, seedable source of random numbers: the same seed
// gives the same sequence of tensors on every platform. A Generator is safe
// for concurrent use.
type Generator struct {
	mu   sync.Mutex
	seed uint64
	src  *rand.PCG
	r    *rand.Rand
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{}
	g.Seed(seed)
	return g
}

// Seed restarts the generator's sequence from seed.
func (g *Generator) Seed(seed uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seed = seed
	g.src = rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	g.r = rand.New(g.src)
}

// InitialSeed returns the seed the generator was last seeded with.
func (g *Generator) InitialSeed() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seed
}

// defaultGen serves the functions called with a nil generator.
var defaultGen = NewGenerator(0)

// ManualSeed reseeds the default generator, which functions use when given a
// nil *Generator (like torch.manual_seed).
func ManualSeed(seed uint64) { defaultGen.Seed(seed) }

func gen(g *Generator) *Generator {
	if g == nil {
		return defaultGen
	}
	return g
}

// Float64 returns a uniform value in [0, 1).
func (g *Generator) Float64() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Float64()
}

// Perm returns a random permutation of [0, n).
func (g *Generator) Perm(n int) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Perm(n)
}

// fill draws n values with f while holding the lock.
func (g *Generator) fill(n int, f func(r *rand.Rand) float64) []float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]float64, n)
	for i := range out {
		out[i] = f(g.r)
	}
	return out
}

func randomTensor(op string, shape []int, opts []Option, vals func(n int, dt DType) []float64) *Tensor {
	c, be := configure(op, Float32, opts)
	for _, d := range shape {
		if d < 0 {
			fail(ValueError, op, [][]int{shape}, "negative dimension %d", d)
		}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	return fromFloat64s(be, c.dtype, vals(n, c.dtype), shape)
}

// Rand returns values drawn uniformly from [0, 1) (float32 unless WithDType).
// A nil g uses the default generator.
func Rand(g *Generator, shape []int, opts ...Option) *Tensor {
	g = gen(g)
	return randomTensor("Rand", shape, opts, func(n int, dt DType) []float64 {
		// Draw on a grid the dtype represents exactly, so that rounding
		// never turns a value just below 1 into 1.
		grid := unitGrid(dt)
		return g.fill(n, func(r *rand.Rand) float64 { return math.Floor(r.Float64()*grid) / grid })
	})
}

// RandN returns values drawn from the standard normal distribution.
func RandN(g *Generator, shape []int, opts ...Option) *Tensor {
	g = gen(g)
	return randomTensor("RandN", shape, opts, func(n int, dt DType) []float64 {
		return g.fill(n, func(r *rand.Rand) float64 { return r.NormFloat64() })
	})
}

// RandInt returns integers drawn uniformly from [lo, hi) (Int64 unless
// WithDType).
func RandInt(g *Generator, lo, hi int, shape []int, opts ...Option) *Tensor {
	if hi <= lo {
		fail(ValueError, "RandInt", [][]int{shape}, "empty range [%d, %d)", lo, hi)
	}
	g = gen(g)
	opts = append([]Option{WithDType(Int64)}, opts...)
	return randomTensor("RandInt", shape, opts, func(n int, dt DType) []float64 {
		return g.fill(n, func(r *rand.Rand) float64 { return float64(lo) + float64(r.Int64N(int64(hi-lo))) })
	})
}

// Uniform returns values drawn uniformly from [lo, hi).
func Uniform(g *Generator, lo, hi float64, shape []int, opts ...Option) *Tensor {
	g = gen(g)
	if !(lo < hi) {
		fail(ValueError, "Uniform", [][]int{shape}, "empty range [%v, %v)", lo, hi)
	}
	return randomTensor("Uniform", shape, opts, func(n int, dt DType) []float64 {
		below := belowIn(dt, hi)
		return g.fill(n, func(r *rand.Rand) float64 {
			// Rounding to dt can land on hi; the range is half-open.
			return min(lo+(hi-lo)*r.Float64(), below)
		})
	})
}

// belowIn returns the largest value of dtype dt that is below hi (as a
// float64 that converts to dt exactly, or to a value below hi).
func belowIn(dt DType, hi float64) float64 {
	switch dt {
	case Float64:
		return math.Nextafter(hi, math.Inf(-1))
	case Float32:
		return float64(math.Nextafter32(float32(hi), float32(math.Inf(-1))))
	}
	// Half precision: step down by one unit of its 11-bit (float16) or 8-bit
	// (bfloat16) significand, which is at least one of its ulps below hi.
	bits := 11
	if dt == BFloat16 {
		bits = 8
	}
	_, e := math.Frexp(math.Abs(hi))
	return hi - math.Ldexp(1, e-bits)
}

// Normal returns values drawn from a normal distribution of the given mean
// and standard deviation.
func Normal(g *Generator, mean, std float64, shape []int, opts ...Option) *Tensor {
	if std < 0 || math.IsNaN(std) {
		fail(ValueError, "Normal", [][]int{shape}, "standard deviation %v must be non-negative", std)
	}
	g = gen(g)
	return randomTensor("Normal", shape, opts, func(n int, dt DType) []float64 {
		return g.fill(n, func(r *rand.Rand) float64 { return mean + std*r.NormFloat64() })
	})
}

// unitGrid is 2^(mantissa bits + 1) of a float dtype: multiples of its
// reciprocal in [0, 1) are exactly representable.
func unitGrid(dt DType) float64 {
	switch dt {
	case Float64:
		return 1 << 53
	case Float16:
		return 1 << 11
	case BFloat16:
		return 1 << 8
	}
	return 1 << 24
}
