#!/usr/bin/env bash
# gen.sh compiles every kernels/*.cu to PTX for the virtual architecture
# compute_70 (Volta), which every driver JITs for Volta through Hopper and
# later. Run through go generate:
#
#   go generate -tags cuda ./backend/cuda/...
#
# nvcc is $NVCC, else nvcc on PATH, else $CUDA_HOME/bin/nvcc, else the one
# that .ci/cuda-setup.sh --nvcc puts under .cache/cuda. With nvcc 11.8 the
# PTX is ISA 7.8; Debian's gcc 12 is newer than nvcc 11.8 supports, hence
# -allow-unsupported-compiler (only the device side is compiled here).
#
# -fmad=false keeps a*b+c two roundings, as on the CPU (the GEMM asks for
# fma explicitly); -prec-div and -prec-sqrt are nvcc's defaults (IEEE).
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../../.. && pwd)
nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then
	if command -v nvcc >/dev/null; then
		nvcc=nvcc
	elif [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then
		nvcc=$CUDA_HOME/bin/nvcc
	elif [ -x "$root/.cache/cuda/toolkit/usr/lib/nvidia-cuda-toolkit/bin/nvcc" ]; then
		nvcc=$root/.cache/cuda/toolkit/usr/lib/nvidia-cuda-toolkit/bin/nvcc
	else
		echo "gen.sh: no nvcc (set NVCC, or run bash .ci/cuda-setup.sh --nvcc)" >&2
		exit 1
	fi
fi
hostcc=$(command -v g++ || command -v c++)
for cu in *.cu; do
	out=${cu%.cu}.ptx
	"$nvcc" -ccbin "$hostcc" -allow-unsupported-compiler -std=c++14 \
		-arch=compute_70 -ptx -O3 -fmad=false -o "$out.tmp" "$cu"
	mv "$out.tmp" "$out"
done
