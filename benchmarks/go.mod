module github.com/tessera-ml/tessera/benchmarks

go 1.26.0

require github.com/tessera-ml/tessera v0.0.0

require github.com/x448/float16 v0.8.4 // indirect

replace github.com/tessera-ml/tessera => ../
