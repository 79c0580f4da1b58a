package nn_test

import (
	"math"
	"testing"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// Training inside tensor scopes must compute exactly what training without
// them computes: every buffer a scope recycles is dead, and everything that
// outlives a step (parameters, gradients, optimizer state, running
// statistics, cached indices) is kept. Each model trains a few steps both
// ways from the same seed; losses and final weights must match bit for bit.
// A forgotten Keep shows up as a panic (use after release) or as different
// numbers (a recycled buffer read after reuse).
func TestTrainingInScopesMatches(t *testing.T) {
	type setup struct {
		params []*autograd.Var
		opt    optim.Optimizer
		loss   func() *autograd.Var
	}
	models := map[string]func(g *tensor.Generator) setup{
		"mlp+sgd-momentum+clip": func(g *tensor.Generator) setup {
			gen := nn.WithGenerator(g)
			m := nn.NewSequential(nn.NewLinear(12, 16, gen), nn.NewReLU(), nn.NewDropout(0.2, gen), nn.NewLinear(16, 4, gen))
			x := autograd.Const(tensor.RandN(g, []int{8, 12}))
			y := autograd.Const(tensor.RandInt(g, 0, 4, []int{8}))
			ps := nn.Parameters(m)
			return setup{ps, optim.NewSGD(ps, optim.WithLR(0.1), optim.WithMomentum(0.9), optim.WithNesterov(true)), func() *autograd.Var {
				l := nn.CrossEntropyLoss(m.Forward(x), y)
				return l
			}}
		},
		"cnn+batchnorm+adam-amsgrad": func(g *tensor.Generator) setup {
			gen := nn.WithGenerator(g)
			m := nn.NewSequential(
				nn.NewConv2d(2, 4, 3, gen, nn.ConvPadding(1)), nn.NewBatchNorm2d(4), nn.NewReLU(), nn.NewMaxPool2d(2),
				nn.NewFlatten(1, -1), nn.NewLinear(4*4*4, 3, gen),
			)
			x := autograd.Const(tensor.RandN(g, []int{5, 2, 8, 8}))
			y := autograd.Const(tensor.RandInt(g, 0, 3, []int{5}))
			ps := nn.Parameters(m)
			return setup{ps, optim.NewAdam(ps, optim.WithLR(0.01), optim.WithAMSGrad(true), optim.WithWeightDecay(0.01)), func() *autograd.Var {
				return nn.CrossEntropyLoss(m.Forward(x), y)
			}}
		},
		"transformer+adamw": func(g *tensor.Generator) setup {
			gen := nn.WithGenerator(g)
			emb := nn.NewEmbedding(11, 16, gen)
			layer := nn.NewTransformerEncoderLayer(16, 2, nn.TransformerEncoderLayerConfig{DimFeedforward: 32, Dropout: 0.1, Activation: "gelu"}, gen)
			head := nn.NewLinear(16, 11, gen)
			x := autograd.Const(tensor.RandInt(g, 0, 11, []int{3, 7}))
			y := autograd.Const(tensor.RandInt(g, 0, 11, []int{21}))
			ps := append(append(nn.Parameters(emb), nn.Parameters(layer)...), nn.Parameters(head)...)
			return setup{ps, optim.NewAdamW(ps, optim.WithLR(0.01)), func() *autograd.Var {
				h := layer.Forward(emb.Forward(x), nil, nil, true)
				return nn.CrossEntropyLoss(head.Forward(h).Reshape(-1, 11), y)
			}}
		},
		"lstm+gru+rmsprop": func(g *tensor.Generator) setup {
			gen := nn.WithGenerator(g)
			lstm := nn.NewLSTM(5, 6, nn.RNNConfig{NumLayers: 2, Dropout: 0.1}, gen)
			gru := nn.NewGRU(6, 4, nn.RNNConfig{Bidirectional: true}, gen)
			x := autograd.Const(tensor.RandN(g, []int{4, 3, 5}))
			ps := append(nn.Parameters(lstm), nn.Parameters(gru)...)
			return setup{ps, optim.NewRMSprop(ps, optim.WithLR(0.01), optim.WithMomentum(0.5), optim.WithCentered(true)), func() *autograd.Var {
				h, _, _ := lstm.Forward(x, nil, nil)
				o, _ := gru.Forward(h, nil)
				return o.Square().Mean()
			}}
		},
		"linear+adagrad": func(g *tensor.Generator) setup {
			m := nn.NewLinear(6, 2, nn.WithGenerator(g))
			x := autograd.Const(tensor.RandN(g, []int{4, 6}))
			ps := nn.Parameters(m)
			return setup{ps, optim.NewAdagrad(ps, optim.WithLR(0.1), optim.WithInitialAccumulatorValue(0.1)), func() *autograd.Var {
				return m.Forward(x).Tanh().Sum()
			}}
		},
	}
	train := func(name string, scoped bool) (losses []float64, weights [][]float64) {
		s := models[name](tensor.NewGenerator(7))
		step := func() {
			s.opt.ZeroGrad()
			l := s.loss()
			l.Backward()
			if _, err := optim.GradNorm(s.params, 2); err != nil {
				t.Fatal(err)
			}
			optim.ClipGradNorm(s.params, 0.5, 2, false)
			s.opt.Step()
			losses = append(losses, l.Item())
		}
		for range 4 {
			if scoped {
				tensor.Tidy(step)
			} else {
				step()
			}
		}
		for _, p := range s.params {
			weights = append(weights, p.Data.Float64s())
		}
		return losses, weights
	}
	for name := range models {
		t.Run(name, func(t *testing.T) {
			var l1, l2 []float64
			var w1, w2 [][]float64
			err := tensor.Try(func() {
				// Scoped first, so that caches (the convolution index) are
				// built inside a scope.
				l2, w2 = train(name, true)
				l1, w1 = train(name, false)
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range l1 {
				if math.Float64bits(l1[i]) != math.Float64bits(l2[i]) {
					t.Fatalf("step %d loss: %v without scopes, %v with", i, l1[i], l2[i])
				}
			}
			for i := range w1 {
				for j := range w1[i] {
					if math.Float64bits(w1[i][j]) != math.Float64bits(w2[i][j]) {
						t.Fatalf("parameter %d element %d: %v without scopes, %v with", i, j, w1[i][j], w2[i][j])
					}
				}
			}
		})
	}
}
