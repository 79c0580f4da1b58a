package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestTrainsOnSubset trains each model for a few epochs on the 500-image
// MNIST subset in data/testdata and checks that the training loss falls and
// the test accuracy (200 images) ends well above chance (10%). It also
// checks that a checkpoint resumes.
func TestTrainsOnSubset(t *testing.T) {
	for _, tc := range []struct {
		model  string
		epochs int
		minAcc float64
	}{
		{"mlp", 4, 0.75},
		{"cnn", 3, 0.6},
	} {
		t.Run(tc.model, func(t *testing.T) {
			dir := t.TempDir()
			ckpt := filepath.Join(dir, "m.safetensors")
			c := config{model: tc.model, dataset: "mnist", dir: "../../data/testdata/mnist", device: "cpu",
				epochs: tc.epochs, batch: 32, seed: 1, ckpt: ckpt, plot: filepath.Join(dir, "c.png"), quiet: true}
			if err := run(c); err != nil {
				t.Fatal(err)
			}
			p := readProgress(t, ckpt)
			if len(p.Loss) != tc.epochs || p.Loss[len(p.Loss)-1] >= p.Loss[0] {
				t.Fatalf("training loss did not fall: %v", p.Loss)
			}
			if acc := p.Accuracy[len(p.Accuracy)-1]; acc < tc.minAcc {
				t.Fatalf("test accuracy %.3f, want ≥ %.2f (chance is 0.10)", acc, tc.minAcc)
			}
			if st, err := os.Stat(c.plot); err != nil || st.Size() == 0 {
				t.Fatalf("no plot written: %v", err)
			}
			// One more epoch from the checkpoint continues the run.
			c.resume, c.epochs = ckpt, tc.epochs+1
			if err := run(c); err != nil {
				t.Fatal(err)
			}
			if q := readProgress(t, ckpt); q.Epoch != tc.epochs+1 || len(q.Loss) != tc.epochs+1 {
				t.Fatalf("resumed run recorded epochs %d (%d losses), want %d", q.Epoch, len(q.Loss), tc.epochs+1)
			}
		})
	}
}

func readProgress(t *testing.T, ckpt string) progress {
	t.Helper()
	js, err := os.ReadFile(ckpt + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var p progress
	if err := json.Unmarshal(js, &p); err != nil {
		t.Fatal(err)
	}
	return p
}
