package data_test

import (
	"fmt"
	"log"

	"github.com/tessera-ml/tessera/data"
	"github.com/tessera-ml/tessera/tensor"
)

func ExampleLoader() {
	x := tensor.Arange(0, 10, 1, tensor.WithDType(tensor.Float32)).Reshape(5, 2)
	y := tensor.FromSlice([]int{0, 1, 0, 1, 1})
	loader := data.NewLoader(data.NewTensorDataset(x, y), 2)
	for b := range loader.All() {
		fmt.Println(b.Index, b.X.Shape(), b.Y)
	}
	// Output:
	// [0 1] [2 2] tensor([0, 1])
	// [2 3] [2 2] tensor([0, 1])
	// [4] [1 2] tensor([1])
}

func ExampleLoader_shuffle() {
	ds := data.NewTensorDataset(tensor.Arange(0, 6, 1), nil)
	loader := data.NewLoader(ds, 4, data.WithShuffle(tensor.NewGenerator(1)), data.WithDropLast())
	for epoch := range 3 {
		for b := range loader.All() {
			fmt.Println(epoch, b.X) // a new order every epoch, the same for every run
		}
	}
	// Output:
	// 0 tensor([0, 4, 2, 1])
	// 1 tensor([0, 1, 3, 5])
	// 2 tensor([2, 5, 3, 0])
}

// Training on MNIST: the images come from the module cache, the batches from
// one IndexSelect each, built by two goroutines ahead of the training step.
func Example_mnist() {
	dir, err := data.MNISTDir()
	if err != nil {
		log.Fatal(err)
	}
	images, labels, err := data.LoadMNIST(dir, true, data.WithNormalize(data.MNISTMean, data.MNISTStd))
	if err != nil {
		log.Fatal(err)
	}
	loader := data.NewLoader(data.NewTensorDataset(images, labels), 64,
		data.WithShuffle(tensor.NewGenerator(0)), data.WithWorkers(2))
	for epoch := range 2 {
		for b := range loader.All() {
			_ = b.X // [64 1 28 28] float32
			_ = b.Y // [64] int64
		}
		fmt.Println("epoch", epoch, "done")
	}
}

// Next-character prediction on Moby Dick with a context of 64 characters.
func Example_text() {
	text, err := data.LoadMobyDick()
	if err != nil {
		log.Fatal(err)
	}
	vocab := data.NewVocab(text)
	ids, _ := vocab.Encode(text) // every rune of text is in its vocabulary
	train, val := data.SplitIDs(ids, 0.1)
	trainLoader := data.NewLoader(data.NewWindows(train, 64, 1), 32, data.WithShuffle(tensor.NewGenerator(0)))
	valLoader := data.NewLoader(data.NewWindows(val, 64, 64), 32)
	for b := range trainLoader.All() {
		_ = b.X // [32 64] int64 ids; b.Y is b.X shifted by one
		break
	}
	_ = valLoader
	fmt.Println(vocab.Size(), vocab.Decode(ids[:20]))
}
