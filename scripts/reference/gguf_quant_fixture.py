"""A small GGUF fixture for the Java GGUF reader, dequantisers and Q8_0/F16 encoders.

Run by hand with the reference venv (numpy + the `gguf` package from llama.cpp), from the repository root:

    /work/venv-ref/bin/python scripts/reference/gguf_quant_fixture.py model/src/test/resources/fixtures/gguf/quants.gguf

Contents:
  metadata     one key of every GGUF value type, a nested array and a string array (test.*).
  raw.<type>   random blocks of Q4_0, Q4_1, Q8_0, Q4_K, Q6_K, F16 and BF16 (512 values, numpy shape [2, 256],
               scales set to sane float16 values), and expected.<type>: gguf.quants.dequantize of the same
               bytes as F32 (the independent reference for the Java dequantisers).
  source.f32   values to encode, with a zero block and exact .5 ties in another;
  source.q8_0  gguf.quants.quantize(source, Q8_0) (bit-exact with ggml's quantize_row_q8_0_ref);
  source.f16   numpy's float16 of the same values.
  edge.f32 / edge.f16   float16 rounding edge cases (ties to even, subnormals, overflow to inf).
"""
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.constants import GGML_QUANT_SIZES

# Byte offsets of the float16 scale fields of each block layout (ggml-common.h).
SCALE_OFFSETS = {Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q8_0: [0], Q.Q4_K: [0, 2], Q.Q6_K: [208]}


def main(out):
    rng = np.random.default_rng(20240607)
    w = gguf.GGUFWriter(out, arch="llama")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 3.25)
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**40))
    w.add_float64("test.f64", 2.5e-300)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo ✓")
    w.add_array("test.nested", [[1, 2], [3]])
    w.add_array("test.strings", ["a", "bc", ""] )

    for qtype in (Q.Q4_0, Q.Q4_1, Q.Q8_0, Q.Q4_K, Q.Q6_K):
        block, size = GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(512 // block, size), dtype=np.uint8)
        for off in SCALE_OFFSETS[qtype]:
            scales = rng.uniform(-0.05, 0.05, size=raw.shape[0]).astype(np.float16)
            raw[:, off:off + 2] = scales.view(np.uint8).reshape(-1, 2)
        raw = raw.reshape(2, -1)
        w.add_tensor(f"raw.{qtype.name}", raw, raw_dtype=qtype)
        w.add_tensor(f"expected.{qtype.name}", gguf.quants.dequantize(raw, qtype).astype(np.float32))

    f16 = rng.normal(0, 2, size=(2, 256)).astype(np.float16)
    w.add_tensor("raw.F16", f16)
    w.add_tensor("expected.F16", f16.astype(np.float32))
    bf16 = (rng.normal(0, 2, size=(2, 256)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    bf16 = bf16.view(np.uint8).reshape(2, -1)
    w.add_tensor("raw.BF16", bf16, raw_dtype=Q.BF16)
    w.add_tensor("expected.BF16", gguf.quants.dequantize(bf16, Q.BF16).astype(np.float32))

    source = rng.normal(0, 1, size=(2, 256)).astype(np.float32)
    source[0, 32:64] = 0.0                                  # a zero block: d = 0
    source[1, 0:32] = np.arange(-15.5, 16.5, 1.0)           # amax 15.5 ...
    source[1, 31] = 127.0                                   # ... then 127: d = 1, q = roundf(x): .5 ties away from 0
    w.add_tensor("source.f32", source)
    w.add_tensor("source.q8_0", gguf.quants.quantize(source, Q.Q8_0), raw_dtype=Q.Q8_0)
    w.add_tensor("source.f16", source.astype(np.float16))

    one = np.float32(1.0)
    edge = np.array([
        one + np.float32(2.0**-11), one + np.float32(3 * 2.0**-11), np.float32(2049.0), np.float32(2051.0),
        np.float32(65504.0), np.float32(65520.0), np.float32(70000.0), np.float32(-1e6),
        np.float32(6.0e-8), np.float32(2.98e-8), np.float32(2.9802322e-8), np.float32(1e-9),
        np.float32(6.1035156e-5), np.float32(6.1e-5), np.float32(-0.0), np.float32(np.inf),
        np.float32(-np.inf), np.float32(1.0 / 3.0), np.float32(-2.5e-6), np.float32(3.0e-5),
    ] + list(rng.normal(0, 100, size=12).astype(np.float32)), dtype=np.float32)
    w.add_tensor("edge.f32", edge)
    w.add_tensor("edge.f16", edge.astype(np.float16))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
