"""HF LlamaForCausalLM forward and forward+backward throughput (full fine-tune), fp32, sdpa, CPU.

    python bench/peer/hf_forward.py [--dim 288 --layers 6 --heads 6 --hidden 768 --vocab 32000]
        [--batch 8 --seq 256 --steps 10 --warmup 2] [--peak-gflops G] [--threads N]
Prints one JSON line. forward: under torch.no_grad, use_cache=False. train: forward + mean cross-entropy
on random labels + backward with every parameter requiring grad (no optimiser step; grads set to None
between steps). MFU = flops_per_token · tokens/s / peak, with 2N (forward) and 6N (forward+backward),
N = parameters except the input embedding table (harness.matmul_params).
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
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    harness.setup(a)
    model = harness.build_model(a, a.seq)
    total, n = harness.matmul_params(model)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    labels = torch.randint(0, a.vocab, (a.batch, a.seq))
    tokens = a.batch * a.seq

    model.eval()

    def forward():
        with torch.no_grad():
            model(input_ids=ids, use_cache=False)

    fwd = harness.summary(harness.timed(forward, a.steps, a.warmup))

    model.train()  # dropout is 0 in Llama; train() only matters for consistency with the Java side
    for p in model.parameters():
        p.requires_grad_(True)

    def train_step():
        model.zero_grad(set_to_none=True)
        out = model(input_ids=ids, labels=labels, use_cache=False)
        out.loss.backward()

    trn = harness.summary(harness.timed(train_step, a.steps, a.warmup))
    fwd_tps = tokens / fwd["median_s"]
    trn_tps = tokens / trn["median_s"]
    harness.emit("hf_forward", a, {
        "model": harness.model_shape(a), "params": total, "params_matmul": n,
        "batch": a.batch, "seq": a.seq, "tokens_per_step": tokens,
        "forward": {**fwd, "tokens_per_s": fwd_tps, "mfu": harness.mfu(2 * n, fwd_tps, a.peak_gflops)},
        "forward_backward": {**trn, "tokens_per_s": trn_tps, "mfu": harness.mfu(6 * n, trn_tps, a.peak_gflops)},
        "peak_gflops": a.peak_gflops,
    })


if __name__ == "__main__":
    main()
