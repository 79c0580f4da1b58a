package data

import (
	"fmt"
	"iter"
	"sync"

	"github.com/tessera-ml/tessera/tensor"
)

// Loader batches a dataset, like PyTorch's DataLoader: it cuts the examples
// into batches of a fixed size, optionally in a new random order every
// epoch, and optionally builds batches ahead of the consumer on worker
// goroutines. Range over All for one epoch. A Loader holds no state between
// epochs except its generator, and may be ranged over from several
// goroutines at once.
type Loader struct {
	ds        Dataset
	batchSize int
	cfg       loaderConfig
}

type loaderConfig struct {
	shuffle  bool
	gen      *tensor.Generator
	dropLast bool
	workers  int
	prefetch int
	collate  Collate
}

// LoaderOption configures a Loader.
type LoaderOption func(*loaderConfig)

// WithShuffle makes each epoch visit the examples in a new random order,
// drawn from g when the epoch starts: the same seed gives the same sequence
// of epochs. A nil g draws from the tensor package's default generator
// (seeded with tensor.ManualSeed).
func WithShuffle(g *tensor.Generator) LoaderOption {
	return func(c *loaderConfig) { c.shuffle, c.gen = true, g }
}

// WithDropLast drops the last batch of an epoch when it is smaller than the
// batch size.
func WithDropLast() LoaderOption {
	return func(c *loaderConfig) { c.dropLast = true }
}

// WithWorkers builds batches on n goroutines ahead of the consumer. With 0,
// the default, each batch is built on the consumer's goroutine when asked
// for. Batches are delivered in order whatever n is.
func WithWorkers(n int) LoaderOption {
	if n < 0 {
		panic(fmt.Sprintf("data.WithWorkers: negative number of workers %d", n))
	}
	return func(c *loaderConfig) { c.workers = n }
}

// WithPrefetch sets how many batches may wait, built or being built, ahead
// of the one the consumer holds (2 per worker by default). It bounds the
// memory the workers use. It has no effect without workers.
func WithPrefetch(n int) LoaderOption {
	if n < 1 {
		panic(fmt.Sprintf("data.WithPrefetch: prefetch depth %d must be at least 1", n))
	}
	return func(c *loaderConfig) { c.prefetch = n }
}

// WithCollate builds batches with f from the examples Get returns, instead
// of DefaultCollate or the dataset's Batcher.
func WithCollate(f Collate) LoaderOption {
	return func(c *loaderConfig) { c.collate = f }
}

// NewLoader returns a loader of ds in batches of batchSize examples.
func NewLoader(ds Dataset, batchSize int, opts ...LoaderOption) *Loader {
	if batchSize < 1 {
		panic(fmt.Sprintf("data.NewLoader: batch size %d must be positive", batchSize))
	}
	l := &Loader{ds: ds, batchSize: batchSize}
	for _, o := range opts {
		o(&l.cfg)
	}
	if l.cfg.prefetch == 0 {
		l.cfg.prefetch = 2 * l.cfg.workers
	}
	return l
}

// Len returns the number of batches in an epoch.
func (l *Loader) Len() int {
	n := l.ds.Len()
	if l.cfg.dropLast {
		return n / l.batchSize
	}
	return (n + l.batchSize - 1) / l.batchSize
}

// Dataset returns the dataset the loader batches.
func (l *Loader) Dataset() Dataset { return l.ds }

// All returns an iterator over one epoch's batches. Each range over it is a
// new epoch, with a new order when shuffling. Leaving the loop early stops
// the workers before the range statement ends; a panic in Get or in the
// collate function reaches the consumer's goroutine with its original value.
func (l *Loader) All() iter.Seq[Batch] {
	return func(yield func(Batch) bool) {
		order := l.order()
		nb := l.Len()
		if l.cfg.workers == 0 {
			for k := range nb {
				if !yield(l.build(order, k)) {
					return
				}
			}
			return
		}
		l.prefetch(order, nb, yield)
	}
}

// order returns the dataset positions in this epoch's order.
func (l *Loader) order() []int {
	n := l.ds.Len()
	if l.cfg.shuffle {
		return generator(l.cfg.gen).Perm(n)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// build makes batch k of an epoch whose order is order.
func (l *Loader) build(order []int, k int) Batch {
	idx := order[k*l.batchSize : min((k+1)*l.batchSize, len(order))]
	var b Batch
	if bt, ok := l.ds.(Batcher); ok && l.cfg.collate == nil {
		b = bt.Batch(idx)
	} else {
		ex := make([]Example, len(idx))
		for j, i := range idx {
			ex[j] = l.ds.Get(i)
		}
		collate := l.cfg.collate
		if collate == nil {
			collate = DefaultCollate
		}
		b = collate(ex)
	}
	b.Index = append([]int(nil), idx...)
	return b
}

// built is a batch made by a worker, or the panic that stopped it.
type built struct {
	b        Batch
	panicked bool
	p        any
}

// prefetch builds the epoch's batches on l.cfg.workers goroutines and yields
// them in order. At most l.cfg.prefetch batches wait in the queue (plus one
// per worker being handed out). It returns only after every goroutine it
// started has ended.
func (l *Loader) prefetch(order []int, nb int, yield func(Batch) bool) {
	type job struct {
		k   int
		out chan built
	}
	done := make(chan struct{})
	queue := make(chan chan built, l.cfg.prefetch) // result slots, in batch order
	jobs := make(chan job)
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // the dispatcher: reserves a slot in the queue, then hands the batch out
		defer wg.Done()
		defer close(jobs)
		defer close(queue)
		for k := range nb {
			out := make(chan built, 1)
			select {
			case queue <- out:
			case <-done:
				return
			}
			select {
			case jobs <- job{k, out}:
			case <-done:
				return
			}
		}
	}()
	for range l.cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				select {
				case <-done:
					continue // the consumer has gone: drain without building
				default:
				}
				j.out <- l.safeBuild(order, j.k) // buffered: never blocks
			}
		}()
	}
	defer func() {
		close(done)
		wg.Wait()
	}()

	for out := range queue {
		r := <-out
		if r.panicked {
			panic(r.p)
		}
		if !yield(r.b) {
			return
		}
	}
}

// safeBuild is build with a panic caught, to be re-raised on the consumer's
// goroutine instead of crashing the program from a worker.
func (l *Loader) safeBuild(order []int, k int) (r built) {
	defer func() {
		if p := recover(); p != nil {
			r = built{panicked: true, p: p}
		}
	}()
	return built{b: l.build(order, k)}
}
