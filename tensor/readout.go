package tensor

// read copies t, converted to dt, into a new host slice in row-major order.
func (t *Tensor) read(op string, dt DType) any {
	c := t.Cast(dt).Contiguous()
	host := hostSlice(dt, c.Numel())
	if c.Numel() == 0 {
		return host
	}
	if err := c.be.Read(c.buf, c.offset, host); err != nil {
		panic(deviceFailure(op, shapesOf(t), err))
	}
	return host
}

// Float32s copies the elements to a new []float32 in row-major order,
// converting from t's dtype.
func (t *Tensor) Float32s() []float32 { return t.read("Float32s", Float32).([]float32) }

// Float64s copies the elements to a new []float64 in row-major order.
func (t *Tensor) Float64s() []float64 { return t.read("Float64s", Float64).([]float64) }

// Int64s copies the elements to a new []int64 (floats truncate toward zero).
func (t *Tensor) Int64s() []int64 { return t.read("Int64s", Int64).([]int64) }

// Ints copies the elements to a new []int (floats truncate toward zero).
func (t *Tensor) Ints() []int {
	v := t.Int64s()
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Bools copies the elements to a new []bool (x != 0).
func (t *Tensor) Bools() []bool { return t.read("Bools", Bool).([]bool) }

// Item returns the value of a one-element tensor as a float64.
func (t *Tensor) Item() float64 {
	if t.Numel() != 1 {
		fail(ShapeError, "Item", shapesOf(t), "only a one-element tensor has an item, this has %d", t.Numel())
	}
	return t.Float64s()[0]
}

// At returns the element at the given index (one entry per axis, negative
// entries counting from the end) as a float64.
func (t *Tensor) At(index ...int) float64 {
	if len(index) != t.Dim() {
		fail(IndexError, "At", shapesOf(t), "index %v has %d entries for %d dimensions", index, len(index), t.Dim())
	}
	off := t.offset
	for i, x := range index {
		n := t.shape[i]
		if x < -n || x >= n {
			fail(IndexError, "At", shapesOf(t), "index %d out of range for axis %d of length %d", x, i, n)
		}
		if x < 0 {
			x += n
		}
		off += x * t.strides[i]
	}
	return t.view(nil, nil, off).Item()
}
