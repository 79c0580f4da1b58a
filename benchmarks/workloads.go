package benchmarks

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/backend"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// The training workloads of BenchmarkTrainStep and cmd/rss, defined
// identically in train_bench.py (the PyTorch twin):
//
//   - mlp_b64, mlp_b256: MLP 784-512-256-10 with ReLU, cross-entropy, SGD
//     (lr 0.01, momentum 0.9); batch 64 and 256.
//   - cnn_b64: on 1×28×28, conv 1→32 3×3, ReLU, maxpool 2, conv 32→64 3×3,
//     ReLU, maxpool 2, flatten, linear 1600→128, ReLU, linear 128→10;
//     cross-entropy, SGD (lr 0.01, momentum 0.9); batch 64.
//   - transformer_b32: a GPT-style character model (as examples/charlm):
//     vocabulary 65, context 64, d_model 128, 4 heads, 2 pre-norm encoder
//     layers (feed-forward 512, GELU, no dropout) with causal attention,
//     learned token and position embeddings, a final LayerNorm and a linear
//     read-out; cross-entropy over every position; AdamW (torch's defaults:
//     lr 1e-3, betas 0.9/0.999, weight decay 0.01); batch 32.
//
// A step is zero-grad + forward + loss + backward + optimizer step. Inputs
// and labels are random, drawn once from a seeded generator, and reused for
// every step.

// TrainWorkloads names the workloads in the order they are benchmarked.
var TrainWorkloads = []string{"mlp_b64", "mlp_b256", "cnn_b64", "transformer_b32"}

// Transformer sizes.
const (
	charVocab   = 65
	charContext = 64
	charDModel  = 128
	charHeads   = 4
	charLayers  = 2
)

// Workload is one training workload: its model, optimizer and fixed batch.
type Workload struct {
	Name   string
	Device tensor.Device
	Params int // number of trainable parameters
	opt    optim.Optimizer
	loss   func() *autograd.Var
}

// Step runs one training step: zero-grad, forward, loss, backward and the
// optimizer's update, inside a tensor scope (tensor.Tidy) as a Tessera
// training loop is written: the step's activations and gradients go back to
// the buffer pool when it ends, as PyTorch's reference counting hands them
// back to its allocator.
func (w *Workload) Step() {
	tensor.Tidy(func() {
		w.opt.ZeroGrad()
		l := w.loss()
		l.Backward()
		w.opt.Step()
	})
}

// Sync waits for the work queued on the workload's device (a no-op on the
// CPU, whose kernels return when done).
func (w *Workload) Sync() error {
	be, err := backend.Get(w.Device)
	if err != nil {
		return err
	}
	return be.Synchronize()
}

// Loss runs the forward pass and returns the loss value (for checks).
func (w *Workload) Loss() float64 {
	var v float64
	autograd.NoGrad(func() { v = w.loss().Item() })
	return v
}

// NewWorkload builds the named workload (one of TrainWorkloads) with every
// random number drawn from a generator seeded with seed.
func NewWorkload(name string, seed uint64) (*Workload, error) {
	return NewWorkloadOn(name, seed, tensor.CPU)
}

// NewWorkloadOn builds the named workload with its parameters and batch on
// device dev. The random numbers are drawn on the host, so a workload has
// the same weights and batch on every device.
func NewWorkloadOn(name string, seed uint64, dev tensor.Device) (*Workload, error) {
	g := tensor.NewGenerator(seed)
	gen := []nn.Option{nn.WithGenerator(g), nn.WithDevice(dev)}
	switch name {
	case "mlp_b64", "mlp_b256":
		batch := 64
		if name == "mlp_b256" {
			batch = 256
		}
		m := nn.NewSequential(
			nn.NewLinear(784, 512, gen...), nn.NewReLU(),
			nn.NewLinear(512, 256, gen...), nn.NewReLU(),
			nn.NewLinear(256, 10, gen...),
		)
		return classifier(name, m, g, []int{batch, 784}, dev), nil
	case "cnn_b64":
		m := nn.NewSequential(
			nn.NewConv2d(1, 32, 3, gen[0], gen[1]), nn.NewReLU(), nn.NewMaxPool2d(2),
			nn.NewConv2d(32, 64, 3, gen[0], gen[1]), nn.NewReLU(), nn.NewMaxPool2d(2),
			nn.NewFlatten(1, -1),
			nn.NewLinear(1600, 128, gen...), nn.NewReLU(),
			nn.NewLinear(128, 10, gen...),
		)
		return classifier(name, m, g, []int{64, 1, 28, 28}, dev), nil
	case "transformer_b32":
		const batch = 32
		m := NewCharTransformerOn(g, dev)
		x := tensor.RandInt(g, 0, charVocab, []int{batch, charContext}).To(dev)
		y := autograd.Const(tensor.RandInt(g, 0, charVocab, []int{batch * charContext}).To(dev))
		return &Workload{
			Name:   name,
			Device: dev,
			Params: nn.NumParams(m),
			opt:    optim.NewAdamW(nn.Parameters(m)),
			loss: func() *autograd.Var {
				logits := m.Forward(x)
				return nn.CrossEntropyLoss(logits.Reshape(-1, charVocab), y)
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown workload %q (want one of %v)", name, TrainWorkloads)
}

// classifier wraps a 10-class model with a fixed random input of the given
// shape, random labels, cross-entropy and SGD with momentum.
func classifier(name string, m *nn.Sequential, g *tensor.Generator, shape []int, dev tensor.Device) *Workload {
	x := autograd.Const(tensor.RandN(g, shape).To(dev))
	y := autograd.Const(tensor.RandInt(g, 0, 10, []int{shape[0]}).To(dev))
	return &Workload{
		Name:   name,
		Device: dev,
		Params: nn.NumParams(m),
		opt:    optim.NewSGD(nn.Parameters(m), optim.WithLR(0.01), optim.WithMomentum(0.9)),
		loss:   func() *autograd.Var { return nn.CrossEntropyLoss(m.Forward(x), y) },
	}
}

// CharTransformer is the transformer workload's model: a GPT-style
// character model like examples/charlm's.
type CharTransformer struct {
	Tok, Pos  *nn.Embedding
	Blocks    []*nn.TransformerEncoderLayer
	Norm      *nn.LayerNorm
	Head      *nn.Linear
	positions *autograd.Var
}

// NewCharTransformer builds the transformer workload's model.
func NewCharTransformer(g *tensor.Generator) *CharTransformer {
	return NewCharTransformerOn(g, tensor.CPU)
}

// NewCharTransformerOn builds the transformer workload's model on dev.
func NewCharTransformerOn(g *tensor.Generator, dev tensor.Device) *CharTransformer {
	gen := []nn.Option{nn.WithGenerator(g), nn.WithDevice(dev)}
	m := &CharTransformer{
		Tok:       nn.NewEmbedding(charVocab, charDModel, gen...),
		Pos:       nn.NewEmbedding(charContext, charDModel, gen...),
		Norm:      nn.NewLayerNorm([]int{charDModel}, nn.WithDevice(dev)),
		Head:      nn.NewLinear(charDModel, charVocab, gen...),
		positions: autograd.Const(tensor.Arange(0, charContext, 1, tensor.WithDType(tensor.Int64), tensor.WithDevice(dev))),
	}
	for i := 0; i < charLayers; i++ {
		m.Blocks = append(m.Blocks, nn.NewTransformerEncoderLayer(charDModel, charHeads, nn.TransformerEncoderLayerConfig{
			DimFeedforward: 4 * charDModel, Activation: "gelu", NormFirst: true,
		}, gen...))
	}
	return m
}

// Members implements nn.Module.
func (m *CharTransformer) Members() nn.Members {
	mm := nn.Members{Children: []nn.Named[nn.Module]{nn.C("tok", m.Tok), nn.C("pos", m.Pos)}}
	for i, b := range m.Blocks {
		mm.Children = append(mm.Children, nn.C(fmt.Sprintf("blocks.%d", i), b))
	}
	mm.Children = append(mm.Children, nn.C("norm", m.Norm), nn.C("head", m.Head))
	return mm
}

// Forward maps ids [B, T] (Int64, T ≤ the context) to logits [B, T, vocab].
func (m *CharTransformer) Forward(ids *tensor.Tensor) *autograd.Var {
	t := ids.Size(1)
	pos := m.positions
	if t != charContext {
		pos = autograd.Const(pos.Data.Narrow(0, 0, t))
	}
	x := m.Tok.Forward(autograd.Const(ids)).Add(m.Pos.Forward(pos))
	for _, b := range m.Blocks {
		x = b.Forward(x, nil, nil, true)
	}
	return m.Head.Forward(m.Norm.Forward(x))
}
