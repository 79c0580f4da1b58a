package tensor_test

import (
	"errors"
	"fmt"

	"github.com/tessera-ml/tessera/tensor"
)

func ExampleFromSlice() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(x)
	fmt.Println(x.Shape(), x.DType())

	// The dtype follows the Go type; int becomes int64.
	labels := tensor.FromSlice([]int{3, 0, 7})
	fmt.Println(labels, labels.DType())
	// Output:
	// tensor([[1., 2., 3.],
	//         [4., 5., 6.]])
	// [2 3] float32
	// tensor([3, 0, 7]) int64
}

func ExampleTensor_MatMul() {
	a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float32{1, 0, 0, 1, 1, 1}, 3, 2)
	c := a.MatMul(b)
	fmt.Println(c.Shape())
	fmt.Println(c)
	// Output:
	// [2 2]
	// tensor([[ 4.,  5.],
	//         [10., 11.]])
}

func ExampleTensor_Sum() {
	x := tensor.Arange(0, 6, 1, tensor.WithDType(tensor.Float32)).Reshape(2, 3)
	fmt.Println(x.Sum())        // all elements: a 0-d tensor
	fmt.Println(x.Sum(0))       // down the columns
	fmt.Println(x.Sum(1))       // along the rows
	fmt.Println(x.SumKeep(1))   // keeping the reduced axis
	fmt.Println(x.Sum().Item()) // as a Go float64
	// Output:
	// tensor(15.)
	// tensor([3., 5., 7.])
	// tensor([ 3., 12.])
	// tensor([[ 3.],
	//         [12.]])
	// 15
}

func ExampleTensor_Reshape() {
	x := tensor.Arange(0, 6, 1)
	y := x.Reshape(3, 2)
	fmt.Println(y)
	fmt.Println(x.Reshape(-1, 3).Shape()) // -1 is inferred
	fmt.Println(y.SharesStorage(x))       // a view: nothing was copied
	// Output:
	// tensor([[0, 1],
	//         [2, 3],
	//         [4, 5]])
	// [2 3]
	// true
}

func ExampleTensor_Add() {
	// [3 1] + [4] broadcasts to [3 4], as in NumPy and PyTorch.
	col := tensor.FromSlice([]float32{0, 10, 20}, 3, 1)
	row := tensor.FromSlice([]float32{1, 2, 3, 4})
	fmt.Println(col.Add(row))
	// Output:
	// tensor([[ 1.,  2.,  3.,  4.],
	//         [11., 12., 13., 14.],
	//         [21., 22., 23., 24.]])
}

func ExampleTensor_Softmax() {
	logits := tensor.FromSlice([]float32{1, 2, 3, 1, 1, 1}, 2, 3)
	fmt.Println(logits.Softmax(-1))
	// Output:
	// tensor([[0.0900, 0.2447, 0.6652],
	//         [0.3333, 0.3333, 0.3333]])
}

func ExampleTry() {
	err := tensor.Try(func() {
		a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
		a.MatMul(tensor.Zeros([]int{4, 5}))
	})
	fmt.Println(err)

	var te *tensor.Error
	if errors.As(err, &te) {
		fmt.Println(te.Kind, te.Op, te.Shapes)
	}
	// Output:
	// tensor.MatMul: [2 3] @ [4 5]: inner dimensions 3 and 4 differ
	// shape MatMul [[2 3] [4 5]]
}

func ExampleTensor_Format() {
	x := tensor.FromSlice([]float32{1, 2.5, 3, 4}, 2, 2)
	fmt.Printf("%v\n", x)
	fmt.Printf("%.2f\n", x)
	fmt.Printf("%e\n", x)
	fmt.Printf("%+v\n", x.T())
	// Output:
	// tensor([[1.0000, 2.5000],
	//         [3.0000, 4.0000]])
	// tensor([[1.00, 2.50],
	//         [3.00, 4.00]])
	// tensor([[1.0000e+00, 2.5000e+00],
	//         [3.0000e+00, 4.0000e+00]])
	// shape=[2 2] dtype=float32 device=cpu strides=[1 2] offset=0
	// tensor([[1.0000, 3.0000],
	//         [2.5000, 4.0000]])
}

func ExampleTensor_String() {
	// Tensors of more than 1000 elements are summarised, as in PyTorch.
	x := tensor.Arange(0, 10000, 1).Reshape(100, 100)
	fmt.Println(x)
	fmt.Println(tensor.FromSlice([]float64{0.5, 1e-6}))
	fmt.Println(tensor.Zeros([]int{0, 3}))
	// Output:
	// tensor([[   0,    1,    2,  ...,   97,   98,   99],
	//         [ 100,  101,  102,  ...,  197,  198,  199],
	//         [ 200,  201,  202,  ...,  297,  298,  299],
	//         ...,
	//         [9700, 9701, 9702,  ..., 9797, 9798, 9799],
	//         [9800, 9801, 9802,  ..., 9897, 9898, 9899],
	//         [9900, 9901, 9902,  ..., 9997, 9998, 9999]])
	// tensor([5.0000e-01, 1.0000e-06], dtype=torch.float64)
	// tensor([], size=(0, 3))
}
