package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// Index kernels move or add values without rounding (ScatterAdd adds in
// the element type in row-major order of idx, which the reference repeats),
// so every check here is exact.

var ktAllDTypes = []backend.DType{backend.Float32, backend.Float64, backend.Float16, backend.BFloat16,
	backend.Int32, backend.Int64, backend.Bool}

// ktIdxBuf writes idx values for the layout il (and junk elsewhere).
func ktIdxBuf(t testing.TB, r *rand.Rand, il backend.Layout, n, limit int) backend.Buffer {
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(r.Intn(1000) - 500) // junk outside the view
	}
	ktEach(il.Shape, func(idx []int) { vals[ktOff(il, idx)] = int64(r.Intn(limit)) })
	return ktBufI(t, backend.Int64, vals)
}

// ---------------------------------------------------------------- Gather

func ktCheckGather(t *testing.T, r *rand.Rand, dt backend.DType, sshape []int, axis int, ishape []int, sk, ik, dk ktKind) {
	t.Helper()
	name := fmt.Sprintf("Gather %v src %v idx %v axis %d (src %v idx %v dst %v)", dt, sshape, ishape, axis, sk, ik, dk)
	sl, sn := ktLayout(sshape, sk)
	il, in := ktLayout(ishape, ik)
	dl, dn := ktLayout(ishape, dk)
	limit := 1
	if len(sshape) > 0 {
		limit = sshape[axis]
	}
	src := ktBuf(t, dt, ktRandVals(r, dt, sn, 1000))
	idx := ktIdxBuf(t, r, il, in, limit)
	dst := ktBuf(t, dt, ktRandVals(r, dt, dn, 1000))
	before := ktBits(t, dst)
	var err error
	if msg := ktPanics(func() { err = ktBe.Gather(dst, dl, src, sl, idx, il, axis) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sb, db := ktBits(t, src), ktBits(t, dst)
	_, iv := ktRead(t, idx)
	sidx := make([]int, len(sshape))
	bad := 0
	ktEach(ishape, func(p []int) {
		copy(sidx, p)
		if len(p) > 0 {
			sidx[axis] = int(iv[ktOff(il, p)])
		}
		if got, want := db[ktOff(dl, p)], sb[ktOff(sl, sidx)]; got != want {
			if bad < 3 {
				t.Errorf("%s: dst%v = %#x, want src%v = %#x", name, p, got, sidx, want)
			}
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
	ktCheckUntouched(t, name, dst, before, dl)
}

func TestGather(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	type gcase struct {
		src  []int
		axis int
		idx  []int
	}
	cases := []gcase{
		{[]int{}, 0, []int{}},
		{[]int{5}, 0, []int{3}},
		{[]int{5}, 0, []int{0}},
		{[]int{4, 5, 6}, 0, []int{7, 5, 6}},
		{[]int{4, 5, 6}, 1, []int{4, 2, 6}},
		{[]int{4, 5, 6}, 2, []int{4, 5, 9}},
		{[]int{4, 5, 6}, 1, []int{3, 4, 2}}, // idx shorter than src off axis
		{[]int{4, 1, 6}, 1, []int{4, 3, 6}},
		{[]int{3, 4}, 0, []int{0, 4}},
	}
	for _, dt := range ktAllDTypes {
		for _, c := range cases {
			for i, sk := range ktInKinds {
				ik := ktInKinds[(i+1)%len(ktInKinds)]
				dk := ktOutKinds[(i+2)%len(ktOutKinds)]
				ktCheckGather(t, r, dt, c.src, c.axis, c.idx, sk, ik, dk)
			}
		}
	}
	// Large enough for parallelFor, along each axis.
	for _, dt := range []backend.DType{backend.Float32, backend.BFloat16, backend.Bool} {
		ktCheckGather(t, r, dt, []int{300, 400}, 0, []int{250, 400}, ktContig, ktContig, ktContig)
		ktCheckGather(t, r, dt, []int{300, 400}, 1, []int{300, 300}, ktSwapLast, ktPadded, ktOffset)
		ktCheckGather(t, r, dt, []int{300, 400}, 1, []int{300, 300}, ktContig, ktBroadcast, ktReversed)
	}
}

// ---------------------------------------------------------------- IndexSelect

func ktCheckIndexSelect(t *testing.T, r *rand.Rand, dt backend.DType, sshape []int, axis, nidx int, idx0d bool, sk, ik, dk ktKind) {
	t.Helper()
	name := fmt.Sprintf("IndexSelect %v src %v axis %d len(idx) %d (src %v idx %v dst %v)", dt, sshape, axis, nidx, sk, ik, dk)
	sl, sn := ktLayout(sshape, sk)
	ishape := []int{nidx}
	if idx0d {
		ishape = []int{}
	}
	il, in := ktLayout(ishape, ik)
	dshape := slices.Clone(sshape)
	if len(dshape) > 0 {
		dshape[axis] = nidx
	}
	dl, dn := ktLayout(dshape, dk)
	limit := 1
	if len(sshape) > 0 {
		limit = sshape[axis]
	}
	src := ktBuf(t, dt, ktRandVals(r, dt, sn, 1000))
	idx := ktIdxBuf(t, r, il, in, limit)
	dst := ktBuf(t, dt, ktRandVals(r, dt, dn, 1000))
	before := ktBits(t, dst)
	var err error
	if msg := ktPanics(func() { err = ktBe.IndexSelect(dst, dl, src, sl, idx, il, axis) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sb, db := ktBits(t, src), ktBits(t, dst)
	_, iv := ktRead(t, idx)
	sidx := make([]int, len(sshape))
	bad := 0
	ktEach(dshape, func(p []int) {
		copy(sidx, p)
		if len(p) > 0 {
			k := il.Offset
			if !idx0d {
				k += p[axis] * il.Strides[0]
			}
			sidx[axis] = int(iv[k])
		}
		if got, want := db[ktOff(dl, p)], sb[ktOff(sl, sidx)]; got != want {
			if bad < 3 {
				t.Errorf("%s: dst%v = %#x, want src%v = %#x", name, p, got, sidx, want)
			}
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
	ktCheckUntouched(t, name, dst, before, dl)
}

func TestIndexSelect(t *testing.T) {
	r := rand.New(rand.NewSource(32))
	type icase struct {
		src        []int
		axis, nidx int
		idx0d      bool
	}
	cases := []icase{
		{[]int{}, 0, 1, true},
		{[]int{6}, 0, 4, false},
		{[]int{6}, 0, 0, false},
		{[]int{6}, 0, 1, true},
		{[]int{4, 5, 6}, 0, 7, false},
		{[]int{4, 5, 6}, 1, 3, false},
		{[]int{4, 5, 6}, 2, 9, false},
		{[]int{4, 0, 6}, 2, 2, false},
		{[]int{1, 5}, 0, 3, false},
	}
	for _, dt := range ktAllDTypes {
		for _, c := range cases {
			for i, sk := range ktInKinds {
				ik := ktInKinds[(i+1)%len(ktInKinds)] // 1-D: padded = stride 2, broadcast = one index repeated
				dk := ktOutKinds[(i+2)%len(ktOutKinds)]
				ktCheckIndexSelect(t, r, dt, c.src, c.axis, c.nidx, c.idx0d, sk, ik, dk)
			}
		}
	}
	// An embedding lookup (rows of a contiguous table: the copy fast path)
	// and selections along the other axis, large enough for parallelFor.
	for _, dt := range []backend.DType{backend.Float32, backend.Float16, backend.Int64} {
		ktCheckIndexSelect(t, r, dt, []int{500, 256}, 0, 300, false, ktContig, ktContig, ktContig)
		ktCheckIndexSelect(t, r, dt, []int{500, 256}, 0, 300, false, ktOffset, ktPadded, ktSwapLast)
		ktCheckIndexSelect(t, r, dt, []int{256, 500}, 1, 300, false, ktSwapLast, ktOffset, ktPadded)
	}
}

// ---------------------------------------------------------------- ScatterAdd

// ktAddRef adds two stored values of dt exactly as the contract says: in the
// element type, wrapping integers, halves through float32 (exact for the
// small integers the tests use).
func ktAddRef(dt backend.DType, a, b uint64) uint64 {
	switch dt {
	case backend.Float32:
		return uint64(math.Float32bits(math.Float32frombits(uint32(a)) + math.Float32frombits(uint32(b))))
	case backend.Float64:
		return math.Float64bits(math.Float64frombits(a) + math.Float64frombits(b))
	case backend.Int32:
		return uint64(int64(int32(int64(a)) + int32(int64(b))))
	case backend.Int64:
		return uint64(int64(a) + int64(b))
	case backend.Float16:
		return uint64(Float32ToFloat16(Float16ToFloat32(uint16(a)) + Float16ToFloat32(uint16(b))))
	case backend.BFloat16:
		return uint64(Float32ToBFloat16(BFloat16ToFloat32(uint16(a)) + BFloat16ToFloat32(uint16(b))))
	}
	panic("ktAddRef")
}

// ktScatterVals draws values for ScatterAdd: normal floats, integers in
// [-1000, 1000], halves as the bits of small integers (so every sum in the
// test is exact).
func ktScatterVals(r *rand.Rand, dt backend.DType, n int) []float64 {
	switch dt {
	case backend.Float16:
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(Float32ToFloat16(float32(r.Intn(9) - 4)))
		}
		return v
	case backend.BFloat16:
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(Float32ToBFloat16(float32(r.Intn(9) - 4)))
		}
		return v
	}
	return ktRandVals(r, dt, n, 1000)
}

func ktCheckScatterAdd(t *testing.T, r *rand.Rand, dt backend.DType, dshape []int, axis int, ishape, sshape []int, dk, ik, sk ktKind, dlOverride *backend.Layout) {
	t.Helper()
	name := fmt.Sprintf("ScatterAdd %v dst %v idx %v src %v axis %d (dst %v idx %v src %v)", dt, dshape, ishape, sshape, axis, dk, ik, sk)
	dl, dn := ktLayout(dshape, dk)
	if dlOverride != nil {
		dl, name = *dlOverride, name+fmt.Sprintf(" dst strides %v", dlOverride.Strides)
		_, hi := dl.Span()
		dn = hi + 2
	}
	il, in := ktLayout(ishape, ik)
	sl, sn := ktLayout(sshape, sk)
	limit := 1
	if len(dshape) > 0 {
		limit = dshape[axis]
	}
	dst := ktBuf(t, dt, ktScatterVals(r, dt, dn))
	idx := ktIdxBuf(t, r, il, in, limit)
	src := ktBuf(t, dt, ktScatterVals(r, dt, sn))
	want := ktBits(t, dst)
	var err error
	if msg := ktPanics(func() { err = ktBe.ScatterAdd(dst, dl, idx, il, src, sl, axis) }); msg != "" {
		t.Fatalf("%s: panic: %s", name, msg)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// The reference: walk idx in row-major order, adding into a copy of
	// dst's old contents (which also checks that nothing else changed).
	sb := ktBits(t, src)
	_, iv := ktRead(t, idx)
	didx := make([]int, len(dshape))
	ktEach(ishape, func(p []int) {
		copy(didx, p)
		if len(p) > 0 {
			didx[axis] = int(iv[ktOff(il, p)])
		}
		o := ktOff(dl, didx)
		want[o] = ktAddRef(dt, want[o], sb[ktOff(sl, p)])
	})
	got := ktBits(t, dst)
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			if bad < 3 {
				t.Errorf("%s: dst buffer element %d = %#x, want %#x", name, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
}

var ktScatterDTypes = []backend.DType{backend.Float32, backend.Float64, backend.Int32, backend.Int64, backend.Float16, backend.BFloat16}

func TestScatterAdd(t *testing.T) {
	r := rand.New(rand.NewSource(33))
	type scase struct {
		dst        []int
		axis       int
		idx, src   []int
		overlapped bool
	}
	cases := []scase{
		{[]int{}, 0, []int{}, []int{}, false},
		{[]int{5}, 0, []int{12}, []int{12}, false}, // many duplicates
		{[]int{5}, 0, []int{0}, []int{3}, false},
		{[]int{4, 5, 6}, 0, []int{9, 5, 6}, []int{9, 5, 6}, false},
		{[]int{4, 5, 6}, 1, []int{4, 3, 6}, []int{4, 4, 7}, false}, // src longer than idx
		{[]int{4, 5, 6}, 2, []int{3, 5, 8}, []int{3, 5, 8}, false}, // dst longer than idx off axis
		{[]int{4, 1, 6}, 1, []int{4, 3, 6}, []int{4, 3, 6}, false},
		{[]int{3, 4}, 0, []int{0, 4}, []int{0, 4}, false},
	}
	for _, dt := range ktScatterDTypes {
		for _, c := range cases {
			for i, dk := range ktOutKinds {
				ik := ktInKinds[(i+1)%len(ktInKinds)]
				sk := ktInKinds[(i+2)%len(ktInKinds)]
				ktCheckScatterAdd(t, r, dt, c.dst, c.axis, c.idx, c.src, dk, ik, sk, nil)
			}
		}
	}
	// Large: parallel over the axes other than axis, with heavy collisions
	// along axis (the embedding-gradient pattern) and across it.
	for _, dt := range []backend.DType{backend.Float32, backend.Int64, backend.BFloat16} {
		ktCheckScatterAdd(t, r, dt, []int{20, 1000}, 0, []int{200, 1000}, []int{200, 1000}, ktContig, ktContig, ktContig, nil)
		ktCheckScatterAdd(t, r, dt, []int{20, 1000}, 0, []int{200, 1000}, []int{200, 1000}, ktPadded, ktBroadcast, ktSwapLast, nil)
		ktCheckScatterAdd(t, r, dt, []int{1000, 30}, 1, []int{1000, 200}, []int{1000, 200}, ktSwapLast, ktOffset, ktPadded, nil)
	}
	// A dst whose positions overlap (stride 0 off axis) must be updated
	// serially: every contribution lands, and the race detector stays quiet.
	ov := backend.Layout{Shape: []int{8, 1000}, Strides: []int{1, 0}, Offset: 1}
	ktCheckScatterAdd(t, r, backend.Int64, []int{8, 1000}, 0, []int{100, 1000}, []int{100, 1000}, ktContig, ktContig, ktContig, &ov)
	ktCheckScatterAdd(t, r, backend.Float64, []int{8, 1000}, 0, []int{100, 1000}, []int{100, 1000}, ktContig, ktPadded, ktOffset, &ov)

	l := backend.Contiguous([]int{2})
	x := ktBuf(t, backend.Bool, []float64{1, 0})
	ix := ktBufI(t, backend.Int64, []int64{0, 1})
	if msg := ktPanics(func() { _ = ktBe.ScatterAdd(x, l, ix, l, x, l, 0) }); msg != "cpu: ScatterAdd on bool not supported" {
		t.Errorf("ScatterAdd on bool panicked with %q", msg)
	}
}

// ---------------------------------------------------------------- errors

// An index out of range returns an error naming the op, the first bad value
// (in row-major order of idx) and the valid range; nothing is written and
// nothing panics.
func TestIndexErrors(t *testing.T) {
	const n = 300 * 400 // big enough to check the indices in parallel
	for _, bad := range []int64{-1, 5, 1 << 40, -(1 << 62)} {
		for _, op := range []string{"Gather", "IndexSelect", "ScatterAdd"} {
			var shape []int
			var il backend.Layout
			var idxVals []int64
			switch op {
			case "IndexSelect":
				shape = []int{n}
				il = backend.Contiguous([]int{n})
			default:
				shape = []int{300, 400}
				il = backend.Contiguous(shape)
			}
			idxVals = make([]int64, n)
			for i := range idxVals {
				idxVals[i] = int64(i % 5)
			}
			// Two bad indices: the error must name the first one.
			// The first is early in the first parallel chunk and the second
			// late in the last, so the chunk holding the second reports last.
			first, second := 3, n-3
			idxVals[first], idxVals[second] = bad, 2*bad+1
			idx := ktBufI(t, backend.Int64, idxVals)
			srcShape := slices.Clone(shape)
			srcShape[len(srcShape)-1] = 5 // the indexed axis (the last) has length 5
			if op == "IndexSelect" {
				srcShape = []int{5}
			}
			var sl, dl backend.Layout
			var err error
			var src, dst backend.Buffer
			switch op {
			case "Gather":
				sl, dl = backend.Contiguous(srcShape), backend.Contiguous(shape)
				src = ktBuf(t, backend.Float32, make([]float64, sl.Size()))
				dst = ktBuf(t, backend.Float32, ktRandVals(rand.New(rand.NewSource(1)), backend.Float32, dl.Size(), 0))
			case "IndexSelect":
				sl, dl = backend.Contiguous(srcShape), backend.Contiguous(shape)
				src = ktBuf(t, backend.Float32, make([]float64, sl.Size()))
				dst = ktBuf(t, backend.Float32, ktRandVals(rand.New(rand.NewSource(1)), backend.Float32, dl.Size(), 0))
			case "ScatterAdd":
				sl, dl = backend.Contiguous(shape), backend.Contiguous(srcShape)
				src = ktBuf(t, backend.Float32, ktRandVals(rand.New(rand.NewSource(1)), backend.Float32, sl.Size(), 0))
				dst = ktBuf(t, backend.Float32, ktRandVals(rand.New(rand.NewSource(2)), backend.Float32, dl.Size(), 0))
			}
			before := ktBits(t, dst)
			axis := len(shape) - 1
			msg := ktPanics(func() {
				switch op {
				case "Gather":
					err = ktBe.Gather(dst, dl, src, sl, idx, il, axis)
				case "IndexSelect":
					err = ktBe.IndexSelect(dst, dl, src, sl, idx, il, axis)
				case "ScatterAdd":
					err = ktBe.ScatterAdd(dst, dl, idx, il, src, sl, axis)
				}
			})
			if msg != "" {
				t.Fatalf("%s with index %d panicked: %s", op, bad, msg)
			}
			if err == nil {
				t.Fatalf("%s with index %d: no error", op, bad)
			}
			for _, want := range []string{op, fmt.Sprintf("index %d ", bad), "[0, 5)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s error %q does not contain %q", op, err, want)
				}
			}
			after := ktBits(t, dst)
			if !slices.Equal(before, after) {
				t.Errorf("%s with index %d wrote into dst", op, bad)
			}
		}
	}
}
