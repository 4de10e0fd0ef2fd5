"""TRL GRPOTrainer + PEFT LoRA: rollout tokens/s and update tokens/s apart, and peak RSS, fp32, CPU.

    python bench/peer/trl_grpo.py [--dim 288 ...] --prompt-tokens 32 --new-tokens 32 --batch 16 --generations 8
        [--steps 3 --warmup 1]
Prints one JSON line, with the fields of `workbench bench train --method grpo`.

The config of the workbench's side: random prompts of exactly --prompt-tokens word tokens (the word-level tokenizer of
trl_dpo.py: no BOS, no template), --generations completions each of at most --new-tokens, sampled at temperature 1
(top-k 0, top-p 1) with the KV cache; per_device_train_batch_size --batch completions, gradient_accumulation_steps 1,
so one generation batch of --batch completions (--batch / G prompts) per optimiser step and num_iterations 1 (the
old log-probabilities are the detached current ones); beta 0.04 (the reference is the model with the adapter
disabled: one copy of the weights), loss dapo, scale_rewards group; LoRA r 8 / alpha 16 / dropout 0 on q, k, v, o;
AdamW lr 2e-4 constant, max_grad_norm 1.0. The reward is a regex-like rule on the decoded text (whether it holds the
word of token 265), as cheap as the workbench's regex reward. --steps and --warmup count generation batches
(= optimiser steps here).

Timing, the same two parts as the workbench's:
  rollout: the wall time inside TRL's `profiling_context(self, "transformers.generate")`, which wraps exactly the
    `model.generate` call; tokens = the completion mask's sum (each completion up to and including its EOS, no
    padding), counted from what `_generate_and_score_completions` returns. The whole of
    `_generate_and_score_completions` (sampling, rewards, the reference pass) is reported as the rollout phase.
  update: each optimiser step's wall time between the Trainer's `on_step_begin` and `on_step_end` callbacks less the
    rollout phase that ran inside it (TRL generates inside `training_step`); tokens = the completion tokens of the
    generation batch, each trained once (num_iterations 1).
"""
import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from trl_dpo import SPECIAL, text, word_tokenizer  # noqa: E402

BETA = 0.04
LR = 2e-4


class Clock:
    """Wall and CPU seconds of the phases, per optimiser step."""

    def __init__(self):
        self.sampling = []  # seconds inside model.generate, per call
        self.phase = []  # (wall, cpu, completion tokens) per _generate_and_score_completions
        self.steps = []  # (wall, cpu, phase wall, phase cpu, tokens) per optimiser step
        self._step = None
        self._phase_in_step = [0.0, 0.0, 0]


def main():
    ap = argparse.ArgumentParser()
    harness.add_model_args(ap)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16, help="completions per optimiser step (one generation batch)")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.batch % a.generations:
        ap.error("--batch must be a multiple of --generations")
    harness.setup(a)
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback

    import trl
    import trl.trainer.grpo_trainer as grpo_module
    from trl import GRPOConfig, GRPOTrainer

    clock = Clock()
    original_context = grpo_module.profiling_context

    @contextmanager
    def timed_context(trainer, name):
        start = time.perf_counter()
        with original_context(trainer, name):
            yield
        if name == "transformers.generate":
            clock.sampling.append(time.perf_counter() - start)

    grpo_module.profiling_context = timed_context

    n_steps = a.warmup + a.steps
    prompts_per_step = a.batch // a.generations
    g = torch.Generator().manual_seed(a.seed)
    rows = [{"prompt": text(torch.randint(len(SPECIAL), a.vocab, (a.prompt_tokens,), generator=g).tolist()).strip()}
            for _ in range(prompts_per_step * n_steps)]
    tok = word_tokenizer(a.vocab)
    if len(tok(rows[0]["prompt"], add_special_tokens=False)["input_ids"]) != a.prompt_tokens:
        raise SystemExit("trl_grpo: a prompt does not tokenize to --prompt-tokens tokens")
    target = f"t{265}"

    def says_word(completions, **kw):
        return [1.0 if target in c.split() else 0.0 for c in completions]

    model = harness.build_model(a, a.prompt_tokens + a.new_tokens)
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16, lora_dropout=0.0,
                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    cfg = GRPOConfig(output_dir=tempfile.mkdtemp(prefix="trl-grpo-bench-"), max_steps=n_steps, learning_rate=LR,
                     lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
                     per_device_train_batch_size=a.batch, gradient_accumulation_steps=1,
                     num_generations=a.generations, max_completion_length=a.new_tokens, temperature=1.0, top_k=0,
                     top_p=1.0, beta=BETA, num_iterations=1, loss_type="dapo", scale_rewards="group",
                     use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False, logging_steps=10_000,
                     save_strategy="no", report_to=[], dataloader_num_workers=0, disable_tqdm=True, seed=a.seed,
                     shuffle_dataset=False)

    class StepClock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            clock._step = (time.perf_counter(), time.process_time())
            clock._phase_in_step = [0.0, 0.0, 0]

        def on_step_end(self, args, state, control, **kw):
            wall, cpu = clock._step
            pw, pc, tokens = clock._phase_in_step
            clock.steps.append((time.perf_counter() - wall, time.process_time() - cpu, pw, pc, tokens))

    trainer = GRPOTrainer(model=model, reward_funcs=[says_word], args=cfg, train_dataset=Dataset.from_list(rows),
                          processing_class=tok, peft_config=peft_config, callbacks=[StepClock()])
    generate_and_score = trainer._generate_and_score_completions

    def timed_generate_and_score(inputs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = generate_and_score(inputs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        tokens = int(out["completion_mask"].sum().item())
        clock.phase.append((wall, cpu, tokens))
        clock._phase_in_step[0] += wall
        clock._phase_in_step[1] += cpu
        clock._phase_in_step[2] += tokens
        return out

    trainer._generate_and_score_completions = timed_generate_and_score
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    rss_before = harness.peak_rss_mib()
    result = trainer.train()
    if len(clock.steps) != n_steps or len(clock.phase) != n_steps or len(clock.sampling) != n_steps:
        raise SystemExit(f"trl_grpo: expected one generation per step, got {len(clock.phase)} generations, "
                         f"{len(clock.sampling)} generate calls and {len(clock.steps)} steps")
    timed = slice(a.warmup, None)
    steps = clock.steps[timed]
    generated = sum(t for _, _, t in clock.phase[timed])
    sampling_s = sum(clock.sampling[timed])
    phase_s = sum(w for w, _, _ in clock.phase[timed])
    update_s = sum(w - pw for w, _, pw, _, _ in steps)
    update_cpu = sum(c - pc for _, c, _, pc, _ in steps)
    trained = sum(t for *_, t in steps)
    completions = a.steps * a.batch
    harness.emit("trl_grpo", a, {
        "model": harness.model_shape(a), "params": sum(p.numel() for p in model.parameters()), "method": "grpo",
        "trl": trl.__version__, "peft": __import__("peft").__version__,
        "config": {"prompt_tokens": a.prompt_tokens, "max_new_tokens": a.new_tokens, "micro_batch": a.batch,
                   "accumulation": 1, "prompts_per_rollout": prompts_per_step, "optimizer_steps_per_rollout": 1,
                   "temperature": 1.0, "top_k": 0, "top_p": 1.0, "learning_rate": LR, "rollouts_timed": a.steps,
                   "rollouts_warmup": a.warmup, "num_generations": a.generations, "num_iterations": 1, "beta": BETA,
                   "loss_type": "dapo"},
        "lora": {"r": 8, "alpha": 16, "targets": "qkvo", "trainable_params": trainable},
        "rss_before_steps_mib": round(rss_before, 1),
        "rollout": {"completions": completions, "generated_tokens": generated,
                    "mean_completion_tokens": generated / completions, "sampling_s": sampling_s,
                    "tokens_per_s": generated / sampling_s, "phase_s": phase_s,
                    "phase_cpu_s": sum(c for _, c, _ in clock.phase[timed]),
                    "phase_tokens_per_s": generated / phase_s},
        "update": {"optimizer_steps": a.steps, "trained_tokens": trained, "s": update_s, "cpu_s": update_cpu,
                   "tokens_per_s": trained / update_s},
        "rollout_tokens_per_s": generated / sampling_s, "update_tokens_per_s": trained / update_s,
        "last_loss": result.training_loss,
    })


if __name__ == "__main__":
    main()
