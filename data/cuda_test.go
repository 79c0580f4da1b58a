//go:build cuda

package data

import (
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

// TestLoaderOnCUDA: a TensorDataset whose tensors live on a GPU yields
// batches on that GPU holding the rows the loader picked (the indices
// travel to the dataset's device).
func TestLoaderOnCUDA(t *testing.T) {
	dev, err := tensor.ParseDevice("cuda")
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	cpu := rowsDataset(37)
	ds := NewTensorDataset(cpu.X.To(dev), cpu.Y.To(dev))
	l := NewLoader(ds, 8, WithShuffle(tensor.NewGenerator(3)), WithWorkers(2))
	seen := 0
	for b := range l.All() {
		if b.X.Device() != dev || b.Y.Device() != dev {
			t.Fatalf("batch on %v and %v, want %v", b.X.Device(), b.Y.Device(), dev)
		}
		x, y := b.X.To(tensor.CPU).Float32s(), b.Y.To(tensor.CPU).Int64s()
		for r, i := range y {
			if x[2*r] != float32(i) || x[2*r+1] != float32(i)+0.5 {
				t.Fatalf("row %d of a batch: X = %v, %v for Y = %d", r, x[2*r], x[2*r+1], i)
			}
		}
		seen += len(y)
	}
	if seen != 37 {
		t.Fatalf("%d rows in an epoch, want 37", seen)
	}
}
