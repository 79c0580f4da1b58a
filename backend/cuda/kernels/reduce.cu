// reduce.cu: Reduce (sum, prod, max, min), ArgReduce (argmax, argmin) and
// Softmax / log-softmax.
//
// One block reduces one output (a grid-stride loop over outputs covers any
// number of them): its threads fold strided slices of the output's elements
// into per-thread accumulators, which a shared-memory tree then combines.
// When there are few outputs and many elements the host splits each output
// over nsplit blocks writing partial results in the accumulator type, and a
// second launch of the same kernel folds the partials (see reduce.go).
//
// Accumulators as on the CPU: float32 and float64 in double, int32 and
// int64 in a wrapping int64; Max and Min propagate NaN. The order of the
// additions differs from the CPU's, so float sums agree to rounding, not
// bit for bit. Kernel names: "r<op>_<src>_<acc-or-dst>" (see below),
// "r<argmax|argmin>_<src>", "softmax_<dt>".
#include "common.cuh"

#ifndef TSR_EMU
#include <math.h>
#endif

template <class A> struct Lim;
template <> struct Lim<double> {
	static __device__ __forceinline__ double lo() { return -1.0 / 0.0; }
	static __device__ __forceinline__ double hi() { return 1.0 / 0.0; }
};
template <> struct Lim<i64> {
	static __device__ __forceinline__ i64 lo() { return (i64)((u64)1 << 63); }
	static __device__ __forceinline__ i64 hi() { return (i64)(((u64)1 << 63) - 1); }
};
template <> struct Lim<bool> {
	static __device__ __forceinline__ bool lo() { return false; }
	static __device__ __forceinline__ bool hi() { return true; }
};

// Wrapping integer arithmetic; plain arithmetic for double.
__device__ __forceinline__ double add_w(double x, double y) { return x + y; }
__device__ __forceinline__ double mul_w(double x, double y) { return x * y; }
__device__ __forceinline__ i64 add_w(i64 x, i64 y) { return (i64)((u64)x + (u64)y); }
__device__ __forceinline__ i64 mul_w(i64 x, i64 y) { return (i64)((u64)x * (u64)y); }

struct RSum {
	template <class A> static __device__ __forceinline__ A id() { return (A)0; }
	template <class A> static __device__ __forceinline__ A comb(A acc, A x) { return add_w(acc, x); }
};
struct RProd {
	template <class A> static __device__ __forceinline__ A id() { return (A)1; }
	template <class A> static __device__ __forceinline__ A comb(A acc, A x) { return mul_w(acc, x); }
};
struct RMax {
	template <class A> static __device__ __forceinline__ A id() { return Lim<A>::lo(); }
	template <class A> static __device__ __forceinline__ A comb(A acc, A x) { return (x > acc || x != x) ? x : acc; }
};
struct RMin {
	template <class A> static __device__ __forceinline__ A id() { return Lim<A>::hi(); }
	template <class A> static __device__ __forceinline__ A comb(A acc, A x) { return (x < acc || x != x) ? x : acc; }
};

// block_combine folds every thread's v with Op; every thread gets the result.
template <class Op, class A>
__device__ __forceinline__ A block_combine(A v) {
	__shared__ A sh[BLOCK];
	int t = threadIdx.x;
	sh[t] = v;
	__syncthreads();
	for (int s = BLOCK / 2; s > 0; s >>= 1) {
		if (t < s) sh[t] = Op::comb(sh[t], sh[t + s]);
		__syncthreads();
	}
	A r = sh[0];
	__syncthreads();
	return r;
}

// reduce folds src elements of type S in accumulator A and writes D.
template <class Op, class S, class A, class D>
__device__ __forceinline__ void reduce(const RedArgs &a) {
	const S *src = (const S *)a.src;
	D *dst = (D *)a.dst;
	if (a.flag) {
		// Few elements per output: one thread folds each output.
		for (i64 o = GLOBAL_ID; o < a.nOut; o += GLOBAL_STRIDE) {
			i64 base = a.srcOff + offset_of(o, a.ndOut, a.outShape, a.outSrc);
			A acc = Op::template id<A>();
			for (i64 r = 0; r < a.nIn; r++) acc = Op::comb(acc, (A)src[base + offset_of(r, a.ndIn, a.inShape, a.inSrc)]);
			dst[a.dstOff + offset_of(o, a.ndOut, a.outShape, a.outDst)] = (D)acc;
		}
		return;
	}
	i64 chunk = (a.nIn + a.nsplit - 1) / a.nsplit;
	if (chunk == 0) chunk = 1;
	i64 lo = (i64)blockIdx.y * chunk;
	i64 hi = lo + chunk < a.nIn ? lo + chunk : a.nIn;
	for (i64 o = blockIdx.x; o < a.nOut; o += gridDim.x) {
		i64 base = a.srcOff + offset_of(o, a.ndOut, a.outShape, a.outSrc);
		A acc = Op::template id<A>();
		for (i64 r = lo + TID; r < hi; r += BLOCK) {
			acc = Op::comb(acc, (A)src[base + offset_of(r, a.ndIn, a.inShape, a.inSrc)]);
		}
		acc = block_combine<Op, A>(acc);
		if (threadIdx.x == 0) {
			if (a.partial) {
				dst[o * a.nsplit + blockIdx.y] = (D)acc;
			} else {
				dst[a.dstOff + offset_of(o, a.ndOut, a.outShape, a.outDst)] = (D)acc;
			}
		}
	}
}

// With flag set (few elements per output) one thread folds each output.
// Names: r<op>_<src>_<dst>; the partial pass writes the accumulator type
// (f64 for floats, i64 for integers) and the final pass reads it.
#define RED(op, Op, sn, S, A, dn, D) KERNEL(r##op##_##sn##_##dn, RedArgs, (reduce<Op, S, A, D>(a)))
#define RED_ALL(op, Op)                          \
	RED(op, Op, f32, float, double, f32, float)  \
	RED(op, Op, f32, float, double, f64, double) \
	RED(op, Op, f64, double, double, f64, double) \
	RED(op, Op, f64, double, double, f32, float) \
	RED(op, Op, i32, int, i64, i32, int)         \
	RED(op, Op, i32, int, i64, i64, i64)         \
	RED(op, Op, i64, i64, i64, i64, i64)         \
	RED(op, Op, i64, i64, i64, i32, int)
RED_ALL(sum, RSum)
RED_ALL(prod, RProd)
RED_ALL(max, RMax)
RED_ALL(min, RMin)
RED(max, RMax, bool, bool, bool, bool, bool)
RED(min, RMin, bool, bool, bool, bool, bool)

// ---------------------------------------------------------------- argmax / argmin

// arg_better reports whether (x, i) beats (y, j): a NaN beats everything
// but an earlier NaN, a strictly larger (smaller) value wins, and equal
// values go to the earlier index.
template <bool IsMax, class T>
__device__ __forceinline__ bool arg_better(T x, i64 i, T y, i64 j) {
	bool xn = x != x, yn = y != y;
	if (xn || yn) {
		if (xn && yn) return i < j;
		return xn;
	}
	if (IsMax ? x > y : x < y) return true;
	return x == y && i < j;
}

template <bool IsMax, class T>
__device__ __forceinline__ void argreduce(const RedArgs &a) {
	__shared__ T shv[BLOCK];
	__shared__ i64 shi[BLOCK];
	const T *src = (const T *)a.src;
	i64 *dst = (i64 *)a.dst;
	i64 n = a.inShape[0], s = a.inSrc[0];
	int t = threadIdx.x;
	for (i64 o = blockIdx.x; o < a.nOut; o += gridDim.x) {
		i64 base = a.srcOff + offset_of(o, a.ndOut, a.outShape, a.outSrc);
		T best = src[base];
		i64 bi = -1;
		for (i64 r = TID; r < n; r += BLOCK) {
			T x = src[base + r * s];
			if (bi < 0 || arg_better<IsMax>(x, r, best, bi)) {
				best = x;
				bi = r;
			}
		}
		shv[t] = best;
		shi[t] = bi;
		__syncthreads();
		for (int k = BLOCK / 2; k > 0; k >>= 1) {
			if (t < k && shi[t + k] >= 0 &&
			    (shi[t] < 0 || arg_better<IsMax>(shv[t + k], shi[t + k], shv[t], shi[t]))) {
				shv[t] = shv[t + k];
				shi[t] = shi[t + k];
			}
			__syncthreads();
		}
		if (t == 0) dst[a.dstOff + offset_of(o, a.ndOut, a.outShape, a.outDst)] = shi[0];
		__syncthreads();
	}
}

#define ARG(dn, T)                                                       \
	KERNEL(rargmax_##dn, RedArgs, (argreduce<true, T>(a)))               \
	KERNEL(rargmin_##dn, RedArgs, (argreduce<false, T>(a)))
ARG(f32, float)
ARG(f64, double)
ARG(i32, int)
ARG(i64, i64)

// ---------------------------------------------------------------- softmax

// One block per row, in double: m = max (NaN if any is), s = Σ exp(x-m),
// then exp(x-m)/s or (x-m) - log(s). A row whose max is NaN is all NaN.
template <class T>
__device__ __forceinline__ void softmax(const RedArgs &a) {
	const T *src = (const T *)a.src;
	T *dst = (T *)a.dst;
	i64 n = a.inShape[0], ss = a.inSrc[0], ds = a.dstIn;
	for (i64 o = blockIdx.x; o < a.nOut; o += gridDim.x) {
		i64 sb = a.srcOff + offset_of(o, a.ndOut, a.outShape, a.outSrc);
		i64 db = a.dstOff + offset_of(o, a.ndOut, a.outShape, a.outDst);
		double m = RMax::id<double>();
		for (i64 i = TID; i < n; i += BLOCK) m = RMax::comb(m, (double)src[sb + i * ss]);
		m = block_combine<RMax, double>(m);
		if (m != m) {
			for (i64 i = TID; i < n; i += BLOCK) dst[db + i * ds] = (T)m;
			__syncthreads();
			continue;
		}
		double s = 0;
		for (i64 i = TID; i < n; i += BLOCK) s += exp((double)src[sb + i * ss] - m);
		s = block_combine<RSum, double>(s);
		// Every thread has read its elements (both loops visit the same
		// ones), so writing in place is safe.
		if (a.flag) {
			double ls = log(s);
			for (i64 i = TID; i < n; i += BLOCK) dst[db + i * ds] = (T)(((double)src[sb + i * ss] - m) - ls);
		} else {
			for (i64 i = TID; i < n; i += BLOCK) dst[db + i * ds] = (T)(exp((double)src[sb + i * ss] - m) / s);
		}
		__syncthreads();
	}
}

KERNEL(softmax_f32, RedArgs, (softmax<float>(a)))
KERNEL(softmax_f64, RedArgs, (softmax<double>(a)))
