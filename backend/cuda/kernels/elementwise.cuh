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

// Contiguous operands that are 16-byte aligned move in packs of 16 bytes:
// one vector load or store per operand where scalar code issues four (or
// more), so that enough bytes are in flight for the kernel to run at the
// memory's bandwidth (a scalar float32 add reached 73% of a device copy's
// on an H100; see benchmarks/RESULTS.md). The elements past the last
// whole pack take the scalar loop. Only for operands of one size (a
// comparison's bool result takes the scalar path).
template <class T> struct alignas(16) Pack {
	T v[16 / sizeof(T)];
};

TSR_HD bool aligned16(const void *p) { return ((u64)p & 15) == 0; }

// ---------------------------------------------------------------- map1

template <class F, class D, class S>
__device__ __forceinline__ void map1(const EwArgs &a) {
	D *d = (D *)a.ptr[0];
	const S *s = (const S *)a.ptr[1];
	if (a.contig) {
		d += a.off[0];
		s += a.off[1];
		i64 head = 0;
		if (sizeof(D) == sizeof(S) && aligned16(d) && aligned16(s)) {
			const int W = 16 / sizeof(S);
			i64 np = a.n / W;
			FOR_EACH(i, np) {
				Pack<S> ps = ((const Pack<S> *)s)[i];
				Pack<D> pd;
				for (int j = 0; j < W; j++) pd.v[j] = F::f(ps.v[j]);
				((Pack<D> *)d)[i] = pd;
			}
			head = np * W;
		}
		FOR_EACH(i, a.n - head) d[head + i] = F::f(s[head + i]);
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[2];
		ew_offsets<2>(a, i, o);
		d[o[0]] = F::f(s[o[1]]);
	}
}

// F is called as op.f(x, y): a static member for the plain operators, a
// member reading op's fields for those with parameters (fused.cu).
template <class F, class D, class S>
__device__ __forceinline__ void map2(const EwArgs &a, const F &op = F()) {
	D *d = (D *)a.ptr[0];
	const S *x = (const S *)a.ptr[1];
	const S *y = (const S *)a.ptr[2];
	if (a.contig) {
		d += a.off[0];
		x += a.off[1];
		y += a.off[2];
		i64 head = 0;
		if (sizeof(D) == sizeof(S) && aligned16(d) && aligned16(x) && aligned16(y)) {
			const int W = 16 / sizeof(S);
			i64 np = a.n / W;
			FOR_EACH(i, np) {
				Pack<S> px = ((const Pack<S> *)x)[i], py = ((const Pack<S> *)y)[i];
				Pack<D> pd;
				for (int j = 0; j < W; j++) pd.v[j] = op.f(px.v[j], py.v[j]);
				((Pack<D> *)d)[i] = pd;
			}
			head = np * W;
		}
		FOR_EACH(i, a.n - head) d[head + i] = op.f(x[head + i], y[head + i]);
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[3];
		ew_offsets<3>(a, i, o);
		d[o[0]] = op.f(x[o[1]], y[o[2]]);
	}
}

struct Ident {
	template <class T> static __device__ __forceinline__ T f(T x) { return x; }
};

// Integer ops wrap like Go: they compute in the unsigned type.
template <class T> struct Uns;
template <> struct Uns<int> { typedef u32 T; };
template <> struct Uns<i64> { typedef u64 T; };

