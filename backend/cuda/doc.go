//go:build cuda

// Package cuda is Tessera's CUDA backend. It is compiled only with the
// cuda build tag; package tensor links it in (tensor/cuda.go), so building
// with -tags cuda is all a program needs for tensor.CUDA(0) to work. A
// build without the tag answers a request for a CUDA device with
// backend.ErrNoCUDA ("rebuild with -tags cuda").
//
// # Requirements
//
// Building needs cuda.h and a libcuda.so to link against (an NVIDIA driver
// installation, or what .ci/cuda-setup.sh makes on a machine without one:
// see its comment), pointed at with CGO_CFLAGS and CGO_LDFLAGS. No nvcc is
// needed: the kernels are committed as PTX (package kernels).
//
// Running needs the NVIDIA driver's libcuda.so.1 — the binary does not
// start without it (the dynamic loader refuses) — and a working driver:
// gorgonia.org/cu v0.9.6, which this package uses, calls cuInit(0) in its
// package init and, if that fails, prints "Error in initialization, please
// refer to ... for details on: <error>" and calls os.Exit(1). That happens
// before main, before TestMain, in every binary that imports this package
// (so in every -tags cuda binary that imports package tensor): on a
// machine whose driver is installed but has no usable GPU, cuInit returns
// CUDA_ERROR_NO_DEVICE and the program exits with status 1. Ship -tags cuda
// binaries only to machines with a GPU, and build CPU-only binaries
// without the tag. Where cuInit succeeds but the driver reports no device
// (the stub library of .ci/cuda-setup.sh does that), Open returns
// ErrNoDevice, tensor functions asked for CUDA panic with a
// tensor.DeviceError saying so, and the tests skip.
//
// cuBLAS (libcublas.so.13, .12, .11 or libcublas.so, then the same under
// $CUDA_HOME/lib64, or /usr/local/cuda/lib64) is loaded with dlopen at
// the first MatMul, so one binary works with whichever CUDA version the
// machine has; without it, or with TESSERA_CUDA_NO_CUBLAS set, MatMul runs
// Tessera's own tiled kernel. Float32 MatMul does not use TF32 unless SetAllowTF32(true).
//
// # Devices, contexts and threads
//
// A Backend uses its device's primary context (the one the CUDA runtime,
// and so cuBLAS, uses) and one stream; every kernel, copy and cuBLAS call
// is queued on that stream, so they run in the order they were queued.
// The driver binds a context to an OS thread rather than to a goroutine,
// so every call makes the context current first: the kernel launch, module
// loading and cuBLAS entry points (shim.c) do it inside the same C call,
// and the gorgonia.org/cu calls (memory, copies, stream) run with the
// goroutine locked to its thread between setting the context and the call
// (Backend.with). Launches therefore cost one cgo call each, with no
// goroutine handoff. A Backend is safe for concurrent use.
//
// # Memory
//
// Buffers come from a caching allocator (alloc.go): size classes with
// free lists, so that a training loop in steady state never calls
// cuMemAlloc. MemStats reports allocated, cached and peak bytes and the
// driver calls made; EmptyCache gives the cached memory back to the
// driver. Free returns a buffer's memory to the cache at once. GPU memory
// is not left to the garbage collector: it does not see device memory and
// would let it pile up. A buffer never freed is returned to the cache by a
// cleanup (runtime.AddCleanup) when the collector finds it unreachable,
// as a safety net only; MemStats.Reclaimed counts those. Code that makes
// many CUDA tensors should free what it no longer needs.
//
// # Kernels and semantics
//
// The kernels (kernels/*.cu) implement the whole backend contract with the
// CPU backend's semantics: NaN propagation in Max, Min, Maximum, Minimum
// and ReLU, Sign(NaN) = 0, the first index among equal extremes in
// ArgMax/ArgMin (a NaN counts as the extreme), float32 reductions and
// softmax accumulated in double, float32 math functions computed in double
// and rounded once, Copy rounding to nearest-even into float16 and
// bfloat16 bit for bit as the CPU does, integer arithmetic wrapping, and
// index kernels returning an error for an index out of range (checked on
// the device; dst is left untouched). Results differ from the CPU's only
// where the order of floating-point additions differs (sums, MatMul,
// ScatterAdd with repeated indices) or where CUDA's libm and Go's math
// round a transcendental function differently (within an ulp or two), and
// for float-to-integer conversions of NaN or out-of-range values, which
// the contract leaves unspecified (CUDA saturates; amd64 gives MinInt).
//
// The same kernel sources compile for the host into a CPU emulation of
// the driver, a libcuda.so.1 built by emu/build.sh (.ci/cuda-setup.sh
// builds it and prints its directory as TESSERA_CUDA_EMU). With that
// directory on LD_LIBRARY_PATH the tests of this package, the conformance
// suite of backend/backendtest included, run this backend's Go code and
// kernels on a machine without a GPU:
//
//	eval "$(bash .ci/cuda-setup.sh | grep '^export ')"
//	LD_LIBRARY_PATH=$TESSERA_CUDA_EMU go test -count=1 -tags cuda ./backend/cuda
//
// The emulator runs blocks one at a time and a block's threads as fibers,
// so it checks the kernels' logic, not their behaviour under real
// concurrency, nor the PTX (which nvcc built from the same sources), nor
// cuBLAS (absent there: MatMul runs the tiled kernel).
package cuda
