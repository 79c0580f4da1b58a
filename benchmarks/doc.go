// Package benchmarks compares Tessera with other libraries on the same
// machine. It is its own module (with a replace of the root), so comparison
// libraries never become dependencies of Tessera itself.
//
//	cd benchmarks && go test -bench . -cpu 1,2
package benchmarks
