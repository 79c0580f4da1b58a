package cpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tessera-ml/tessera/backend"
)

// fastIdx returns an int64 buffer of n indices in [0, limit).
func fastIdx(r *rand.Rand, n, limit int) *Buffer {
	b := NewBuffer(backend.Int64, n)
	for i := range b.I64 {
		b.I64[i] = int64(r.IntN(max(limit, 1)))
	}
	return b
}

// fastErrs runs fn with the fast paths off and on and fails unless both
// return the same error (or none).
func fastErrs(t *testing.T, name string, fn func() error) {
	t.Helper()
	var want, got error
	withFast(false, func() { want = fn() })
	withFast(true, func() { got = fn() })
	if (want == nil) != (got == nil) || want != nil && want.Error() != got.Error() {
		t.Fatalf("%s: fast error %v, reference error %v", name, got, want)
	}
}

// Gather, IndexSelect and ScatterAdd (float32) give exactly the reference's
// results, and the same errors, on every layout, with indices expanded over
// other axes (stride 0) as convolutions pass them.
func TestFastIndexMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	type tc struct {
		src, idx []int
		axis     int
	}
	cases := []tc{
		{[]int{5, 0}, []int{5, 0}, 0}, {[]int{1}, []int{3}, 0}, {[]int{6, 7}, []int{6, 7}, 1},
		{[]int{4, 3, 50}, []int{4, 3, 90}, 2}, {[]int{30, 17}, []int{45, 17}, 0}, {[]int{3, 20, 9}, []int{3, 11, 9}, 1},
	}
	for _, c := range cases {
		limit := c.src[c.axis]
		for i, sk := range fastKinds {
			sl, sn := ktLayout(c.src, sk)
			src := fastVals(r, sn, 1, true)
			for j, ik := range fastKinds {
				il, in := ktLayout(c.idx, ik)
				idx := fastIdx(r, in, limit)
				dl, dn := ktLayout(c.idx, fastOutKinds[(i+j)%len(fastOutKinds)])
				name := fastName("shape ", c.src, " idx ", c.idx, " axis ", c.axis, " src ", sk, " idx ", ik)
				want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) {
					if err := Default.Gather(d, dl, src, sl, idx, il, c.axis); err != nil {
						t.Fatalf("Gather %s: %v", name, err)
					}
				})
				fastCheckF32(t, "Gather "+name, want, got, fastExact)
				// ScatterAdd src (the "src" above) into a dst shaped like c.src
				// with idx's layout; dst must be no shorter than idx off axis.
				scShape := append([]int(nil), c.idx...)
				scShape[c.axis] = limit
				scl, scn := ktLayout(scShape, fastOutKinds[j%len(fastOutKinds)])
				vals, vl := src, sl
				if !sameShape(c.src, c.idx) {
					var vn int
					vl, vn = ktLayout(c.idx, sk)
					vals = fastVals(r, vn, 1, true)
				}
				want, got = fastRefAndFast(fastVals(r, scn, 1, false), func(d *Buffer) {
					if err := Default.ScatterAdd(d, scl, idx, il, vals, vl, c.axis); err != nil {
						t.Fatalf("ScatterAdd %s: %v", name, err)
					}
				})
				fastCheckF32(t, "ScatterAdd "+name, want, got, fastExact)
			}
			// IndexSelect with a 1-D index of another length.
			n := 2*limit + 1
			for _, ik := range []ktKind{ktContig, ktPadded, ktBroadcast} {
				il, in := ktLayout([]int{n}, ik)
				idx := fastIdx(r, in, limit)
				dshape := append([]int(nil), c.src...)
				dshape[c.axis] = n
				dl, dn := ktLayout(dshape, fastOutKinds[i%len(fastOutKinds)])
				want, got := fastRefAndFast(fastVals(r, dn, 1, false), func(d *Buffer) {
					if err := Default.IndexSelect(d, dl, src, sl, idx, il, c.axis); err != nil {
						t.Fatalf("IndexSelect: %v", err)
					}
				})
				fastCheckF32(t, fastName("IndexSelect shape ", c.src, " axis ", c.axis, " src ", sk, " idx ", ik), want, got, fastExact)
			}
		}
	}
}

func sameShape(a, b []int) bool { return slices.Equal(a, b) }

// Out-of-range indices give the reference's error (naming the first
// offender in row-major order), also when the index is expanded (stride 0)
// and the offender sits past the first position of a broadcast axis.
func TestFastIndexErrors(t *testing.T) {
	const n, c, k = 3, 4, 50
	src := NewBuffer(backend.Float32, n*c*k)
	sl := backend.Contiguous([]int{n, c, k})
	base := NewBuffer(backend.Int64, 2*k)
	il := backend.Layout{Shape: []int{n, c, k}, Strides: []int{0, 0, 1}, Offset: k}
	dst := NewBuffer(backend.Float32, n*c*k)
	for _, bad := range []struct{ at, v int }{{k + 7, k}, {k + 49, -1}, {k + 3, 1 << 40}, {5, k}} {
		clear(base.I64)
		base.I64[bad.at] = int64(bad.v)
		fastErrs(t, "Gather", func() error { return Default.Gather(dst, sl, src, sl, base, il, 2) })
		fastErrs(t, "ScatterAdd", func() error { return Default.ScatterAdd(dst, sl, base, il, src, sl, 2) })
		l1 := backend.Layout{Shape: []int{k}, Strides: []int{1}, Offset: k}
		fastErrs(t, "IndexSelect", func() error { return Default.IndexSelect(dst, sl, src, sl, base, l1, 2) })
		strided := backend.Layout{Shape: []int{n, c, k / 2}, Strides: []int{0, 0, 2}, Offset: k}
		dl := backend.Contiguous([]int{n, c, k / 2})
		fastErrs(t, "Gather strided", func() error { return Default.Gather(dst, dl, src, sl, base, strided, 2) })
	}
}

// ScatterAdd of whole rows (the index constant along the contiguous axis,
// as IndexSelect's backward expands it) and validation of an index whose
// rows are contiguous but not adjacent.
func TestFastScatterAddRows(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	const v, n, d = 10, 20, 33
	dl := backend.Contiguous([]int{v, d})
	sl := backend.Contiguous([]int{n, d})
	src := fastVals(r, n*d, 1, true)
	rows := fastIdx(r, 40*n, v)
	for _, il := range []backend.Layout{
		{Shape: []int{n, d}, Strides: []int{1, 0}},
		{Shape: []int{n, d}, Strides: []int{40, 1}, Offset: 3},
	} {
		want, got := fastRefAndFast(fastVals(r, v*d, 1, false), func(dst *Buffer) {
			if err := Default.ScatterAdd(dst, dl, rows, il, src, sl, 0); err != nil {
				t.Fatal(err)
			}
		})
		fastCheckF32(t, fastName("ScatterAdd rows, idx strides ", il.Strides), want, got, fastExact)
		bad := fastClone(rows)
		bad.I64[il.Offset+(n-1)*il.Strides[0]+(d-1)*il.Strides[1]] = v
		fastErrs(t, "ScatterAdd rows", func() error { return Default.ScatterAdd(fastVals(r, v*d, 1, false), dl, bad, il, src, sl, 0) })
	}
}
