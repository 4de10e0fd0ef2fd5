"""bitsandbytes' NF4 and int8 codes of real weights, for the Java quantisers (model/.../fixtures/quant).

Run by hand from the repository root (never in CI), with bitsandbytes' CPU backend installed:

    /work/refvenv/bin/pip install bitsandbytes
    /work/refvenv/bin/python scripts/reference/make_quant_fixtures.py

The weights are stories260K's layer-0 gate_proj [172, 64] and down_proj [64, 172] (llama2.c w1, w2: already
[out, in], not permuted), read from ../shared/data/models/stories260K/stories260K.bin; the Java test reads the
same file, so the weights themselves are not stored. Writes codes.safetensors and meta.json (see the README
there): the codes and scales as bitsandbytes stores them; the dequantised weights in full for the short tensor
and, to stay small, as the SHA-256 of their float32 little-endian bytes for the two full ones.
"""
import datetime
import hashlib
import json
import os
import struct

import bitsandbytes as bnb
import bitsandbytes.functional as F
import numpy as np
import torch
from safetensors.torch import save_file

OUT = "model/src/test/resources/fixtures/quant"
BIN = "../shared/data/models/stories260K/stories260K.bin"


def stories_mlp_layer0():
    with open(BIN, "rb") as f:
        dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", f.read(28))
        data = np.frombuffer(f.read(), dtype=np.float32)
    kv_dim = dim * kv_heads // heads
    off = abs(vocab) * dim + layers * dim  # token embeddings, rms_att
    off += layers * dim * dim + 2 * layers * kv_dim * dim + layers * dim * dim  # wq, wk, wv, wo
    off += layers * dim  # rms_ffn
    w1 = data[off:off + hidden * dim].reshape(hidden, dim)
    off += layers * hidden * dim
    w2 = data[off:off + dim * hidden].reshape(dim, hidden)
    return {"gate_proj": torch.tensor(w1.copy()), "down_proj": torch.tensor(w2.copy())}


def main():
    torch.set_num_threads(1)
    weights = stories_mlp_layer0()
    # a tensor whose size is not a multiple of the block: the last block is short
    weights["gate_proj_head1000"] = weights["gate_proj"].reshape(-1)[:1000].clone()
    out = {}
    digests = {}

    def dequantised(key, t):
        t = t.contiguous()
        if t.numel() <= 1000:
            out[key] = t
        else:
            digests[key] = hashlib.sha256(t.numpy().astype("<f4").tobytes()).hexdigest()

    for name, w in weights.items():
        q, st = F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=False)
        out[f"nf4.{name}.packed"] = q.reshape(-1).contiguous()
        out[f"nf4.{name}.absmax"] = st.absmax.contiguous()
        dequantised(f"nf4.{name}.dequant", F.dequantize_4bit(q, st))
        out["nf4.code"] = st.code.contiguous()
        q2, st2 = F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
        assert torch.equal(q2, q)
        out[f"nf4dq.{name}.qabsmax"] = st2.absmax.contiguous()
        out[f"nf4dq.{name}.absmax2"] = st2.state2.absmax.contiguous()
        out[f"nf4dq.{name}.offset"] = st2.offset.reshape(1).contiguous()
        dequantised(f"nf4dq.{name}.dequant", F.dequantize_4bit(q2, st2))
        out["nf4dq.code2"] = st2.state2.code.contiguous()
        assert st2.state2.blocksize == 256
        if w.dim() == 2 or name.endswith("head1000"):
            codes, scales, _ = F.int8_vectorwise_quant(w.clone().reshape(-1, 50 if w.dim() == 1 else w.shape[1]))
            out[f"int8.{name}.codes"] = codes.contiguous()
            out[f"int8.{name}.scales"] = scales.contiguous()
            dequantised(f"int8.{name}.dequant", F.int8_vectorwise_dequant(codes, scales))
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "codes.safetensors"))
    meta = {"bitsandbytes": bnb.__version__, "torch": torch.__version__, "date": datetime.date.today().isoformat(),
            "tensors": {k: [str(v.dtype), list(v.shape)] for k, v in sorted(out.items())},
            "dequant_sha256": digests}
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(meta)[:400], os.path.getsize(os.path.join(OUT, "codes.safetensors")))


if __name__ == "__main__":
    main()
