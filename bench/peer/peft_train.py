"""PEFT LoRA SFT training-step throughput on random tokens, fp32, sdpa, CPU.

    python bench/peer/peft_train.py [--dim 288 ...] --batch 8 --seq 256 [--targets qkvo|all-linear]
        [--grad-checkpointing off|on] [--autocast off|bf16] [--steps 5 --warmup 1] [--peak-gflops G]
Prints one JSON line. One step = zero_grad, forward with labels (= input ids, HF shifts them), backward,
AdamW(lr 2e-4) step on the LoRA parameters (r 8, alpha 16, dropout 0). Base weights frozen.
MFU: `mfu` uses the conventional 6N flops per token; `mfu_frozen_base` uses 4N (forward 2N + input
gradients 2N; a frozen base needs no weight gradients). N = parameters except the input embedding.
Recomputation under gradient checkpointing is not counted as useful work.
--autocast bf16 runs forward and loss under torch.autocast("cpu", torch.bfloat16), the mixed precision
transformers' Trainer uses for bf16=True on CPU: weights, gradients and optimiser state stay fp32, the
autocast op list (linear, matmul, sdpa) computes in bfloat16; backward runs outside it, as autograd records
the casts.
"""
import contextlib
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TARGETS = {"qkvo": ["q_proj", "k_proj", "v_proj", "o_proj"], "all-linear": "all-linear"}


def main():
    ap = argparse.ArgumentParser()
    harness.add_model_args(ap)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--targets", choices=sorted(TARGETS), default="qkvo")
    ap.add_argument("--prompt-fraction", type=float, default=0.0,
                    help="labels of the first F of every row are -100, as an SFT prompt (assistant-only training)")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--grad-checkpointing", choices=["off", "on"], default="off")
    ap.add_argument("--autocast", choices=["off", "bf16"], default="off")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    harness.setup(a)
    from peft import LoraConfig, get_peft_model

    base = harness.build_model(a, a.seq)
    total, n = harness.matmul_params(base)
    if a.grad_checkpointing == "on":
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(base, LoraConfig(task_type="CAUSAL_LM", r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                                            target_modules=TARGETS[a.targets]))
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    batches = [torch.randint(0, a.vocab, (a.batch, a.seq), generator=g) for _ in range(4)]
    state = {"i": 0, "loss": None}

    def autocast():
        if a.autocast == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step():
        ids = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad(set_to_none=True)
        labels = ids
        if a.prompt_fraction > 0:
            labels = ids.clone()
            labels[:, :round(a.prompt_fraction * a.seq)] = -100
        with autocast():
            out = model(input_ids=ids, labels=labels, use_cache=False)
        out.loss.backward()
        opt.step()
        state["loss"] = float(out.loss.detach())

    s = harness.summary(harness.timed(step, a.steps, a.warmup))
    tokens = a.batch * a.seq
    tps = tokens / s["median_s"]
    harness.emit("peft_train", a, {
        "model": harness.model_shape(a), "params": total, "params_matmul": n,
        "lora": {"r": a.rank, "alpha": a.alpha, "targets": a.targets,
                 "trainable_params": sum(p.numel() for p in trainable)},
        "grad_checkpointing": a.grad_checkpointing, "autocast": a.autocast,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "grad_checkpointing_active": any(getattr(m, "gradient_checkpointing", False) for m in model.modules()),
        "batch": a.batch, "seq": a.seq, "tokens_per_step": tokens, "prompt_fraction": a.prompt_fraction,
        "step": s, "tokens_per_s": tps, "mfu": harness.mfu(6 * n, tps, a.peak_gflops),
        "mfu_frozen_base": harness.mfu(4 * n, tps, a.peak_gflops), "peak_gflops": a.peak_gflops,
        "last_loss": state["loss"],
    })


if __name__ == "__main__":
    main()
