"""Reference fixtures for org.llamawb.model.weights (run by hand, not in CI).

    /work/venv-ref/bin/python scripts/reference/make_weights_fixtures.py

Writes model/src/test/resources/fixtures/weights/:
  mixed-f32.safetensors, mixed-f16.safetensors, mixed-bf16.safetensors
      the same tensors saved by the Python safetensors library as F32, F16 and BF16 (torch's rounding),
      including rounding ties, f16 overflow/underflow, NaN, a 0-d and an empty tensor. Java reads the F32
      file, writes F16/BF16 itself and must produce these files byte for byte.
  tiny-llama-sharded/
      a random 2-layer LlamaForCausalLM saved by transformers' save_pretrained with max_shard_size=3000
      bytes (shards + model.safetensors.index.json); Java re-writes the tensors with the same limit and
      must produce identical shards and index.
  stories260k-hf.json
      for ../shared/data/models/stories260K/stories260K.bin: the Hugging Face tensors (q/k permuted with
      transformers' convert_llama_weights_to_hf rule) as sha256 of their float32 little-endian bytes, plus
      the greedy token ids transformers' LlamaForCausalLM produces with them (which must equal llama2.c
      run.c's output, proving the permutation).
"""
import hashlib
import json
import pathlib
import struct

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "model/src/test/resources/fixtures/weights"
STORIES = ROOT.parent / "shared/data/models/stories260K/stories260K.bin"
# llama2.c run.c greedy ids after BOS (PROVENANCE.txt of stories260K)
RUNC_GREEDY = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410]


def mixed_tensors():
    g = torch.Generator().manual_seed(1234)
    special = torch.tensor([
        1.0 + 2.0 ** -8,        # bf16 tie between 1 and 1+2^-7: rounds to even (1.0)
        1.0 + 3 * 2.0 ** -8,    # bf16 tie: rounds to even (1 + 2^-6)
        1.0 + 2.0 ** -8 + 2.0 ** -20,  # just above a tie: rounds up
        65520.0,                # f16 overflow -> inf
        1e-8,                   # f16 underflow -> 0
        3e-6,                   # f16 subnormal
        -0.0,
        float("inf"),
        float("-inf"),
        float("nan"),
        3.4e38,                 # bf16 rounds up to inf
    ], dtype=torch.float32)
    return {
        "b.weight": torch.randn(3, 5, generator=g),
        "a": special,
        "scalar": torch.tensor(0.1),
        "empty": torch.zeros(2, 0),
        "model.layers.10.x": torch.randn(4, generator=g) * 1000,
        "model.layers.2.x": torch.randn(2, 3, generator=g) * 1e-3,
    }


def sha(t):
    return hashlib.sha256(t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()).hexdigest()


def permute(w, n_heads, dim1, dim2):
    # transformers' convert_llama_weights_to_hf.py permute: Meta interleaved pairs -> rotate-half
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def stories260k():
    raw = STORIES.read_bytes()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // n_heads
    data = np.frombuffer(raw, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        t = torch.from_numpy(data[pos:pos + n].copy()).reshape(*shape)
        pos += n
        return t

    # llama2.c export.py legacy_export order
    emb = take(vocab, dim)
    att_norm = [take(dim) for _ in range(n_layers)]
    wq = [take(n_heads * hd, dim) for _ in range(n_layers)]
    wk = [take(n_kv * hd, dim) for _ in range(n_layers)]
    wv = [take(n_kv * hd, dim) for _ in range(n_layers)]
    wo = [take(dim, n_heads * hd) for _ in range(n_layers)]
    ffn_norm = [take(dim) for _ in range(n_layers)]
    w1 = [take(hidden, dim) for _ in range(n_layers)]
    w2 = [take(dim, hidden) for _ in range(n_layers)]
    w3 = [take(hidden, dim) for _ in range(n_layers)]
    norm = take(dim)
    take(seq, hd // 2)
    take(seq, hd // 2)
    assert shared and pos == data.size

    sd = {"model.embed_tokens.weight": emb, "model.norm.weight": norm}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = att_norm[i]
        sd[p + "self_attn.q_proj.weight"] = permute(wq[i], n_heads, n_heads * hd, dim)
        sd[p + "self_attn.k_proj.weight"] = permute(wk[i], n_kv, n_kv * hd, dim)
        sd[p + "self_attn.v_proj.weight"] = wv[i]
        sd[p + "self_attn.o_proj.weight"] = wo[i]
        sd[p + "post_attention_layernorm.weight"] = ffn_norm[i]
        sd[p + "mlp.gate_proj.weight"] = w1[i]
        sd[p + "mlp.down_proj.weight"] = w2[i]
        sd[p + "mlp.up_proj.weight"] = w3[i]

    cfg = LlamaConfig(vocab_size=vocab, hidden_size=dim, intermediate_size=hidden, num_hidden_layers=n_layers,
                      num_attention_heads=n_heads, num_key_value_heads=n_kv, max_position_embeddings=seq,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    with torch.no_grad():
        out = model.generate(torch.tensor([[1]]), max_new_tokens=len(RUNC_GREEDY), do_sample=False)
    greedy = out[0, 1:].tolist()
    print("transformers greedy ids:", greedy)
    print("matches llama2.c run.c:", greedy == RUNC_GREEDY)
    assert greedy == RUNC_GREEDY
    return {
        "source": "stories260K.bin (llama2.c legacy), sha256 b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
        "greedy_ids_after_bos": greedy,
        "sha256_f32_le": {k: sha(v) for k, v in sorted(sd.items())},
        "shapes": {k: list(v.shape) for k, v in sorted(sd.items())},
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    t = mixed_tensors()
    save_file(t, OUT / "mixed-f32.safetensors", metadata={"format": "pt"})
    save_file({k: v.to(torch.float16) for k, v in t.items()}, OUT / "mixed-f16.safetensors", metadata={"format": "pt"})
    save_file({k: v.to(torch.bfloat16) for k, v in t.items()}, OUT / "mixed-bf16.safetensors", metadata={"format": "pt"})

    torch.manual_seed(7)
    cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1, max_position_embeddings=64, tie_word_embeddings=False)
    tiny = LlamaForCausalLM(cfg)
    d = OUT / "tiny-llama-sharded"
    if d.exists():
        for f in d.iterdir():
            f.unlink()
    tiny.save_pretrained(d, max_shard_size=3000)
    (d / "generation_config.json").unlink(missing_ok=True)

    (OUT / "stories260k-hf.json").write_text(json.dumps(stories260k(), indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
