//go:build cuda

// shim.c: a few driver calls made directly, and cuBLAS through dlopen.
//
// gorgonia.org/cu's Function.Launch copies every kernel parameter as 8
// bytes, while Tessera's kernels take one struct of shapes and strides by
// value; tsr_launch passes that struct as the parameter buffer
// (CU_LAUNCH_PARAM_BUFFER_POINTER). Module loading asks for the JIT's error
// log. The context is the device's primary one (the one the CUDA runtime,
// and so cuBLAS, uses); each entry point makes it current on the calling
// thread first, inside the same C call, so no goroutine needs to be locked
// to a thread for them.
//
// cuBLAS is loaded at run time: a binary linked against one CUDA version's
// libcublas does not start where another is installed.
#include "shim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int tsr_ctx_retain(int ordinal, CUcontext *ctx) {
	CUdevice dev;
	CUresult r = cuDeviceGet(&dev, ordinal);
	if (r != CUDA_SUCCESS) return r;
	return cuDevicePrimaryCtxRetain(ctx, dev);
}

int tsr_ctx_release(int ordinal) {
	CUdevice dev;
	CUresult r = cuDeviceGet(&dev, ordinal);
	if (r != CUDA_SUCCESS) return r;
	return cuDevicePrimaryCtxRelease(dev);
}

int tsr_ctx_set(CUcontext ctx) {
	CUcontext cur = NULL;
	if (cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == ctx) return CUDA_SUCCESS;
	return cuCtxSetCurrent(ctx);
}

const char *tsr_error_name(int code) {
	const char *s = NULL;
	if (cuGetErrorName((CUresult)code, &s) != CUDA_SUCCESS || s == NULL) return "CUDA_ERROR_?";
	return s;
}

int tsr_module_load(CUcontext ctx, const char *image, CUmodule *mod, char *log, size_t logsize) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)logsize};
	if (logsize > 0) log[0] = 0;
	return cuModuleLoadDataEx(mod, image, 2, opts, vals);
}

int tsr_module_function(CUmodule mod, const char *name, CUfunction *fn) {
	return cuModuleGetFunction(fn, mod, name);
}

int tsr_module_unload(CUcontext ctx, CUmodule mod) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuModuleUnload(mod);
}

int tsr_launch(CUcontext ctx, CUfunction fn, unsigned gx, unsigned gy, unsigned bx,
	CUstream stream, void *args, size_t size) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	void *extra[] = {
		CU_LAUNCH_PARAM_BUFFER_POINTER, args,
		CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
		CU_LAUNCH_PARAM_END,
	};
	return cuLaunchKernel(fn, gx, gy, 1, bx, 1, 1, 0, stream, NULL, extra);
}

// ---------------------------------------------------------------- cuBLAS

typedef int (*blas_create_t)(void **);
typedef int (*blas_destroy_t)(void *);
typedef int (*blas_set_stream_t)(void *, CUstream);
typedef int (*blas_set_math_t)(void *, int);
typedef int (*blas_get_version_t)(void *, int *);
typedef int (*sgemm_t)(void *, int, int, int, int, int, const float *, const float *, int,
	const float *, int, const float *, float *, int);
typedef int (*dgemm_t)(void *, int, int, int, int, int, const double *, const double *, int,
	const double *, int, const double *, double *, int);
typedef int (*sgemm_sb_t)(void *, int, int, int, int, int, const float *, const float *, int, long long,
	const float *, int, long long, const float *, float *, int, long long, int);
typedef int (*dgemm_sb_t)(void *, int, int, int, int, int, const double *, const double *, int, long long,
	const double *, int, long long, const double *, double *, int, long long, int);

int tsr_blas_open(const char *path, tsr_blas *b, char *err, size_t errlen) {
	memset(b, 0, sizeof *b);
	b->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (b->lib == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	const char *names[] = {"cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2",
		"cublasSetMathMode", "cublasGetVersion_v2", "cublasSgemm_v2", "cublasDgemm_v2",
		"cublasSgemmStridedBatched", "cublasDgemmStridedBatched"};
	void **slots[] = {&b->create, &b->destroy, &b->set_stream, &b->set_math, &b->get_version,
		&b->sgemm, &b->dgemm, &b->sgemm_sb, &b->dgemm_sb};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		*slots[i] = dlsym(b->lib, names[i]);
		if (*slots[i] == NULL) {
			snprintf(err, errlen, "%s: no symbol %s", path, names[i]);
			dlclose(b->lib);
			b->lib = NULL;
			return -1;
		}
	}
	return 0;
}

int tsr_blas_init(tsr_blas *b, CUcontext ctx, CUstream stream) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return 1000 + r;
	r = ((blas_create_t)b->create)(&b->handle);
	if (r != 0) return r;
	r = ((blas_set_stream_t)b->set_stream)(b->handle, stream);
	if (r != 0) return r;
	((blas_get_version_t)b->get_version)(b->handle, &b->version);
	return ((blas_set_math_t)b->set_math)(b->handle, 0); // CUBLAS_DEFAULT_MATH: no TF32
}

int tsr_blas_set_math(tsr_blas *b, CUcontext ctx, int mode) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return 1000 + r;
	return ((blas_set_math_t)b->set_math)(b->handle, mode);
}

int tsr_blas_gemm(tsr_blas *b, CUcontext ctx, int f64, int ta, int tb, int m, int n, int k,
	unsigned long long A, int lda, long long sA,
	unsigned long long B, int ldb, long long sB,
	unsigned long long C, int ldc, long long sC, int batch) {
	int r = tsr_ctx_set(ctx);
	if (r != CUDA_SUCCESS) return 1000 + r;
	if (f64) {
		const double one = 1, zero = 0;
		if (batch == 1)
			return ((dgemm_t)b->dgemm)(b->handle, ta, tb, m, n, k, &one, (const double *)A, lda,
				(const double *)B, ldb, &zero, (double *)C, ldc);
		return ((dgemm_sb_t)b->dgemm_sb)(b->handle, ta, tb, m, n, k, &one, (const double *)A, lda, sA,
			(const double *)B, ldb, sB, &zero, (double *)C, ldc, sC, batch);
	}
	const float one = 1, zero = 0;
	if (batch == 1)
		return ((sgemm_t)b->sgemm)(b->handle, ta, tb, m, n, k, &one, (const float *)A, lda,
			(const float *)B, ldb, &zero, (float *)C, ldc);
	return ((sgemm_sb_t)b->sgemm_sb)(b->handle, ta, tb, m, n, k, &one, (const float *)A, lda, sA,
		(const float *)B, ldb, sB, &zero, (float *)C, ldc, sC, batch);
}

void tsr_blas_close(tsr_blas *b, CUcontext ctx) {
	if (b->handle != NULL && tsr_ctx_set(ctx) == CUDA_SUCCESS) ((blas_destroy_t)b->destroy)(b->handle);
	b->handle = NULL;
	if (b->lib != NULL) dlclose(b->lib);
	b->lib = NULL;
}
