"""TRL PPOTrainer + PEFT LoRA: rollout tokens/s and update tokens/s apart, and peak RSS, fp32, CPU.

    python bench/peer/trl_ppo.py --trl PATH [--dim 288 ...] --prompt-tokens 32 --new-tokens 32 --batch 8
        --mini-batches 2 --ppo-epochs 2 [--steps 3 --warmup 1]
Prints one JSON line, with the fields of `workbench bench train --method ppo`.

TRL 1.16 has no PPOTrainer: it moved to `trl.experimental.ppo` in 1.10 and was removed after 1.12 (TRL pull request
7020). --trl names a folder holding TRL 1.12.0 alone, e.g.
    $PY -m pip install --no-deps --target /tmp/llamawb-bench/trl-1.12.0 trl==1.12.0
which is put first on sys.path; torch, transformers, peft and accelerate are the environment's.

The config of the workbench's side: random prompts of exactly --prompt-tokens word tokens (trl_dpo.py's tokenizer), one
completion each of at most --new-tokens (TRL's response_length) sampled at temperature 1 with the KV cache, stop token
EOS; a rollout batch of --batch × --mini-batches prompts (per_device_train_batch_size; gradient_accumulation_steps 1),
generated --batch at a time (local_rollout_forward_batch_size, as the workbench samples a micro-batch at a time), then
--ppo-epochs passes of --mini-batches optimiser steps of --batch completions; kl_coef 0.05 (k1), cliprange 0.2,
vf_coef 0.1, cliprange_value 0.2, gamma 1, lam 0.95, no reward whitening, no EOS penalty; AdamW lr 2e-4 constant.
The policy is the model with a LoRA adapter (r 8 / alpha 16 / dropout 0 on q, k, v, o) and the reference the same
model with the adapter disabled, as on the workbench's side. TRL's value model and reward model are what its
PPOTrainer takes: two more LlamaForSequenceClassification models of the same shape (random; the value model is
trained whole, as TRL does), where the workbench has a critic adapter + value head on the one base and a rule reward.

Timing, the same two parts as the workbench's:
  rollout: the wall time inside TRL's `batch_generation` (the `model.generate` calls); tokens = each completion up to
    and including its first EOS (TRL's sequence_length + 1), no padding. The rollout phase is from the end of the
    previous update (or the start of training) to the first update forward: sampling, the log-probability, reference,
    value and reward passes, GAE.
  update: from the first update forward of a rollout batch to the Trainer's `on_step_end` (all PPO epochs: forward,
    backward, optimiser steps, the metrics); tokens = the completion tokens, once per PPO epoch.
"""
import argparse
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from trl_dpo import SPECIAL, word_tokenizer  # noqa: E402

KL_COEF = 0.05
LR = 2e-4


def main():
    ap = argparse.ArgumentParser()
    harness.add_model_args(ap)
    ap.add_argument("--trl", required=True, help="a folder with TRL 1.12.0 (the last with PPOTrainer)")
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8, help="completions per optimiser step")
    ap.add_argument("--mini-batches", type=int, default=2, help="optimiser steps per pass over a rollout batch")
    ap.add_argument("--ppo-epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed rollout batches")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rollout batches first")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.trl))
    harness.setup(a)
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import LlamaForSequenceClassification, TrainerCallback

    import trl
    import trl.experimental.ppo.ppo_trainer as ppo_module
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    if not trl.__file__.startswith(os.path.abspath(a.trl)):
        raise SystemExit(f"trl_ppo: imported trl from {trl.__file__}, not from --trl {a.trl}")
    eos = 2
    per_rollout = a.batch * a.mini_batches
    n_rollouts = a.warmup + a.steps
    clock = {"sampling": [], "generated": [], "phase": [], "update": [], "mark": None, "pending": False}

    original_generation = ppo_module.batch_generation

    def timed_generation(model, queries, *rest, **kw):
        start = time.perf_counter()
        query_responses, logits = original_generation(model, queries, *rest, **kw)
        clock["sampling"].append(time.perf_counter() - start)
        responses = query_responses[:, queries.shape[1]:]
        tokens = 0
        for row in responses.tolist():
            tokens += row.index(eos) + 1 if eos in row else len(row)
        clock["generated"].append(tokens)
        clock["pending"] = True  # the next forward of the wrapped policy + value model starts the update
        return query_responses, logits

    original_forward = ppo_module.forward

    def timed_forward(model, *args, **kw):
        if clock["pending"] and type(model).__name__ == "PolicyAndValueWrapper":
            now = (time.perf_counter(), time.process_time())
            clock["phase"].append((now[0] - clock["mark"][0], now[1] - clock["mark"][1]))
            clock["mark"] = now
            clock["pending"] = False
        return original_forward(model, *args, **kw)

    ppo_module.batch_generation = timed_generation
    ppo_module.forward = timed_forward

    class Marks(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            clock["mark"] = (time.perf_counter(), time.process_time())

        def on_step_end(self, args, state, control, **kw):
            now = (time.perf_counter(), time.process_time())
            clock["update"].append((now[0] - clock["mark"][0], now[1] - clock["mark"][1]))
            clock["mark"] = now

    g = torch.Generator().manual_seed(a.seed)
    ids = [torch.randint(len(SPECIAL), a.vocab, (a.prompt_tokens,), generator=g).tolist()
           for _ in range(per_rollout * n_rollouts)]
    tok = word_tokenizer(a.vocab)
    policy = harness.build_model(a, a.prompt_tokens + a.new_tokens)

    def scorer():
        c = {k: v for k, v in policy.config.to_dict().items() if k not in ("id2label", "label2id")}
        m = LlamaForSequenceClassification(policy.config.__class__(**{**c, "num_labels": 1,
                                                                        "pad_token_id": tok.pad_token_id}))
        return m.to(torch.float32)

    value_model, reward_model = scorer(), scorer()
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16, lora_dropout=0.0,
                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    cfg = PPOConfig(output_dir=tempfile.mkdtemp(prefix="trl-ppo-bench-"), learning_rate=LR,
                    lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
                    per_device_train_batch_size=per_rollout, gradient_accumulation_steps=1,
                    num_mini_batches=a.mini_batches, num_ppo_epochs=a.ppo_epochs,
                    total_episodes=per_rollout * n_rollouts, local_rollout_forward_batch_size=a.batch,
                    response_length=a.new_tokens, temperature=1.0, stop_token="eos", missing_eos_penalty=None,
                    kl_coef=KL_COEF, kl_estimator="k1", cliprange=0.2, vf_coef=0.1, cliprange_value=0.2, gamma=1.0,
                    lam=0.95, whiten_rewards=False, num_sample_generations=0, use_cpu=True, bf16=False, fp16=False,
                    gradient_checkpointing=False, logging_steps=10_000, save_strategy="no", report_to=[],
                    dataloader_num_workers=0, disable_tqdm=True, seed=a.seed)
    trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=None, reward_model=reward_model,
                         train_dataset=Dataset.from_dict({"input_ids": ids}), value_model=value_model,
                         peft_config=peft_config, callbacks=[Marks()])
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    trainable_policy = sum(p.numel() for p in trainer.model.policy.parameters() if p.requires_grad)
    rss_before = harness.peak_rss_mib()
    trainer.train()
    if not (len(clock["phase"]) == len(clock["update"]) == len(clock["sampling"]) == n_rollouts):
        raise SystemExit(f"trl_ppo: expected {n_rollouts} rollouts, got {len(clock['sampling'])} generations, "
                         f"{len(clock['phase'])} rollout phases and {len(clock['update'])} updates")
    timed = slice(a.warmup, None)
    generated = sum(clock["generated"][timed])
    sampling_s = sum(clock["sampling"][timed])
    phase_s = sum(w for w, _ in clock["phase"][timed])
    update_s = sum(w for w, _ in clock["update"][timed])
    trained = generated * a.ppo_epochs
    completions = a.steps * per_rollout
    harness.emit("trl_ppo", a, {
        "model": harness.model_shape(a), "params": sum(p.numel() for p in policy.parameters()), "method": "ppo",
        "trl": trl.__version__, "peft": __import__("peft").__version__,
        "config": {"prompt_tokens": a.prompt_tokens, "max_new_tokens": a.new_tokens, "micro_batch": a.batch,
                   "accumulation": 1, "prompts_per_rollout": per_rollout,
                   "optimizer_steps_per_rollout": a.mini_batches * a.ppo_epochs, "temperature": 1.0, "top_k": 0,
                   "top_p": 1.0, "learning_rate": LR, "rollouts_timed": a.steps, "rollouts_warmup": a.warmup,
                   "num_mini_batches": a.mini_batches, "num_ppo_epochs": a.ppo_epochs, "kl_coef": KL_COEF,
                   "critic": "LlamaForSequenceClassification, trained whole",
                   "reward": "LlamaForSequenceClassification (random)"},
        "lora": {"r": 8, "alpha": 16, "targets": "qkvo", "trainable_params": trainable,
                 "trainable_params_policy": trainable_policy},
        "rss_before_steps_mib": round(rss_before, 1),
        "rollout": {"completions": completions, "generated_tokens": generated,
                    "mean_completion_tokens": generated / completions, "sampling_s": sampling_s,
                    "tokens_per_s": generated / sampling_s, "phase_s": phase_s,
                    "phase_cpu_s": sum(c for _, c in clock["phase"][timed]), "phase_tokens_per_s": generated / phase_s},
        "update": {"optimizer_steps": a.steps * a.mini_batches * a.ppo_epochs, "trained_tokens": trained,
                   "s": update_s, "cpu_s": sum(c for _, c in clock["update"][timed]),
                   "tokens_per_s": trained / update_s},
        "rollout_tokens_per_s": generated / sampling_s, "update_tokens_per_s": trained / update_s,
    })


if __name__ == "__main__":
    main()
