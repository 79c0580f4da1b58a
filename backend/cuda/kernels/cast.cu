// cast.cu: Copy with conversion, "cast_<src>_<dst>", rounding as
// backend/cpu/cast.go does (see Cvt in common.cuh).
#include "elementwise.cuh"

// ---------------------------------------------------------------- cast

template <class D>
struct CastTo {
	template <class S> static __device__ __forceinline__ D f(S x) { return Cvt<D>::from(x); }
};

#define CAST(sn, S, dn, D) KERNEL(cast_##sn##_##dn, EwArgs, (map1<CastTo<D>, D, S>(a)))
#define CAST_FROM(sn, S)             \
	CAST(sn, S, f32, float)          \
	CAST(sn, S, f64, double)         \
	CAST(sn, S, f16, f16)            \
	CAST(sn, S, bf16, bf16)          \
	CAST(sn, S, i32, int)            \
	CAST(sn, S, i64, i64)            \
	CAST(sn, S, bool, bool)
CAST_FROM(f32, float)
CAST_FROM(f64, double)
CAST_FROM(f16, f16)
CAST_FROM(bf16, bf16)
CAST_FROM(i32, int)
CAST_FROM(i64, i64)
CAST_FROM(bool, bool)

