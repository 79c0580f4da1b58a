// common.cuh: what every Tessera kernel file shares: the argument structs
// (mirrored field for field by Go structs in backend/cuda/args.go), strided
// index arithmetic, the dtype conversions, and the KERNEL macro.
//
// The same sources build two ways:
//   - by nvcc into PTX (go generate; see gen.sh), the real thing;
//   - by g++ with TSR_EMU defined (backend/cuda/emu), into a CPU emulation
//     of the driver, so that the conformance suite exercises the kernels'
//     logic on a machine without a GPU.
// So the kernels use plain C++ and a small set of CUDA built-ins that the
// emulator provides: threadIdx, blockIdx, blockDim, gridDim, __shared__,
// __syncthreads, atomicAdd/atomicMin/atomicCAS, and the math library.
#pragma once

#ifdef TSR_EMU
#include "emu_device.h"
#define TSR_HD inline
#define KERNEL(name, Args, body)                                      \
	extern "C" const unsigned long long name##__argsize = sizeof(Args); \
	extern "C" void name(const void *tsr_args) {                      \
		const Args &a = *static_cast<const Args *>(tsr_args);         \
		body;                                                         \
	}
#else
#define TSR_HD __host__ __device__ __forceinline__
#define KERNEL(name, Args, body) \
	extern "C" __global__ void __launch_bounds__(256) name(const Args a) { body; }
#endif

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

// Every kernel runs blocks of BLOCK threads (a power of two).
#define BLOCK 256
// The largest rank a layout may have after its axes are merged; the host
// splits or refuses larger ones.
#define MAXD 12

// EwArgs: an elementwise kernel over n elements of a common shape, with up
// to four operands (operand 0 is the destination). contig says that the
// shape is one axis and every operand has stride 1 on it.
struct EwArgs {
	i64 n;
	i64 nd;
	i64 shape[MAXD];
	i64 off[4];
	i64 st[4][MAXD];
	u64 ptr[4];
	u64 bits;  // Fill: the value's bits; Axpby: alpha's float64 bits
	u64 bits2; // Axpby: beta's float64 bits
	i64 contig;
};

// AdamArgs: the fused Adam/AdamW update of fused.cu over n contiguous
// elements of p, g, m and v (see backend.Adam).
struct AdamArgs {
	i64 n;
	u64 p, g, m, v;
	double decay, beta1, beta2, stepSize, bc2Sqrt, eps;
};

// RedArgs: reductions, arg-reductions and softmax. The kept axes (out*)
// index the outputs; the reduced axes (in*) the elements of one output.
// nsplit blocks share one output when partial is set: block (o, s)
// reduces its slice and writes the partial result to dst[o*nsplit + s].
struct RedArgs {
	i64 nOut, nIn;
	i64 ndOut, ndIn;
	i64 outShape[MAXD], outSrc[MAXD], outDst[MAXD];
	i64 inShape[MAXD], inSrc[MAXD];
	i64 srcOff, dstOff;
	u64 src, dst;
	i64 nsplit;
	i64 partial;
	i64 dstIn; // softmax: dst stride along the axis
	i64 flag;  // reduce: one thread per output; softmax: log-softmax
};

// IxArgs: index kernels. Positions run over shape; operand j of the three
// (see index.cu) sits at off[j] + Σ pos[d]*st[j][d]; the indexed operand
// has 0 on the axis there and steps by axStride per index value.
struct IxArgs {
	i64 n;
	i64 nd;
	i64 shape[MAXD];
	i64 off[3];
	i64 st[3][MAXD];
	i64 axStride;
	i64 limit;
	u64 ptr[3];
	u64 flag; // device address of the error word (u64, ~0 when clear)
};

// MmArgs: dst[p] = a[p] @ b[p], a [B, M, K], b [B, K, N], c [B, M, N].
struct MmArgs {
	i64 B, M, N, K;
	i64 aOff, aB, aM, aK;
	i64 bOff, bB, bK, bN;
	i64 cOff, cB, cM, cN;
	u64 a, b, c;
};

// ---------------------------------------------------------------- indexing

#ifdef TSR_EMU
#define TID ((i64)threadIdx.x)
#else
#define TID ((i64)threadIdx.x)
#endif
#define GLOBAL_ID ((i64)blockIdx.x * (i64)blockDim.x + (i64)threadIdx.x)
#define GLOBAL_STRIDE ((i64)gridDim.x * (i64)blockDim.x)

// ew_offsets sets o[j] to the offset of element i (row-major over shape)
// in each of k operands.
template <int K>
__device__ __forceinline__ void ew_offsets(const EwArgs &a, i64 i, i64 *o) {
#pragma unroll
	for (int j = 0; j < K; j++) o[j] = a.off[j];
	if (a.nd == 1) {
#pragma unroll
		for (int j = 0; j < K; j++) o[j] += i * a.st[j][0];
		return;
	}
	for (int d = (int)a.nd - 1; d >= 0; d--) {
		i64 s = a.shape[d];
		i64 q = i / s;
		i64 r = i - q * s;
		i = q;
#pragma unroll
		for (int j = 0; j < K; j++) o[j] += r * a.st[j][d];
	}
}

// offset_of is the offset of flat row-major index i of shape under strides.
__device__ __forceinline__ i64 offset_of(i64 i, i64 nd, const i64 *shape, const i64 *strides) {
	if (nd == 1) return i * strides[0];
	i64 off = 0;
	for (int d = (int)nd - 1; d >= 0; d--) {
		i64 s = shape[d];
		i64 q = i / s;
		off += (i - q * s) * strides[d];
		i = q;
	}
	return off;
}

// ---------------------------------------------------------------- bits

TSR_HD u32 f32_bits(float f) {
	union { float f; u32 u; } v;
	v.f = f;
	return v.u;
}
TSR_HD float bits_f32(u32 u) {
	union { float f; u32 u; } v;
	v.u = u;
	return v.f;
}
TSR_HD u64 f64_bits(double f) {
	union { double f; u64 u; } v;
	v.f = f;
	return v.u;
}

TSR_HD int len64(u64 x) {
#if defined(__CUDA_ARCH__)
	return 64 - __clzll((long long)x);
#else
	return x == 0 ? 0 : 64 - __builtin_clzll(x);
#endif
}

// ---------------------------------------------------------------- 16-bit floats
//
// Bit-level conversions, the same algorithms as backend/cpu/half.go, so
// that both backends round alike: round to nearest, ties to even, overflow
// to ±Inf, signed zeros kept, NaN to a quiet NaN of the same sign.

// f16 and bf16 are distinct types for the templates; both are 2 bytes.
struct f16 { u16 b; };
struct bf16 { u16 b; };

TSR_HD float f16_to_f32(u16 h) {
	u32 sign = (u32)(h & 0x8000) << 16;
	u32 exp = (h >> 10) & 0x1f;
	u32 frac = h & 0x3ff;
	if (exp == 0x1f) return bits_f32(sign | 0x7f800000 | (frac << 13));
	if (exp == 0) {
		if (frac == 0) return bits_f32(sign);
		// Subnormal: value = frac * 2^-24, exact in float32.
		float v = (float)frac * 5.9604644775390625e-8f;
		return sign ? -v : v;
	}
	return bits_f32(sign | ((exp + 112) << 23) | (frac << 13));
}

TSR_HD float bf16_to_f32(u16 b) { return bits_f32((u32)b << 16); }

// f32_to_f16 is x448/float16's f32bitsToF16bits.
TSR_HD u16 f32_to_f16(float f) {
	u32 u = f32_bits(f);
	u32 sign = u & 0x80000000u;
	u32 exp = u & 0x7f800000u;
	u32 coef = u & 0x007fffffu;
	if (exp == 0x7f800000u) {
		u32 nanBit = coef != 0 ? 0x0200u : 0;
		return (u16)((sign >> 16) | 0x7c00u | nanBit | (coef >> 13));
	}
	u32 halfSign = sign >> 16;
	int halfExp = (int)(exp >> 23) - 127 + 15;
	if (halfExp >= 0x1f) return (u16)(halfSign | 0x7c00u);
	if (halfExp <= 0) {
		if (14 - halfExp > 24) return (u16)halfSign;
		u32 c = coef | 0x00800000u;
		u32 halfCoef = c >> (u32)(14 - halfExp);
		u32 roundBit = 1u << (u32)(13 - halfExp);
		if ((c & roundBit) != 0 && (c & (3 * roundBit - 1)) != 0) halfCoef++;
		return (u16)(halfSign | halfCoef);
	}
	u32 uHalfExp = (u32)halfExp << 10;
	u32 halfCoef = coef >> 13;
	u32 roundBit = 0x00001000u;
	if ((coef & roundBit) != 0 && (coef & (3 * roundBit - 1)) != 0) {
		return (u16)((halfSign | uHalfExp | halfCoef) + 1);
	}
	return (u16)(halfSign | uHalfExp | halfCoef);
}

TSR_HD u16 f32_to_bf16(float f) {
	u32 u = f32_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (u16)((u >> 16) | 0x0040u);
	return (u16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// half_round is backend/cpu's halfRound: the bits of the format with ebits
// exponent and fbits fraction bits nearest to ±mant·2^exp2.
TSR_HD u16 half_round(bool neg, u64 mant, int exp2, int ebits, int fbits) {
	u64 sign = neg ? (u64)1 << (ebits + fbits) : 0;
	if (mant == 0) return (u16)sign;
	int bias = (1 << (ebits - 1)) - 1;
	u64 maxExp = ((u64)1 << ebits) - 1;
	int l = len64(mant);
	int e = l - 1 + exp2 + bias;
	int shift = l - 1 - fbits;
	if (e < 1) {
		shift += 1 - e;
		e = 0;
	}
	u64 q;
	if (shift <= 0) {
		q = mant << -shift;
	} else if (shift > 64) {
		q = 0;
	} else {
		q = shift == 64 ? 0 : mant >> shift;
		u64 rem = shift == 64 ? mant : mant & (((u64)1 << shift) - 1);
		u64 half = (u64)1 << (shift - 1);
		if (rem > half || (rem == half && (q & 1) == 1)) q++;
	}
	u64 r = q;
	if (e > 0) r = ((u64)(e - 1) << fbits) + q;
	if (r >= maxExp << fbits) r = maxExp << fbits;
	return (u16)(sign | r);
}

TSR_HD u16 f64_to_half(double x, int ebits, int fbits) {
	u64 u = f64_bits(x);
	bool neg = (u >> 63) != 0;
	int e = (int)(u >> 52) & 0x7ff;
	u64 frac = u & (((u64)1 << 52) - 1);
	if (e == 0x7ff) {
		u16 inf = (u16)(((1u << ebits) - 1) << fbits);
		u16 sign = neg ? (u16)(1u << (ebits + fbits)) : 0;
		if (frac == 0) return sign | inf;
		return (u16)(sign | inf | (1u << (fbits - 1)) | (u16)(frac >> (52 - fbits)));
	}
	if (e == 0) return half_round(neg, frac, -1074, ebits, fbits);
	return half_round(neg, frac | ((u64)1 << 52), e - 1075, ebits, fbits);
}

TSR_HD u16 i64_to_half(i64 i, int ebits, int fbits) {
	bool neg = i < 0;
	u64 m = (u64)i;
	if (neg) m = (u64)0 - m;
	return half_round(neg, m, 0, ebits, fbits);
}

// ---------------------------------------------------------------- conversions
//
// cvt<D>(x) converts as backend/cpu's Copy does (see cast.go there).

template <class D> struct Cvt;

#define CVT_NUM(D)                                                            \
	template <> struct Cvt<D> {                                               \
		template <class S> static __device__ __forceinline__ D from(S x) { return (D)x; } \
		static __device__ __forceinline__ D from(bool x) { return x ? (D)1 : (D)0; } \
		static __device__ __forceinline__ D from(f16 x) { return (D)f16_to_f32(x.b); } \
		static __device__ __forceinline__ D from(bf16 x) { return (D)bf16_to_f32(x.b); } \
	};
CVT_NUM(float)
CVT_NUM(double)
CVT_NUM(int)
CVT_NUM(i64)

template <> struct Cvt<bool> {
	template <class S> static __device__ __forceinline__ bool from(S x) { return x != 0; }
	static __device__ __forceinline__ bool from(bool x) { return x; }
	static __device__ __forceinline__ bool from(f16 x) { return f16_to_f32(x.b) != 0; }
	static __device__ __forceinline__ bool from(bf16 x) { return bf16_to_f32(x.b) != 0; }
};

#define CVT_HALF(H, EB, FB, FROM32, ONE)                                                      \
	template <> struct Cvt<H> {                                                               \
		static __device__ __forceinline__ H mk(u16 b) { H h; h.b = b; return h; }           \
		static __device__ __forceinline__ H from(float x) { return mk(FROM32(x)); }           \
		static __device__ __forceinline__ H from(double x) { return mk(f64_to_half(x, EB, FB)); } \
		static __device__ __forceinline__ H from(int x) { return mk(f64_to_half((double)x, EB, FB)); } \
		static __device__ __forceinline__ H from(i64 x) { return mk(i64_to_half(x, EB, FB)); } \
		static __device__ __forceinline__ H from(bool x) { return mk(x ? ONE : 0); }          \
		static __device__ __forceinline__ H from(f16 x) { return mk(FROM32(f16_to_f32(x.b))); } \
		static __device__ __forceinline__ H from(bf16 x) { return mk(FROM32(bf16_to_f32(x.b))); } \
	};
CVT_HALF(f16, 5, 10, f32_to_f16, 0x3c00)
CVT_HALF(bf16, 8, 7, f32_to_bf16, 0x3f80)
