package goid

import (
	"sync"
	"testing"
)

func TestStableWithinGoroutine(t *testing.T) {
	a := Get()
	var deep func(int) uintptr
	deep = func(n int) uintptr { // grow and move the stack
		var pad [256]byte
		_ = pad
		if n == 0 {
			return Get()
		}
		return deep(n - 1)
	}
	if b := deep(2000); a != b {
		t.Fatalf("key changed after the stack moved: %#x then %#x", a, b)
	}
	if a == 0 {
		t.Fatal("zero key")
	}
}

func TestDistinctAcrossLiveGoroutines(t *testing.T) {
	const n = 64
	keys := make([]uintptr, n)
	var ready, hold sync.WaitGroup
	ready.Add(n)
	hold.Add(1)
	for i := range n {
		go func() {
			keys[i] = Get()
			ready.Done()
			hold.Wait() // stay alive so no key is reused
		}()
	}
	ready.Wait()
	seen := map[uintptr]bool{Get(): true}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("key %#x shared by two live goroutines", k)
		}
		seen[k] = true
	}
	hold.Done()
}

func BenchmarkGet(b *testing.B) {
	for b.Loop() {
		Get()
	}
}

func BenchmarkSlow(b *testing.B) {
	for b.Loop() {
		slow()
	}
}
