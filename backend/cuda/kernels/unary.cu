// unary.cu: the unary elementwise ops, "u<op>_<dt>".
#include "elementwise.cuh"

// ---------------------------------------------------------------- unary

// Float ops: T is float or double. "D(...)" is computed in double.
#define UOP(Name, expr)                                                           \
	struct Name {                                                                 \
		template <class T> static __device__ __forceinline__ T f(T x) { return (T)(expr); } \
	};

__device__ __forceinline__ double sigmoid_d(double x) {
	if (x >= 0) return 1 / (1 + exp(-x));
	double e = exp(x);
	return e / (1 + e);
}

UOP(Neg, -x)
UOP(AbsF, fabs((double)x))
UOP(SignF, x > 0 ? 1 : (x < 0 ? -1 : 0))
UOP(Exp, exp((double)x))
UOP(Log, log((double)x))
UOP(Sqrt, sqrt((double)x))
UOP(Rsqrt, 1 / sqrt((double)x))
UOP(Sin, sin((double)x))
UOP(Cos, cos((double)x))
UOP(Tanh, tanh((double)x))
UOP(Sigmoid, sigmoid_d((double)x))
UOP(ReluF, x <= 0 ? (T)0 : x)
UOP(Gelu, 0.5 * (double)x * erfc(-(double)x / 1.4142135623730951))
UOP(GeluTanh, 0.5 * (double)x * (1 + tanh(0.7978845608028654 * ((double)x + 0.044715 * (double)x * (double)x * (double)x))))
UOP(Silu, (double)x * sigmoid_d((double)x))
UOP(Recip, (T)1 / x)
UOP(Square, x * x)
UOP(Erf, erf((double)x))
UOP(Log1p, log1p((double)x))
UOP(Expm1, expm1((double)x))
UOP(Floor, floor((double)x))
UOP(Ceil, ceil((double)x))
UOP(Round, rint((double)x))

struct NegI {
	template <class T> static __device__ __forceinline__ T f(T x) { return (T)((typename Uns<T>::T)0 - (typename Uns<T>::T)x); }
};
struct AbsI {
	template <class T> static __device__ __forceinline__ T f(T x) { return x < 0 ? NegI::f(x) : x; }
};
struct SignI {
	template <class T> static __device__ __forceinline__ T f(T x) { return x > 0 ? 1 : (x < 0 ? -1 : 0); }
};
struct SquareI {
	template <class T> static __device__ __forceinline__ T f(T x) { return (T)((typename Uns<T>::T)x * (typename Uns<T>::T)x); }
};
struct ReluI {
	template <class T> static __device__ __forceinline__ T f(T x) { return x > 0 ? x : 0; }
};

#define UNARY_F(name, F)                                            \
	KERNEL(u##name##_f32, EwArgs, (map1<F, float, float>(a)))       \
	KERNEL(u##name##_f64, EwArgs, (map1<F, double, double>(a)))
#define UNARY_I(name, F)                                            \
	KERNEL(u##name##_i32, EwArgs, (map1<F, int, int>(a)))           \
	KERNEL(u##name##_i64, EwArgs, (map1<F, i64, i64>(a)))

UNARY_F(neg, Neg)
UNARY_F(abs, AbsF)
UNARY_F(sign, SignF)
UNARY_F(exp, Exp)
UNARY_F(log, Log)
UNARY_F(sqrt, Sqrt)
UNARY_F(rsqrt, Rsqrt)
UNARY_F(sin, Sin)
UNARY_F(cos, Cos)
UNARY_F(tanh, Tanh)
UNARY_F(sigmoid, Sigmoid)
UNARY_F(relu, ReluF)
UNARY_F(gelu, Gelu)
UNARY_F(gelu_tanh, GeluTanh)
UNARY_F(silu, Silu)
UNARY_F(recip, Recip)
UNARY_F(square, Square)
UNARY_F(erf, Erf)
UNARY_F(log1p, Log1p)
UNARY_F(expm1, Expm1)
UNARY_F(floor, Floor)
UNARY_F(ceil, Ceil)
UNARY_F(round, Round)

UNARY_I(neg, NegI)
UNARY_I(abs, AbsI)
UNARY_I(sign, SignI)
UNARY_I(square, SquareI)
UNARY_I(relu, ReluI)
UNARY_I(floor, Ident)
UNARY_I(ceil, Ident)
UNARY_I(round, Ident)

