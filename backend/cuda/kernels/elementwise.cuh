// elementwise.cuh: Fill, Copy (same dtype), Cast, Unary, Binary (with the
// comparisons) and Where, on any strided layouts (broadcasting arrives as
// stride 0). Kernel names: "u<op>_<dt>", "b<op>_<dt>" (a comparison writes
// bool), "cast_<src>_<dst>", and, for the kernels that only move bits,
// "fill_<bits>", "copy_<bits>" and "where_<bits>" with bits 8/16/32/64.
//
// Semantics follow backend/cpu/elementwise.go: float32 math is computed in
// double and rounded once; Add, Sub, Mul, Div, Recip and Square stay in the
// element type; Sign(NaN) = 0; ReLU, Maximum and Minimum propagate NaN;
// Round is half to even; integer arithmetic wraps; on bool, Maximum is OR
// and Minimum is AND. gen.sh compiles with -fmad=false so that no multiply
// and add are fused into one rounding where the CPU rounds twice.
#pragma once
#include "common.cuh"

#ifndef TSR_EMU
#include <math.h>
#endif

// The grid-stride loop every kernel here uses.
#define FOR_EACH(i, n) for (i64 i = GLOBAL_ID; i < (n); i += GLOBAL_STRIDE)

// ---------------------------------------------------------------- map1

template <class F, class D, class S>
__device__ __forceinline__ void map1(const EwArgs &a) {
	D *d = (D *)a.ptr[0];
	const S *s = (const S *)a.ptr[1];
	if (a.contig) {
		d += a.off[0];
		s += a.off[1];
		FOR_EACH(i, a.n) d[i] = F::f(s[i]);
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[2];
		ew_offsets<2>(a, i, o);
		d[o[0]] = F::f(s[o[1]]);
	}
}

template <class F, class D, class S>
__device__ __forceinline__ void map2(const EwArgs &a) {
	D *d = (D *)a.ptr[0];
	const S *x = (const S *)a.ptr[1];
	const S *y = (const S *)a.ptr[2];
	if (a.contig) {
		d += a.off[0];
		x += a.off[1];
		y += a.off[2];
		FOR_EACH(i, a.n) d[i] = F::f(x[i], y[i]);
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[3];
		ew_offsets<3>(a, i, o);
		d[o[0]] = F::f(x[o[1]], y[o[2]]);
	}
}

struct Ident {
	template <class T> static __device__ __forceinline__ T f(T x) { return x; }
};

// Integer ops wrap like Go: they compute in the unsigned type.
template <class T> struct Uns;
template <> struct Uns<int> { typedef u32 T; };
template <> struct Uns<i64> { typedef u64 T; };

