// fused.cu: the optional fused kernels of backend.Axpby and backend.Fused,
// each one pass where the composite takes two or three: "axpby_<dt>",
// "relugrad_<dt>" and "gelugrad_<dt>" for f32 and f64. Semantics as
// backend/cpu/axpby.go and fused.go: Axpby computes in the element type
// (alpha and beta rounded to it first); ReLUGrad is g where x > 0, else 0
// (NaN x gives 0); GELUGrad is g·(Φ(x) + x·φ(x)) computed in double and
// rounded once, with gelu'(+Inf) = 1 and gelu'(-Inf) = 0.
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
