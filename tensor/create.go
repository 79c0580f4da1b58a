package tensor

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/backend"
)

// Option configures a tensor made by a creation function.
type Option func(*config)

type config struct {
	dtype  DType
	device Device
	set    bool // dtype given explicitly
}

// WithDType makes the new tensor of dtype d.
func WithDType(d DType) Option { return func(c *config) { c.dtype, c.set = d, true } }

// WithDevice places the new tensor on device d.
func WithDevice(d Device) Option { return func(c *config) { c.device = d } }

func configure(op string, def DType, opts []Option) (config, backend.Backend) {
	c := config{dtype: def, device: CPU}
	for _, o := range opts {
		o(&c)
	}
	if !c.dtype.Valid() {
		fail(DTypeError, op, nil, "invalid dtype %v", c.dtype)
	}
	return c, mustBackend(op, c.device)
}

func mustBackend(op string, d Device) backend.Backend {
	be, err := backend.Get(d)
	if err != nil {
		panic(&Error{Kind: DeviceError, Op: op, Msg: err.Error()})
	}
	return be
}

// Zeros returns a tensor of shape filled with 0 (float32 unless WithDType).
func Zeros(shape []int, opts ...Option) *Tensor {
	c, be := configure("Zeros", Float32, opts)
	return empty(be, c.dtype, shape)
}

// Ones returns a tensor of shape filled with 1.
func Ones(shape []int, opts ...Option) *Tensor { return Full(shape, 1, opts...) }

// Full returns a tensor of shape filled with v.
func Full(shape []int, v float64, opts ...Option) *Tensor {
	c, be := configure("Full", Float32, opts)
	t := empty(be, c.dtype, shape)
	if v != 0 {
		be.Fill(t.buf, t.Layout(), v)
	}
	return t
}

// Scalar returns a 0-d tensor holding v.
func Scalar(v float64, opts ...Option) *Tensor { return Full(nil, v, opts...) }

// ZerosLike returns zeros of t's shape, dtype and device.
func ZerosLike(t *Tensor) *Tensor { return empty(t.be, t.dtype, t.shape) }

// OnesLike returns ones of t's shape, dtype and device.
func OnesLike(t *Tensor) *Tensor { return FullLike(t, 1) }

// FullLike returns a tensor of t's shape, dtype and device filled with v.
func FullLike(t *Tensor, v float64) *Tensor {
	u := empty(t.be, t.dtype, t.shape)
	if v != 0 {
		t.be.Fill(u.buf, u.Layout(), v)
	}
	return u
}

// Element is a Go type that FromSlice accepts.
type Element interface {
	float32 | float64 | int | int32 | int64 | bool
}

// FromSlice copies data into a new CPU tensor of the given shape (1-D when
// shape is omitted). The dtype follows the Go type: float32, float64, int32,
// int64 (also for int) or bool. Use Cast or To to change dtype or device.
func FromSlice[T Element](data []T, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	if n := backend.NumElements(shape); n != len(data) {
		fail(ShapeError, "FromSlice", [][]int{shape}, "shape holds %d elements, data has %d", n, len(data))
	}
	var host any
	var dt DType
	switch d := any(data).(type) {
	case []float32:
		host, dt = d, Float32
	case []float64:
		host, dt = d, Float64
	case []int32:
		host, dt = d, Int32
	case []int64:
		host, dt = d, Int64
	case []bool:
		host, dt = d, Bool
	case []int:
		s := make([]int64, len(d))
		for i, v := range d {
			s[i] = int64(v)
		}
		host, dt = s, Int64
	}
	be := mustBackend("FromSlice", CPU)
	t := empty(be, dt, shape)
	if err := be.Write(t.buf, 0, host); err != nil {
		panic(&Error{Kind: DeviceError, Op: "FromSlice", Shapes: [][]int{shape}, Msg: err.Error()})
	}
	return t
}

// Arange returns the 1-D tensor [start, start+step, ...) up to but excluding
// end, like torch.arange. The dtype is Int64 when start, end and step are
// whole numbers and no WithDType is given, Float32 otherwise.
func Arange(start, end, step float64, opts ...Option) *Tensor {
	if step == 0 || math.IsNaN(step) || math.IsInf(start, 0) || math.IsInf(end, 0) {
		fail(ValueError, "Arange", nil, "bad range start=%v end=%v step=%v", start, end, step)
	}
	def := Float32
	if start == math.Trunc(start) && end == math.Trunc(end) && step == math.Trunc(step) {
		def = Int64
	}
	c, be := configure("Arange", def, opts)
	n := int(math.Ceil((end - start) / step))
	if n < 0 {
		n = 0
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = start + float64(i)*step
	}
	return fromFloat64s(be, c.dtype, vals, []int{n})
}

// Linspace returns steps evenly spaced values from start to end inclusive.
func Linspace(start, end float64, steps int, opts ...Option) *Tensor {
	if steps < 0 {
		fail(ValueError, "Linspace", nil, "negative number of steps %d", steps)
	}
	c, be := configure("Linspace", Float32, opts)
	vals := make([]float64, steps)
	if steps == 1 {
		vals[0] = start
	}
	if steps > 1 {
		d := (end - start) / float64(steps-1)
		// Fill symmetrically from both ends, as PyTorch does, so the last
		// value is exactly end.
		half := steps / 2
		for i := 0; i < steps; i++ {
			if i < half {
				vals[i] = start + d*float64(i)
			} else {
				vals[i] = end - d*float64(steps-1-i)
			}
		}
	}
	return fromFloat64s(be, c.dtype, vals, []int{steps})
}

// Eye returns the n×n identity matrix.
func Eye(n int, opts ...Option) *Tensor {
	if n < 0 {
		fail(ValueError, "Eye", nil, "negative size %d", n)
	}
	c, be := configure("Eye", Float32, opts)
	t := empty(be, c.dtype, []int{n, n})
	// The diagonal is a strided view with stride n+1.
	diag := t.view([]int{n}, []int{n + 1}, 0)
	be.Fill(diag.buf, diag.Layout(), 1)
	return t
}

// fromFloat64s uploads host values converted to dt.
func fromFloat64s(be backend.Backend, dt DType, vals []float64, shape []int) *Tensor {
	cpuBE := mustBackend("New", CPU)
	src := empty(cpuBE, Float64, shape)
	if err := cpuBE.Write(src.buf, 0, vals); err != nil {
		panic(fmt.Sprintf("tensor: internal error: %v", err))
	}
	return src.Cast(dt).To(be.Device())
}

// Cast returns t converted to dtype dt (t itself when it already has it).
// Float to integer conversion truncates toward zero; to Bool is x != 0.
func (t *Tensor) Cast(dt DType) *Tensor {
	if !dt.Valid() {
		fail(DTypeError, "Cast", shapesOf(t), "invalid dtype %v", dt)
	}
	if dt == t.dtype {
		return t
	}
	out := emptyUninit(t.be, dt, t.shape)
	t.be.Copy(out.buf, out.Layout(), t.buf, t.Layout())
	return out
}

// Contiguous returns t if it is already dense and row-major, else a
// row-major copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a row-major copy of t that shares no storage with it.
func (t *Tensor) Clone() *Tensor {
	out := emptyUninit(t.be, t.dtype, t.shape)
	t.be.Copy(out.buf, out.Layout(), t.buf, t.Layout())
	return out
}

// CopyFrom copies src's values (broadcast to t's shape, converted to t's
// dtype) into t's elements in place. t must not overlap src except exactly.
func (t *Tensor) CopyFrom(src *Tensor) {
	if src.be != t.be {
		src = src.To(t.Device())
	}
	s := src.BroadcastTo(t.shape...)
	t.be.Copy(t.buf, t.Layout(), s.buf, s.Layout())
}

// Fill_ sets every element of t to v in place.
func (t *Tensor) Fill_(v float64) { t.be.Fill(t.buf, t.Layout(), v) }

// To returns t on device d, copying through host memory when the device
// differs, or t itself.
func (t *Tensor) To(d Device) *Tensor {
	if d == t.Device() {
		return t
	}
	be := mustBackend("To", d)
	c := t.Contiguous()
	host := hostSlice(c.dtype, c.Numel())
	if c.Numel() == 0 {
		return empty(be, t.dtype, t.shape)
	}
	if err := c.be.Read(c.buf, c.offset, host); err != nil {
		panic(deviceFailure("To", shapesOf(t), err))
	}
	out := emptyUninit(be, t.dtype, t.shape)
	if err := be.Write(out.buf, 0, host); err != nil {
		panic(&Error{Kind: DeviceError, Op: "To", Shapes: shapesOf(t), Msg: err.Error()})
	}
	return out
}

// hostSlice makes the Go slice type that Backend.Read and Write take for dt.
func hostSlice(dt DType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Float16, BFloat16:
		return make([]uint16, n)
	case Int32:
		return make([]int32, n)
	case Int64:
		return make([]int64, n)
	case Bool:
		return make([]bool, n)
	}
	panic("tensor: invalid dtype")
}
