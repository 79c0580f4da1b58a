package data

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var genTestdata = flag.Bool("gen-testdata", false, "rewrite testdata/ from the full MNIST (module cache) and Moby Dick (npm)")

// Subsets kept in testdata/, so that the fast tests need neither the module
// cache nor the network.
const (
	testdataMNIST      = "testdata/mnist"
	testdataMNISTTrain = 500 // the first images and labels of MNIST's training set
	testdataMNISTTest  = 200 // and of its test set
	testdataMobyDick   = "testdata/mobydick-20k.txt"
	testdataTextBytes  = 20000 // Moby Dick's first bytes, cut at the end of a line
)

// TestGenerateTestdata rewrites testdata/ when run with -gen-testdata:
//
//	go test ./data -run TestGenerateTestdata -gen-testdata
func TestGenerateTestdata(t *testing.T) {
	if !*genTestdata {
		t.Skip("run with -gen-testdata to rewrite testdata/")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(testdataMNIST, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		train bool
		n     int
	}{{true, testdataMNISTTrain}, {false, testdataMNISTTest}} {
		for _, name := range mnistFiles[c.train] {
			m, err := readIDXFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			per := len(m.Data) / m.Dims[0]
			sub := &IDX{Dims: append([]int{c.n}, m.Dims[1:]...), Data: m.Data[:c.n*per]}
			writeGzipIDX(t, filepath.Join(testdataMNIST, name+".gz"), sub)
		}
	}

	path, err := MobyDickPath()
	if err != nil {
		t.Fatal(err)
	}
	text, err := LoadText(path)
	if err != nil {
		t.Fatal(err)
	}
	text = text[:strings.LastIndexByte(text[:testdataTextBytes], '\n')+1]
	if err := os.WriteFile(testdataMobyDick, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeGzipIDX writes m gzipped to path, with no name or time in the gzip
// header so that the file depends only on m.
func writeGzipIDX(t testing.TB, path string, m *IDX) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err := WriteIDX(zw, m); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
