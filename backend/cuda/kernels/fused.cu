// fused.cu: the optional fused kernels of backend.Axpby, backend.Fused and
// backend.Adam, each one pass where the composite takes two to fourteen:
// "axpby_<dt>", "relugrad_<dt>", "gelugrad_<dt>" and "adam_<dt>" for f32
// and f64. Semantics as
// backend/cpu/axpby.go and fused.go: Axpby computes in the element type
// (alpha and beta rounded to it first); ReLUGrad is g where x > 0, else 0
// (NaN x gives 0); GELUGrad is g·(Φ(x) + x·φ(x)) computed in double and
// rounded once, with gelu'(+Inf) = 1 and gelu'(-Inf) = 0. Adam rounds each
// product, quotient and sum to the element type, as optim's composite
// update does (gen.sh's -fmad=false keeps them unfused).
#include "elementwise.cuh"

TSR_HD double f64frombits(u64 b) {
	union {
		u64 u;
		double d;
	} c;
	c.u = b;
	return c.d;
}

template <class T> struct AxpbyOp {
	T alpha, beta;
	__device__ __forceinline__ T f(T x, T y) const { return alpha * x + beta * y; }
};

struct ReLUGradOp {
	template <class T> static __device__ __forceinline__ T f(T g, T x) { return x > T(0) ? g : T(0); }
};

struct GELUGradOp {
	static __device__ __forceinline__ double d(double x) {
		if (isinf(x)) return x > 0 ? 1.0 : 0.0;
		return 0.5 * erfc(-x * 0.70710678118654752440) + x * exp(-x * x / 2) * 0.39894228040143267794;
	}
	template <class T> static __device__ __forceinline__ T f(T g, T x) { return (T)((double)g * d((double)x)); }
};

#define AXPBY(dn, T) \
	KERNEL(axpby_##dn, EwArgs, (map2<AxpbyOp<T>, T, T>(a, AxpbyOp<T>{(T)f64frombits(a.bits), (T)f64frombits(a.bits2)})))
AXPBY(f32, float)
AXPBY(f64, double)

KERNEL(relugrad_f32, EwArgs, (map2<ReLUGradOp, float, float>(a)))
KERNEL(relugrad_f64, EwArgs, (map2<ReLUGradOp, double, double>(a)))
KERNEL(gelugrad_f32, EwArgs, (map2<GELUGradOp, float, float>(a)))
KERNEL(gelugrad_f64, EwArgs, (map2<GELUGradOp, double, double>(a)))

// ---------------------------------------------------------------- adam

TSR_HD float tsqrt(float x) { return sqrtf(x); }
TSR_HD double tsqrt(double x) { return sqrt(x); }

template <class T> __device__ __forceinline__ void adam(const AdamArgs &a) {
	T *p = (T *)a.p;
	const T *g = (const T *)a.g;
	T *m = (T *)a.m;
	T *v = (T *)a.v;
	const T decay = (T)a.decay, b1 = (T)a.beta1, c1 = (T)(1 - a.beta1);
	const T b2 = (T)a.beta2, c2 = (T)(1 - a.beta2);
	const T step = (T)(-a.stepSize), bc2 = (T)a.bc2Sqrt, eps = (T)a.eps;
	const bool scale = a.decay != 1;
	FOR_EACH(i, a.n) {
		T pi = p[i];
		if (scale) pi = pi * decay;
		const T gi = g[i];
		const T mi = b1 * m[i] + c1 * gi;
		const T vi = v[i] * b2 + c2 * (gi * gi);
		const T d = tsqrt(vi) / bc2 + eps;
		p[i] = pi + step * (mi / d);
		m[i] = mi;
		v[i] = vi;
	}
}

KERNEL(adam_f32, AdamArgs, (adam<float>(a)))
KERNEL(adam_f64, AdamArgs, (adam<double>(a)))
