package nn

// Convolution as data movement plus one matrix product (im2col).
//
// With zero padding a convolution's windows come from tensor.Unfold2d:
// for an input of spatial size H×W, an output of size OH×OW and a kh×kw
// kernel, the columns [N, C, K, L] (K = kh·kw taps, L = OH·OW positions)
// hold in entry (n, c, k, l) the element that tap k of output position l
// reads from plane (n, c). Unfold2d stores them batch-inner, so that
// [C·K, N·L] is a view and the convolution is one product per group,
// weight [out, C·K] times columns [C·K, N·L]; the [out, N, OH, OW] result
// is returned as a permuted view. The adjoint of Unfold2d is Fold2d
// (col2im): autograd's rule for the one is the other, so gradients, and
// gradients of gradients, need nothing else. Pools reduce the columns over
// the K axis (average) or take each window's maximum with
// tensor.WindowMax2d (max).
//
// Reflect, replicate and circular padding read their windows through one
// Int64 index tensor per geometry instead: entry k·L + l is the flat
// position (row·W + col) of the input element that tap k of output
// position l reads, a tap outside the input mapped to the element the
// padding copies. The index is built once per geometry and cached (see
// convIndexCache), and an IndexSelect along the flat axis gives the
// columns [N, C, K·L], which the product multiplies per batch element; the
// adjoint of the IndexSelect is the ScatterAdd that col2im needs. The
// adaptive pools (pool.go) have an index of their own.
//
// ConvTranspose2d is the adjoint of Conv2d, computed as such: the weight
// multiplies the input into columns [N, out·K, H·W], and Fold2d with the
// geometry of the matching forward convolution (the one whose input is
// the transposed convolution's output) adds every column entry into its
// output position. This does the same number of multiplications as the
// forward convolution; the alternative — a direct convolution over the
// input dilated by the stride — would multiply stride² times as many
// zeros. Fold2d sums each element in a fixed order, so results do not
// depend on the number of threads.

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// PaddingMode says what a convolution reads outside its input, as torch's
// padding_mode does.
type PaddingMode string

const (
	PadZeros     PaddingMode = "zeros"     // zeros (the default)
	PadReflect   PaddingMode = "reflect"   // the input mirrored at its edge, edge not repeated
	PadReplicate PaddingMode = "replicate" // the edge element repeated
	PadCircular  PaddingMode = "circular"  // the input wrapped around
)

// ConvOption configures a convolution. The geometry options (ConvStride,
// ConvPadding, ConvPaddingSame, ConvDilation, ConvGroups, ConvPaddingMode,
// and ConvOutputPadding for transposed convolutions) apply to the
// functional forms (FConv1d, FConv2d, FConvTranspose2d) and the layers
// alike. The constructors also take ConvKernel and the layer Options
// WithoutBias, WithGenerator, WithDType and WithDevice. An option that does
// not apply panics with a *tensor.Error (ValueError) rather than being
// ignored. Options that take sizes accept one value (every spatial axis) or
// one per spatial axis (height, width).
type ConvOption interface {
	applyConv(c *convConfig)
}

// convOpt is a ConvOption of this file.
type convOpt struct {
	name string
	set  func(*convConfig)
}

func (o convOpt) applyConv(c *convConfig) {
	c.names = append(c.names, o.name)
	o.set(c)
}

// applyConv makes the layer Options ConvOptions, so that the convolution
// constructors take them beside the geometry.
func (o Option) applyConv(c *convConfig) { c.layer = append(c.layer, o) }

type convConfig struct {
	stride, padding, dilation, outPad, kernel []int
	same                                      bool
	mode                                      PaddingMode
	groups                                    int
	names                                     []string // the convOpts given
	layer                                     []Option // the layer Options given
}

// ConvStride sets the stride (default 1).
func ConvStride(s ...int) ConvOption {
	return convOpt{"ConvStride", func(c *convConfig) { c.stride = s }}
}

// ConvPadding sets the padding added to both sides of each spatial axis
// (default 0). For transposed convolutions it is torch's padding: the
// amount cropped from each side of the full output.
func ConvPadding(p ...int) ConvOption {
	return convOpt{"ConvPadding", func(c *convConfig) { c.padding, c.same = p, false }}
}

// ConvPaddingSame pads so that the output has the input's size (torch's
// padding="same"; stride must be 1). When the dilated kernel's extent is
// even, the extra element of padding goes on the bottom or right, as in
// torch.
func ConvPaddingSame() ConvOption {
	return convOpt{"ConvPaddingSame", func(c *convConfig) { c.same, c.padding = true, nil }}
}

// ConvDilation sets the spacing between kernel taps (default 1).
func ConvDilation(d ...int) ConvOption {
	return convOpt{"ConvDilation", func(c *convConfig) { c.dilation = d }}
}

// ConvGroups splits the channels into g independent groups (default 1);
// g = in channels = out channels is a depthwise convolution.
func ConvGroups(g int) ConvOption {
	return convOpt{"ConvGroups", func(c *convConfig) { c.groups = g }}
}

// ConvOutputPadding adds size to the bottom and right of a transposed
// convolution's output (default 0); each value must be smaller than the
// stride or the dilation.
func ConvOutputPadding(p ...int) ConvOption {
	return convOpt{"ConvOutputPadding", func(c *convConfig) { c.outPad = p }}
}

// ConvPaddingMode picks what is read outside the input (default PadZeros).
// Transposed convolutions support only PadZeros.
func ConvPaddingMode(m PaddingMode) ConvOption {
	return convOpt{"ConvPaddingMode", func(c *convConfig) { c.mode = m }}
}

// ConvKernel gives a constructor a non-square kernel (kh, kw), replacing its
// kernel argument.
func ConvKernel(k ...int) ConvOption {
	return convOpt{"ConvKernel", func(c *convConfig) { c.kernel = k }}
}

// newConvConfig applies opts over the defaults and panics when one is not
// among allowed (the convOpt names) or, unless layer, is a layer Option.
func newConvConfig(op string, opts []ConvOption, layer bool, allowed ...string) *convConfig {
	c := &convConfig{mode: PadZeros, groups: 1}
	for _, o := range opts {
		o.applyConv(c)
	}
	for _, n := range c.names {
		if !slices.Contains(allowed, n) {
			convFail(tensor.ValueError, op, nil, "option %s does not apply", n)
		}
	}
	if !layer && len(c.layer) > 0 {
		convFail(tensor.ValueError, op, nil, "option %s does not apply (it configures a layer's parameters)", c.layer[0].name)
	}
	return c
}

// The geometry options each kind of convolution accepts.
var (
	convOptsConv      = []string{"ConvStride", "ConvPadding", "ConvPaddingSame", "ConvDilation", "ConvGroups", "ConvPaddingMode"}
	convOptsTranspose = []string{"ConvStride", "ConvPadding", "ConvDilation", "ConvGroups", "ConvOutputPadding"}
)

// convFail panics with the *tensor.Error that a misused convolution or pool
// raises.
func convFail(kind tensor.ErrorKind, op string, shapes [][]int, format string, args ...any) {
	panic(&tensor.Error{Kind: kind, Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// convSizes expands an option's values to nd spatial axes: none gives def,
// one value applies to every axis.
func convSizes(op, what string, vals []int, nd, def int) []int {
	out := make([]int, nd)
	switch len(vals) {
	case 0:
		for i := range out {
			out[i] = def
		}
	case 1:
		for i := range out {
			out[i] = vals[0]
		}
	case nd:
		copy(out, vals)
	default:
		convFail(tensor.ValueError, op, nil, "%s takes 1 or %d values, got %v", what, nd, vals)
	}
	return out
}

// conv2dSpec is a resolved 2-D convolution geometry.
type conv2dSpec struct {
	stride, dilation [2]int
	pad              [4]int // top, bottom, left, right
	outPad           [2]int
	groups           int
	mode             PaddingMode
}

// spec2d resolves c for a kernel of size k (needed by padding "same"); 1-D
// convolutions are 2-D ones of height 1 and pass nd = 1.
func (c *convConfig) spec2d(op string, k [2]int, nd int) conv2dSpec {
	st := convSizes(op, "stride", c.stride, nd, 1)
	di := convSizes(op, "dilation", c.dilation, nd, 1)
	pa := convSizes(op, "padding", c.padding, nd, 0)
	op2 := convSizes(op, "output padding", c.outPad, nd, 0)
	if nd == 1 { // height 1: identity geometry on the height axis
		st, di, pa, op2 = []int{1, st[0]}, []int{1, di[0]}, []int{0, pa[0]}, []int{0, op2[0]}
	}
	s := conv2dSpec{stride: [2]int{st[0], st[1]}, dilation: [2]int{di[0], di[1]},
		pad: [4]int{pa[0], pa[0], pa[1], pa[1]}, outPad: [2]int{op2[0], op2[1]}, groups: c.groups, mode: c.mode}
	if c.same {
		if s.stride != [2]int{1, 1} {
			convFail(tensor.ValueError, op, nil, "padding \"same\" needs stride 1, got %v", st)
		}
		for i := range 2 {
			s.pad[2*i], s.pad[2*i+1] = samePad(k[i], s.dilation[i])
		}
	}
	return s
}

// convGeom is the key of an index: one window geometry on one device.
type convGeom struct {
	inH, inW, outH, outW int
	kH, kW               int
	sH, sW               int
	pT, pL               int // top and left padding; the output size implies the rest
	dH, dW               int
	mode                 PaddingMode
	dev                  tensor.Device
}

// convIndexCache maps a geometry (convGeom, adaptiveGeom, avgDivisorKey) to
// its index or divisor tensor. Geometries are few in a model, so entries
// are kept for the life of the program.
var convIndexCache sync.Map

// convMapCoord maps coordinate i of an axis of length n through the padding
// mode; ok is false when it reads zero padding.
func convMapCoord(i, n int, mode PaddingMode) (int, bool) {
	if i >= 0 && i < n {
		return i, true
	}
	switch mode {
	case PadReflect:
		if i < 0 {
			return -i, true
		}
		return 2*(n-1) - i, true
	case PadReplicate:
		return min(max(i, 0), n-1), true
	case PadCircular:
		return ((i % n) + n) % n, true
	}
	return 0, false
}

// index returns the geometry's index (see the top of this file), building it
// on first use. Only the copying padding modes (reflect, replicate,
// circular) have one: they map every tap into the input. Zero padding goes
// through tensor.Unfold2d.
func (g convGeom) index() *tensor.Tensor {
	if e, ok := convIndexCache.Load(g); ok {
		return e.(*tensor.Tensor)
	}
	L, K := g.outH*g.outW, g.kH*g.kW
	idx := make([]int64, K*L)
	rows := make([]int, g.outH)
	for ki := range g.kH {
		for oh := range g.outH {
			r, ok := convMapCoord(oh*g.sH-g.pT+ki*g.dH, g.inH, g.mode)
			if !ok {
				panic("nn: convGeom.index: a tap in zero padding; zero padding has no index")
			}
			rows[oh] = r
		}
		for kj := range g.kW {
			base := (ki*g.kW + kj) * L
			for ow := range g.outW {
				col, ok := convMapCoord(ow*g.sW-g.pL+kj*g.dW, g.inW, g.mode)
				if !ok {
					panic("nn: convGeom.index: a tap in zero padding; zero padding has no index")
				}
				for oh := range g.outH {
					idx[base+oh*g.outW+ow] = int64(rows[oh]*g.inW + col)
				}
			}
		}
	}
	t := tensor.Keep(tensor.FromSlice(idx, K*L).To(g.dev))
	got, _ := convIndexCache.LoadOrStore(g, t)
	return got.(*tensor.Tensor)
}

// window is g as a zero-padded tensor.Window2d (its mode aside).
func (g convGeom) window() tensor.Window2d {
	return tensor.Window2d{InH: g.inH, InW: g.inW, OutH: g.outH, OutW: g.outW, KH: g.kH, KW: g.kW,
		SH: g.sH, SW: g.sW, PadT: g.pT, PadL: g.pL, DH: g.dH, DW: g.dW}
}

// im2col returns the windows of x [N, C, H, W] as [N, C, K, L]: one
// Unfold2d op with zero padding (direct kernels on the CPU), an
// IndexSelect through the geometry's index with the copying modes.
func im2col(x *autograd.Var, g convGeom) *autograd.Var {
	if g.mode == PadZeros {
		return x.Unfold2d(g.window())
	}
	s := x.Shape()
	n, c := s[0], s[1]
	return x.Reshape(n, c, g.inH*g.inW).IndexSelect(2, g.index()).Reshape(n, c, g.kH*g.kW, g.outH*g.outW)
}

// convOutSize is the output length of a window sliding over n elements
// padded by pad in total.
func convOutSize(n, pad, k, stride, dil int) int {
	return (n+pad-dil*(k-1)-1)/stride + 1
}

// batch4 lifts an unbatched [C, H, W] input to [1, C, H, W]; undo drops the
// axis again from the result.
func batch4(op string, x *autograd.Var) (x4 *autograd.Var, undo func(*autograd.Var) *autograd.Var) {
	switch x.Dim() {
	case 4:
		return x, func(v *autograd.Var) *autograd.Var { return v }
	case 3:
		return x.Unsqueeze(0), func(v *autograd.Var) *autograd.Var { return v.Squeeze(0) }
	}
	convFail(tensor.ShapeError, op, [][]int{x.Shape()}, "input must be [N, C, H, W] or [C, H, W]")
	return nil, nil
}

func convShapes(vs ...*autograd.Var) [][]int {
	var out [][]int
	for _, v := range vs {
		if v != nil {
			out = append(out, v.Shape())
		}
	}
	return out
}

func convCheckSpec(op string, s conv2dSpec, shapes [][]int) {
	for i := range 2 {
		if s.stride[i] < 1 || s.dilation[i] < 1 {
			convFail(tensor.ValueError, op, shapes, "stride %v and dilation %v must be positive", s.stride, s.dilation)
		}
	}
	for _, p := range s.pad {
		if p < 0 {
			convFail(tensor.ValueError, op, shapes, "padding %v must not be negative", s.pad)
		}
	}
	if s.groups < 1 {
		convFail(tensor.ValueError, op, shapes, "groups %d must be positive", s.groups)
	}
}

// FConv2d is torch.nn.functional.conv2d: x [N, C, H, W] (or [C, H, W])
// convolved (cross-correlated) with weight [out, C/groups, kh, kw], plus
// bias [out] when bias is not nil. Options set stride, padding, dilation,
// groups and the padding mode.
func FConv2d(x, weight, bias *autograd.Var, opts ...ConvOption) *autograd.Var {
	const op = "nn.Conv2d"
	if weight.Dim() != 4 {
		convFail(tensor.ShapeError, op, convShapes(x, weight, bias), "weight must be [out, in/groups, kh, kw]")
	}
	ws := weight.Shape()
	s := newConvConfig(op, opts, false, convOptsConv...).spec2d(op, [2]int{ws[2], ws[3]}, 2)
	x4, undo := batch4(op, x)
	return undo(conv2d(op, x4, weight, bias, s))
}

// FConv1d is torch.nn.functional.conv1d: x [N, C, L] (or [C, L]) convolved
// with weight [out, C/groups, k], plus bias [out] when bias is not nil.
func FConv1d(x, weight, bias *autograd.Var, opts ...ConvOption) *autograd.Var {
	const op = "nn.Conv1d"
	if weight.Dim() != 3 || (x.Dim() != 3 && x.Dim() != 2) {
		convFail(tensor.ShapeError, op, convShapes(x, weight, bias), "want x [N, C, L] or [C, L] and weight [out, in/groups, k]")
	}
	s := newConvConfig(op, opts, false, convOptsConv...).spec2d(op, [2]int{1, weight.Shape()[2]}, 1)
	return conv1d(op, x, weight, bias, s)
}

func conv1d(op string, x, weight, bias *autograd.Var, s conv2dSpec) *autograd.Var {
	if weight.Dim() != 3 || (x.Dim() != 3 && x.Dim() != 2) {
		convFail(tensor.ShapeError, op, convShapes(x, weight, bias), "want x [N, C, L] or [C, L] and weight [out, in/groups, k]")
	}
	x3 := x
	if x.Dim() == 2 {
		x3 = x.Unsqueeze(0)
	}
	out := conv2d(op, x3.Unsqueeze(2), weight.Unsqueeze(2), bias, s).Squeeze(2)
	if x.Dim() == 2 {
		out = out.Squeeze(0)
	}
	return out
}

func conv2d(op string, x, weight, bias *autograd.Var, s conv2dSpec) *autograd.Var {
	shapes := convShapes(x, weight, bias)
	convCheckSpec(op, s, shapes)
	xs, ws := x.Shape(), weight.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	o, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	g := s.groups
	if c%g != 0 || o%g != 0 || cg != c/g {
		convFail(tensor.ShapeError, op, shapes, "%d input channels, %d output channels and weight [out, in/groups, ...] do not fit %d groups", c, o, g)
	}
	if bias != nil && (bias.Dim() != 1 || bias.Shape()[0] != o) {
		convFail(tensor.ShapeError, op, shapes, "bias must be [%d]", o)
	}
	if x.DType() != weight.DType() {
		convFail(tensor.DTypeError, op, shapes, "input is %v but weight is %v", x.DType(), weight.DType())
	}
	oh := convOutSize(h, s.pad[0]+s.pad[1], kh, s.stride[0], s.dilation[0])
	ow := convOutSize(w, s.pad[2]+s.pad[3], kw, s.stride[1], s.dilation[1])
	if oh < 1 || ow < 1 {
		convFail(tensor.ShapeError, op, shapes, "the dilated kernel is larger than the padded input")
	}
	switch s.mode {
	case PadZeros, PadReplicate:
	case PadReflect, PadCircular:
		if max(s.pad[0], s.pad[1]) > h-btoi(s.mode == PadReflect) || max(s.pad[2], s.pad[3]) > w-btoi(s.mode == PadReflect) {
			convFail(tensor.ValueError, op, shapes, "%s padding %v is too large for a %dx%d input", s.mode, s.pad, h, w)
		}
	default:
		convFail(tensor.ValueError, op, shapes, "unknown padding mode %q", s.mode)
	}
	geom := convGeom{inH: h, inW: w, outH: oh, outW: ow, kH: kh, kW: kw, sH: s.stride[0], sW: s.stride[1],
		pT: s.pad[0], pL: s.pad[2], dH: s.dilation[0], dW: s.dilation[1], mode: s.mode, dev: x.Data.Device()}
	k, l := kh*kw, oh*ow
	cols := im2col(x, geom) // [N, C, K, L]
	if n > 1 && cols.Data.Permute(1, 2, 0, 3).IsContiguous() {
		// Unfold2d's batch-inner columns: the whole batch is one
		// C·K × N·L matrix, so the convolution is one large product
		// (per group) instead of N small ones, and so are both
		// products of its backward pass (the weight's gradient needs
		// no sum over the batch). The [out, N, ...] product is
		// returned as a permuted view, which the next op reads in place.
		ckn := cols.Permute(1, 2, 0, 3)
		var out *autograd.Var
		if g == 1 {
			// [out, C·K] @ [C·K, N·L] → [out, N·L]
			out = weight.Reshape(o, c*k).MatMul(ckn.Reshape(c*k, n*l))
		} else {
			// [G, out/G, C/G·K] @ [G, C/G·K, N·L] → [G, out/G, N·L]
			out = weight.Reshape(g, o/g, cg*k).MatMul(ckn.Reshape(g, cg*k, n*l))
		}
		out = out.Reshape(o, n, oh, ow).Permute(1, 0, 2, 3)
		if bias != nil {
			out = out.Add(bias.Reshape(1, o, 1, 1))
		}
		return out
	}
	var out *autograd.Var
	if g == 1 {
		// [out, C·K] @ [N, C·K, L] → [N, out, L]
		out = weight.Reshape(o, c*k).MatMul(cols.Reshape(n, c*k, l))
	} else {
		// [G, out/G, C/G·K] @ [N, G, C/G·K, L] → [N, G, out/G, L]
		out = weight.Reshape(g, o/g, cg*k).MatMul(cols.Reshape(n, g, cg*k, l))
	}
	out = out.Reshape(n, o, oh, ow)
	if bias != nil {
		out = out.Add(bias.Reshape(1, o, 1, 1))
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FConvTranspose2d is torch.nn.functional.conv_transpose2d: the adjoint
// (gradient with respect to the input) of a Conv2d with the same stride,
// padding, dilation and groups, applied to x [N, C, H, W] (or [C, H, W])
// with weight [C, out/groups, kh, kw], plus bias [out]. The output has
// (H−1)·stride − 2·padding + dilation·(kh−1) + output padding + 1 rows, and
// the same for columns.
func FConvTranspose2d(x, weight, bias *autograd.Var, opts ...ConvOption) *autograd.Var {
	const op = "nn.ConvTranspose2d"
	cfg := newConvConfig(op, opts, false, convOptsTranspose...)
	if weight.Dim() != 4 {
		convFail(tensor.ShapeError, op, convShapes(x, weight, bias), "weight must be [in, out/groups, kh, kw]")
	}
	ws := weight.Shape()
	s := cfg.spec2d(op, [2]int{ws[2], ws[3]}, 2)
	x4, undo := batch4(op, x)
	return undo(convTranspose2d(op, x4, weight, bias, s))
}

func convTranspose2d(op string, x, weight, bias *autograd.Var, s conv2dSpec) *autograd.Var {
	shapes := convShapes(x, weight, bias)
	convCheckSpec(op, s, shapes)
	if s.mode != PadZeros {
		convFail(tensor.ValueError, op, shapes, "only zero padding is supported, not %q", s.mode)
	}
	xs, ws := x.Shape(), weight.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	wc, og, kh, kw := ws[0], ws[1], ws[2], ws[3]
	g := s.groups
	o := og * g
	if wc != c || c%g != 0 {
		convFail(tensor.ShapeError, op, shapes, "%d input channels do not fit weight [in, out/groups, ...] with %d groups", c, g)
	}
	if bias != nil && (bias.Dim() != 1 || bias.Shape()[0] != o) {
		convFail(tensor.ShapeError, op, shapes, "bias must be [%d]", o)
	}
	if x.DType() != weight.DType() {
		convFail(tensor.DTypeError, op, shapes, "input is %v but weight is %v", x.DType(), weight.DType())
	}
	for i := range 2 {
		if p := s.outPad[i]; p < 0 || (p >= s.stride[i] && p >= s.dilation[i]) {
			convFail(tensor.ValueError, op, shapes, "output padding %v must be smaller than the stride %v or the dilation %v",
				s.outPad, s.stride, s.dilation)
		}
	}
	oh := (h-1)*s.stride[0] - s.pad[0] - s.pad[1] + s.dilation[0]*(kh-1) + s.outPad[0] + 1
	ow := (w-1)*s.stride[1] - s.pad[2] - s.pad[3] + s.dilation[1]*(kw-1) + s.outPad[1] + 1
	if oh < 1 || ow < 1 {
		convFail(tensor.ShapeError, op, shapes, "the output would be %dx%d", oh, ow)
	}
	// The forward convolution whose input is our output and whose output is
	// our input: its index sends column entry (tap k, position l of x) to
	// the output element that tap reads.
	geom := convGeom{inH: oh, inW: ow, outH: h, outW: w, kH: kh, kW: kw, sH: s.stride[0], sW: s.stride[1],
		pT: s.pad[0], pL: s.pad[2], dH: s.dilation[0], dW: s.dilation[1], mode: PadZeros, dev: x.Data.Device()}
	k, l := kh*kw, h*w
	var cols *autograd.Var
	if g == 1 {
		// [out·K, C] @ [N, C, L] → [N, out·K, L]
		cols = weight.Reshape(c, o*k).Transpose(0, 1).MatMul(x.Reshape(n, c, l))
	} else {
		// [G, out/G·K, C/G] @ [N, G, C/G, L] → [N, G, out/G·K, L]
		cols = weight.Reshape(g, c/g, og*k).Transpose(1, 2).MatMul(x.Reshape(n, g, c/g, l))
	}
	out := cols.Reshape(n, o, k, l).Fold2d(geom.window()) // [N, out, oh, ow]
	if bias != nil {
		out = out.Add(bias.Reshape(1, o, 1, 1))
	}
	return out
}

// convNegInf is the value a max pool reads in its padding.
var convNegInf = math.Inf(-1)
