//go:build cuda

package tensor

// Building with -tags cuda links in the CUDA backend, which registers
// itself for CUDA devices: tensor.CUDA(0) then works without an import of
// backend/cuda. See backend/cuda's documentation for what such a binary
// needs at run time (an NVIDIA driver).
import _ "github.com/tessera-ml/tessera/backend/cuda"
