#!/usr/bin/python3
"""Generate the PyTorch safetensors fixtures of Tessera's checkpoint tests.

Run from anywhere:  /usr/bin/python3 safetensors/testdata/gen_fixtures.py

The `safetensors` Python package is not needed (Debian ships only torch):
this script writes files with its own writer, which follows the reference
writer (huggingface/safetensors, safetensors/src/tensor.rs, `prepare`):

  * tensors sorted by descending dtype alignment (the reference's Dtype enum
    order: BOOL < U8 < I8 < F8_* < I16 < U16 < F16 < BF16 < I32 < U32 < F32 <
    F64 < I64 < U64), then by name;
  * compact JSON ({"__metadata__": {...}, name: {"dtype", "shape",
    "data_offsets"}, ...}, no spaces), keys in that order;
  * header padded with spaces to a multiple of 8 bytes; data little-endian,
    row-major.

It writes

  safetensors/testdata/torch_dtypes.safetensors       every dtype Tessera has
  safetensors/testdata/torch_unsupported.safetensors  U8, I8 and I16 tensors
  nn/testdata/torch_mlp.safetensors                   state dict of a small MLP
  nn/testdata/torch_mlp.json                          its input and eval output

and then checks the other direction: it runs the Go tests with
TESSERA_ST_OUT set, which makes them write the files Tessera produces for
the same tensors, parses those with its own reader, and asserts that every
tensor equals torch's (dtype, shape, bits) and that the bytes are identical
to the files written here.
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NN_TESTDATA = os.path.join(ROOT, "nn", "testdata")

# The reference's Dtype enum, in increasing alignment order.
ENUM_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
              "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_TO_ST = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
    torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32",
    torch.float32: "F32", torch.float64: "F64", torch.int64: "I64",
}
ST_TO_TORCH = {v: k for k, v in TORCH_TO_ST.items()}
ELEM_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "F16": 2, "BF16": 2,
             "I32": 4, "F32": 4, "F64": 8, "I64": 8}


def tensor_bytes(t):
    """Row-major little-endian bytes of t (x86 is little-endian)."""
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)  # numpy has no bfloat16
    return t.numpy().tobytes()


def st_serialize(tensors, metadata=None):
    items = sorted(tensors.items(),
                   key=lambda kv: (-ENUM_ORDER.index(TORCH_TO_ST[kv[1].dtype]), kv[0].encode()))
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(sorted(metadata.items()))
    data = []
    off = 0
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        off += len(b)
        data.append(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(data)


def st_parse(buf):
    """Parse and fully validate a safetensors file; return (tensors, metadata)."""
    (n,) = struct.unpack("<Q", buf[:8])
    assert n % 8 == 0 and 8 + n <= len(buf), n
    header = json.loads(buf[8:8 + n].decode())
    metadata = header.pop("__metadata__", None)
    data = buf[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    out, pos = {}, 0
    for name, info in entries:
        begin, end = info["data_offsets"]
        assert begin == pos and end >= begin, (name, info)
        dtype = ST_TO_TORCH[info["dtype"]]
        numel = math.prod(info["shape"])
        assert end - begin == numel * ELEM_SIZE[info["dtype"]], (name, info)
        if numel == 0:
            t = torch.empty(info["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(info["shape"])
        out[name] = t
        pos = end
    assert pos == len(data)
    return out, metadata


def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return tensor_bytes(a) == tensor_bytes(b)


def dtype_tensors():
    """Must match stDTypeTensors in safetensors/safetensors_test.go."""
    return {
        "f32": ((torch.arange(12, dtype=torch.float32) - 5) * 0.25).reshape(3, 4),
        "f64": (torch.arange(6, dtype=torch.float64) / 3).reshape(2, 3),
        "f16": torch.tensor([-1.5, 0, 0.5, 65504, 2**-24, -2**-14, 1 / 1024], dtype=torch.float16),
        "bf16": torch.tensor([-1.5, 0, 0.25, 256, 2**-10, 2**127], dtype=torch.bfloat16).reshape(2, 3),
        "i32": (torch.arange(6, dtype=torch.int32) - 3).reshape(2, 3),
        "i64": torch.tensor([-2**40, 0, 7, 2**62], dtype=torch.int64),
        "mask": torch.tensor([True, False, True, True, False]),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "empty_bool": torch.zeros(0, dtype=torch.bool),
        "transposed": torch.arange(6, dtype=torch.float32).reshape(3, 2).t(),
    }


def mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    model.train()
    for _ in range(3):  # move the running statistics away from 0 and 1
        model(torch.randn(16, 4) * 2 + 0.5)
    model.eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        y = model(x)
    return model, x, y


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)
    print("wrote", os.path.relpath(path, ROOT), len(blob), "bytes")


def main():
    meta = {"format": "pt"}
    dtypes_file = st_serialize(dtype_tensors(), meta)
    write(os.path.join(HERE, "torch_dtypes.safetensors"), dtypes_file)
    unsupported = {
        "u8": torch.arange(4, dtype=torch.uint8),
        "i8": torch.arange(-2, 2, dtype=torch.int8),
        "i16": torch.arange(3, dtype=torch.int16),
        "f32": torch.ones(2),
    }
    write(os.path.join(HERE, "torch_unsupported.safetensors"), st_serialize(unsupported, meta))

    model, x, y = mlp()
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    mlp_file = st_serialize(sd, meta)
    os.makedirs(NN_TESTDATA, exist_ok=True)
    write(os.path.join(NN_TESTDATA, "torch_mlp.safetensors"), mlp_file)
    fixture = {
        "format": "tessera-torch-mlp/1",
        "torch_version": torch.__version__,
        "model": "Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Linear(8, 3)), eval mode",
        "keys": list(sd.keys()),
        "input": {"shape": list(x.shape), "data": [float(v) for v in x.flatten()]},
        "output": {"shape": list(y.shape), "data": [float(v) for v in y.flatten()]},
    }
    with open(os.path.join(NN_TESTDATA, "torch_mlp.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote nn/testdata/torch_mlp.json")

    # Our own files must parse with our own reader.
    for blob, want in ((dtypes_file, dtype_tensors()), (mlp_file, sd)):
        got, md = st_parse(blob)
        assert md == meta and set(got) == set(want)
        assert all(same(got[k], want[k].contiguous()) for k in want)

    # The other direction: Tessera writes the same tensors; Python reads them.
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, TESSERA_ST_OUT=out)
        subprocess.run(["go", "test", "-count=1", "-run",
                        "TestSafetensorsTorchDTypes|TestStateTorchMLP",
                        "./safetensors/", "./nn/"], cwd=ROOT, env=env, check=True)
        for name, blob, want in (("tessera_dtypes.safetensors", dtypes_file, dtype_tensors()),
                                 ("tessera_mlp.safetensors", mlp_file, sd)):
            with open(os.path.join(out, name), "rb") as f:
                tess = f.read()
            got, md = st_parse(tess)
            assert md == meta, md
            assert set(got) == set(want), (set(got), set(want))
            for k in want:
                assert same(got[k], want[k].contiguous()), k
            assert tess == blob, name + ": Tessera's bytes differ from the reference writer's"
            print("checked", name, "read by Python: identical tensors and bytes")


if __name__ == "__main__":
    sys.exit(main())
