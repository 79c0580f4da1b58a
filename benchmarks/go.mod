module github.com/tessera-ml/tessera/benchmarks

go 1.26.0

require (
	github.com/tessera-ml/tessera v0.0.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/google/uuid v1.1.1 // indirect
	github.com/klauspost/cpuid/v2 v2.4.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gorgonia.org/cu v0.9.6 // indirect
)

replace github.com/tessera-ml/tessera => ../
