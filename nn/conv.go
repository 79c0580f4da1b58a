package nn

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/tensor"
)

// convParams makes a convolution's parameters as torch does: the weight
// from KaimingUniform with A = √5, which is U(−1/√fan_in, 1/√fan_in), then
// the bias [nBias] from the same U(−1/√fan_in, 1/√fan_in). fan_in is
// weight.size(1) times the kernel taps (Fans): in/groups·taps for a
// convolution, out/groups·taps for a transposed one, whose weight is
// [in, out/groups, ...] (torch computes it from the weight's shape in both
// cases).
func convParams(op string, c *convConfig, wshape []int, nBias int) (w, b *autograd.Var) {
	lc := layerOptions(op, c.layer, "WithoutBias", "WithGenerator", "WithDType", "WithDevice")
	wt := tensor.Zeros(wshape, lc.tensorOpts()...)
	KaimingUniform(wt, lc.gen, KaimingOptions{A: math.Sqrt(5)})
	w = autograd.Param(wt)
	if lc.bias {
		fanIn, _ := Fans(wshape)
		bound := 1 / math.Sqrt(float64(fanIn))
		b = autograd.Param(Uniform(tensor.Zeros([]int{nBias}, lc.tensorOpts()...), lc.gen, -bound, bound))
	}
	return w, b
}

// convNewGeometry resolves a constructor's options: the kernel (kernel,
// or ConvKernel) and the geometry, checked.
func convNewGeometry(op string, in, out, kernel int, opts []ConvOption, nd int, allowed []string) (*convConfig, []int, conv2dSpec) {
	c := newConvConfig(op, opts, true, append([]string{"ConvKernel"}, allowed...)...)
	k := convSizes(op, "kernel", c.kernel, nd, kernel)
	for _, v := range k {
		if v < 1 {
			convFail(tensor.ValueError, op, nil, "kernel size %v must be positive", k)
		}
	}
	k2 := [2]int{1, k[0]}
	if nd == 2 {
		k2 = [2]int{k[0], k[1]}
	}
	s := c.spec2d(op, k2, nd)
	convCheckSpec(op, s, nil)
	if in < 1 || out < 1 || in%c.groups != 0 || out%c.groups != 0 {
		convFail(tensor.ValueError, op, nil, "in channels %d and out channels %d must be positive multiples of groups %d", in, out, c.groups)
	}
	return c, k, s
}

// convMembers lists weight and, when present, bias.
func convMembers(w, b *autograd.Var) Members {
	m := Members{Params: []Named[*autograd.Var]{P("weight", w)}}
	if b != nil {
		m.Params = append(m.Params, P("bias", b))
	}
	return m
}

// samePad returns the top/left and bottom/right padding of "same".
func samePad(k, dil int) (int, int) {
	total := dil * (k - 1)
	return total / 2, total - total/2
}

// Conv2d is torch.nn.Conv2d: a 2-D convolution of [N, in, H, W] (or
// [in, H, W]) inputs, computed by FConv2d's im2col.
type Conv2d struct {
	Base
	Weight *autograd.Var // [out, in/groups, kh, kw]
	Bias   *autograd.Var // [out]; nil without bias

	InChannels, OutChannels int
	KernelSize, Stride      [2]int
	Padding                 [2]int // ignored when PaddingSame
	PaddingSame             bool
	Dilation                [2]int
	Groups                  int
	PaddingMode             PaddingMode
}

// NewConv2d returns a convolution from in to out channels with a
// kernel×kernel kernel (ConvKernel for another shape), initialised as torch
// does (see convParams). Options: ConvStride, ConvPadding, ConvPaddingSame,
// ConvDilation, ConvGroups, ConvPaddingMode, ConvKernel, WithoutBias,
// WithGenerator, WithDType, WithDevice.
func NewConv2d(in, out, kernel int, opts ...ConvOption) *Conv2d {
	const op = "nn.NewConv2d"
	c, k, s := convNewGeometry(op, in, out, kernel, opts, 2, convOptsConv)
	w, b := convParams(op, c, []int{out, in / c.groups, k[0], k[1]}, out)
	l := &Conv2d{Weight: w, Bias: b, InChannels: in, OutChannels: out, KernelSize: [2]int{k[0], k[1]},
		Stride: s.stride, PaddingSame: c.same, Dilation: s.dilation, Groups: c.groups, PaddingMode: c.mode}
	if !c.same {
		l.Padding = [2]int{s.pad[0], s.pad[2]}
	}
	return l
}

// Members implements Module: "weight" and, when present, "bias".
func (l *Conv2d) Members() Members { return convMembers(l.Weight, l.Bias) }

func (l *Conv2d) spec() conv2dSpec {
	s := conv2dSpec{stride: l.Stride, dilation: l.Dilation, groups: l.Groups, mode: l.PaddingMode,
		pad: [4]int{l.Padding[0], l.Padding[0], l.Padding[1], l.Padding[1]}}
	if l.PaddingSame {
		s.pad[0], s.pad[1] = samePad(l.KernelSize[0], l.Dilation[0])
		s.pad[2], s.pad[3] = samePad(l.KernelSize[1], l.Dilation[1])
	}
	if s.mode == "" {
		s.mode = PadZeros
	}
	return s
}

// Forward implements Layer.
func (l *Conv2d) Forward(x *autograd.Var) *autograd.Var {
	const op = "nn.Conv2d"
	x4, undo := batch4(op, x)
	return l.RunHooks(l, x, undo(conv2d(op, x4, l.Weight, l.Bias, l.spec())))
}

// String prints the layer as torch's repr does.
func (l *Conv2d) String() string {
	pad := ""
	if l.PaddingSame {
		pad = "same"
	} else if l.Padding != [2]int{} {
		pad = pyTuple(l.Padding[:])
	}
	return "Conv2d(" + convRepr(l.InChannels, l.OutChannels, l.KernelSize[:], l.Stride[:], pad, nil, l.Dilation[:],
		l.Groups, l.Bias != nil, l.PaddingMode) + ")"
}

// convRepr is torch's _ConvNd.extra_repr: the defaults are left out.
func convRepr(in, out int, kernel, stride []int, pad string, outPad, dil []int, groups int, bias bool, mode PaddingMode) string {
	s := fmt.Sprintf("%d, %d, kernel_size=%s, stride=%s", in, out, pyTuple(kernel), pyTuple(stride))
	if pad != "" {
		s += ", padding=" + pad
	}
	for _, d := range dil {
		if d != 1 {
			s += ", dilation=" + pyTuple(dil)
			break
		}
	}
	for _, p := range outPad {
		if p != 0 {
			s += ", output_padding=" + pyTuple(outPad)
			break
		}
	}
	if groups != 1 {
		s += fmt.Sprintf(", groups=%d", groups)
	}
	if !bias {
		s += ", bias=False"
	}
	if mode != PadZeros && mode != "" {
		s += ", padding_mode=" + string(mode)
	}
	return s
}

// Conv1d is torch.nn.Conv1d: a 1-D convolution of [N, in, L] (or [in, L])
// inputs.
type Conv1d struct {
	Base
	Weight *autograd.Var // [out, in/groups, k]
	Bias   *autograd.Var // [out]; nil without bias

	InChannels, OutChannels int
	KernelSize, Stride      int
	Padding                 int // ignored when PaddingSame
	PaddingSame             bool
	Dilation                int
	Groups                  int
	PaddingMode             PaddingMode
}

// NewConv1d returns a 1-D convolution from in to out channels, initialised
// as torch does (see convParams). It takes NewConv2d's options, each with
// one value.
func NewConv1d(in, out, kernel int, opts ...ConvOption) *Conv1d {
	const op = "nn.NewConv1d"
	c, k, s := convNewGeometry(op, in, out, kernel, opts, 1, convOptsConv)
	w, b := convParams(op, c, []int{out, in / c.groups, k[0]}, out)
	l := &Conv1d{Weight: w, Bias: b, InChannels: in, OutChannels: out, KernelSize: k[0], Stride: s.stride[1],
		PaddingSame: c.same, Dilation: s.dilation[1], Groups: c.groups, PaddingMode: c.mode}
	if !c.same {
		l.Padding = s.pad[2]
	}
	return l
}

// Members implements Module: "weight" and, when present, "bias".
func (l *Conv1d) Members() Members { return convMembers(l.Weight, l.Bias) }

// Forward implements Layer.
func (l *Conv1d) Forward(x *autograd.Var) *autograd.Var {
	s := conv2dSpec{stride: [2]int{1, l.Stride}, dilation: [2]int{1, l.Dilation}, groups: l.Groups, mode: l.PaddingMode,
		pad: [4]int{0, 0, l.Padding, l.Padding}}
	if l.PaddingSame {
		s.pad[2], s.pad[3] = samePad(l.KernelSize, l.Dilation)
	}
	if s.mode == "" {
		s.mode = PadZeros
	}
	return l.RunHooks(l, x, conv1d("nn.Conv1d", x, l.Weight, l.Bias, s))
}

// String prints the layer as torch's repr does.
func (l *Conv1d) String() string {
	pad := ""
	if l.PaddingSame {
		pad = "same"
	} else if l.Padding != 0 {
		pad = pyTuple([]int{l.Padding})
	}
	return "Conv1d(" + convRepr(l.InChannels, l.OutChannels, []int{l.KernelSize}, []int{l.Stride}, pad, nil,
		[]int{l.Dilation}, l.Groups, l.Bias != nil, l.PaddingMode) + ")"
}

// ConvTranspose2d is torch.nn.ConvTranspose2d: the adjoint of a Conv2d
// (a "deconvolution"), mapping [N, in, H, W] (or [in, H, W]) to out
// channels; see FConvTranspose2d.
type ConvTranspose2d struct {
	Base
	Weight *autograd.Var // [in, out/groups, kh, kw]
	Bias   *autograd.Var // [out]; nil without bias

	InChannels, OutChannels int
	KernelSize, Stride      [2]int
	Padding, OutputPadding  [2]int
	Dilation                [2]int
	Groups                  int
}

// NewConvTranspose2d returns a transposed convolution from in to out
// channels, initialised as torch does (see convParams: fan_in is
// out/groups·kh·kw, from the weight's shape). Options: ConvStride,
// ConvPadding, ConvOutputPadding, ConvDilation, ConvGroups, ConvKernel,
// WithoutBias, WithGenerator, WithDType, WithDevice.
func NewConvTranspose2d(in, out, kernel int, opts ...ConvOption) *ConvTranspose2d {
	const op = "nn.NewConvTranspose2d"
	c, k, s := convNewGeometry(op, in, out, kernel, opts, 2, convOptsTranspose)
	w, b := convParams(op, c, []int{in, out / c.groups, k[0], k[1]}, out)
	return &ConvTranspose2d{Weight: w, Bias: b, InChannels: in, OutChannels: out, KernelSize: [2]int{k[0], k[1]},
		Stride: s.stride, Padding: [2]int{s.pad[0], s.pad[2]}, OutputPadding: s.outPad, Dilation: s.dilation, Groups: c.groups}
}

// Members implements Module: "weight" and, when present, "bias".
func (l *ConvTranspose2d) Members() Members { return convMembers(l.Weight, l.Bias) }

// Forward implements Layer.
func (l *ConvTranspose2d) Forward(x *autograd.Var) *autograd.Var {
	const op = "nn.ConvTranspose2d"
	s := conv2dSpec{stride: l.Stride, dilation: l.Dilation, groups: l.Groups, mode: PadZeros, outPad: l.OutputPadding,
		pad: [4]int{l.Padding[0], l.Padding[0], l.Padding[1], l.Padding[1]}}
	x4, undo := batch4(op, x)
	return l.RunHooks(l, x, undo(convTranspose2d(op, x4, l.Weight, l.Bias, s)))
}

// String prints the layer as torch's repr does.
func (l *ConvTranspose2d) String() string {
	pad := ""
	if l.Padding != [2]int{} {
		pad = pyTuple(l.Padding[:])
	}
	return "ConvTranspose2d(" + convRepr(l.InChannels, l.OutChannels, l.KernelSize[:], l.Stride[:], pad,
		l.OutputPadding[:], l.Dilation[:], l.Groups, l.Bias != nil, PadZeros) + ")"
}
