// Command tour is a short walk through Tessera's tensor API: creation,
// views, broadcasting, reductions, matrix products and typed errors.
//
//	go run ./examples/tour
package main

import (
	"fmt"

	"github.com/tessera-ml/tessera/tensor"
)

func main() {
	// Creation: from Go slices, ranges and seeded generators.
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println("x =", x)
	g := tensor.NewGenerator(0)
	w := tensor.RandN(g, []int{3, 2})
	fmt.Println("w ~ N(0, 1):", w.Shape(), w.DType())

	// Views share storage: no copy is made.
	xt := x.T()
	fmt.Println("x.T() =", xt, "shares storage:", xt.SharesStorage(x))
	fmt.Println("x[:, 1:] =", x.Slice(1, 1, 3))

	// Broadcasting: [2 3] + [3] and a scalar.
	bias := tensor.FromSlice([]float32{10, 20, 30})
	fmt.Println("x + bias =", x.Add(bias))
	fmt.Println("x * 0.5 =", x.MulScalar(0.5))

	// Reductions along axes, with or without keeping them.
	fmt.Println("sum over rows:", x.Sum(0), " mean of each row:", x.Mean(1))
	fmt.Println("argmax of each row:", x.ArgMax(1))

	// Matrix products with torch.matmul's rules, and a numerically stable softmax.
	y := x.MatMul(w)
	fmt.Println("x @ w shape:", y.Shape())
	fmt.Println("softmax(x, axis 1) =", x.Softmax(1))

	// Shape mistakes panic with a typed error naming the op and the shapes;
	// tensor.Try turns that panic into an error value.
	err := tensor.Try(func() { x.MatMul(tensor.Zeros([]int{4, 5})) })
	fmt.Println("error:", err)
}
