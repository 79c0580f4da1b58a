// binary.cu: the binary elementwise ops "b<op>_<dt>", comparisons included
// (they write bool).
#include "elementwise.cuh"

// ---------------------------------------------------------------- binary

#define BOP(Name, expr)                                                                 \
	struct Name {                                                                       \
		template <class T> static __device__ __forceinline__ T f(T x, T y) { return (T)(expr); } \
	};

// Maximum and Minimum are math.Max and math.Min: NaN if either is, and
// +0 over -0 (Maximum) or -0 over +0 (Minimum).
template <class T> __device__ __forceinline__ bool signbit_of(T x) { return f64_bits((double)x) >> 63; }

struct MaxF {
	template <class T> static __device__ __forceinline__ T f(T x, T y) {
		if (x != x) return x;
		if (y != y) return y;
		if (x > y) return x;
		if (y > x) return y;
		return signbit_of(x) ? y : x;
	}
};
struct MinF {
	template <class T> static __device__ __forceinline__ T f(T x, T y) {
		if (x != x) return x;
		if (y != y) return y;
		if (x < y) return x;
		if (y < x) return y;
		return signbit_of(x) ? x : y;
	}
};

BOP(Add, x + y)
BOP(Sub, x - y)
BOP(Mul, x * y)
BOP(Div, x / y)
BOP(Pow, pow((double)x, (double)y))
BOP(AddI, (typename Uns<T>::T)x + (typename Uns<T>::T)y)
BOP(SubI, (typename Uns<T>::T)x - (typename Uns<T>::T)y)
BOP(MulI, (typename Uns<T>::T)x * (typename Uns<T>::T)y)
BOP(MaxI, x > y ? x : y)
BOP(MinI, x < y ? x : y)
BOP(Or, x || y)
BOP(And, x && y)

#define BINARY_F(name, F)                                                \
	KERNEL(b##name##_f32, EwArgs, (map2<F, float, float>(a)))            \
	KERNEL(b##name##_f64, EwArgs, (map2<F, double, double>(a)))
#define BINARY_I(name, F)                                                \
	KERNEL(b##name##_i32, EwArgs, (map2<F, int, int>(a)))                \
	KERNEL(b##name##_i64, EwArgs, (map2<F, i64, i64>(a)))

BINARY_F(add, Add)
BINARY_F(sub, Sub)
BINARY_F(mul, Mul)
BINARY_F(div, Div)
BINARY_F(pow, Pow)
BINARY_F(maximum, MaxF)
BINARY_F(minimum, MinF)
BINARY_I(add, AddI)
BINARY_I(sub, SubI)
BINARY_I(mul, MulI)
BINARY_I(maximum, MaxI)
BINARY_I(minimum, MinI)
KERNEL(bmaximum_bool, EwArgs, (map2<Or, bool, bool>(a)))
KERNEL(bminimum_bool, EwArgs, (map2<And, bool, bool>(a)))

// ---------------------------------------------------------------- comparisons

#define COP(Name, expr)                                                                   \
	struct Name {                                                                         \
		template <class T> static __device__ __forceinline__ bool f(T x, T y) { return expr; } \
	};
COP(Eq, x == y)
COP(Ne, x != y)
COP(Lt, x < y)
COP(Le, x <= y)
COP(Gt, x > y)
COP(Ge, x >= y)

#define COMPARE(name, F)                                                 \
	KERNEL(b##name##_f32, EwArgs, (map2<F, bool, float>(a)))             \
	KERNEL(b##name##_f64, EwArgs, (map2<F, bool, double>(a)))            \
	KERNEL(b##name##_i32, EwArgs, (map2<F, bool, int>(a)))               \
	KERNEL(b##name##_i64, EwArgs, (map2<F, bool, i64>(a)))               \
	KERNEL(b##name##_bool, EwArgs, (map2<F, bool, bool>(a)))
COMPARE(eq, Eq)
COMPARE(ne, Ne)
COMPARE(lt, Lt)
COMPARE(le, Le)
COMPARE(gt, Gt)
COMPARE(ge, Ge)
