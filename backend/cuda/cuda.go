//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda -ldl
#cgo noescape tsr_launch
#cgo nocallback tsr_launch
#cgo nocallback tsr_ctx_set
#include "shim.h"
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/cuda/kernels"
	"gorgonia.org/cu"
)

func init() {
	backend.Register(backend.CUDA, func(index int) (backend.Backend, error) {
		return Open(index)
	})
}

// ErrNoDevice is returned by Open (and so by backend.Get and the tensor
// functions that ask for a CUDA device) when the driver reports no device.
var ErrNoDevice = errors.New("cuda: no CUDA device (the driver reports 0 devices)")

// DeviceCount returns the number of CUDA devices the driver sees.
func DeviceCount() (int, error) { return cu.NumDevices() }

// Backend implements backend.Backend on one CUDA device. It is safe for
// concurrent use; kernels run in the order they are queued on its one
// stream.
type Backend struct {
	index  int
	name   string
	cc     [2]int // compute capability
	sms    int    // multiprocessors
	ctx    C.CUcontext
	stream cu.Stream
	cs     C.CUstream

	alloc *allocator

	modMu sync.Mutex
	mods  map[string]C.CUmodule
	fnMu  sync.RWMutex
	fns   map[kkey]kfn

	ixMu   sync.Mutex  // guards the index-error slots
	ixw    *block      // ixSlots words, all ones when clear
	ixPend []ixPending // the queued index ops, one per slot in use
	ixSync bool        // SetSyncIndexChecks

	blasOnce sync.Once
	blas     *blasLib
	tf32     atomic.Bool

	closed   atomic.Bool
	launches atomic.Int64 // kernels and cuBLAS calls queued
}

// Launches returns the number of kernels (and cuBLAS GEMMs) this backend
// has queued: with a step time, it says whether a workload is bound by
// launch overhead.
func (b *Backend) Launches() int64 { return b.launches.Load() }

// kkey names a kernel without building its name: a family tag and up to
// three small operands (op, dtypes).
type kkey struct{ fam, a, b, c uint8 }

var (
	openMu sync.Mutex
	opened = map[int]*Backend{}
)

// Open returns the backend of CUDA device index, opening it on first use:
// it retains the device's primary context and creates a stream. Kernel
// modules are loaded when first used, cuBLAS at the first MatMul.
func Open(index int) (*Backend, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if b, ok := opened[index]; ok && !b.closed.Load() {
		return b, nil
	}
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: cuDeviceGetCount: %w", err)
	}
	if n == 0 {
		return nil, ErrNoDevice
	}
	if index < 0 || index >= n {
		return nil, fmt.Errorf("cuda: device %d does not exist (%d devices)", index, n)
	}
	dev, err := cu.GetDevice(index)
	if err != nil {
		return nil, fmt.Errorf("cuda: cuDeviceGet(%d): %w", index, err)
	}
	b := &Backend{index: index, mods: map[string]C.CUmodule{}, fns: map[kkey]kfn{}}
	if b.name, err = dev.Name(); err != nil {
		return nil, fmt.Errorf("cuda: device %d: name: %w", index, err)
	}
	if b.sms, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return nil, fmt.Errorf("cuda: device %d: attribute: %w", index, err)
	}
	b.cc[0], _ = dev.Attribute(cu.ComputeCapabilityMajor)
	b.cc[1], _ = dev.Attribute(cu.ComputeCapabilityMinor)
	if r := C.tsr_ctx_retain(C.int(index), &b.ctx); r != 0 {
		return nil, drvErr("cuDevicePrimaryCtxRetain", r)
	}
	err = b.with(func() error {
		var err error
		b.stream, err = cu.MakeStream(cu.DefaultStream)
		return err
	})
	if err != nil {
		C.tsr_ctx_release(C.int(index))
		return nil, fmt.Errorf("cuda: cuStreamCreate: %w", err)
	}
	b.cs = C.CUstream(unsafe.Pointer(b.stream.C()))
	b.alloc = newAllocator(b)
	if b.ixw, err = b.alloc.get(8 * ixSlots); err != nil {
		b.Close()
		return nil, err
	}
	err = b.with(func() error { return cu.MemsetD8Async(b.ixw.ptr, 0xff, 8*ixSlots, b.stream) })
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("cuda: clearing the index-error slots: %w", err)
	}
	opened[index] = b
	return b, nil
}

// Close waits for queued work, releases every cached block, the kernel
// modules, cuBLAS, the stream and the primary context. Buffers still
// alive become invalid. backend.Get keeps handing out a closed backend, so
// Close is for programs that are done with the GPU.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	err := b.streamSync()
	if b.blas != nil {
		b.blas.close(b.ctx)
	}
	b.alloc.releaseAll()
	b.modMu.Lock()
	for name, m := range b.mods {
		C.tsr_module_unload(b.ctx, m)
		delete(b.mods, name)
	}
	b.modMu.Unlock()
	b.with(func() error { return b.stream.Destroy() })
	C.tsr_ctx_release(C.int(b.index))
	return err
}

// Device implements backend.Backend.
func (b *Backend) Device() backend.Device { return backend.Device{Type: backend.CUDA, Index: b.index} }

// Name implements backend.Backend: "cuda:N (card name)".
func (b *Backend) Name() string { return fmt.Sprintf("cuda:%d (%s)", b.index, b.name) }

// DeviceName is the card's name as the driver reports it.
func (b *Backend) DeviceName() string { return b.name }

// ComputeCapability returns the card's major and minor compute capability.
func (b *Backend) ComputeCapability() (major, minor int) { return b.cc[0], b.cc[1] }

// Synchronize implements backend.Backend: it waits for the stream and
// returns the first error of the index ops queued since the last
// Synchronize or Read (see index.go), if any.
func (b *Backend) Synchronize() error {
	if err := b.streamSync(); err != nil {
		return err
	}
	b.ixMu.Lock()
	defer b.ixMu.Unlock()
	return b.ixHarvest()
}

// streamSync waits for the stream.
func (b *Backend) streamSync() error {
	err := b.with(func() error { return b.stream.Synchronize() })
	if err != nil {
		return fmt.Errorf("cuda: synchronize: %w", err)
	}
	return nil
}

// with runs f with the backend's context current on the calling thread,
// for the driver calls made through gorgonia.org/cu (each is a separate
// cgo call, so the goroutine stays on its thread until f returns). The
// shim's entry points set the context themselves.
func (b *Backend) with(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if r := C.tsr_ctx_set(b.ctx); r != 0 {
		return drvErr("cuCtxSetCurrent", r)
	}
	return f()
}

// DriverError is a CUDA driver result code from one of the calls the
// backend makes itself.
type DriverError struct {
	Call string
	Code int
}

func (e *DriverError) Error() string {
	return fmt.Sprintf("cuda: %s: %s (%d)", e.Call, C.GoString(C.tsr_error_name(C.int(e.Code))), e.Code)
}

func drvErr(call string, r C.int) error { return &DriverError{Call: call, Code: int(r)} }

// ---------------------------------------------------------------- kernels

// cfunc is a loaded kernel.
type cfunc = C.CUfunction

// kernel returns a kernel of a module, loading the module first if need
// be. key caches the lookup; name is called only on a miss.
func (b *Backend) kernel(key kkey, module string, name func() string) kfn {
	b.fnMu.RLock()
	k, ok := b.fns[key]
	b.fnMu.RUnlock()
	if ok {
		return k
	}
	mod := b.module(module)
	k.name = name()
	cn := C.CString(k.name)
	defer C.free(unsafe.Pointer(cn))
	if r := C.tsr_module_function(mod, cn, &k.fn); r != 0 {
		panic(fmt.Sprintf("cuda: kernel %s not in module %s: %v", k.name, module, drvErr("cuModuleGetFunction", r)))
	}
	b.fnMu.Lock()
	b.fns[key] = k
	b.fnMu.Unlock()
	return k
}

func (b *Backend) module(name string) C.CUmodule {
	b.modMu.Lock()
	defer b.modMu.Unlock()
	if m, ok := b.mods[name]; ok {
		return m
	}
	ptx, err := kernels.PTX(name)
	if err != nil {
		panic(fmt.Sprintf("cuda: %v", err))
	}
	img := C.CString(ptx)
	defer C.free(unsafe.Pointer(img))
	var log [4096]C.char
	var m C.CUmodule
	if r := C.tsr_module_load(b.ctx, img, &m, &log[0], C.size_t(len(log))); r != 0 {
		panic(fmt.Sprintf("cuda: loading kernel module %s: %v: %s", name, drvErr("cuModuleLoadDataEx", r), C.GoString(&log[0])))
	}
	b.mods[name] = m
	return m
}

// blockSize is the number of threads of every block (kernels/common.cuh's
// BLOCK).
const blockSize = 256

// launch queues fn on the stream with grid × gridY blocks. args points to
// one of the *Args structs, which the kernel receives by value.
func (b *Backend) launch(fn cfunc, what string, grid, gridY int, args unsafe.Pointer, size uintptr) {
	b.launches.Add(1)
	if r := C.tsr_launch(b.ctx, fn, C.uint(grid), C.uint(gridY), blockSize, b.cs, args, C.size_t(size)); r != 0 {
		panic(fmt.Sprintf("cuda: launching %s: %v", what, drvErr("cuLaunchKernel", r)))
	}
}

// gridFor is the number of blocks for a grid-stride loop over n items:
// enough to fill every multiprocessor, no more than the items need.
func (b *Backend) gridFor(n int64) int {
	g := (n + blockSize - 1) / blockSize
	if limit := int64(b.sms) * 8; g > limit {
		g = limit
	}
	if g < 1 {
		g = 1
	}
	return int(g)
}

var (
	_ backend.Backend         = (*Backend)(nil)
	_ backend.UninitAllocator = (*Backend)(nil)
)
