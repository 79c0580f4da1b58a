package data

import (
	"fmt"
	"math"

	"github.com/tessera-ml/tessera/tensor"
)

// Example is one sample of a dataset: an input X and its target Y. Y is nil
// for datasets without targets.
type Example struct {
	X, Y *tensor.Tensor
}

// Batch is a group of examples joined along a new leading axis: X is
// [B, ...] and Y is [B, ...] (or nil). Index holds the dataset positions of
// the batch's rows, in order.
type Batch struct {
	X, Y  *tensor.Tensor
	Index []int
}

// Dataset is an indexed collection of examples, like PyTorch's map-style
// torch.utils.data.Dataset. Get must be safe to call from several
// goroutines at once (a Loader with workers does) and is called with
// 0 <= i < Len().
type Dataset interface {
	Len() int
	Get(i int) Example
}

// Batcher is implemented by datasets that build a whole batch at once, faster
// than getting each example and stacking them. A Loader without a custom
// collate function uses it. Batch(idx) must equal DefaultCollate applied to
// the examples at idx (the Loader fills in Index itself).
type Batcher interface {
	Batch(idx []int) Batch
}

// Collate joins examples into a batch.
type Collate func(examples []Example) Batch

// DefaultCollate stacks the examples' X tensors into the batch's X, and
// their Y tensors into its Y, along a new leading axis: n labels of shape []
// become one tensor of shape [n]. Either every example has a Y or none does.
func DefaultCollate(examples []Example) Batch {
	if len(examples) == 0 {
		panic("data.DefaultCollate: no examples")
	}
	xs := make([]*tensor.Tensor, len(examples))
	var ys []*tensor.Tensor
	if examples[0].Y != nil {
		ys = make([]*tensor.Tensor, len(examples))
	}
	for i, e := range examples {
		if (e.Y != nil) != (ys != nil) {
			panic(fmt.Sprintf("data.DefaultCollate: example %d has Y %v but example 0 has Y %v", i, e.Y != nil, ys != nil))
		}
		xs[i] = e.X
		if ys != nil {
			ys[i] = e.Y
		}
	}
	b := Batch{X: tensor.Stack(xs, 0)}
	if ys != nil {
		b.Y = tensor.Stack(ys, 0)
	}
	return b
}

// TensorDataset serves the rows of in-memory tensors: example i is
// {X[i], Y[i]}. Its batches are built with one IndexSelect per tensor.
type TensorDataset struct {
	X, Y *tensor.Tensor
}

// NewTensorDataset returns the dataset of x's rows and y's rows, which must
// be as many. y may be nil.
func NewTensorDataset(x, y *tensor.Tensor) *TensorDataset {
	if x == nil || x.Dim() == 0 {
		panic("data.NewTensorDataset: x must have at least one dimension")
	}
	if y != nil && (y.Dim() == 0 || y.Size(0) != x.Size(0)) {
		panic(fmt.Sprintf("data.NewTensorDataset: x %v and y %v differ in their number of rows", x.Shape(), y.Shape()))
	}
	return &TensorDataset{X: x, Y: y}
}

// Len returns the number of rows.
func (d *TensorDataset) Len() int { return d.X.Size(0) }

// Get returns row i of X and of Y as views (nothing is copied).
func (d *TensorDataset) Get(i int) Example {
	e := Example{X: d.X.Index(0, i)}
	if d.Y != nil {
		e.Y = d.Y.Index(0, i)
	}
	return e
}

// Batch returns the rows at idx, copied into new tensors with IndexSelect.
func (d *TensorDataset) Batch(idx []int) Batch {
	// The indices go to each tensor's device (a dataset moved to a GPU
	// gathers its batches there).
	ix := tensor.FromSlice(idx)
	b := Batch{X: d.X.IndexSelect(0, ix.To(d.X.Device()))}
	if d.Y != nil {
		b.Y = d.Y.IndexSelect(0, ix.To(d.Y.Device()))
	}
	return b
}

// Subset returns the dataset of ds's examples at idx, in that order. It keeps
// ds's Batcher fast path.
func Subset(ds Dataset, idx []int) Dataset {
	n := ds.Len()
	for k, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("data.Subset: index %d at position %d is out of range for a dataset of %d examples", i, k, n))
		}
	}
	s := &subset{ds: ds, idx: append([]int(nil), idx...)}
	if b, ok := ds.(Batcher); ok {
		return &batchedSubset{s, b}
	}
	return s
}

type subset struct {
	ds  Dataset
	idx []int
}

func (s *subset) Len() int          { return len(s.idx) }
func (s *subset) Get(i int) Example { return s.ds.Get(s.idx[i]) }

type batchedSubset struct {
	*subset
	b Batcher
}

func (s *batchedSubset) Batch(idx []int) Batch {
	inner := make([]int, len(idx))
	for k, i := range idx {
		inner[k] = s.idx[i]
	}
	return s.b.Batch(inner)
}

// RandomSplit cuts ds into disjoint random subsets of the given lengths, which
// must add up to ds.Len(), like torch.utils.data.random_split. A nil g uses
// the tensor package's default generator (see tensor.ManualSeed).
func RandomSplit(ds Dataset, g *tensor.Generator, lengths ...int) []Dataset {
	total := 0
	for _, n := range lengths {
		if n < 0 {
			panic(fmt.Sprintf("data.RandomSplit: negative length in %v", lengths))
		}
		total += n
	}
	if total != ds.Len() {
		panic(fmt.Sprintf("data.RandomSplit: lengths %v add up to %d, the dataset has %d examples", lengths, total, ds.Len()))
	}
	perm := generator(g).Perm(total)
	out := make([]Dataset, len(lengths))
	at := 0
	for k, n := range lengths {
		out[k] = Subset(ds, perm[at:at+n])
		at += n
	}
	return out
}

// generator returns g, or for nil a generator seeded from the tensor
// package's default one, so that tensor.ManualSeed makes the result
// reproducible.
func generator(g *tensor.Generator) *tensor.Generator {
	if g != nil {
		return g
	}
	seed := tensor.RandInt(nil, 0, math.MaxInt, nil).Item()
	return tensor.NewGenerator(uint64(seed))
}
