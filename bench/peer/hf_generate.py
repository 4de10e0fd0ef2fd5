"""Greedy generation throughput with the KV cache, batch 1, from a BOS prompt.

    python bench/peer/hf_generate.py --model DIR [--new-tokens 200]       a Hugging Face directory
    python bench/peer/hf_generate.py [--dim 288 ... ] [--new-tokens 200]  a random model of that shape
Prints one JSON line. tokens/s = new tokens / wall time of generate() (min_new_tokens = max_new_tokens,
do_sample False, use_cache True), median over --repeats after --warmup runs; prefill of the single BOS
token is included in the time. The generated ids of the last run are printed too (for parity checks).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    harness.add_model_args(ap)
    ap.add_argument("--model", default=None, help="Hugging Face model directory (else a random model)")
    ap.add_argument("--new-tokens", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    harness.setup(a)
    if a.model:
        from transformers import LlamaForCausalLM

        model = LlamaForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="sdpa")
        shape = {"path": a.model}
    else:
        model = harness.build_model(a, a.new_tokens + 1)
        shape = harness.model_shape(a)
    model.eval()
    total, n = harness.matmul_params(model)
    bos = model.config.bos_token_id if model.config.bos_token_id is not None else 1
    prompt = torch.tensor([[bos]])
    eos = model.config.eos_token_id
    pad = eos[0] if isinstance(eos, list) else (eos if eos is not None else 0)
    result = {}

    def generate():
        with torch.no_grad():
            result["ids"] = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                                           max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                                           do_sample=False, use_cache=True, pad_token_id=pad)

    s = harness.summary(harness.timed(generate, a.repeats, a.warmup))
    ids = result["ids"][0].tolist()
    assert len(ids) == a.new_tokens + 1, len(ids)
    harness.emit("hf_generate", a, {
        "model": shape, "params": total, "params_matmul": n, "batch": 1, "prompt_tokens": 1,
        "new_tokens": a.new_tokens, **s, "tokens_per_s": a.new_tokens / s["median_s"], "ids": ids,
    })


if __name__ == "__main__":
    main()
