// matmul.cu: a tiled GEMM, dst[p] = a[p] @ b[p], on any strides. It is
// the fallback when cuBLAS cannot be loaded, and the kernel for int32 and
// int64 (which cuBLAS lacks).
//
// A block computes a 64×64 tile of one matrix of the batch, walking K in
// slabs of 16 staged in shared memory; thread (tx, ty) of the 16×16 block
// owns rows ty+16r and columns tx+16c, r, c < 4, so that shared-memory
// reads do not conflict and stores to a row-major dst coalesce. Tiles are
// handed out by a grid-stride loop over batch × row tiles × column tiles.
// Floats accumulate with fused multiply-add; integers wrap.
#include "common.cuh"

#define TM 64
#define TN 64
#define TK 16

__device__ __forceinline__ float madd(float acc, float x, float y) { return fmaf(x, y, acc); }
__device__ __forceinline__ double madd(double acc, double x, double y) { return fma(x, y, acc); }
__device__ __forceinline__ int madd(int acc, int x, int y) { return (int)((u32)acc + (u32)x * (u32)y); }
__device__ __forceinline__ i64 madd(i64 acc, i64 x, i64 y) { return (i64)((u64)acc + (u64)x * (u64)y); }

template <class T>
__device__ __forceinline__ void gemm(const MmArgs &a) {
	__shared__ T As[TK][TM + 1];
	__shared__ T Bs[TK][TN + 1];
	const T *A = (const T *)a.a;
	const T *B = (const T *)a.b;
	T *C = (T *)a.c;
	int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
	i64 tilesM = (a.M + TM - 1) / TM, tilesN = (a.N + TN - 1) / TN;
	i64 tiles = a.B * tilesM * tilesN;
	for (i64 t = blockIdx.x; t < tiles; t += gridDim.x) {
		i64 p = t / (tilesM * tilesN);
		i64 rem = t - p * (tilesM * tilesN);
		i64 i0 = rem / tilesN * TM, j0 = rem % tilesN * TN;
		const T *Ap = A + a.aOff + p * a.aB;
		const T *Bp = B + a.bOff + p * a.bB;
		T acc[4][4];
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++) acc[r][c] = 0;
		for (i64 k0 = 0; k0 < a.K; k0 += TK) {
			for (int e = threadIdx.x; e < TM * TK; e += BLOCK) {
				int ii = e / TK, kk = e % TK;
				i64 gi = i0 + ii, gk = k0 + kk;
				As[kk][ii] = (gi < a.M && gk < a.K) ? Ap[gi * a.aM + gk * a.aK] : (T)0;
			}
			for (int e = threadIdx.x; e < TK * TN; e += BLOCK) {
				int kk = e / TN, jj = e % TN;
				i64 gk = k0 + kk, gj = j0 + jj;
				Bs[kk][jj] = (gk < a.K && gj < a.N) ? Bp[gk * a.bK + gj * a.bN] : (T)0;
			}
			__syncthreads();
			for (int kk = 0; kk < TK; kk++) {
				T av[4], bv[4];
				for (int r = 0; r < 4; r++) av[r] = As[kk][ty + 16 * r];
				for (int c = 0; c < 4; c++) bv[c] = Bs[kk][tx + 16 * c];
				for (int r = 0; r < 4; r++)
					for (int c = 0; c < 4; c++) acc[r][c] = madd(acc[r][c], av[r], bv[c]);
			}
			__syncthreads();
		}
		T *Cp = C + a.cOff + p * a.cB;
		for (int r = 0; r < 4; r++) {
			i64 i = i0 + ty + 16 * r;
			if (i >= a.M) continue;
			for (int c = 0; c < 4; c++) {
				i64 j = j0 + tx + 16 * c;
				if (j < a.N) Cp[i * a.cM + j * a.cN] = acc[r][c];
			}
		}
	}
}

KERNEL(gemm_f32, MmArgs, (gemm<float>(a)))
KERNEL(gemm_f64, MmArgs, (gemm<double>(a)))
KERNEL(gemm_i32, MmArgs, (gemm<int>(a)))
KERNEL(gemm_i64, MmArgs, (gemm<i64>(a)))
