package tensor

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tessera-ml/tessera/backend"
)

// Printing follows PyTorch's repr (torch/_tensor_str.py) with its default
// print options, so that a tensor prints here as the same tensor prints in
// Python:
//
//	tensor([[1.0000, 2.5000],
//	        [3.0000, 4.0000]])
//
// The rules, as in PyTorch:
//   - Floats whose finite values are all whole numbers print as "1., 2.";
//     others print in fixed notation with 4 decimals, or in scientific
//     notation ("1.0000e+08") when the largest finite nonzero magnitude is
//     over 1000 times the smallest, over 1e8, or (when not all whole) the
//     smallest is under 1e-4. NaN and infinities print as nan, inf, -inf.
//   - Integers print as integers, bools as True and False.
//   - Every element is padded to a common width; rows longer than 80
//     columns wrap.
//   - A tensor of more than 1000 elements is summarised: along every axis
//     longer than 6 only the first and last 3 entries are shown, with "..."
//     between.
//   - The dtype is named (", dtype=torch.float64") unless it is float32,
//     int64 or bool; a device other than the CPU is named
//     (", device='cuda:0'"); an empty tensor of other than one dimension
//     shows its size (", size=(0, 3)"), and its dtype unless float32.

// printOptions mirrors torch's PRINT_OPTS.
type printOptions struct {
	precision int     // digits after the point in fixed and scientific notation
	threshold int     // tensors of more elements are summarised
	edgeItems int     // entries kept at each end of a summarised axis
	lineWidth int     // columns before a row wraps
	sci       sciMode // torch's sci_mode: automatic, forced on, forced off
	upper     bool    // print E (and NAN, INF) for %E and %G
}

type sciMode int8

const (
	sciAuto sciMode = iota
	sciOn
	sciOff
)

// defaultPrint holds PyTorch's default print options.
var defaultPrint = printOptions{precision: 4, threshold: 1000, edgeItems: 3, lineWidth: 80}

// String returns the tensor as PyTorch's repr prints it, for instance
// "tensor([1.0000, 2.5000])" or "tensor([1, 2], dtype=torch.int32)".
// It copies the elements it shows to the host.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil>"
	}
	return t.repr(defaultPrint)
}

// Format implements fmt.Formatter:
//
//	%v, %s, %d  PyTorch's repr, the same as String
//	%f, %F      floats in fixed notation (torch's sci_mode=False)
//	%e, %E      floats in scientific notation (torch's sci_mode=True)
//	%g, %G      like %v (the notation is chosen from the values)
//	%q          the repr as a double-quoted Go string
//
// A precision sets the digits printed after the decimal point (4 by
// default): %.2v, %.2f, %.6e. Integer and bool tensors ignore it. The plus
// flag, %+v, prints a first line with the layout before the repr:
//
//	shape=[2 3] dtype=float32 device=cpu strides=[3 1] offset=0
//	tensor([[1.0000, 2.0000, 3.0000],
//	        [4.0000, 5.0000, 6.0000]])
//
// A width is ignored.
func (t *Tensor) Format(f fmt.State, verb rune) {
	if t == nil {
		io.WriteString(f, "<nil>")
		return
	}
	o := defaultPrint
	switch verb {
	case 'v', 's', 'd', 'q', 'g':
	case 'G':
		o.upper = true
	case 'f', 'F':
		o.sci = sciOff
	case 'e', 'E':
		o.sci, o.upper = sciOn, verb == 'E'
	default:
		fmt.Fprintf(f, "%%!%c(*tensor.Tensor=%s)", verb, t.repr(o))
		return
	}
	if p, ok := f.Precision(); ok {
		o.precision = p
	}
	if verb == 'v' && f.Flag('+') {
		fmt.Fprintf(f, "shape=%s dtype=%v device=%v strides=%s offset=%d\n",
			shapeString(t.shape), t.dtype, t.Device(), shapeString(t.strides), t.offset)
	}
	s := t.repr(o)
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s)
}

// repr is torch's _str_intern for a plain strided tensor.
func (t *Tensor) repr(o printOptions) string {
	const prefix = "tensor("
	indent := len(prefix)
	var suffixes []string
	if d := t.Device(); d.Type != backend.CPU {
		suffixes = append(suffixes, "device='"+d.String()+"'")
	}
	var body string
	if t.Numel() == 0 {
		// Like NumPy, an empty tensor shows its size unless it is 1-D, and
		// its dtype unless it is the default: there are no elements to tell.
		if t.Dim() != 1 {
			suffixes = append(suffixes, "size="+pyTuple(t.shape))
		}
		if t.dtype != Float32 {
			suffixes = append(suffixes, "dtype=torch."+t.dtype.String())
		}
		body = "[]"
	} else {
		if t.dtype != Float32 && t.dtype != Int64 && t.dtype != Bool {
			suffixes = append(suffixes, "dtype=torch."+t.dtype.String())
		}
		body = t.bodyString(indent, o)
	}
	return addSuffixes(prefix+body, suffixes, indent, o.lineWidth)
}

// bodyString is torch's _tensor_str for a tensor with elements.
func (t *Tensor) bodyString(indent int, o printOptions) string {
	shape, cut, vals := t.printData(t.Numel() > o.threshold, o.edgeItems)
	var strs []string
	var width int
	switch {
	case vals.f != nil:
		strs, width = formatFloats(vals.f, o)
	case vals.i != nil:
		strs, width = formatInts(vals.i)
	default:
		strs, width = formatBools(vals.b)
	}
	p := printer{edge: o.edgeItems, width: width, lineWidth: o.lineWidth}
	return p.layout(strs, shape, cut, indent)
}

// printVals holds the elements to print: exactly one slice is non-nil.
type printVals struct {
	f []float64 // floating dtypes
	i []int64   // integer dtypes, kept exact beyond 2^53
	b []bool
}

// printData copies to the host the elements that will be printed, in
// row-major order over the returned shape. With summarize, every axis
// longer than 2*edge keeps only its first and last edge entries (cut[a]
// marks those axes), as torch's get_summarized_data does; the kept part is
// read as one strided block per combination of ends, so a huge tensor is
// never copied whole.
func (t *Tensor) printData(summarize bool, edge int) (shape []int, cut []bool, v printVals) {
	shape = t.Shape()
	cut = make([]bool, len(shape))
	var cutAxes []int
	for a, n := range shape {
		if summarize && n > 2*edge {
			shape[a], cut[a] = 2*edge, true
			cutAxes = append(cutAxes, a)
		}
	}
	if len(cutAxes) == 0 {
		return shape, cut, readPrintVals(t)
	}
	total := backend.NumElements(shape)
	switch {
	case t.dtype.IsFloat():
		v.f = make([]float64, total)
	case t.dtype == Bool:
		v.b = make([]bool, total)
	default:
		v.i = make([]int64, total)
	}
	strides := make([]int, len(shape))
	s := 1
	for a := len(shape) - 1; a >= 0; a-- {
		strides[a] = s
		s *= shape[a]
	}
	for mask := 0; mask < 1<<len(cutAxes); mask++ {
		blk, off := t, 0
		for j, a := range cutAxes {
			start := 0
			if mask>>j&1 == 1 {
				start = t.shape[a] - edge
				off += edge * strides[a]
			}
			blk = blk.Narrow(a, start, edge)
		}
		bv := readPrintVals(blk)
		switch {
		case v.f != nil:
			scatter(v.f, bv.f, blk.shape, strides, off)
		case v.b != nil:
			scatter(v.b, bv.b, blk.shape, strides, off)
		default:
			scatter(v.i, bv.i, blk.shape, strides, off)
		}
	}
	return shape, cut, v
}

// readPrintVals copies all of t's elements to the host, row-major.
func readPrintVals(t *Tensor) printVals {
	switch {
	case t.dtype.IsFloat():
		return printVals{f: t.Float64s()}
	case t.dtype == Bool:
		return printVals{b: t.Bools()}
	}
	return printVals{i: t.Int64s()}
}

// scatter copies src, the row-major elements of a block of the given shape,
// into dst, whose row-major strides are strides, starting at offset off.
func scatter[T any](dst, src []T, shape, strides []int, off int) {
	idx := make([]int, len(shape))
	p := off
	for _, x := range src {
		dst[p] = x
		for a := len(shape) - 1; a >= 0; a-- {
			idx[a]++
			p += strides[a]
			if idx[a] < shape[a] {
				break
			}
			p -= idx[a] * strides[a]
			idx[a] = 0
		}
	}
}

// formatFloats is torch's _Formatter for a floating tensor: it picks the
// notation from the finite nonzero values and returns every value formatted
// and padded to the common width.
func formatFloats(vals []float64, o printOptions) ([]string, int) {
	prec := o.precision
	intMode, sci, width := true, false, 1
	lo, hi, n := 0.0, 0.0, 0
	for _, v := range vals {
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		a := math.Abs(v)
		if n == 0 || a < lo {
			lo = a
		}
		if n == 0 || a > hi {
			hi = a
		}
		n++
		if v != math.Ceil(v) {
			intMode = false
		}
	}
	if n > 0 {
		sci = hi/lo > 1000 || hi > 1e8 || (!intMode && lo < 1e-4)
		for _, v := range vals {
			if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			var s string
			switch {
			case sci:
				s = floatString(v, 'e', prec)
			case intMode:
				s = floatString(v, 'f', 0) + "."
			default:
				s = floatString(v, 'f', prec)
			}
			width = max(width, len(s))
		}
		// Like torch, a forced notation changes how values print but not
		// the width chosen above, and only when some value is finite and
		// nonzero.
		switch o.sci {
		case sciOn:
			sci = true
		case sciOff:
			sci = false
		}
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		var s string
		switch {
		case sci:
			s = floatString(v, 'e', prec)
		case intMode:
			s = floatString(v, 'f', 0)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				s += "."
			}
		default:
			s = floatString(v, 'f', prec)
		}
		if o.upper {
			s = strings.ToUpper(s)
		}
		out[i] = padLeft(s, width)
	}
	return out, width
}

// floatString formats v like Python's format(v, ".{prec}{fmt}"): the same
// digits as strconv, but nan, inf and -inf for the special values.
func floatString(v float64, verb byte, prec int) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, verb, prec, 64)
}

func formatInts(vals []int64) ([]string, int) {
	out := make([]string, len(vals))
	width := 1
	for i, v := range vals {
		out[i] = strconv.FormatInt(v, 10)
		width = max(width, len(out[i]))
	}
	for i := range out {
		out[i] = padLeft(out[i], width)
	}
	return out, width
}

func formatBools(vals []bool) ([]string, int) {
	out := make([]string, len(vals))
	width := 4
	for _, v := range vals {
		if !v {
			width = 5
			break
		}
	}
	for i, v := range vals {
		s := "True"
		if !v {
			s = "False"
		}
		out[i] = padLeft(s, width)
	}
	return out, width
}

func padLeft(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return strings.Repeat(" ", width-len(s)) + s
}

// printer lays formatted elements out in nested brackets, as torch's
// _tensor_str_with_formatter and _vector_str do.
type printer struct {
	edge      int // entries shown at each end of a summarised axis
	width     int // the formatter's element width
	lineWidth int
}

// layout prints strs, the row-major elements of a tensor of the given shape,
// whose first line starts after indent columns. cut marks the axes that
// were summarised to their first and last p.edge entries.
func (p printer) layout(strs []string, shape []int, cut []bool, indent int) string {
	switch len(shape) {
	case 0:
		return strs[0]
	case 1:
		return p.vector(strs, cut[0], indent)
	}
	blk := len(strs) / shape[0]
	slices := make([]string, 0, shape[0]+1)
	for i := 0; i < shape[0]; i++ {
		if cut[0] && i == p.edge {
			slices = append(slices, "...")
		}
		slices = append(slices, p.layout(strs[i*blk:(i+1)*blk], shape[1:], cut[1:], indent+1))
	}
	sep := "," + strings.Repeat("\n", len(shape)-1) + strings.Repeat(" ", indent+1)
	return "[" + strings.Join(slices, sep) + "]"
}

// vector prints one row, wrapping it to the line width.
func (p printer) vector(strs []string, cut bool, indent int) string {
	perLine := max(1, (p.lineWidth-indent)/(p.width+2))
	data := strs
	if cut {
		data = make([]string, 0, len(strs)+1)
		data = append(data, strs[:p.edge]...)
		data = append(data, " ...")
		data = append(data, strs[p.edge:]...)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range data {
		if i > 0 {
			if i%perLine == 0 {
				b.WriteString(",\n")
				b.WriteString(strings.Repeat(" ", indent+1))
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	return b.String()
}

// addSuffixes appends ", suffix" for each suffix, starting a new line
// indented by indent where the current one would pass the line width, and
// closes the parenthesis (torch's _add_suffixes).
func addSuffixes(s string, suffixes []string, indent, lineWidth int) string {
	var b strings.Builder
	b.WriteString(s)
	last := len(s) - strings.LastIndexByte(s, '\n') + 1
	for _, x := range suffixes {
		if last+len(x)+2 > lineWidth {
			b.WriteString(",\n")
			b.WriteString(strings.Repeat(" ", indent))
			b.WriteString(x)
			last = indent + len(x)
		} else {
			b.WriteString(", ")
			b.WriteString(x)
			last += len(x) + 2
		}
	}
	b.WriteByte(')')
	return b.String()
}

// pyTuple prints a shape as a Python tuple: (0, 3), (0,), ().
func pyTuple(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
