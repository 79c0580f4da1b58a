//go:build cuda

package cuda

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/backend/backendtest"
	"gorgonia.org/cu"
)

// openOrSkip opens device 0, or skips the test when there is none. (A
// machine whose driver fails cuInit never gets here: gorgonia.org/cu's
// package init exits the process first; see doc.go.)
func openOrSkip(t testing.TB) *Backend {
	t.Helper()
	n, err := DeviceCount()
	if err != nil {
		t.Skipf("no CUDA driver (cuDeviceGetCount: %v)", err)
	}
	if n == 0 {
		t.Skip("no CUDA device: the driver reports 0 devices (expected without a GPU; " +
			"put .ci/cuda-setup.sh's emulator directory, $TESSERA_CUDA_EMU, on LD_LIBRARY_PATH to run these tests on the CPU)")
	}
	be, err := Open(0)
	if err != nil {
		t.Fatalf("Open(0): %v", err)
	}
	return be
}

func TestConformance(t *testing.T) {
	be := openOrSkip(t)
	path, version, err := be.BLAS()
	t.Logf("%s, compute capability %d.%d; cuBLAS: %s %d %v", be.Name(), be.cc[0], be.cc[1], path, version, err)
	backendtest.Run(t, be)
}

// TestConformanceOwnGEMM runs the suite with cuBLAS switched off, so that
// MatMul runs the tiled kernel for floats too.
func TestConformanceOwnGEMM(t *testing.T) {
	be := openOrSkip(t)
	be.cublas()
	saved := be.blas
	be.blas = nil
	defer func() { be.blas = saved }()
	backendtest.RunOnly(t, be, "MatMul")
}

func TestBackendGet(t *testing.T) {
	n, err := DeviceCount()
	if err != nil || n == 0 {
		_, err := backend.Get(backend.Device{Type: backend.CUDA})
		if !errors.Is(err, ErrNoDevice) {
			t.Errorf("backend.Get(cuda:0) without a device: %v, want ErrNoDevice", err)
		}
		if err == nil || !strings.Contains(err.Error(), "no CUDA device") {
			t.Errorf("error %q does not say that there is no CUDA device", err)
		}
		return
	}
	be, err := backend.Get(backend.Device{Type: backend.CUDA})
	if err != nil {
		t.Fatal(err)
	}
	if be.Device().String() != "cuda:0" {
		t.Errorf("device %v", be.Device())
	}
	if _, err := backend.Get(backend.Device{Type: backend.CUDA, Index: n}); err == nil {
		t.Errorf("backend.Get(cuda:%d) of %d devices succeeded", n, n)
	}
}

// TestSteadyState: a loop of ops that frees what it allocates calls
// cuMemAlloc only in its first iteration.
func TestSteadyState(t *testing.T) {
	be := openOrSkip(t)
	step := func() {
		l := backend.Contiguous([]int{64, 33})
		a, _ := be.Alloc(backend.Float32, l.Size())
		b, _ := be.Alloc(backend.Float32, l.Size())
		be.Fill(a, l, 1.5)
		be.Binary(backend.OpMul, b, l, a, l, a, l)
		out := backend.Contiguous([]int{64, 1})
		s, _ := be.Alloc(backend.Float32, out.Size())
		be.Reduce(backend.OpSum, s, out, b, l, []int{1})
		h := make([]float32, 64)
		if err := be.Read(s, 0, h); err != nil {
			t.Fatal(err)
		}
		if h[0] != 33*2.25 {
			t.Fatalf("sum = %v, want %v", h[0], 33*2.25)
		}
		be.Free(a)
		be.Free(b)
		be.Free(s)
	}
	step()
	before := be.MemStats()
	for i := 0; i < 20; i++ {
		step()
	}
	after := be.MemStats()
	if after.DriverAllocs != before.DriverAllocs {
		t.Errorf("steady state called cuMemAlloc %d times", after.DriverAllocs-before.DriverAllocs)
	}
	if after.Allocated != before.Allocated {
		t.Errorf("allocated bytes went from %d to %d", before.Allocated, after.Allocated)
	}
	if after.Peak < 2*64*33*4 {
		t.Errorf("peak %d is below what one step holds", after.Peak)
	}
	if err := be.EmptyCache(); err != nil {
		t.Fatal(err)
	}
	if st := be.MemStats(); st.Cached != 0 || st.DriverFrees == 0 {
		t.Errorf("after EmptyCache: %+v", st)
	}
}

// ---------------------------------------------------------------- the allocator, without a device

type fakeDriver struct {
	next   cu.DevicePtr
	live   map[cu.DevicePtr]int64
	allocs int
	limit  int64 // bytes the fake device has
	used   int64
}

func newFake(limit int64) (*fakeDriver, *allocator) {
	f := &fakeDriver{next: 4096, live: map[cu.DevicePtr]int64{}, limit: limit}
	a := &allocator{free: map[int64][]*block{}, sync: func() error { return nil }}
	a.drvAlloc = func(size int64) (cu.DevicePtr, error) {
		if f.used+size > f.limit {
			return 0, errors.New("out of memory")
		}
		f.allocs++
		p := f.next
		f.next += cu.DevicePtr(size)
		f.live[p] = size
		f.used += size
		return p, nil
	}
	a.drvFree = func(p cu.DevicePtr) error {
		f.used -= f.live[p]
		delete(f.live, p)
		return nil
	}
	return f, a
}

func TestSizeClass(t *testing.T) {
	prev := int64(0)
	for n := int64(1); n < 1<<22; n = n*9/8 + 1 {
		c := sizeClass(n)
		if c < n || c < prev {
			t.Fatalf("sizeClass(%d) = %d", n, c)
		}
		if n > 512 && float64(c) > 1.25*float64(n)+1 {
			t.Errorf("sizeClass(%d) = %d wastes more than a quarter", n, c)
		}
		prev = c
	}
	for _, c := range []struct{ n, want int64 }{{1, 512}, {512, 512}, {513, 640}, {1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1<<18}} {
		if got := sizeClass(c.n); got != c.want {
			t.Errorf("sizeClass(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestAllocatorReuse(t *testing.T) {
	f, a := newFake(1 << 30)
	var blocks []*block
	for i := 0; i < 10; i++ {
		b, err := a.get(int64(1000 * (i + 1)))
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	peak := a.Stats().Allocated
	for _, b := range blocks {
		a.put(b)
	}
	for round := 0; round < 5; round++ {
		blocks = blocks[:0]
		for i := 0; i < 10; i++ {
			b, _ := a.get(int64(1000 * (i + 1)))
			blocks = append(blocks, b)
		}
		for _, b := range blocks {
			a.put(b)
		}
	}
	st := a.Stats()
	if f.allocs != 10 || st.DriverAllocs != 10 {
		t.Errorf("driver allocations %d (stats %d), want 10", f.allocs, st.DriverAllocs)
	}
	if st.Allocated != 0 || st.Cached != peak || st.Peak != peak || st.Reserved != peak {
		t.Errorf("stats %+v, want 0 allocated, %d cached and peak", st, peak)
	}
	if st.CacheHits != 50 || st.Allocs != 60 {
		t.Errorf("stats %+v, want 50 hits of 60", st)
	}
	if err := a.releaseAll(); err != nil {
		t.Fatal(err)
	}
	if len(f.live) != 0 || a.Stats().Cached != 0 || a.Stats().DriverFrees != 10 {
		t.Errorf("after releaseAll: %d live blocks, stats %+v", len(f.live), a.Stats())
	}
}

func TestAllocatorOutOfMemory(t *testing.T) {
	f, a := newFake(1 << 20)
	b, err := a.get(600 << 10)
	if err != nil {
		t.Fatal(err)
	}
	a.put(b) // cached, still held from the driver
	// 600 KiB more does not fit beside the cached block: the allocator
	// must give the cache back and retry.
	if _, err := a.get(700 << 10); err != nil {
		t.Fatalf("allocation after emptying the cache failed: %v", err)
	}
	if len(f.live) != 1 {
		t.Errorf("%d live driver blocks, want 1", len(f.live))
	}
	if _, err := a.get(900 << 10); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("allocation past the device: %v", err)
	}
}

// TestMain lets the emulator be asked for by name.
func TestMain(m *testing.M) {
	if os.Getenv("TESSERA_CUDA_REQUIRE_DEVICE") != "" {
		if n, err := DeviceCount(); err != nil || n == 0 {
			println("TESSERA_CUDA_REQUIRE_DEVICE is set but there is no CUDA device:", n, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// TestPackedPaths covers the 16-byte packed loops of the contiguous
// elementwise kernels (elementwise.cuh, bits.cu): every length up to 70
// and every element offset up to 5, so that packs, the scalar tail and
// the misaligned fallback all run, for 4- and 8-byte and bool elements.
func TestPackedPaths(t *testing.T) {
	be := openOrSkip(t)
	const span = 80
	f32 := func(vals []float32) backend.Buffer {
		b, err := be.Alloc(backend.Float32, len(vals))
		if err != nil {
			t.Fatal(err)
		}
		if err := be.Write(b, 0, vals); err != nil {
			t.Fatal(err)
		}
		return b
	}
	x, y := make([]float32, span), make([]float32, span)
	for i := range x {
		x[i], y[i] = float32(i)+0.5, float32(3*i)-7
	}
	bx, by := f32(x), f32(y)
	defer func() { be.Free(bx); be.Free(by) }()
	for n := 0; n <= 70; n++ {
		for off := 0; off <= 5; off++ {
			for doff := 0; doff <= 2; doff++ {
				l := backend.Layout{Shape: []int{n}, Strides: []int{1}, Offset: off}
				dl := backend.Layout{Shape: []int{n}, Strides: []int{1}, Offset: doff}
				d := f32(make([]float32, span))
				be.Binary(backend.OpAdd, d, dl, bx, l, by, l)
				got := make([]float32, span)
				if err := be.Read(d, 0, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					want := float32(0)
					if i >= doff && i < doff+n {
						want = x[i-doff+off] + y[i-doff+off]
					}
					if got[i] != want {
						t.Fatalf("add n=%d off=%d doff=%d: [%d] = %v, want %v", n, off, doff, i, got[i], want)
					}
				}
				be.Unary(backend.OpNeg, d, dl, bx, l)
				be.Fill(d, backend.Layout{Shape: []int{off}, Strides: []int{1}}, 9)
				if err := be.Read(d, 0, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					want := float32(0)
					if i >= doff && i < doff+n {
						want = -x[i-doff+off]
					}
					if i < off {
						want = 9
					}
					if got[i] != want {
						t.Fatalf("neg+fill n=%d off=%d doff=%d: [%d] = %v, want %v", n, off, doff, i, got[i], want)
					}
				}
				be.Free(d)
			}
		}
	}
	// float64 and bool packs hold 2 and 16 elements.
	for n := 0; n <= 40; n++ {
		for off := 0; off <= 3; off++ {
			l := backend.Layout{Shape: []int{n}, Strides: []int{1}, Offset: off}
			a, _ := be.Alloc(backend.Float64, span)
			d, _ := be.Alloc(backend.Float64, span)
			src := make([]float64, span)
			for i := range src {
				src[i] = float64(i) * 1.5
			}
			be.Write(a, 0, src)
			be.Binary(backend.OpMul, d, l, a, l, a, l)
			got := make([]float64, span)
			be.Read(d, 0, got)
			for i := range got {
				want := 0.0
				if i >= off && i < off+n {
					want = src[i] * src[i]
				}
				if got[i] != want {
					t.Fatalf("f64 mul n=%d off=%d: [%d] = %v, want %v", n, off, i, got[i], want)
				}
			}
			bb, _ := be.Alloc(backend.Bool, span)
			bd, _ := be.Alloc(backend.Bool, span)
			bs := make([]bool, span)
			for i := range bs {
				bs[i] = i%3 == 0
			}
			be.Write(bb, 0, bs)
			be.Copy(bd, l, bb, l)
			gb := make([]bool, span)
			be.Read(bd, 0, gb)
			for i := range gb {
				if want := i >= off && i < off+n && bs[i]; gb[i] != want {
					t.Fatalf("bool copy n=%d off=%d: [%d] = %v, want %v", n, off, i, gb[i], want)
				}
			}
			for _, b := range []backend.Buffer{a, d, bb, bd} {
				be.Free(b)
			}
		}
	}
}

// TestAsyncIndexChecks: an index op with a bad index returns at once and
// its error comes from the next Synchronize or Read (once), dst untouched;
// with SetSyncIndexChecks(true) the op returns it; queuing more index ops
// than there are slots reads them on the way.
func TestAsyncIndexChecks(t *testing.T) {
	be := openOrSkip(t)
	defer be.SetSyncIndexChecks(false)
	src, _ := be.Alloc(backend.Float32, 10)
	dst, _ := be.Alloc(backend.Float32, 4)
	idx, _ := be.Alloc(backend.Int64, 4)
	defer func() { be.Free(src); be.Free(dst); be.Free(idx) }()
	be.Write(src, 0, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	l4, l10 := backend.Contiguous([]int{4}), backend.Contiguous([]int{10})
	sel := func(ix []int64) error {
		be.Write(idx, 0, ix)
		be.Fill(dst, l4, -1)
		return be.IndexSelect(dst, l4, src, l10, idx, l4, 0)
	}
	good, bad := []int64{3, 1, 4, 1}, []int64{3, 1, 12, -5}
	const want = "index 12 at position [2] of idx is out of range [0, 10) for axis 0"

	if err := sel(bad); err != nil {
		t.Fatalf("IndexSelect returned %v; asynchronous checks report at the next Synchronize", err)
	}
	err := be.Synchronize()
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, backend.ErrIndexOutOfRange) {
		t.Fatalf("Synchronize after a bad IndexSelect: %v, want %q wrapping ErrIndexOutOfRange", err, want)
	}
	if err := be.Synchronize(); err != nil {
		t.Fatalf("the error was reported twice: %v", err)
	}
	got := make([]float32, 4)
	if err := be.Read(dst, 0, got); err != nil || got[0] != -1 || got[2] != -1 {
		t.Fatalf("dst after the bad IndexSelect: %v (%v), want untouched -1s", got, err)
	}

	// Read reports it too, and returns the values.
	sel(bad)
	if err := be.Read(src, 0, make([]float32, 10)); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Read after a bad IndexSelect: %v", err)
	}

	// More ops than slots: a bad one early is returned by the op that
	// finds the slots full; the good ones all run.
	sel(bad)
	var overflow error
	for i := 0; i < ixSlots+5 && overflow == nil; i++ {
		overflow = sel(good)
	}
	if overflow == nil || !strings.Contains(overflow.Error(), want) {
		t.Fatalf("after %d queued index ops: %v, want the first op's error", ixSlots+5, overflow)
	}
	for i := 0; i < ixSlots+5; i++ {
		if err := sel(good); err != nil {
			t.Fatalf("good IndexSelect %d: %v", i, err)
		}
	}
	if err := be.Read(dst, 0, got); err != nil || got[0] != 3 || got[1] != 1 || got[2] != 4 || got[3] != 1 {
		t.Fatalf("IndexSelect result %v (%v), want [3 1 4 1]", got, err)
	}

	be.SetSyncIndexChecks(true)
	if err := sel(bad); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "queued earlier") {
		t.Fatalf("synchronous check: %v, want the op's own error", err)
	}
	if err := be.Synchronize(); err != nil {
		t.Fatal(err)
	}
}
