// shim.h: the driver calls that gorgonia.org/cu does not offer in the form
// Tessera needs, and cuBLAS loaded with dlopen. See shim.c.
#ifndef TESSERA_CUDA_SHIM_H
#define TESSERA_CUDA_SHIM_H

#include <cuda.h>
#include <stddef.h>

int tsr_ctx_retain(int ordinal, CUcontext *ctx);
int tsr_ctx_release(int ordinal);
int tsr_ctx_set(CUcontext ctx);
const char *tsr_error_name(int code);

int tsr_module_load(CUcontext ctx, const char *image, CUmodule *mod, char *log, size_t logsize);
int tsr_module_function(CUmodule mod, const char *name, CUfunction *fn);
int tsr_module_unload(CUcontext ctx, CUmodule mod);
int tsr_launch(CUcontext ctx, CUfunction fn, unsigned gx, unsigned gy, unsigned bx,
	CUstream stream, void *args, size_t size);

typedef struct tsr_blas {
	void *lib;
	void *handle;
	int version;
	void *create, *destroy, *set_stream, *set_math, *get_version;
	void *sgemm, *dgemm, *sgemm_sb, *dgemm_sb;
} tsr_blas;

int tsr_blas_open(const char *path, tsr_blas *b, char *err, size_t errlen);
int tsr_blas_init(tsr_blas *b, CUcontext ctx, CUstream stream);
int tsr_blas_set_math(tsr_blas *b, CUcontext ctx, int mode);
int tsr_blas_gemm(tsr_blas *b, CUcontext ctx, int f64, int ta, int tb, int m, int n, int k,
	unsigned long long A, int lda, long long sA,
	unsigned long long B, int ldb, long long sB,
	unsigned long long C, int ldc, long long sC, int batch);
void tsr_blas_close(tsr_blas *b, CUcontext ctx);

#endif
