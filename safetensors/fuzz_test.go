package safetensors

import (
	"bytes"
	"maps"
	"os"
	"slices"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read. It must never panic; when it
// accepts a file, writing what it read and reading that back must give the
// same tensors and metadata, and writing again the same bytes. The seed
// corpus — valid files, the torch fixtures and every hostile case of
// TestSafetensorsHostile — runs with every `go test`; fuzz with
//
//	go test -fuzz FuzzRead -fuzztime 60s ./safetensors/
func FuzzRead(f *testing.F) {
	for _, md := range []map[string]string{nil, {}, {"format": "pt", "k": "v\n\"q\""}} {
		var buf bytes.Buffer
		if err := Write(&buf, stDTypeTensors(), md); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		buf.Reset()
		if err := Write(&buf, nil, md); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	for _, name := range []string{"testdata/torch_dtypes.safetensors", "testdata/torch_unsupported.safetensors"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range stHostileCases() {
		f.Add(c.file)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if file != nil {
				t.Fatal("Read returned a file and an error")
			}
			return
		}
		if len(file.Names) != len(file.Tensors) {
			t.Fatalf("%d names for %d tensors", len(file.Names), len(file.Tensors))
		}
		var buf bytes.Buffer
		if err := Write(&buf, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("writing what Read accepted: %v", err)
		}
		again, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("reading what Write wrote: %v", err)
		}
		if !maps.Equal(file.Metadata, again.Metadata) || (file.Metadata == nil) != (again.Metadata == nil) {
			t.Fatalf("metadata %q became %q", file.Metadata, again.Metadata)
		}
		if !slices.Equal(slices.Sorted(slices.Values(file.Names)), slices.Sorted(slices.Values(again.Names))) {
			t.Fatalf("names %q became %q", file.Names, again.Names)
		}
		for _, name := range file.Names {
			stSame(t, name, again.Tensors[name], file.Tensors[name])
		}
		var buf2 bytes.Buffer
		if err := Write(&buf2, again.Tensors, again.Metadata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatal("writing the same tensors twice gave different bytes")
		}
	})
}
