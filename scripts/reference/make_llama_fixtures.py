"""Logit-parity fixtures for the Java LLaMA model: tiny random HF checkpoints + expected logits.

Writes model/src/test/resources/fixtures/hf/<case>/ (see the README.md there for every file's schema).
Run by hand from the repository root (never in CI):

    /work/venv-ref/bin/python scripts/reference/make_llama_fixtures.py

Everything is float32 on CPU, eager attention; sdpa is checked to agree within 1e-5. Deterministic:
re-running rewrites identical bytes (given the same library versions).
"""
import argparse
import datetime
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny  # noqa: E402

OUT = "model/src/test/resources/fixtures/hf"
LLAMA3 = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 16}

# name: (seed, config overrides, T, P, embed_std, notes)
CASES = {
    "gqa": (101, {}, 14, 6, 1.0, "4 heads, 2 KV heads, untied lm_head"),
    "tied": (102, {"num_key_value_heads": 4, "tie_word_embeddings": True}, 14, 6, 0.3,
             "MHA (4/4 heads), tie_word_embeddings: no lm_head.weight in the file"),
    "llama3_rope": (103, {"vocab_size": 64, "rope_parameters": dict(LLAMA3)}, 40, 8, 1.0,
                    "rope_type llama3 (factor 8, low 1, high 4, original_max_position_embeddings 16), "
                    "rope_theta 500000, T=40; vocab 64 to keep the files small"),
    "linear_rope": (104, {"rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}},
                    14, 6, 1.0, "rope_type linear, factor 2"),
    "head_dim": (105, {"vocab_size": 64, "intermediate_size": 48, "head_dim": 24}, 14, 6, 1.0,
                 "hidden 32, 4 heads, 2 KV heads, head_dim 24: q_proj is [96, 32], heads*head_dim != hidden"),
    "bf16": (106, {}, 14, 6, 1.0, "weights stored as BF16; expected logits from those BF16 weights widened to F32"),
    "sharded": (107, {}, 14, 6, 1.0, "save_pretrained(max_shard_size='40KB'): >= 3 shards + index"),
    "bias": (108, {"attention_bias": True, "mlp_bias": True}, 14, 6, 1.0,
             "attention_bias and mlp_bias: q/k/v/o and gate/up/down have random non-zero .bias"),
    "legacy_config": (101, {}, 14, 6, 1.0,
                      "same weights and inputs as gqa; config.json hand-written in the pre-v5 layout "
                      "(top-level rope_theta, rope_scaling null, eos_token_id a list, torch_dtype, no head_dim)"),
    "legacy_llama3": (103, {"vocab_size": 64, "rope_parameters": dict(LLAMA3)}, 40, 8, 1.0,
                      "same weights and inputs as llama3_rope; pre-v5 config.json (top-level rope_theta 500000, "
                      "rope_scaling a llama3 dict, eos_token_id a list, no head_dim)"),
    "packed": (109, {}, 16, None, 1.0,
               "one row holding two documents of lengths 7 and 9; expected = each document run alone"),
}


def forward(model, ids, position_ids=None):
    with torch.no_grad():
        return model(input_ids=ids, position_ids=position_ids, use_cache=False).logits.float()


def decode(model, ids, prefill):
    """Prefill `prefill` tokens with the KV cache, then one token at a time; logits of positions P..T-1."""
    with torch.no_grad():
        out = model(input_ids=ids[:, :prefill], use_cache=True)
        past = out.past_key_values
        steps = []
        for t in range(prefill, ids.shape[1]):
            out = model(input_ids=ids[:, t:t + 1], past_key_values=past, use_cache=True)
            past = out.past_key_values
            steps.append(out.logits[:, -1].float())
    return torch.stack(steps, dim=1)


def legacy_rewrite(directory, rope_scaling, rope_theta):
    """Rewrites a transformers-5 config.json in the layout transformers 4.x wrote."""
    path = os.path.join(directory, "config.json")
    with open(path) as fh:
        c = json.load(fh)
    c.pop("rope_parameters", None)
    c.pop("dtype", None)
    c.pop("head_dim", None)  # Llama-2-era configs have none: head_dim = hidden_size / num_attention_heads
    c["rope_theta"] = rope_theta
    c["rope_scaling"] = rope_scaling
    c["eos_token_id"] = [2, 3]
    c["torch_dtype"] = "float32"
    c["transformers_version"] = "4.46.0"
    with open(path, "w") as fh:
        json.dump(dict(sorted(c.items())), fh, indent=2)
        fh.write("\n")


def max_diff(a, b):
    return float((a - b).abs().max())


def make_case(name, root):
    seed, overrides, T, P, embed_std, notes = CASES[name]
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    cfg = tiny.tiny_config(**overrides)
    model = tiny.build(cfg, seed, embed_std)
    meta = {"notes": notes, "seed": seed}

    if name == "bf16":
        model = model.to(torch.bfloat16)
        model.save_pretrained(d)
    elif name == "sharded":
        model.save_pretrained(d, max_shard_size="40KB")
    else:
        model.save_pretrained(d)
    if name == "legacy_config":
        legacy_rewrite(d, None, 10000.0)
    elif name == "legacy_llama3":
        legacy_rewrite(d, {k: v for k, v in LLAMA3.items() if k != "rope_theta"}, 500000.0)

    g = torch.Generator().manual_seed(seed + 1000)
    B = 1 if name == "packed" else 2
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g)

    eager = tiny.load(d, "eager")
    sdpa = tiny.load(d, "sdpa")
    if name.startswith("legacy"):
        # transformers 5 must read the old layout exactly as the new one
        ref = (tiny.build(tiny.tiny_config(**overrides), seed, embed_std))
        assert max_diff(forward(ref, ids), forward(eager, ids)) == 0.0, name + ": legacy config changed the model"
    inputs = {"input_ids": ids.tolist()}
    tensors = {}
    if name == "packed":
        lengths = [7, 9]
        starts = [0, 7]
        docs = [[s, s + n] for s, n in zip(starts, lengths)]
        pos = torch.cat([torch.arange(n) for n in lengths]).unsqueeze(0)
        parts = [forward(eager, ids[:, s:e]) for s, e in docs]
        logits = torch.cat(parts, dim=1)
        sd = torch.cat([forward(sdpa, ids[:, s:e]) for s, e in docs], dim=1)
        unpacked_plain = forward(eager, ids)  # what you get WITHOUT resetting positions and masking
        inputs.update({"documents": docs, "position_ids": pos.tolist()})
        meta["max_abs_diff_vs_unmasked_forward_doc2"] = max_diff(unpacked_plain[:, 7:], logits[:, 7:])
        meta["max_abs_diff_sdpa_vs_eager"] = max_diff(sd, logits)
        tensors["logits"] = logits.contiguous()
    else:
        logits = forward(eager, ids)
        dec = decode(eager, ids, P)
        meta["max_abs_diff_sdpa_vs_eager"] = max_diff(forward(sdpa, ids), logits)
        meta["max_abs_diff_decode_vs_full"] = max_diff(dec, logits[:, P:])
        meta["max_abs_diff_sdpa_decode_vs_eager_decode"] = max_diff(decode(sdpa, ids, P), dec)
        inputs["prefill"] = P
        tensors["logits"] = logits.contiguous()
        tensors["decode_logits"] = dec.contiguous()
        assert meta["max_abs_diff_decode_vs_full"] < 1e-4, meta
    assert meta["max_abs_diff_sdpa_vs_eager"] < 1e-5, (name, meta)
    meta["logits_std"] = float(logits.std())
    meta["logits_max_abs"] = float(logits.abs().max())

    if name in ("llama3_rope", "linear_rope"):
        plain = tiny.build(tiny.tiny_config(**{k: v for k, v in overrides.items() if k != "rope_parameters"},
                                            rope_parameters={"rope_type": "default",
                                                             "rope_theta": overrides["rope_parameters"]["rope_theta"]}),
                           seed, embed_std)
        meta["max_abs_diff_vs_unscaled_rope"] = max_diff(forward(plain, ids), logits)
        assert meta["max_abs_diff_vs_unscaled_rope"] > 0.1, meta
    if name == "sharded":
        shards = [f for f in os.listdir(d) if f.endswith(".safetensors")]
        assert len(shards) >= 3 and os.path.exists(os.path.join(d, "model.safetensors.index.json")), shards
    if name == "bf16":
        listing = tiny.tensor_listing(d)
        assert all(t["dtype"] == "BF16" for f in listing.values() for t in f.values()), listing

    inputs["tensors"] = tiny.tensor_listing(d)
    inputs["meta"] = meta
    tiny.write_json(os.path.join(d, "inputs.json"), inputs)
    save_file(tensors, os.path.join(d, "expected.safetensors"))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name:14s} {size / 1024:6.1f} KiB  " + json.dumps(meta, default=str))
    return size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    ap.add_argument("cases", nargs="*", default=list(CASES))
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    for c in a.cases:
        make_case(c, a.out)
    v = tiny.versions()
    v["date"] = datetime.date.today().isoformat()
    print(json.dumps(v))


if __name__ == "__main__":
    main()
