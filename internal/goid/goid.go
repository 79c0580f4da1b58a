// Package goid identifies the calling goroutine cheaply, for state that is
// per goroutine the way PyTorch's is per thread (grad mode, tensor scopes).
//
// Get returns a key that is unique among live goroutines and fixed for a
// goroutine's life. On amd64 it is the address of the runtime's goroutine
// descriptor, read from thread-local storage in two instructions; elsewhere,
// and under the purego tag, it is the goroutine id parsed from
// runtime.Stack (about a microsecond). Keys are only ever compared: a key
// may be reused by a later goroutine once the first one has exited.
package goid

import (
	"bytes"
	"runtime"
	"strconv"
)

// slow returns the goroutine id from the header runtime.Stack writes
// ("goroutine 123 [running]:").
func slow() uintptr {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("goid: cannot read the goroutine id: " + err.Error())
	}
	return uintptr(id)
}
