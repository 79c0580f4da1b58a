// index.cu: Gather, IndexSelect (a gather whose idx steps along the axis
// only) and ScatterAdd, with device-side range checks.
//
// The host launches ixcheck over the index positions first: every index
// outside [0, limit) lowers the op's error slot (atomicMin) to its position
// in the high 32 bits and its value in the low 32 (0x80000000 when it does
// not fit an int32), so the slot ends up holding the first bad position in
// row-major order, or ~0. The gather and scatter kernels, queued right
// behind on the same stream, read the slot and do nothing when it is set,
// so dst is left untouched on error, as on the CPU; the host reads the
// slots later (backend/cuda/index.go).
//
// Operands: 0 = dst, 1 = src, 2 = idx. Gather walks dst's positions with
// src's stride on axis zeroed (the index supplies it); ScatterAdd walks
// idx's positions with dst's stride on axis zeroed. Names: "ixcheck",
// "gather_<bits>", "scatter_add_<dt>".
#include "common.cuh"

#define FOR_EACH(i, n) for (i64 i = GLOBAL_ID; i < (n); i += GLOBAL_STRIDE)

__device__ __forceinline__ void ix_offsets(const IxArgs &a, i64 p, i64 *o) {
	o[0] = a.off[0];
	o[1] = a.off[1];
	o[2] = a.off[2];
	for (int d = (int)a.nd - 1; d >= 0; d--) {
		i64 s = a.shape[d];
		i64 q = p / s;
		i64 r = p - q * s;
		p = q;
		o[0] += r * a.st[0][d];
		o[1] += r * a.st[1][d];
		o[2] += r * a.st[2][d];
	}
}

// ixcheck: positions over idx's shape; idx is operand 2.
__device__ __forceinline__ void ixcheck_impl(const IxArgs &a) {
	const i64 *idx = (const i64 *)a.ptr[2];
	FOR_EACH(p, a.n) {
		i64 o[3];
		ix_offsets(a, p, o);
		i64 v = idx[o[2]];
		if (v < 0 || v >= a.limit) {
			u64 pos = p < 0xffffffffLL ? (u64)p : 0xffffffffULL;
			u32 val = v >= -2147483647LL && v <= 2147483647LL ? (u32)(int)v : 0x80000000u;
			atomicMin((u64 *)a.flag, pos << 32 | val);
		}
	}
}
KERNEL(ixcheck, IxArgs, (ixcheck_impl(a)))

__device__ __forceinline__ bool ix_failed(const IxArgs &a) {
	return *(volatile u64 *)a.flag != ~(u64)0;
}

template <class T>
__device__ __forceinline__ void gather(const IxArgs &a) {
	if (ix_failed(a)) return;
	T *dst = (T *)a.ptr[0];
	const T *src = (const T *)a.ptr[1];
	const i64 *idx = (const i64 *)a.ptr[2];
	FOR_EACH(p, a.n) {
		i64 o[3];
		ix_offsets(a, p, o);
		dst[o[0]] = src[o[1] + idx[o[2]] * a.axStride];
	}
}

KERNEL(gather_8, IxArgs, (gather<u8>(a)))
KERNEL(gather_16, IxArgs, (gather<u16>(a)))
KERNEL(gather_32, IxArgs, (gather<u32>(a)))
KERNEL(gather_64, IxArgs, (gather<u64>(a)))

__device__ __forceinline__ void atomic_add(float *p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double *p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int *p, int v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(i64 *p, i64 v) { atomicAdd((u64 *)p, (u64)v); }

// A 16-bit float sum is rounded once per addition, as on the CPU: the sum
// of two halves is exact in double.
template <int EB, int FB>
__device__ __forceinline__ void atomic_add_half(u16 *p, u16 v) {
	double x = EB == 5 ? f16_to_f32(v) : bf16_to_f32(v);
	u16 old = *p, assumed;
	do {
		assumed = old;
		double y = EB == 5 ? f16_to_f32(assumed) : bf16_to_f32(assumed);
		u16 sum = f64_to_half(y + x, EB, FB);
		old = atomicCAS(p, assumed, sum);
	} while (old != assumed);
}
__device__ __forceinline__ void atomic_add(f16 *p, f16 v) { atomic_add_half<5, 10>(&p->b, v.b); }
__device__ __forceinline__ void atomic_add(bf16 *p, bf16 v) { atomic_add_half<8, 7>(&p->b, v.b); }

template <class T>
__device__ __forceinline__ void scatter_add(const IxArgs &a) {
	if (ix_failed(a)) return;
	T *dst = (T *)a.ptr[0];
	const T *src = (const T *)a.ptr[1];
	const i64 *idx = (const i64 *)a.ptr[2];
	FOR_EACH(p, a.n) {
		i64 o[3];
		ix_offsets(a, p, o);
		atomic_add(&dst[o[0] + idx[o[2]] * a.axStride], src[o[1]]);
	}
}

KERNEL(scatter_add_f32, IxArgs, (scatter_add<float>(a)))
KERNEL(scatter_add_f64, IxArgs, (scatter_add<double>(a)))
KERNEL(scatter_add_i32, IxArgs, (scatter_add<int>(a)))
KERNEL(scatter_add_i64, IxArgs, (scatter_add<i64>(a)))
KERNEL(scatter_add_f16, IxArgs, (scatter_add<f16>(a)))
KERNEL(scatter_add_bf16, IxArgs, (scatter_add<bf16>(a)))
