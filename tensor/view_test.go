package tensor_test

import (
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

func seq(shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.Arange(0, float64(n), 1, tensor.WithDType(tensor.Float64)).Reshape(shape...)
}

func TestViewsShareStorage(t *testing.T) {
	x := seq(2, 3, 4)
	views := map[string]*tensor.Tensor{
		"Reshape":   x.Reshape(6, 4),
		"View":      x.View(-1),
		"Transpose": x.Transpose(0, 2),
		"Permute":   x.Permute(2, 0, 1),
		"Slice":     x.Slice(2, 1, 4, 2),
		"Narrow":    x.Narrow(1, 1, 2),
		"Index":     x.Index(0, 1),
		"Expand":    x.Unsqueeze(0).Expand(5, -1, -1, -1),
		"Squeeze":   x.Unsqueeze(1).Squeeze(),
		"Flatten":   x.Flatten(1),
	}
	for name, v := range views {
		if !v.SharesStorage(x) {
			t.Errorf("%s copied its input", name)
		}
	}
	// Writing through a view changes the base.
	x.Index(0, 1).Index(0, 2).Fill_(-1)
	if got := x.At(1, 2, 0); got != -1 {
		t.Fatalf("write through view: x[1,2,0] = %v", got)
	}
}

func TestViewValues(t *testing.T) {
	x := seq(2, 3, 4)
	if got := x.Transpose(0, 2).At(3, 1, 0); got != 7 {
		t.Fatalf("Transpose: %v", got)
	}
	if got := x.Permute(2, 0, 1).At(3, 1, 2); got != 23 {
		t.Fatalf("Permute: %v", got)
	}
	if got := rowMajor(x.Slice(2, 1, 4, 2)); !slices.Equal(got, []float64{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}) {
		t.Fatalf("Slice: %v", got)
	}
	if got := rowMajor(x.Slice(1, -2, 100)); len(got) != 16 || got[0] != 4 {
		t.Fatalf("Slice with negative start and clamped end: %v", got)
	}
	if got := x.Slice(0, 5, 9).Shape(); !slices.Equal(got, []int{0, 3, 4}) {
		t.Fatalf("empty Slice shape %v", got)
	}
	if got := x.Index(2, -1).Shape(); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("Index shape %v", got)
	}
	if got := rowMajor(x.Index(2, -1).Index(0, 1)); !slices.Equal(got, []float64{15, 19, 23}) {
		t.Fatalf("Index values %v", got)
	}
	e := x.Narrow(1, 0, 1).Expand(2, 5, 4)
	if got := e.Strides()[1]; got != 0 {
		t.Fatalf("Expand stride %d, want 0", got)
	}
	if got := e.At(1, 4, 3); got != 15 {
		t.Fatalf("Expand value %v", got)
	}
	if got := x.Unsqueeze(-1).Shape(); !slices.Equal(got, []int{2, 3, 4, 1}) {
		t.Fatalf("Unsqueeze(-1): %v", got)
	}
	if got := x.Unsqueeze(1).Squeeze(1).Shape(); !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("Squeeze(1): %v", got)
	}
	if got := x.Squeeze(0).Shape(); !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("Squeeze of a non-1 axis must leave it: %v", got)
	}
	if got := x.Flatten(0, 1).Shape(); !slices.Equal(got, []int{6, 4}) {
		t.Fatalf("Flatten(0,1): %v", got)
	}
	if got := tensor.Scalar(3).Flatten().Shape(); !slices.Equal(got, []int{1}) {
		t.Fatalf("Flatten of 0-d: %v", got)
	}
	if got := x.T().Shape(); !slices.Equal(got, []int{4, 3, 2}) {
		t.Fatalf("T: %v", got)
	}
}

func TestReshapeCopiesOnlyWhenNeeded(t *testing.T) {
	x := seq(4, 6)
	xt := x.T() // [6 4], not contiguous
	if xt.IsContiguous() {
		t.Fatal("transpose reported contiguous")
	}
	r := xt.Reshape(24)
	if r.SharesStorage(x) {
		t.Fatal("Reshape of a transpose to 1-D must copy")
	}
	if got := rowMajor(r)[:5]; !slices.Equal(got, []float64{0, 6, 12, 18, 1}) {
		t.Fatalf("values %v", got)
	}
	mustPanic(t, func() { xt.View(24) })
	// Splitting a transposed axis is a view.
	v := xt.View(3, 2, 4)
	if !v.SharesStorage(x) || v.At(2, 1, 3) != rowMajor(xt)[5*4+3] {
		t.Fatal("View splitting an axis of a transpose")
	}
	// A sliced tensor keeps its view when merging contiguous axes.
	s := seq(3, 4, 5).Narrow(0, 1, 2)
	if m := s.Reshape(8, 5); !m.SharesStorage(s) {
		t.Fatal("merging contiguous axes of a narrowed tensor copied")
	}
	if c := s.Contiguous(); !c.SharesStorage(s) {
		t.Fatal("Contiguous copied a contiguous tensor")
	}
	if c := xt.Contiguous(); c.SharesStorage(x) || !c.IsContiguous() {
		t.Fatal("Contiguous of a transpose")
	}
}

func TestCatStackSplitChunk(t *testing.T) {
	a, b := seq(2, 3), seq(2, 1).AddScalar(100)
	c := tensor.Cat([]*tensor.Tensor{a, b}, 1)
	if got := rowMajor(c); !slices.Equal(got, []float64{0, 1, 2, 100, 3, 4, 5, 101}) {
		t.Fatalf("Cat: %v", got)
	}
	s := tensor.Stack([]*tensor.Tensor{a, a.MulScalar(2)}, -1)
	if !slices.Equal(s.Shape(), []int{2, 3, 2}) || s.At(1, 2, 1) != 10 {
		t.Fatalf("Stack: %v %v", s.Shape(), rowMajor(s))
	}
	parts := seq(7, 2).Split(3, 0)
	if len(parts) != 3 || parts[2].Size(0) != 1 || parts[1].At(0, 0) != 6 {
		t.Fatalf("Split: %d parts", len(parts))
	}
	ch := seq(5).Chunk(2, 0)
	if len(ch) != 2 || ch[0].Size(0) != 3 || ch[1].Size(0) != 2 {
		t.Fatalf("Chunk sizes")
	}
	ss := seq(6).SplitSizes([]int{1, 5}, 0)
	if ss[1].At(0) != 1 {
		t.Fatalf("SplitSizes")
	}
	mustPanic(t, func() { tensor.Cat([]*tensor.Tensor{seq(2, 3), seq(3, 3)}, 1) })
	mustPanic(t, func() { tensor.Stack([]*tensor.Tensor{seq(2), seq(3)}, 0) })
	// Cat promotes dtypes.
	m := tensor.Cat([]*tensor.Tensor{tensor.FromSlice([]int32{1}), tensor.FromSlice([]float32{0.5})}, 0)
	if m.DType() != tensor.Float32 || !slices.Equal(m.Float64s(), []float64{1, 0.5}) {
		t.Fatalf("Cat promotion %v %v", m.DType(), m.Float64s())
	}
}

func TestIndexOps(t *testing.T) {
	x := seq(3, 4)
	idx := tensor.FromSlice([]int64{3, 0, 1, 1, 2, 2}, 3, 2)
	g := x.Gather(1, idx)
	if got := rowMajor(g); !slices.Equal(got, []float64{3, 0, 5, 5, 10, 10}) {
		t.Fatalf("Gather: %v", got)
	}
	sel := x.IndexSelect(0, tensor.FromSlice([]int32{2, 0}))
	if got := rowMajor(sel); !slices.Equal(got, []float64{8, 9, 10, 11, 0, 1, 2, 3}) {
		t.Fatalf("IndexSelect: %v", got)
	}
	z := tensor.Zeros([]int{3, 4}, tensor.WithDType(tensor.Float64))
	sa := z.ScatterAdd(1, idx, tensor.Ones([]int{3, 2}, tensor.WithDType(tensor.Float64)))
	if got := rowMajor(sa); !slices.Equal(got, []float64{1, 0, 0, 1, 0, 2, 0, 0, 0, 0, 2, 0}) {
		t.Fatalf("ScatterAdd: %v", got)
	}
	if rowMajor(z)[0] != 0 {
		t.Fatal("ScatterAdd changed its input")
	}
	oh := tensor.OneHot(tensor.FromSlice([]int64{2, 0}), 3)
	if got := oh.Int64s(); oh.DType() != tensor.Int64 || !slices.Equal(got, []int64{0, 0, 1, 1, 0, 0}) {
		t.Fatalf("OneHot: %v", got)
	}
	e := mustPanic(t, func() { x.Gather(1, tensor.FromSlice([]int64{4}, 1, 1)) })
	if e.Kind != tensor.IndexError {
		t.Fatalf("Gather out of range: %v", e)
	}
	mustPanic(t, func() { x.IndexSelect(0, tensor.FromSlice([]int64{-1})) })
	mustPanic(t, func() { x.Gather(1, tensor.Zeros([]int{3, 1})) })
	mustPanic(t, func() { tensor.OneHot(tensor.FromSlice([]int64{3}), 3) })
}

func TestErrorsNameOpAndShapes(t *testing.T) {
	cases := []struct {
		want string
		f    func()
	}{
		{"tensor.Add: [2 3], [4]: shapes are not broadcastable", func() { seq(2, 3).Add(seq(4)) }},
		{"tensor.Reshape: [2 3], [4]: shape holds 4 elements, tensor has 6", func() { seq(2, 3).Reshape(4) }},
		{"tensor.Transpose: [2 3]: axis 2 out of range for 2 dimensions", func() { seq(2, 3).Transpose(0, 2) }},
		{"tensor.Expand: [2 3], [4 3]: axis 0 of length 2 cannot expand to 4", func() { seq(2, 3).Expand(4, 3) }},
		{"tensor.Narrow: [2 3]: range [2, 5) outside axis 1 of length 3", func() { seq(2, 3).Narrow(1, 2, 3) }},
		{"tensor.Item: [2 3]: only a one-element tensor has an item, this has 6", func() { seq(2, 3).Item() }},
	}
	for _, c := range cases {
		err := tensor.Try(c.f)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
	// Try passes other panics through.
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v", r)
		}
	}()
	_ = tensor.Try(func() { panic("boom") })
}

func TestCreation(t *testing.T) {
	if got := tensor.Arange(0, 5, 1); got.DType() != tensor.Int64 || !slices.Equal(got.Ints(), []int{0, 1, 2, 3, 4}) {
		t.Fatalf("Arange ints: %v %v", got.DType(), got.Ints())
	}
	if got := tensor.Arange(0, 1, 0.25).Float64s(); !slices.Equal(got, []float64{0, 0.25, 0.5, 0.75}) {
		t.Fatalf("Arange floats: %v", got)
	}
	if got := tensor.Arange(5, 0, -2).Ints(); !slices.Equal(got, []int{5, 3, 1}) {
		t.Fatalf("Arange descending: %v", got)
	}
	if got := tensor.Linspace(0, 1, 5, tensor.WithDType(tensor.Float64)).Float64s(); !slices.Equal(got, []float64{0, 0.25, 0.5, 0.75, 1}) {
		t.Fatalf("Linspace: %v", got)
	}
	if got := tensor.Eye(3).Float64s(); !slices.Equal(got, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}) {
		t.Fatalf("Eye: %v", got)
	}
	if got := tensor.Full([]int{2}, 2.5, tensor.WithDType(tensor.Float16)).Float64s(); !slices.Equal(got, []float64{2.5, 2.5}) {
		t.Fatalf("Full f16: %v", got)
	}
	if s := tensor.Scalar(4); s.Dim() != 0 || s.Item() != 4 {
		t.Fatal("Scalar")
	}
	if got := tensor.FromSlice([]int{1, 2, 3, 4}, 2, 2); got.DType() != tensor.Int64 || got.At(1, 0) != 3 {
		t.Fatal("FromSlice []int")
	}
	mustPanic(t, func() { tensor.FromSlice([]float32{1, 2, 3}, 2, 2) })
	mustPanic(t, func() { tensor.Zeros([]int{-1}) })
	// Generators are reproducible.
	a := tensor.RandN(tensor.NewGenerator(42), []int{100}).Float64s()
	b := tensor.RandN(tensor.NewGenerator(42), []int{100}).Float64s()
	c := tensor.RandN(tensor.NewGenerator(43), []int{100}).Float64s()
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("RandN is not determined by the seed")
	}
	u := tensor.Rand(tensor.NewGenerator(1), []int{10000})
	if u.Min().Item() < 0 || u.Max().Item() >= 1 {
		t.Fatalf("Rand outside [0,1): [%v, %v]", u.Min().Item(), u.Max().Item())
	}
	if m := u.Mean().Item(); m < 0.48 || m > 0.52 {
		t.Fatalf("Rand mean %v", m)
	}
	n := tensor.RandN(tensor.NewGenerator(1), []int{10000}, tensor.WithDType(tensor.Float64))
	if m, s := n.Mean().Item(), n.Std().Item(); m < -0.03 || m > 0.03 || s < 0.97 || s > 1.03 {
		t.Fatalf("RandN mean %v std %v", m, s)
	}
	// Rounding to a narrow dtype must not reach the open upper bound.
	for _, dt := range []tensor.DType{tensor.BFloat16, tensor.Float16, tensor.Float32} {
		un := tensor.Uniform(tensor.NewGenerator(2), -1, 1, []int{100000}, tensor.WithDType(dt))
		if hi := un.Max().Item(); hi >= 1 {
			t.Fatalf("Uniform %v reached its upper bound: max %v", dt, hi)
		}
	}
	ri := tensor.RandInt(tensor.NewGenerator(1), -3, 4, []int{1000})
	if ri.DType() != tensor.Int64 || ri.Min().Item() != -3 || ri.Max().Item() != 3 {
		t.Fatalf("RandInt range [%v, %v]", ri.Min().Item(), ri.Max().Item())
	}
}

func TestCastAndReadout(t *testing.T) {
	x := tensor.FromSlice([]float32{-1.7, -0.2, 0, 0.5, 2.9})
	if got := x.Cast(tensor.Int32).Ints(); !slices.Equal(got, []int{-1, 0, 0, 0, 2}) {
		t.Fatalf("float->int truncates toward zero: %v", got)
	}
	if got := x.Bools(); !slices.Equal(got, []bool{true, true, false, true, true}) {
		t.Fatalf("float->bool: %v", got)
	}
	if got := x.Cast(tensor.BFloat16).Float32s(); got[3] != 0.5 || got[0] != -1.703125 {
		t.Fatalf("bfloat16: %v", got)
	}
	if got := x.Cast(tensor.Float16).Float32s(); got[3] != 0.5 || got[0] != -1.7001953 {
		t.Fatalf("float16: %v", got)
	}
	if got := x.Cast(tensor.Float32); got != x {
		t.Fatal("Cast to the same dtype must return the tensor itself")
	}
	if got := seq(2, 3).T().Float64s(); !slices.Equal(got, []float64{0, 3, 1, 4, 2, 5}) {
		t.Fatalf("Float64s of a transpose: %v", got)
	}
	if got := seq(2, 3).At(-1, -1); got != 5 {
		t.Fatalf("At(-1,-1) = %v", got)
	}
	mustPanic(t, func() { seq(2, 3).At(2, 0) })
}

func TestSoftmax(t *testing.T) {
	g := tensor.NewGenerator(9)
	for _, kind := range layoutKinds {
		x := makeInput(t, g, kind, []int{3, 5}, tensor.Float64)
		for _, axis := range []int{0, 1, -1} {
			s := x.Softmax(axis)
			ls := x.LogSoftmax(axis)
			e := x.Sub(x.LogSumExpKeep(axis))
			checkClose(t, "LogSoftmax/"+kind, ls.Float64s(), e.Float64s(), 1e-12)
			checkClose(t, "Softmax/"+kind, s.Float64s(), e.Exp().Float64s(), 1e-12)
			checkClose(t, "Softmax sums/"+kind, s.Sum(axis).Float64s(), tensor.OnesLike(s.Sum(axis)).Float64s(), 1e-12)
		}
	}
	big := tensor.FromSlice([]float32{1000, 1001, 1002}).Softmax(0).Float64s()
	if big[2] < 0.66 || big[2] > 0.67 {
		t.Fatalf("Softmax of large values: %v", big)
	}
}
