"""The eval task YAMLs of recipes/eval/tasks read from Python, and the stories260K conversion.

Shared by make_eval_fixtures.py (reference numbers) and bench/peer/lmeval_gauntlet.py (the benchmark peer),
so the prompts are defined once, in the YAML files the Java side reads too. Run only by hand with
/work/venv-ref/bin/python (never in CI).

Request construction (mirrors org.llamawb.eval.task.RequestBuilder):
  multiple_choice  context = fewshot + prompt(query),  continuation = target_delimiter + choice, per choice
  partial_choice   context = fewshot + prompt(option), continuation = target_delimiter + continuation, per option
  completion       context = fewshot + prompt(context), continuation = target_delimiter + continuation
  fewshot          = join(shot texts, fewshot_delimiter) + fewshot_delimiter, or "" for zero-shot, where a
                     shot text is the prompt + target_delimiter + gold answer of another example of the file
Shots are drawn per example with splitmix64 (see shot_indices), never the example itself.
"""
import json
import os
import shutil

import numpy as np
import yaml

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_task(name_or_path):
    path = name_or_path if name_or_path.endswith(".yaml") else os.path.join(
        repo_root(), "recipes", "eval", "tasks", name_or_path + ".yaml")
    with open(path) as fh:
        spec = yaml.safe_load(fh)
    spec.setdefault("shots", 0)
    spec.setdefault("seed", 1234)
    spec.setdefault("target_delimiter", " ")
    spec.setdefault("fewshot_delimiter", "\n\n")
    spec.setdefault("prompt", "{context}" if spec["kind"] in ("partial_choice", "completion") else "{query}")
    return spec


def read_examples(spec):
    f = spec["file"]
    if not os.path.isabs(f):
        f = os.path.join(repo_root(), f)
    with open(f, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def splitmix64(state):
    """One splitmix64 step: returns (new_state, output)."""
    state = (state + GOLDEN) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def shot_indices(seed, doc, n, k):
    """k distinct example indices in [0, n) other than doc, in draw order (org.llamawb.eval.task.ShotSampler)."""
    state = (seed ^ ((doc * 0xD1B54A32D192ED03) & MASK64)) & MASK64
    out = []
    while len(out) < k:
        state, z = splitmix64(state)
        c = z % n
        if c != doc and c not in out:
            out.append(c)
    return out


def fill(template, fields):
    out = template
    for k, v in fields.items():
        if isinstance(v, str):
            out = out.replace("{" + k + "}", v)
    return out


def shot_text(spec, ex):
    d = spec["target_delimiter"]
    kind = spec["kind"]
    if kind == "multiple_choice":
        return fill(spec["prompt"], ex) + d + ex["choices"][ex["gold"]]
    if kind == "partial_choice":
        return fill(spec["prompt"], {"context": ex["context_options"][ex["gold"]]}) + d + ex["continuation"]
    if kind == "completion":
        return fill(spec["prompt"], ex) + d + ex["continuation"]
    raise ValueError(kind)


def requests(spec, examples, i, shots=None):
    """[(context, continuation)] of example i, gold index (None for completion), and the lengths lm-eval
    normalises acc_norm by (len of each choice string as lm-evaluation-harness' doc_to_choice returns it)."""
    k = spec["shots"] if shots is None else shots
    ex = examples[i]
    prefix = ""
    if k > 0:
        texts = [shot_text(spec, examples[j]) for j in shot_indices(spec["seed"], i, len(examples), k)]
        prefix = spec["fewshot_delimiter"].join(texts) + spec["fewshot_delimiter"]
    d = spec["target_delimiter"]
    kind = spec["kind"]
    if kind == "multiple_choice":
        ctx = prefix + fill(spec["prompt"], ex)
        return [(ctx, d + c) for c in ex["choices"]], ex["gold"], ex["choices"]
    if kind == "partial_choice":
        ctxs = [prefix + fill(spec["prompt"], {"context": o}) for o in ex["context_options"]]
        return [(c, d + ex["continuation"]) for c in ctxs], ex["gold"], ex["context_options"]
    if kind == "completion":
        return [(prefix + fill(spec["prompt"], ex), d + ex["continuation"])], None, None
    raise ValueError(kind)


# ---------------------------------------------------------------- stories260K -> Hugging Face

def permute_rotary(w, n_heads):
    """Meta's interleaved rotary layout -> Hugging Face rotate-half, as transformers'
    convert_llama_weights_to_hf.permute: view(h, rows/h/2, 2, cols).transpose(1, 2).reshape(rows, cols)."""
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def convert_stories260k(bin_path, tokenizer_model, out_dir):
    """Writes a LlamaForCausalLM directory (config.json, model.safetensors, tokenizer.json, ...) from a
    llama2.c legacy checkpoint read with numpy, and the tokenizer from its SentencePiece model."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    raw = open(bin_path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = (int(x) for x in np.frombuffer(raw[:28], dtype="<i4"))
    shared = vocab > 0
    vocab = abs(vocab)
    head = dim // heads
    kv_dim = kv_heads * head
    data = np.frombuffer(raw[28:], dtype="<f4")
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = data[pos:pos + n].reshape(shape)
        pos += n
        return a.copy()

    tok_emb = take(vocab, dim)
    rms_att = take(layers, dim)
    wq = take(layers, dim, dim)
    wk = take(layers, kv_dim, dim)
    wv = take(layers, kv_dim, dim)
    wo = take(layers, dim, dim)
    rms_ffn = take(layers, dim)
    w1 = take(layers, hidden, dim)
    w2 = take(layers, dim, hidden)
    w3 = take(layers, hidden, dim)
    rms_final = take(dim)
    take(seq_len, head // 2)  # freq_cis_real (unused)
    take(seq_len, head // 2)  # freq_cis_imag (unused)
    wcls = tok_emb if shared else take(vocab, dim)
    assert pos == data.size, (pos, data.size)

    config = LlamaConfig(vocab_size=vocab, hidden_size=dim, intermediate_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=seq_len,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=shared,
                         bos_token_id=1, eos_token_id=2)
    sd = {"model.embed_tokens.weight": tok_emb, "model.norm.weight": rms_final}
    if not shared:
        sd["lm_head.weight"] = wcls
    for i in range(layers):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = rms_att[i]
        sd[p + "self_attn.q_proj.weight"] = permute_rotary(wq[i], heads)
        sd[p + "self_attn.k_proj.weight"] = permute_rotary(wk[i], kv_heads)
        sd[p + "self_attn.v_proj.weight"] = wv[i]
        sd[p + "self_attn.o_proj.weight"] = wo[i]
        sd[p + "post_attention_layernorm.weight"] = rms_ffn[i]
        sd[p + "mlp.gate_proj.weight"] = w1[i]
        sd[p + "mlp.down_proj.weight"] = w2[i]
        sd[p + "mlp.up_proj.weight"] = w3[i]
    model = LlamaForCausalLM(config).float().eval()
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)

    # transformers 5 builds the fast tokenizer from a tokenizer.model found in a directory.
    spm_dir = os.path.join(out_dir, "_spm")
    os.makedirs(spm_dir, exist_ok=True)
    shutil.copyfile(tokenizer_model, os.path.join(spm_dir, "tokenizer.model"))
    tok = LlamaTokenizer.from_pretrained(spm_dir, add_bos_token=True)
    tok.save_pretrained(out_dir)
    shutil.rmtree(spm_dir)
    return out_dir
