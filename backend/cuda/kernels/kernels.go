//go:build cuda

// Package kernels holds Tessera's CUDA kernels: the CUDA C sources (*.cu,
// *.cuh) and the PTX that nvcc makes of them, committed and embedded so
// that building with -tags cuda needs no nvcc. The PTX targets the virtual
// architecture compute_70, which the driver JIT-compiles for every card
// from Volta to Hopper and later (the driver caches the result).
//
// Regenerate after editing a .cu or .cuh file:
//
//	go generate -tags cuda ./backend/cuda/...
//
// (gen.sh finds nvcc as its comment says; bash .ci/cuda-setup.sh --nvcc
// fetches nvcc 11.8 on a machine without CUDA.)
//
// Each .cu file is one module, loaded when one of its kernels is first
// used. The same sources also compile for the host (backend/cuda/emu),
// which is how the kernels are tested on machines without a GPU.
package kernels

import (
	"embed"
	"fmt"
)

//go:generate bash gen.sh

//go:embed *.ptx
var ptx embed.FS

// Module names, one per .cu file.
const (
	Bits   = "bits"
	Cast   = "cast"
	Unary  = "unary"
	Binary = "binary"
	Reduce = "reduce"
	Index  = "index"
	MatMul = "matmul"
	Fused  = "fused"
)

// PTX returns the PTX text of a module.
func PTX(module string) (string, error) {
	b, err := ptx.ReadFile(module + ".ptx")
	if err != nil {
		return "", fmt.Errorf("kernels: no module %q: %w", module, err)
	}
	return string(b), nil
}
