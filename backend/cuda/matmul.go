//go:build cuda

package cuda

/*
#include "shim.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
)

// MatMul: float32 and float64 through cuBLAS when it can be loaded, with
// TF32 off unless SetAllowTF32(true); int32, int64, and every dtype when
// cuBLAS is missing, through the tiled kernel of kernels/matmul.cu.
//
// cuBLAS is column-major; a row-major product C = A·B is computed as
// Cᵀ = Bᵀ·Aᵀ, which in column-major terms reads the row-major buffers as
// they are. An operand whose layout cuBLAS cannot take (neither of its
// matrix strides is 1, or a leading dimension too small) is first copied
// to a contiguous scratch buffer; so is dst, and copied back.

// cuBLAS is looked for under these names, newest first, then in
// $CUDA_HOME/lib64 (/usr/local/cuda/lib64 when CUDA_HOME is unset).
var blasNames = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}

type blasLib struct {
	c    C.tsr_blas
	path string
}

// BLASError says why cuBLAS was not loaded, or is nil once it was.
type BLASError struct{ Tried []string }

func (e *BLASError) Error() string {
	return "cuda: cuBLAS not loaded (" + strings.Join(e.Tried, "; ") + "); MatMul uses Tessera's own kernel"
}

// cublas loads cuBLAS on first use; nil means unavailable.
func (be *Backend) cublas() *blasLib {
	be.blasOnce.Do(func() {
		if os.Getenv("TESSERA_CUDA_NO_CUBLAS") != "" {
			return
		}
		l, _ := loadBLAS(be)
		be.blas = l
	})
	return be.blas
}

func loadBLAS(be *Backend) (*blasLib, error) {
	names := append([]string(nil), blasNames...)
	home := os.Getenv("CUDA_HOME")
	if home == "" {
		home = "/usr/local/cuda" // where NVIDIA's installers put the toolkit
	}
	for _, n := range blasNames {
		names = append(names, filepath.Join(home, "lib64", n))
	}
	var tried []string
	var errBuf [512]C.char
	for _, n := range names {
		l := &blasLib{path: n}
		cn := C.CString(n)
		r := C.tsr_blas_open(cn, &l.c, &errBuf[0], C.size_t(len(errBuf)))
		C.free(unsafe.Pointer(cn))
		if r != 0 {
			tried = append(tried, C.GoString(&errBuf[0]))
			continue
		}
		if r := C.tsr_blas_init(&l.c, be.ctx, be.cs); r != 0 {
			tried = append(tried, fmt.Sprintf("%s: cublasCreate or cublasSetStream failed (%d)", n, int(r)))
			C.tsr_blas_close(&l.c, be.ctx)
			continue
		}
		if be.tf32.Load() {
			C.tsr_blas_set_math(&l.c, be.ctx, 3)
		}
		return l, nil
	}
	return nil, &BLASError{Tried: tried}
}

func (l *blasLib) close(ctx C.CUcontext) { C.tsr_blas_close(&l.c, ctx) }

// BLAS reports the cuBLAS library in use and its version, or an error
// saying why there is none (MatMul then runs Tessera's own kernel).
func (be *Backend) BLAS() (path string, version int, err error) {
	if l := be.cublas(); l != nil {
		return l.path, int(l.c.version), nil
	}
	if os.Getenv("TESSERA_CUDA_NO_CUBLAS") != "" {
		return "", 0, &BLASError{Tried: []string{"TESSERA_CUDA_NO_CUBLAS is set"}}
	}
	_, err = loadBLAS(be)
	return "", 0, err
}

// SetAllowTF32 lets cuBLAS use TF32 tensor cores for float32 MatMul (about
// 10 bits of mantissa in the products; torch.backends.cuda.matmul.allow_tf32).
// It is off by default.
func (be *Backend) SetAllowTF32(on bool) {
	be.tf32.Store(on)
	if l := be.cublas(); l != nil {
		mode := 0 // CUBLAS_DEFAULT_MATH
		if on {
			mode = 3 // CUBLAS_TF32_TENSOR_OP_MATH
		}
		C.tsr_blas_set_math(&l.c, be.ctx, C.int(mode))
	}
}

// MatMul implements backend.Backend.
func (be *Backend) MatMul(dst backend.Buffer, dl backend.Layout, a backend.Buffer, al backend.Layout, b backend.Buffer, bl backend.Layout) {
	d, x, y := be.buf(dst), be.buf(a), be.buf(b)
	if x.dt != d.dt || y.dt != d.dt {
		panic(fmt.Sprintf("cuda: MatMul: dtypes differ: %v @ %v into %v", x.dt, y.dt, d.dt))
	}
	for _, l := range []backend.Layout{dl, al, bl} {
		if len(l.Shape) != 3 || len(l.Strides) != 3 {
			panic(fmt.Sprintf("cuda: MatMul: layouts must be rank 3, got %v @ %v into %v", al.Shape, bl.Shape, dl.Shape))
		}
	}
	if al.Shape[0] != bl.Shape[0] || al.Shape[0] != dl.Shape[0] || al.Shape[2] != bl.Shape[1] ||
		al.Shape[1] != dl.Shape[1] || bl.Shape[2] != dl.Shape[2] {
		panic(fmt.Sprintf("cuda: MatMul: shapes do not match: %v @ %v into %v", al.Shape, bl.Shape, dl.Shape))
	}
	switch d.dt {
	case backend.Float32, backend.Float64, backend.Int32, backend.Int64:
	default:
		panic(fmt.Sprintf("cuda: MatMul on %v not supported", d.dt))
	}
	nb, m, n, k := dl.Shape[0], dl.Shape[1], dl.Shape[2], al.Shape[2]
	if nb == 0 || m == 0 || n == 0 {
		return
	}
	if k == 0 {
		be.Fill(d, dl, 0)
		return
	}
	if d.dt.IsFloat() && be.cublas() != nil && be.blasMatMul(d, dl, x, al, y, bl) {
		runtime.KeepAlive(d)
		runtime.KeepAlive(x)
		runtime.KeepAlive(y)
		return
	}
	be.gemm(d, dl, x, al, y, bl)
	runtime.KeepAlive(d)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}

// gemm queues the tiled kernel.
func (be *Backend) gemm(d *Buffer, dl backend.Layout, x *Buffer, al backend.Layout, y *Buffer, bl backend.Layout) {
	k := be.kernel(kkey{famGemm, uint8(d.dt), 0, 0}, kernels.MatMul, func() string { return "gemm_" + suffix(d.dt) })
	var a mmArgs
	a.B, a.M, a.N, a.K = int64(dl.Shape[0]), int64(dl.Shape[1]), int64(dl.Shape[2]), int64(al.Shape[2])
	a.AOff, a.AB, a.AM, a.AK = int64(al.Offset), int64(al.Strides[0]), int64(al.Strides[1]), int64(al.Strides[2])
	a.BOff, a.BB, a.BK, a.BN = int64(bl.Offset), int64(bl.Strides[0]), int64(bl.Strides[1]), int64(bl.Strides[2])
	a.COff, a.CB, a.CM, a.CN = int64(dl.Offset), int64(dl.Strides[0]), int64(dl.Strides[1]), int64(dl.Strides[2])
	a.APtr, a.BPtr, a.CPtr = x.addr(0), y.addr(0), d.addr(0)
	tiles := a.B * ((a.M + 63) / 64) * ((a.N + 63) / 64)
	grid := int64(be.sms) * 8
	if tiles < grid {
		grid = tiles
	}
	p, size := a.ptr()
	be.launch(k.fn, k.name, int(grid), 1, p, size)
}

// blasForm says how cuBLAS can read the logical R×C matrix with strides
// (sr, sc): rowMajor (unit column stride; read column-major it is the
// transpose, leading dimension ld = sr) or column-major (unit row stride,
// ld = sc). ok is false when it can be neither.
func blasForm(r, c, sr, sc int) (rowMajor bool, ld int, ok bool) {
	if sc == 1 || c == 1 {
		ld = sr
		if r == 1 {
			ld = max(c, 1)
		}
		if ld >= max(c, 1) {
			return true, ld, true
		}
	}
	if sr == 1 || r == 1 {
		ld = sc
		if c == 1 {
			ld = max(r, 1)
		}
		if ld >= max(r, 1) {
			return false, ld, true
		}
	}
	return false, 0, false
}

const maxInt32 = 1<<31 - 1

// blasMatMul runs the product through cuBLAS; false means it cannot
// (sizes past int32), and nothing was queued.
func (be *Backend) blasMatMul(d *Buffer, dl backend.Layout, x *Buffer, al backend.Layout, y *Buffer, bl backend.Layout) bool {
	nb, m, n, k := dl.Shape[0], dl.Shape[1], dl.Shape[2], al.Shape[2]
	if nb > maxInt32 || m > maxInt32 || n > maxInt32 || k > maxInt32 {
		return false
	}
	var scratch []*Buffer
	defer func() {
		for _, s := range scratch {
			be.Free(s)
		}
	}()
	// contiguous copies l of buf into a fresh row-major buffer.
	contiguous := func(buf *Buffer, l backend.Layout) (*Buffer, backend.Layout) {
		t, err := be.Alloc(buf.dt, l.Size())
		if err != nil {
			panic(fmt.Sprintf("cuda: MatMul: scratch: %v", err))
		}
		tb := t.(*Buffer)
		scratch = append(scratch, tb)
		cl := backend.Contiguous(l.Shape)
		be.Copy(tb, cl, buf, l)
		return tb, cl
	}
	aRow, lda, ok := blasForm(m, k, al.Strides[1], al.Strides[2])
	if !ok {
		x, al = contiguous(x, al)
		aRow, lda, _ = blasForm(m, k, al.Strides[1], al.Strides[2])
	}
	bRow, ldb, ok := blasForm(k, n, bl.Strides[1], bl.Strides[2])
	if !ok {
		y, bl = contiguous(y, bl)
		bRow, ldb, _ = blasForm(k, n, bl.Strides[1], bl.Strides[2])
	}
	out, ol := d, dl
	cRow, ldc, ok := blasForm(m, n, dl.Strides[1], dl.Strides[2])
	if !ok || !cRow || (nb > 1 && dl.Strides[0] == 0) {
		t, err := be.Alloc(d.dt, dl.Size())
		if err != nil {
			panic(fmt.Sprintf("cuda: MatMul: scratch: %v", err))
		}
		out = t.(*Buffer)
		scratch = append(scratch, out)
		ol = backend.Contiguous(dl.Shape)
		_, ldc, _ = blasForm(m, n, ol.Strides[1], ol.Strides[2])
	}
	if lda > maxInt32 || ldb > maxInt32 || ldc > maxInt32 {
		return false
	}
	// Cᵀ (n×m, column-major) = op(B') · op(A'), where B' and A' are the
	// buffers read column-major: a row-major B reads as Bᵀ (no transpose
	// needed), a column-major one as B (transpose it).
	const opN, opT = 0, 1
	tb, ta := opT, opT
	if bRow {
		tb = opN
	}
	if aRow {
		ta = opN
	}
	f64 := 0
	if d.dt == backend.Float64 {
		f64 = 1
	}
	esz := uint64(d.dt.Size())
	l := be.cublas()
	be.launches.Add(1)
	r := C.tsr_blas_gemm(&l.c, be.ctx, C.int(f64), C.int(tb), C.int(ta), C.int(n), C.int(m), C.int(k),
		C.ulonglong(y.addr(0)+uint64(bl.Offset)*esz), C.int(ldb), C.longlong(bl.Strides[0]),
		C.ulonglong(x.addr(0)+uint64(al.Offset)*esz), C.int(lda), C.longlong(al.Strides[0]),
		C.ulonglong(out.addr(0)+uint64(ol.Offset)*esz), C.int(ldc), C.longlong(ol.Strides[0]), C.int(nb))
	if r != 0 {
		panic(fmt.Sprintf("cuda: MatMul: cuBLAS gemm failed with status %d (%v @ %v into %v)", int(r), al.Shape, bl.Shape, dl.Shape))
	}
	if out != d {
		be.Copy(d, dl, out, ol)
	}
	return true
}

// rawSgemm calls cuBLAS's Sgemm directly on n×n row-major buffers, with
// none of MatMul's layout logic: the reference the benchmarks compare
// MatMul with.
func (be *Backend) rawSgemm(n int, a, b, c *Buffer) error {
	l := be.cublas()
	if l == nil {
		return &BLASError{Tried: []string{"not loaded"}}
	}
	r := C.tsr_blas_gemm(&l.c, be.ctx, 0, 0, 0, C.int(n), C.int(n), C.int(n),
		C.ulonglong(b.addr(0)), C.int(n), 0, C.ulonglong(a.addr(0)), C.int(n), 0,
		C.ulonglong(c.addr(0)), C.int(n), 0, 1)
	if r != 0 {
		return fmt.Errorf("cuda: cublasSgemm: status %d", int(r))
	}
	return nil
}
