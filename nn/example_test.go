package nn_test

import (
	"fmt"

	"github.com/tessera-ml/tessera/autograd"
	"github.com/tessera-ml/tessera/nn"
	"github.com/tessera-ml/tessera/tensor"
)

// A two-layer perceptron: Linear layers in a Sequential, named as torch
// names them, trained one step by hand.
func ExampleSequential() {
	g := tensor.NewGenerator(0) // seeded initialisation
	model := nn.NewSequential(
		nn.NewLinear(4, 8, nn.WithGenerator(g)),
		nn.NewReLU(),
		nn.NewLinear(8, 3, nn.WithGenerator(g)),
	)
	for _, p := range nn.NamedParameters(model) {
		fmt.Println(p.Name, p.Param.Shape())
	}

	x := autograd.Const(tensor.Ones([]int{2, 4})) // a batch of 2
	y := model.Forward(x)
	fmt.Println("output", y.Shape())

	loss := y.Square().Mean()
	loss.Backward()
	fmt.Println("gradient", model.Layers[0].(*nn.Linear).Weight.Grad().Shape())

	// Inference: evaluation mode, no graph recorded.
	nn.Eval(model)
	autograd.NoGrad(func() {
		fmt.Println("requires grad:", model.Forward(x).RequiresGrad())
	})
	// Output:
	// 0.weight [8 4]
	// 0.bias [8]
	// 2.weight [3 8]
	// 2.bias [3]
	// output [2 3]
	// gradient [8 4]
	// requires grad: false
}

// Linear computes x·Wᵀ + b; here with weights copied in.
func ExampleLinear() {
	lin := nn.NewLinear(2, 1)
	lin.Weight.Data.CopyFrom(tensor.FromSlice([]float32{3, -1}, 1, 2))
	lin.Bias.Data.Fill_(0.5)
	x := autograd.Const(tensor.FromSlice([]float32{1, 2, 4, 0}, 2, 2))
	fmt.Println(lin.Forward(x))
	// Output:
	// tensor([[ 1.5000],
	//         [12.5000]]) (grad_fn=Add)
}

// Cross entropy of logits against class indices, with torch's semantics for
// ignored targets and label smoothing.
func ExampleCrossEntropyLoss() {
	logits := autograd.Param(tensor.FromSlice([]float32{
		2.0, 0.5, -1.0,
		0.1, 0.2, 3.0,
	}, 2, 3))
	labels := autograd.Const(tensor.FromSlice([]int64{0, 2}))

	loss := nn.CrossEntropyLoss(logits, labels)
	loss.Backward()
	fmt.Printf("loss %.4f\n", loss.Item())
	fmt.Printf("grad %.4f\n", logits.Grad())

	smoothed := nn.CrossEntropyLoss(logits, labels, nn.WithLabelSmoothing(0.1))
	fmt.Printf("smoothed %.4f\n", smoothed.Item())

	ignored := autograd.Const(tensor.FromSlice([]int64{0, -100})) // -100: the default ignore index
	fmt.Printf("one ignored %.4f\n", nn.CrossEntropyLoss(logits, ignored).Item())
	// Output:
	// loss 0.1755
	// grad tensor([[-0.1072,  0.0876,  0.0196],
	//         [ 0.0247,  0.0272, -0.0519]])
	// smoothed 0.3455
	// one ignored 0.2413
}
