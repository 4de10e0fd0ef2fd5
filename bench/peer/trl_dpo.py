"""TRL DPOTrainer (or SFTTrainer) + PEFT LoRA step throughput and peak RSS on random preference pairs, fp32, CPU.

    python bench/peer/trl_dpo.py [--dim 288 ...] --batch 4 --seq 256 --prompt-fraction 0.5
        [--mode dpo|sft] [--targets qkvo|all-linear] [--steps 5 --warmup 1]
Prints one JSON line.

dpo: `--batch` pairs per step. Each pair is a prompt of round(F * seq) random tokens that chosen and rejected share,
then two different random answers of seq - prompt tokens (the last one EOS, as TRL appends it), so every row of
the concatenated [2B, seq] batch is full: no padding. TRL's DPOTrainer with a PEFT LoRA config (r 8, alpha 16,
dropout 0, q/k/v/o_proj): the reference is the same model with the adapter disabled (no second copy), sigmoid
loss, beta 0.1, AdamW lr 2e-4 constant, max_grad_norm 1.0, no gradient checkpointing, fp32, dropout off.
sft: TRL's SFTTrainer on the same 2B rows (chosen and rejected answers as completions of the prompt, the prompt's
labels ignored), batch 2B, otherwise the same: the same rows through the same model, so the two peak RSS compare
DPO's extra (the reference pass) and nothing else.

Tokens per step = 2·B·seq for both (every row of the policy pass; the DPO reference pass over the same rows is not
counted again), as `workbench bench train --method dpo|sft` counts them. A step is timed from the Trainer's
`on_step_begin` to its `on_step_end` callback: forward, backward, clipping, optimiser and scheduler step (the batch
is already collated; logging comes after). Median over `--steps` after `--warmup` steps.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TARGETS = {"qkvo": ["q_proj", "k_proj", "v_proj", "o_proj"], "all-linear": "all-linear"}
SPECIAL = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2, as stories15M's vocabulary


def word_tokenizer(vocab):
    """A word-level tokenizer whose words are the token ids ("t17" -> 17): TRL tokenizes text datasets itself."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {w: i for i, w in enumerate(SPECIAL)}
    words.update({f"t{i}": i for i in range(len(SPECIAL), vocab)})
    tok = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   pad_token="</s>")


def text(ids):
    return "".join(" " + (SPECIAL[i] if i < len(SPECIAL) else f"t{i}") for i in ids)


class StepTimer:
    def __init__(self):
        self.seconds = []
        self.cpu = []
        self._t = None

    def callback(self):
        from transformers import TrainerCallback

        timer = self

        class Cb(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                timer._t = (time.perf_counter(), time.process_time())

            def on_step_end(self, args, state, control, **kw):
                wall, cpu = timer._t
                timer.seconds.append(time.perf_counter() - wall)
                timer.cpu.append(time.process_time() - cpu)

        return Cb()


def main():
    ap = argparse.ArgumentParser()
    harness.add_model_args(ap)
    ap.add_argument("--mode", choices=["dpo", "sft"], default="dpo")
    ap.add_argument("--batch", type=int, default=4, help="pairs per step (sft: 2x this many rows)")
    ap.add_argument("--seq", type=int, default=256, help="tokens per row: prompt + answer")
    ap.add_argument("--prompt-fraction", type=float, default=0.5)
    ap.add_argument("--targets", choices=sorted(TARGETS), default="qkvo")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    harness.setup(a)
    from datasets import Dataset
    from peft import LoraConfig

    prompt_len = round(a.prompt_fraction * a.seq)
    answer_len = a.seq - prompt_len
    if answer_len < 1:
        ap.error("--prompt-fraction leaves no answer token")
    g = torch.Generator().manual_seed(a.seed)
    n_steps = a.warmup + a.steps

    def rand(n):
        return torch.randint(len(SPECIAL), a.vocab, (n,), generator=g).tolist()

    pairs = [{"prompt": text(rand(prompt_len)), "chosen": text(rand(answer_len - 1) + [2]),
              "rejected": text(rand(answer_len - 1) + [2])} for _ in range(4 * a.batch)]
    pairs = (pairs * (n_steps // 4 + 1))[: n_steps * a.batch]  # 4 distinct batches, cycled
    tok = word_tokenizer(a.vocab)
    model = harness.build_model(a, a.seq)
    total, n = harness.matmul_params(model)
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                             target_modules=TARGETS[a.targets])
    out_dir = tempfile.mkdtemp(prefix="trl-bench-")
    common = dict(output_dir=out_dir, max_steps=n_steps, learning_rate=a.lr, lr_scheduler_type="constant",
                  warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, gradient_checkpointing=False, bf16=False,
                  fp16=False, use_cpu=True, logging_steps=10_000, save_strategy="no", report_to=[],
                  dataloader_num_workers=0, disable_tqdm=True, seed=a.seed, max_length=a.seq)
    timer = StepTimer()
    if a.mode == "dpo":
        from trl import DPOConfig, DPOTrainer

        cfg = DPOConfig(per_device_train_batch_size=a.batch, beta=a.beta, loss_type=["sigmoid"], **common)
        trainer = DPOTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(pairs), processing_class=tok,
                             peft_config=peft_config, callbacks=[timer.callback()])
        rows = 2 * a.batch
    else:
        from trl import SFTConfig, SFTTrainer

        rows_data = [{"prompt": p["prompt"], "completion": p[side]} for p in pairs for side in ("chosen", "rejected")]
        cfg = SFTConfig(per_device_train_batch_size=2 * a.batch, completion_only_loss=True, packing=False,
                        padding_free=False, **common)
        trainer = SFTTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(rows_data), processing_class=tok,
                             peft_config=peft_config, callbacks=[timer.callback()])
        rows = 2 * a.batch
    batch = next(iter(trainer.get_train_dataloader()))
    shape = list(batch["input_ids"].shape)
    if shape != [rows, a.seq]:
        raise SystemExit(f"trl_dpo: collated batch is {shape}, expected [{rows}, {a.seq}]")
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    rss_before = harness.peak_rss_mib()
    result = trainer.train()
    t = timer.seconds[a.warmup:]
    cpu = timer.cpu[a.warmup:]
    tokens = rows * a.seq
    s = harness.summary(t)
    harness.emit("trl_" + a.mode, a, {
        "model": harness.model_shape(a), "params": total, "params_matmul": n, "method": a.mode,
        "trl": __import__("trl").__version__, "peft": __import__("peft").__version__,
        "lora": {"r": a.rank, "alpha": a.alpha, "targets": a.targets, "trainable_params": trainable},
        "pairs": a.batch if a.mode == "dpo" else None, "rows": rows, "seq": a.seq, "prompt_fraction": a.prompt_fraction,
        "collated_shape": shape, "tokens_per_step": tokens, "step": s, "cpu_s_median": statistics.median(cpu),
        "tokens_per_s": tokens / s["median_s"], "pairs_per_s": a.batch / s["median_s"] if a.mode == "dpo" else None,
        "rss_before_steps_mib": round(rss_before, 1), "train_loss": result.training_loss,
    })


if __name__ == "__main__":
    main()
