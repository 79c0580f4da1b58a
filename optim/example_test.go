package optim_test

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/optim"
	"github.com/tessera-ml/tessera/tensor"
)

// Minimise (w − 3)² with SGD and momentum.
func ExampleNewSGD() {
	w := autograd.Param(tensor.FromSlice([]float32{0}, 1))
	opt := optim.NewSGD([]*autograd.Var{w}, optim.WithLR(0.1), optim.WithMomentum(0.5))
	for range 50 {
		opt.ZeroGrad()
		loss := w.SubScalar(3).Square().Sum()
		loss.Backward()
		opt.Step()
	}
	fmt.Printf("w = %.4f\n", w.Data.Item())
	// Output:
	// w = 3.0000
}

// Per-group hyperparameters: no weight decay on the biases.
func ExampleGroup() {
	weight := autograd.Param(tensor.Ones([]int{2, 2}))
	bias := autograd.Param(tensor.Zeros([]int{2}))
	opt := optim.NewAdamW([]optim.ParamGroup{
		optim.Group([]*autograd.Var{weight}),
		optim.Group([]*autograd.Var{bias}, optim.WithWeightDecay(0), optim.WithLR(1e-2)),
	}, optim.WithLR(1e-3), optim.WithWeightDecay(0.05))
	for i, g := range opt.ParamGroups() {
		fmt.Printf("group %d: lr %g, weight decay %g, betas %v\n", i, g.LR, g.WeightDecay, g.Betas)
	}
	// Output:
	// group 0: lr 0.001, weight decay 0.05, betas [0.9 0.999]
	// group 1: lr 0.01, weight decay 0, betas [0.9 0.999]
}

// Linear warm-up for 3 steps, then cosine annealing.
func ExampleNewSequentialLR() {
	w := autograd.Param(tensor.Zeros([]int{1}))
	opt := optim.NewSGD([]*autograd.Var{w}, optim.WithLR(0.1))
	warm := optim.NewLinearLR(opt, 0.1, 1, 3)
	cos := optim.NewCosineAnnealingLR(opt, 4, 0)
	sched := optim.NewSequentialLR(opt, []optim.Scheduler{warm, cos}, []int{3})
	for epoch := range 8 {
		fmt.Printf("epoch %d: lr %.4f\n", epoch, sched.LastLR()[0])
		// ... train one epoch: opt.Step() for each batch ...
		sched.Step()
	}
	// Output:
	// epoch 0: lr 0.0100
	// epoch 1: lr 0.0400
	// epoch 2: lr 0.0700
	// epoch 3: lr 0.1000
	// epoch 4: lr 0.0854
	// epoch 5: lr 0.0500
	// epoch 6: lr 0.0146
	// epoch 7: lr 0.0000
}

func ExampleNewReduceLROnPlateau() {
	w := autograd.Param(tensor.Zeros([]int{1}))
	opt := optim.NewAdam([]*autograd.Var{w}, optim.WithLR(0.01))
	sched := optim.NewReduceLROnPlateau(opt, optim.WithPatience(1), optim.WithFactor(0.5))
	for _, valLoss := range []float64{1.0, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7} {
		sched.Step(valLoss)
		fmt.Print(sched.LastLR()[0], " ")
	}
	fmt.Println()
	// Output:
	// 0.01 0.01 0.01 0.005 0.005 0.005 0.0025
}

func ExampleClipGradNorm() {
	w := autograd.Param(tensor.Zeros([]int{2}))
	w.SetGrad(tensor.FromSlice([]float32{3, 4}, 2))
	total, err := optim.ClipGradNorm([]*autograd.Var{w}, 1, 2, true)
	fmt.Printf("norm %.1f, err %v, clipped %.4f\n", total, err, w.Grad().Float32s())
	// Output:
	// norm 5.0, err <nil>, clipped [0.6000 0.8000]
}
