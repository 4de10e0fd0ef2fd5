"""What every Python peer shares: the model-shape flags, threads, timing, peak RSS and the JSON line.

The Java harnesses must use the same definitions (see README.md) for the numbers to be comparable.
"""
import json
import os
import platform
import resource
import statistics
import time

import torch

# llama2.c's stories15M: dim 288, 6 layers, 6 heads, SwiGLU hidden 768, vocab 32000, seq 256, tied classifier
DEFAULTS = dict(dim=288, layers=6, heads=6, kv_heads=6, hidden=768, vocab=32000)


def add_model_args(ap):
    ap.add_argument("--dim", type=int, default=DEFAULTS["dim"])
    ap.add_argument("--layers", type=int, default=DEFAULTS["layers"])
    ap.add_argument("--heads", type=int, default=DEFAULTS["heads"])
    ap.add_argument("--kv-heads", type=int, default=None, help="default: --heads")
    ap.add_argument("--hidden", type=int, default=DEFAULTS["hidden"], help="SwiGLU intermediate size")
    ap.add_argument("--vocab", type=int, default=DEFAULTS["vocab"])
    ap.add_argument("--untied", action="store_true", help="separate lm_head (default: tied, as stories15M)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--peak-gflops", type=float, default=None, help="machine peak fp32 GFLOP/s, for MFU")
    ap.add_argument("--seed", type=int, default=0)


def setup(a):
    """Threads and seed; records the RSS of the bare interpreter + torch, before any model exists."""
    a.baseline_rss_mib = round(peak_rss_mib(), 1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)


def build_model(a, max_positions):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.dim, intermediate_size=a.hidden,
                      num_hidden_layers=a.layers, num_attention_heads=a.heads,
                      num_key_value_heads=a.kv_heads or a.heads, max_position_embeddings=max(max_positions, 256),
                      rms_norm_eps=1e-5, tie_word_embeddings=not a.untied, bos_token_id=1, eos_token_id=2)
    return LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa", dtype=torch.float32)


def model_shape(a):
    return {"dim": a.dim, "layers": a.layers, "heads": a.heads, "kv_heads": a.kv_heads or a.heads,
            "hidden": a.hidden, "vocab": a.vocab, "tied": not a.untied}


def matmul_params(model):
    """N for MFU: every parameter except the input embedding table (a lookup, not a matmul).

    With a tied classifier the shared matrix is counted once, as the lm_head matmul.
    """
    total = sum(p.numel() for p in model.parameters())
    embed = model.get_input_embeddings().weight
    tied = model.get_output_embeddings().weight is embed
    return total, total if tied else total - embed.numel()


def mfu(flops_per_token, tokens_per_s, peak_gflops):
    if not peak_gflops:
        return None
    return flops_per_token * tokens_per_s / (peak_gflops * 1e9)


def timed(fn, steps, warmup):
    """Runs fn warmup + steps times; returns the seconds of each measured call."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(seconds):
    return {"median_s": statistics.median(seconds), "mean_s": statistics.fmean(seconds), "min_s": min(seconds),
            "n": len(seconds)}


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def emit(name, a, fields):
    import transformers

    row = {"bench": name, "impl": "python-hf", "torch": torch.__version__, "transformers": transformers.__version__,
           "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "machine": platform.processor()
           or platform.machine()}
    row.update(fields)
    row["baseline_rss_mib"] = getattr(a, "baseline_rss_mib", None)
    row["peak_rss_mib"] = round(peak_rss_mib(), 1)
    print(json.dumps(row), flush=True)
