//go:build amd64 && !purego

package goid

// getg returns the address of the calling goroutine's g (goid_amd64.s).
//
//go:noescape
func getg() uintptr

// Get returns the calling goroutine's key.
func Get() uintptr { return getg() }
