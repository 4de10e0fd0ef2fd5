"""Shared helpers for the reference-fixture scripts: tiny random Llama models with order-1 logits.

Run only by hand with /work/venv-ref/bin/python (never in CI).
"""
import json
import math
import os

import torch
from safetensors import safe_open
from transformers import LlamaConfig, LlamaForCausalLM


def tiny_config(**overrides):
    """The default tiny shape: vocab 128, hidden 32, SwiGLU 64, 2 layers, 4 heads, 2 KV heads."""
    kw = dict(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    kw.update(overrides)
    return LlamaConfig(**kw)


def reinit_(model, seed, embed_std=1.0):
    """Re-initialises every parameter so that logits are of order 1 and differences of 1e-4 matter.

    Linear weights ~ N(0, 1/fan_in), embeddings ~ N(0, embed_std^2), RMSNorm weights ~ 1 + N(0, 0.2^2)
    (random around one, not all ones), biases ~ N(0, 0.2^2). Parameters are visited in
    named_parameters() order with one generator, so the result depends only on the seed and the shapes.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=g)
            elif "embed_tokens" in name:
                v = embed_std * torch.randn(p.shape, generator=g)
            elif name.endswith(".bias"):
                v = 0.2 * torch.randn(p.shape, generator=g)
            elif p.dim() == 2:
                v = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1])
            else:
                raise ValueError("unexpected parameter " + name)
            p.copy_(v.to(p.dtype))


def build(config, seed, embed_std=1.0):
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).float().eval()
    reinit_(model, seed, embed_std)
    return model


def load(path, attn="eager"):
    return LlamaForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation=attn).eval()


def tensor_listing(directory):
    """{file: {tensor: {"dtype": ..., "shape": [...]}}} for every *.safetensors file in a directory."""
    out = {}
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".safetensors"):
            continue
        entries = {}
        with safe_open(os.path.join(directory, f), framework="pt") as st:
            for k in sorted(st.keys()):
                sl = st.get_slice(k)
                entries[k] = {"dtype": sl.get_dtype(), "shape": list(sl.get_shape())}
        out[f] = entries
    return out


def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1)
        fh.write("\n")


def versions():
    import peft
    import safetensors
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "safetensors": safetensors.__version__}
