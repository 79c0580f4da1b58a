//go:build !amd64 || purego

package goid

// Get returns the calling goroutine's key.
func Get() uintptr { return slow() }
