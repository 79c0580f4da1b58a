// bits.cu: Fill, Copy without conversion and Where, which only move bits:
// "fill_<bits>", "copy_<bits>", "where_<bits>" for 8, 16, 32 and 64 bits.
#include "elementwise.cuh"

// ---------------------------------------------------------------- fill, copy, where

template <class T>
__device__ __forceinline__ void fill(const EwArgs &a) {
	T v;
	// The host passes the value's bits in the low bytes of a.bits.
	u64 bits = a.bits;
	v = *(const T *)&bits;
	T *d = (T *)a.ptr[0];
	if (a.contig) {
		d += a.off[0];
		i64 head = 0;
		if (aligned16(d)) {
			const int W = 16 / sizeof(T);
			Pack<T> pv;
			for (int j = 0; j < W; j++) pv.v[j] = v;
			i64 np = a.n / W;
			FOR_EACH(i, np) ((Pack<T> *)d)[i] = pv;
			head = np * W;
		}
		FOR_EACH(i, a.n - head) d[head + i] = v;
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[1];
		ew_offsets<1>(a, i, o);
		d[o[0]] = v;
	}
}

template <class T>
__device__ __forceinline__ void where(const EwArgs &a) {
	T *d = (T *)a.ptr[0];
	const bool *c = (const bool *)a.ptr[1];
	const T *x = (const T *)a.ptr[2];
	const T *y = (const T *)a.ptr[3];
	if (a.contig) {
		d += a.off[0];
		c += a.off[1];
		x += a.off[2];
		y += a.off[3];
		FOR_EACH(i, a.n) d[i] = c[i] ? x[i] : y[i];
		return;
	}
	FOR_EACH(i, a.n) {
		i64 o[4];
		ew_offsets<4>(a, i, o);
		d[o[0]] = c[o[1]] ? x[o[2]] : y[o[3]];
	}
}

#define BITS_KERNELS(bits, T)                                  \
	KERNEL(fill_##bits, EwArgs, (fill<T>(a)))                  \
	KERNEL(copy_##bits, EwArgs, (map1<Ident, T, T>(a)))        \
	KERNEL(where_##bits, EwArgs, (where<T>(a)))
BITS_KERNELS(8, u8)
BITS_KERNELS(16, u16)
BITS_KERNELS(32, u32)
BITS_KERNELS(64, u64)

