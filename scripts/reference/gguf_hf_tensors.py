"""Tensors of the real tiny Llama-2 GGUF as transformers' own GGUF loader maps them to Hugging Face names.

Run by hand with the reference venv (torch, transformers, gguf), from the repository root:

    /work/venv-ref/bin/python scripts/reference/gguf_hf_tensors.py \
        ../shared/data/models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf \
        model/src/test/resources/fixtures/gguf/tiny_llama_hf_tensors.json

transformers dequantises the file and reverses llama.cpp's q/k row permutation itself, so these values
are an independent reference for GgufWeights (names, shapes, un-permutation). The two 32000 x 8 matrices
are reduced to a few rows to keep the fixture small.
"""
import json
import os
import sys
import tempfile

import torch
from transformers import AutoModelForCausalLM

ROWS = [0, 1, 2, 29871, 15043, 31999]


def main(gguf_path, out):
    d = tempfile.mkdtemp()
    os.symlink(os.path.abspath(gguf_path), os.path.join(d, "m.gguf"))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file="m.gguf", dtype=torch.float32)
    tensors = {}
    for name, t in model.state_dict().items():
        entry = {"shape": list(t.shape)}
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            entry["rows"] = {str(r): t[r].tolist() for r in ROWS}
        else:
            entry["values"] = t.flatten().tolist()
        tensors[name] = entry
    c = model.config
    config = {"vocab_size": c.vocab_size, "hidden_size": c.hidden_size, "intermediate_size": c.intermediate_size,
              "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
              "num_key_value_heads": c.num_key_value_heads, "head_dim": c.head_dim,
              "max_position_embeddings": c.max_position_embeddings, "tie_word_embeddings": c.tie_word_embeddings}
    with open(out, "w") as f:
        json.dump({"generated_by": "scripts/reference/gguf_hf_tensors.py", "config": config, "tensors": tensors}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
