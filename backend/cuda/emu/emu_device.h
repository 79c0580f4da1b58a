// emu_device.h: the CUDA built-ins the kernels use, for the host build of
// kernels/*.cu (see emu.cpp). Every thread of a block is a fiber; fibers
// of one block take turns on one OS thread and switch only at
// __syncthreads, so __shared__ can be a static and atomics plain
// read-modify-writes.
#pragma once
#include <math.h>
#include <stdint.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct tsr_dim3 {
	unsigned x, y, z;
};
extern "C" tsr_dim3 tsr_threadIdx, tsr_blockIdx, tsr_blockDim, tsr_gridDim;
extern "C" void tsr_syncthreads(void);
#define threadIdx tsr_threadIdx
#define blockIdx tsr_blockIdx
#define blockDim tsr_blockDim
#define gridDim tsr_gridDim
#define __syncthreads tsr_syncthreads

inline float atomicAdd(float *p, float v) { float o = *p; *p = o + v; return o; }
inline double atomicAdd(double *p, double v) { double o = *p; *p = o + v; return o; }
inline int atomicAdd(int *p, int v) { int o = *p; *p = (int)((unsigned)o + (unsigned)v); return o; }
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) { unsigned long long o = *p; *p = o + v; return o; }
inline unsigned long long atomicMin(unsigned long long *p, unsigned long long v) { unsigned long long o = *p; if (v < o) *p = v; return o; }
inline unsigned short atomicCAS(unsigned short *p, unsigned short cmp, unsigned short v) { unsigned short o = *p; if (o == cmp) *p = v; return o; }
