package nn

// Pooling reads its windows as convolution does (functional_conv.go) and
// reduces them over the window axis.
//
// Max pooling is autograd's WindowMax2d: each window's maximum and its
// position, chosen as torch's max_pool2d chooses it (the first of equal
// maxima; a NaN wins, the last of several), so that the gradient goes to
// one element per window, the one torch sends it to; the backward pass is
// one scatter of the output's size. Padding never wins. Adaptive max pooling takes autograd's Max over
// its windows instead, whose gradient splits ties evenly.

import (
	"fmt"
	"slices"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// PoolOption configures a pooling window. Options that take sizes accept one
// value (both axes) or two (height, width). An option that does not apply to
// a pool (PoolDilation to an average pool, say) panics with a
// *tensor.Error (ValueError) rather than being ignored.
type PoolOption struct {
	name string
	set  func(*poolConfig)
}

type poolConfig struct {
	kernel, stride, padding, dilation []int
	ceil, excludePad                  bool
	divisor                           int
}

// PoolKernel gives a non-square window (kh, kw), replacing the kernel
// argument.
func PoolKernel(k ...int) PoolOption {
	return PoolOption{"PoolKernel", func(c *poolConfig) { c.kernel = k }}
}

// PoolStride sets the step between windows (default: the window size).
func PoolStride(s ...int) PoolOption {
	return PoolOption{"PoolStride", func(c *poolConfig) { c.stride = s }}
}

// PoolPadding pads both sides of each axis (default 0; at most half the
// window): with −∞ for max pooling, zeros for average pooling.
func PoolPadding(p ...int) PoolOption {
	return PoolOption{"PoolPadding", func(c *poolConfig) { c.padding = p }}
}

// PoolDilation spaces the taps of a max-pooling window (default 1).
func PoolDilation(d ...int) PoolOption {
	return PoolOption{"PoolDilation", func(c *poolConfig) { c.dilation = d }}
}

// PoolCeilMode rounds the output size up instead of down, so that a last,
// partial window is kept when it starts inside the input or its left
// padding (torch's ceil_mode=True).
func PoolCeilMode() PoolOption {
	return PoolOption{"PoolCeilMode", func(c *poolConfig) { c.ceil = true }}
}

// PoolExcludePad makes average pooling divide by the number of input
// elements in each window, not counting padding (torch's
// count_include_pad=False; the default counts it).
func PoolExcludePad() PoolOption {
	return PoolOption{"PoolExcludePad", func(c *poolConfig) { c.excludePad = true }}
}

// PoolDivisor makes average pooling divide every window's sum by d (torch's
// divisor_override).
func PoolDivisor(d int) PoolOption {
	return PoolOption{"PoolDivisor", func(c *poolConfig) { c.divisor = d }}
}

// The options each pool accepts.
var (
	poolOptsMax = []string{"PoolKernel", "PoolStride", "PoolPadding", "PoolDilation", "PoolCeilMode"}
	poolOptsAvg = []string{"PoolKernel", "PoolStride", "PoolPadding", "PoolCeilMode", "PoolExcludePad", "PoolDivisor"}
)

// poolSpec is a resolved pooling geometry.
type poolSpec struct {
	kernel, stride, padding, dilation [2]int
	ceil, countPad                    bool
	divisor                           int
}

func newPoolSpec(op string, kernel int, opts []PoolOption, allowed []string) poolSpec {
	c := &poolConfig{}
	for _, o := range opts {
		if !slices.Contains(allowed, o.name) {
			convFail(tensor.ValueError, op, nil, "option %s does not apply", o.name)
		}
		o.set(c)
	}
	k := convSizes(op, "kernel", c.kernel, 2, kernel)
	st := convSizes(op, "stride", c.stride, 2, 0)
	if len(c.stride) == 0 {
		st = k
	}
	p := convSizes(op, "padding", c.padding, 2, 0)
	d := convSizes(op, "dilation", c.dilation, 2, 1)
	return poolSpec{kernel: [2]int{k[0], k[1]}, stride: [2]int{st[0], st[1]}, padding: [2]int{p[0], p[1]},
		dilation: [2]int{d[0], d[1]}, ceil: c.ceil, countPad: !c.excludePad, divisor: c.divisor}
}

// poolOutSize is torch's pooling_output_shape.
func poolOutSize(n, k, pad, stride, dil int, ceil bool) int {
	num := n + 2*pad - dil*(k-1) - 1
	if ceil {
		num += stride - 1
	}
	out := convFloorDiv(num, stride) + 1
	if ceil && (out-1)*stride >= n+pad {
		out--
	}
	return out
}

func convFloorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// geom checks the spec against an input of size h×w and returns its window
// geometry.
func (s poolSpec) geom(op string, x *autograd.Var, h, w int) convGeom {
	shapes := [][]int{x.Shape()}
	for i := range 2 {
		if s.kernel[i] < 1 || s.stride[i] < 1 || s.dilation[i] < 1 {
			convFail(tensor.ValueError, op, shapes, "kernel %v, stride %v and dilation %v must be positive", s.kernel, s.stride, s.dilation)
		}
		if s.padding[i] < 0 || 2*s.padding[i] > s.kernel[i] {
			convFail(tensor.ValueError, op, shapes, "padding %v must be between 0 and half the kernel %v", s.padding, s.kernel)
		}
	}
	oh := poolOutSize(h, s.kernel[0], s.padding[0], s.stride[0], s.dilation[0], s.ceil)
	ow := poolOutSize(w, s.kernel[1], s.padding[1], s.stride[1], s.dilation[1], s.ceil)
	if oh < 1 || ow < 1 {
		convFail(tensor.ShapeError, op, shapes, "the output would be %dx%d", oh, ow)
	}
	return convGeom{inH: h, inW: w, outH: oh, outW: ow, kH: s.kernel[0], kW: s.kernel[1], sH: s.stride[0], sW: s.stride[1],
		pT: s.padding[0], pL: s.padding[1], dH: s.dilation[0], dW: s.dilation[1], mode: PadZeros, dev: x.Data.Device()}
}

func poolFloat(op string, x *autograd.Var) {
	if !x.DType().IsFloat() {
		convFail(tensor.DTypeError, op, [][]int{x.Shape()}, "input must be floating point, not %v", x.DType())
	}
}

// FMaxPool2d is torch.nn.functional.max_pool2d: the maximum of each
// kernel×kernel window of x [N, C, H, W] (or [C, H, W]). The stride defaults
// to the kernel size. See the note at the top of pool.go on ties.
func FMaxPool2d(x *autograd.Var, kernel int, opts ...PoolOption) *autograd.Var {
	const op = "nn.MaxPool2d"
	return maxPool2d(op, x, newPoolSpec(op, kernel, opts, poolOptsMax))
}

func maxPool2d(op string, x *autograd.Var, s poolSpec) *autograd.Var {
	poolFloat(op, x)
	x4, undo := batch4(op, x)
	xs := x4.Shape()
	g := s.geom(op, x4, xs[2], xs[3])
	return undo(x4.WindowMax2d(g.window()))
}

// avgDivisorKey names the divisors of an average pool's windows.
type avgDivisorKey struct {
	g        convGeom
	pad      [2]int // bottom/right extent of the padded input
	countPad bool
	dtype    tensor.DType
}

// FAvgPool2d is torch.nn.functional.avg_pool2d: the mean of each
// kernel×kernel window of x [N, C, H, W] (or [C, H, W]). By default padding
// counts in the divisor (count_include_pad=True), though window parts past
// the padded input (with PoolCeilMode) do not, as in torch; PoolExcludePad
// and PoolDivisor change the divisor.
func FAvgPool2d(x *autograd.Var, kernel int, opts ...PoolOption) *autograd.Var {
	const op = "nn.AvgPool2d"
	return avgPool2d(op, x, newPoolSpec(op, kernel, opts, poolOptsAvg))
}

func avgPool2d(op string, x *autograd.Var, s poolSpec) *autograd.Var {
	poolFloat(op, x)
	x4, undo := batch4(op, x)
	xs := x4.Shape()
	g := s.geom(op, x4, xs[2], xs[3])
	sum := im2col(x4, g).Sum(2) // [N, C, L]
	var out *autograd.Var
	if s.divisor != 0 {
		out = sum.DivScalar(float64(s.divisor))
	} else {
		out = sum.Div(autograd.Const(avgDivisors(g, s.padding, s.countPad, x.DType())))
	}
	return undo(out.Reshape(xs[0], xs[1], g.outH, g.outW))
}

// avgDivisors returns the [L] divisors of an average pool's windows, as
// torch's avg_pool2d computes them.
func avgDivisors(g convGeom, pad [2]int, countPad bool, dt tensor.DType) *tensor.Tensor {
	key := avgDivisorKey{g: g, pad: pad, countPad: countPad, dtype: dt}
	if d, ok := convIndexCache.Load(key); ok {
		return d.(*tensor.Tensor)
	}
	div := make([]float64, g.outH*g.outW)
	for oh := range g.outH {
		h0 := oh*g.sH - g.pT
		h1 := min(h0+g.kH, g.inH+pad[0])
		for ow := range g.outW {
			w0 := ow*g.sW - g.pL
			w1 := min(w0+g.kW, g.inW+pad[1])
			n := (h1 - h0) * (w1 - w0)
			if !countPad {
				n = (min(h1, g.inH) - max(h0, 0)) * (min(w1, g.inW) - max(w0, 0))
			}
			div[oh*g.outW+ow] = float64(n)
		}
	}
	t := tensor.FromSlice(div, len(div)).Cast(dt).To(g.dev)
	got, _ := convIndexCache.LoadOrStore(key, t)
	return got.(*tensor.Tensor)
}

// adaptiveGeom names the index of an adaptive pool: output cell (i, j)
// covers rows floor(i·H/OH) to ceil((i+1)·H/OH) and the same for columns.
type adaptiveGeom struct {
	inH, inW, outH, outW int
	dev                  tensor.Device
}

type adaptiveEntry struct {
	idx    *tensor.Tensor // [KH·KW·L], KH×KW the largest window; the rest reads inH·inW
	kH, kW int
	padded bool
	counts []float64 // [L] window sizes
}

func adaptiveRange(i, in, out int) (int, int) {
	return i * in / out, ((i+1)*in + out - 1) / out
}

func (g adaptiveGeom) index() *adaptiveEntry {
	if e, ok := convIndexCache.Load(g); ok {
		return e.(*adaptiveEntry)
	}
	kh, kw := 0, 0
	for i := range g.outH {
		a, b := adaptiveRange(i, g.inH, g.outH)
		kh = max(kh, b-a)
	}
	for j := range g.outW {
		a, b := adaptiveRange(j, g.inW, g.outW)
		kw = max(kw, b-a)
	}
	l := g.outH * g.outW
	idx := make([]int64, kh*kw*l)
	counts := make([]float64, l)
	sentinel := int64(g.inH * g.inW)
	padded := false
	for i := range g.outH {
		h0, h1 := adaptiveRange(i, g.inH, g.outH)
		for j := range g.outW {
			w0, w1 := adaptiveRange(j, g.inW, g.outW)
			p := i*g.outW + j
			counts[p] = float64((h1 - h0) * (w1 - w0))
			for ki := range kh {
				for kj := range kw {
					v := sentinel
					if h0+ki < h1 && w0+kj < w1 {
						v = int64((h0+ki)*g.inW + w0 + kj)
					} else {
						padded = true
					}
					idx[(ki*kw+kj)*l+p] = v
				}
			}
		}
	}
	e := &adaptiveEntry{idx: tensor.FromSlice(idx, len(idx)).To(g.dev), kH: kh, kW: kw, padded: padded, counts: counts}
	got, _ := convIndexCache.LoadOrStore(g, e)
	return got.(*adaptiveEntry)
}

// FAdaptiveAvgPool2d is torch.nn.functional.adaptive_avg_pool2d: x
// [N, C, H, W] (or [C, H, W]) averaged over windows chosen so that the
// output is size[0]×size[1] (one value: square). Output cell i covers input
// rows floor(i·H/OH) to ceil((i+1)·H/OH), so windows overlap when OH does
// not divide H.
func FAdaptiveAvgPool2d(x *autograd.Var, size ...int) *autograd.Var {
	const op = "nn.AdaptiveAvgPool2d"
	return adaptivePool2d(op, x, size, false)
}

// FAdaptiveMaxPool2d is torch.nn.functional.adaptive_max_pool2d: the
// maximum over the windows of FAdaptiveAvgPool2d.
func FAdaptiveMaxPool2d(x *autograd.Var, size ...int) *autograd.Var {
	const op = "nn.AdaptiveMaxPool2d"
	return adaptivePool2d(op, x, size, true)
}

func adaptivePool2d(op string, x *autograd.Var, size []int, isMax bool) *autograd.Var {
	poolFloat(op, x)
	sz := convSizes(op, "output size", size, 2, 0)
	x4, undo := batch4(op, x)
	xs := x4.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	if len(size) == 0 || sz[0] < 1 || sz[1] < 1 || h < 1 || w < 1 {
		convFail(tensor.ValueError, op, [][]int{x.Shape()}, "output size %v and input size must be positive", size)
	}
	g := adaptiveGeom{inH: h, inW: w, outH: sz[0], outW: sz[1], dev: x.Data.Device()}
	e := g.index()
	l := g.outH * g.outW
	flat := x4.Reshape(n, c, h*w)
	if e.padded {
		fill := 0.0
		if isMax {
			fill = convNegInf
		}
		pad := tensor.Full([]int{1, 1, 1}, fill, tensor.WithDType(x.DType()), tensor.WithDevice(g.dev)).Expand(n, c, 1)
		flat = autograd.Cat([]*autograd.Var{flat, autograd.Const(pad)}, 2)
	}
	cols := flat.IndexSelect(2, e.idx).Reshape(n, c, e.kH*e.kW, l)
	var out *autograd.Var
	if isMax {
		out = cols.Max(2)
	} else {
		out = cols.Sum(2).Div(autograd.Const(adaptiveCounts(g, e, x.DType())))
	}
	return undo(out.Reshape(n, c, g.outH, g.outW))
}

type adaptiveCountKey struct {
	g     adaptiveGeom
	dtype tensor.DType
}

func adaptiveCounts(g adaptiveGeom, e *adaptiveEntry, dt tensor.DType) *tensor.Tensor {
	key := adaptiveCountKey{g, dt}
	if d, ok := convIndexCache.Load(key); ok {
		return d.(*tensor.Tensor)
	}
	t := tensor.FromSlice(e.counts, len(e.counts)).Cast(dt).To(g.dev)
	got, _ := convIndexCache.LoadOrStore(key, t)
	return got.(*tensor.Tensor)
}

// MaxPool2d is torch.nn.MaxPool2d.
type MaxPool2d struct {
	Base
	KernelSize, Stride, Padding, Dilation [2]int
	CeilMode                              bool
}

// NewMaxPool2d returns a max pool over kernel×kernel windows; the stride
// defaults to kernel.
func NewMaxPool2d(kernel int, opts ...PoolOption) *MaxPool2d {
	s := newPoolSpec("nn.NewMaxPool2d", kernel, opts, poolOptsMax)
	return &MaxPool2d{KernelSize: s.kernel, Stride: s.stride, Padding: s.padding, Dilation: s.dilation, CeilMode: s.ceil}
}

// Members implements Module: a pool has no parameters.
func (*MaxPool2d) Members() Members { return Members{} }

// Forward implements Layer.
func (l *MaxPool2d) Forward(x *autograd.Var) *autograd.Var {
	s := poolSpec{kernel: l.KernelSize, stride: l.Stride, padding: l.Padding, dilation: l.Dilation, ceil: l.CeilMode}
	return l.RunHooks(l, x, maxPool2d("nn.MaxPool2d", x, s))
}

// String prints the layer as torch's repr does.
func (l *MaxPool2d) String() string {
	return fmt.Sprintf("MaxPool2d(kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s)",
		poolRepr(l.KernelSize), poolRepr(l.Stride), poolRepr(l.Padding), poolRepr(l.Dilation), pyBool(l.CeilMode))
}

// poolRepr prints a size as an int when square, else as a tuple (torch
// prints what the constructor was given).
func poolRepr(s [2]int) string {
	if s[0] == s[1] {
		return fmt.Sprint(s[0])
	}
	return pyTuple(s[:])
}

// AvgPool2d is torch.nn.AvgPool2d.
type AvgPool2d struct {
	Base
	KernelSize, Stride, Padding [2]int
	CeilMode                    bool
	CountIncludePad             bool // true unless built with PoolExcludePad
	DivisorOverride             int  // 0: none
}

// NewAvgPool2d returns an average pool over kernel×kernel windows; the
// stride defaults to kernel.
func NewAvgPool2d(kernel int, opts ...PoolOption) *AvgPool2d {
	s := newPoolSpec("nn.NewAvgPool2d", kernel, opts, poolOptsAvg)
	return &AvgPool2d{KernelSize: s.kernel, Stride: s.stride, Padding: s.padding, CeilMode: s.ceil,
		CountIncludePad: s.countPad, DivisorOverride: s.divisor}
}

// Members implements Module: a pool has no parameters.
func (*AvgPool2d) Members() Members { return Members{} }

// Forward implements Layer.
func (l *AvgPool2d) Forward(x *autograd.Var) *autograd.Var {
	s := poolSpec{kernel: l.KernelSize, stride: l.Stride, padding: l.Padding, dilation: [2]int{1, 1},
		ceil: l.CeilMode, countPad: l.CountIncludePad, divisor: l.DivisorOverride}
	return l.RunHooks(l, x, avgPool2d("nn.AvgPool2d", x, s))
}

// String prints the layer as torch's repr does.
func (l *AvgPool2d) String() string {
	return fmt.Sprintf("AvgPool2d(kernel_size=%s, stride=%s, padding=%s)",
		poolRepr(l.KernelSize), poolRepr(l.Stride), poolRepr(l.Padding))
}

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d.
type AdaptiveAvgPool2d struct {
	Base
	OutputSize [2]int
}

// NewAdaptiveAvgPool2d returns an adaptive average pool to size (one value:
// square; two: height, width).
func NewAdaptiveAvgPool2d(size ...int) *AdaptiveAvgPool2d {
	s := convSizes("nn.NewAdaptiveAvgPool2d", "output size", size, 2, 0)
	return &AdaptiveAvgPool2d{OutputSize: [2]int{s[0], s[1]}}
}

// Members implements Module: a pool has no parameters.
func (*AdaptiveAvgPool2d) Members() Members { return Members{} }

// Forward implements Layer.
func (l *AdaptiveAvgPool2d) Forward(x *autograd.Var) *autograd.Var {
	return l.RunHooks(l, x, adaptivePool2d("nn.AdaptiveAvgPool2d", x, l.OutputSize[:], false))
}

// String prints the layer as torch's repr does.
func (l *AdaptiveAvgPool2d) String() string {
	return "AdaptiveAvgPool2d(output_size=" + poolRepr(l.OutputSize) + ")"
}

// AdaptiveMaxPool2d is torch.nn.AdaptiveMaxPool2d (without return_indices).
type AdaptiveMaxPool2d struct {
	Base
	OutputSize [2]int
}

// NewAdaptiveMaxPool2d returns an adaptive max pool to size (one value:
// square; two: height, width).
func NewAdaptiveMaxPool2d(size ...int) *AdaptiveMaxPool2d {
	s := convSizes("nn.NewAdaptiveMaxPool2d", "output size", size, 2, 0)
	return &AdaptiveMaxPool2d{OutputSize: [2]int{s[0], s[1]}}
}

// Members implements Module: a pool has no parameters.
func (*AdaptiveMaxPool2d) Members() Members { return Members{} }

// Forward implements Layer.
func (l *AdaptiveMaxPool2d) Forward(x *autograd.Var) *autograd.Var {
	return l.RunHooks(l, x, adaptivePool2d("nn.AdaptiveMaxPool2d", x, l.OutputSize[:], true))
}

// String prints the layer as torch's repr does.
func (l *AdaptiveMaxPool2d) String() string {
	return "AdaptiveMaxPool2d(output_size=" + poolRepr(l.OutputSize) + ")"
}
