// Package benchmarks compares Tessera with other libraries on the same
// machine. It is its own module (with a replace of the root), so comparison
// libraries never become dependencies of Tessera itself.
//
//	cd benchmarks && GOMAXPROCS=1 go test -run '^$' -bench . -cpu 1
//	cd benchmarks && ./compare.sh    # Tessera, PyTorch, gonum and peak RSS side by side
//
// Run one go test process per thread count (GOMAXPROCS=T go test -cpu T)
// rather than -cpu 1,2: the CPU backend sizes its worker pool once, from
// GOMAXPROCS, when it is first used. workloads.go defines the training
// workloads that BenchmarkTrainStep, cmd/rss and train_bench.py (the PyTorch
// twin) share; RESULTS.md records a run.
package benchmarks
