package data

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ml/tessera/tensor"
)

func histogram(labels *tensor.Tensor) []int {
	h := make([]int, mnistClasses)
	for _, v := range labels.Int64s() {
		h[v]++
	}
	return h
}

func TestLoadMNISTTestdata(t *testing.T) {
	for _, c := range []struct {
		train     bool
		n         int
		first     []int64
		hist      []int
		pixelSum0 float64 // of the first image, in bytes
		pixelSum  float64 // of all images, in bytes
	}{
		{true, 500, []int64{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, []int{50, 66, 52, 50, 52, 39, 45, 52, 39, 55}, 27525, 12613080},
		{false, 200, []int64{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, []int{17, 28, 16, 16, 28, 20, 20, 24, 10, 21}, 18454, 4757429},
	} {
		x, y, err := LoadMNIST(testdataMNIST, c.train)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Shape(), []int{c.n, 1, 28, 28}) || x.DType() != tensor.Float32 {
			t.Fatalf("images %v %v", x.Shape(), x.DType())
		}
		if !slices.Equal(y.Shape(), []int{c.n}) || y.DType() != tensor.Int64 {
			t.Fatalf("labels %v %v", y.Shape(), y.DType())
		}
		if got := y.Int64s()[:10]; !slices.Equal(got, c.first) {
			t.Errorf("train=%v: first labels %v, want %v", c.train, got, c.first)
		}
		if got := histogram(y); !slices.Equal(got, c.hist) {
			t.Errorf("train=%v: label histogram %v, want %v", c.train, got, c.hist)
		}
		if lo, hi := x.Min().Item(), x.Max().Item(); lo != 0 || hi != 1 {
			t.Errorf("pixels in [%v, %v], want [0, 1]", lo, hi)
		}
		if got := x.Index(0, 0).Sum().Item() * 255; math.Abs(got-c.pixelSum0) > 1e-3*c.pixelSum0 {
			t.Errorf("first image sums to %v/255, want %v/255", got, c.pixelSum0)
		}
		var total float64
		for _, v := range x.Float32s() {
			total += math.Round(float64(v) * 255)
		}
		if total != c.pixelSum {
			t.Errorf("images sum to %v/255, want %v/255", total, c.pixelSum)
		}

		xn, yn, err := LoadMNIST(testdataMNIST, c.train, WithNormalize(MNISTMean, MNISTStd))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(yn.Int64s(), y.Int64s()) {
			t.Error("normalizing changed the labels")
		}
		want := x.SubScalar(MNISTMean).DivScalar(MNISTStd).Float32s()
		for i, v := range xn.Float32s() {
			if math.Abs(float64(v-want[i])) > 1e-5 {
				t.Fatalf("normalized pixel %d is %v, want %v", i, v, want[i])
			}
		}
	}
}

// writeMNISTDir writes a directory of MNIST files, the training set's
// images and labels given, the test set's copied from testdata.
func writeMNISTDir(t *testing.T, images, labels *IDX) string {
	dir := t.TempDir()
	writeGzipIDX(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), images)
	// Uncompressed files are read as well.
	var buf bytes.Buffer
	if err := WriteIDX(&buf, labels); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadMNISTRejects(t *testing.T) {
	img := &IDX{Dims: []int{3, 28, 28}, Data: seq(3 * 784)}
	lab := &IDX{Dims: []int{3}, Data: []byte{1, 2, 3}}
	if x, y, err := LoadMNIST(writeMNISTDir(t, img, lab), true); err != nil {
		t.Fatal(err)
	} else if !slices.Equal(x.Shape(), []int{3, 1, 28, 28}) || !slices.Equal(y.Int64s(), []int64{1, 2, 3}) {
		t.Fatalf("read %v, %v", x.Shape(), y.Int64s())
	}
	for name, c := range map[string]struct {
		img, lab *IDX
		msg      string
	}{
		"not 28x28":     {&IDX{Dims: []int{3, 28, 27}, Data: seq(3 * 28 * 27)}, lab, "want [N 28 28]"},
		"images 2-D":    {&IDX{Dims: []int{3, 784}, Data: seq(3 * 784)}, lab, "want [N 28 28]"},
		"count differs": {img, &IDX{Dims: []int{2}, Data: []byte{1, 2}}, "want [3] for 3 images"},
		"labels 2-D":    {img, &IDX{Dims: []int{3, 1}, Data: []byte{1, 2, 3}}, "want [3] for 3 images"},
		"label 10":      {img, &IDX{Dims: []int{3}, Data: []byte{1, 10, 3}}, "label 10 at position 1"},
	} {
		_, _, err := LoadMNIST(writeMNISTDir(t, c.img, c.lab), true)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.msg)
		}
	}
	// Missing files, and a corrupt one.
	if _, _, err := LoadMNIST(t.TempDir(), false); !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("empty directory: error %v", err)
	}
	dir := writeMNISTDir(t, img, lab)
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte.gz"), []byte{0x1f, 0x8b, 8, 0, 0}, 0o644)
	if _, _, err := LoadMNIST(dir, true); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
		t.Errorf("corrupt file: error %v, want one naming the file", err)
	}
}

// errorsUnwrapAll returns the innermost error of a chain.
func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// TestLoadMNISTFull loads the whole of MNIST from the module cache (fetching
// the module if it is absent and the proxy is reachable).
func TestLoadMNISTFull(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the full MNIST")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Skip("MNIST unavailable: ", err)
	}
	t.Log("MNIST in ", dir)
	for _, c := range []struct {
		train bool
		hist  []int
		mean  float64
		sub   int // the number of examples testdata holds
	}{
		{true, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, 0.1307, testdataMNISTTrain},
		{false, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, 0.1325, testdataMNISTTest},
	} {
		x, y, err := LoadMNIST(dir, c.train)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range c.hist {
			n += h
		}
		if !slices.Equal(x.Shape(), []int{n, 1, 28, 28}) || !slices.Equal(y.Shape(), []int{n}) {
			t.Fatalf("train=%v: shapes %v and %v, want %d examples", c.train, x.Shape(), y.Shape(), n)
		}
		if got := histogram(y); !slices.Equal(got, c.hist) {
			t.Errorf("train=%v: label histogram %v, want %v", c.train, got, c.hist)
		}
		if m := x.Mean().Item(); math.Abs(m-c.mean) > 1e-4 {
			t.Errorf("train=%v: mean pixel %v, want %v", c.train, m, c.mean)
		}
		// testdata holds the first examples.
		xs, ys, err := LoadMNIST(testdataMNIST, c.train)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ys.Int64s(), y.Int64s()[:c.sub]) || !slices.Equal(xs.Float32s(), x.Narrow(0, 0, c.sub).Float32s()) {
			t.Errorf("train=%v: testdata is not the first %d examples", c.train, c.sub)
		}
	}
}

// TestLoadFashionMNIST loads Fashion-MNIST's test set when the Debian
// package is installed.
func TestLoadFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping Fashion-MNIST")
	}
	dir, err := FashionMNISTDir()
	if err != nil {
		t.Skip(err)
	}
	x, y, err := LoadMNIST(dir, false, WithNormalize(FashionMNISTMean, FashionMNISTStd))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape(), []int{10000, 1, 28, 28}) {
		t.Fatalf("shape %v", x.Shape())
	}
	for k, h := range histogram(y) {
		if h != 1000 {
			t.Errorf("class %d has %d examples, want 1000", k, h)
		}
	}
	// The test set's statistics are close to the training set's.
	if m, s := x.Mean().Item(), x.Std().Item(); math.Abs(m) > 0.01 || math.Abs(s-1) > 0.01 {
		t.Errorf("normalized test set has mean %v, std %v", m, s)
	}
}

func TestFashionMNISTDirMissing(t *testing.T) {
	defer func(d string) { fashionMNISTDir = d }(fashionMNISTDir)
	fashionMNISTDir = filepath.Join(t.TempDir(), "fashion-mnist")
	_, err := FashionMNISTDir()
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Fatalf("error %v, want one saying how to install the package", err)
	}
	// A directory with the four files (the MNIST subset) is accepted.
	fashionMNISTDir = testdataMNIST
	if dir, err := FashionMNISTDir(); err != nil || dir != testdataMNIST {
		t.Fatalf("FashionMNISTDir() = %q, %v", dir, err)
	}
}

// TestMNISTDirDownload fetches MNIST into an empty module cache. It runs
// only with TESSERA_TEST_DOWNLOAD=1.
func TestMNISTDirDownload(t *testing.T) {
	if os.Getenv("TESSERA_TEST_DOWNLOAD") != "1" {
		t.Skip("set TESSERA_TEST_DOWNLOAD=1 to download MNIST into an empty module cache")
	}
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOPATH", t.TempDir())
	t.Setenv("GOFLAGS", "-modcacherw") // so that the temporary cache can be removed
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, filepath.FromSlash("github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data"))
	if dir != want {
		t.Errorf("MNISTDir() = %s, want %s", dir, want)
	}
	if _, y, err := LoadMNIST(dir, false); err != nil || y.Numel() != 10000 {
		t.Fatalf("LoadMNIST: %v", err)
	}
}
