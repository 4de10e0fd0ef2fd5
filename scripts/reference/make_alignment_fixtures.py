"""TRL reference numbers for preference training: DPO, KTO and reward-model losses, metrics and LoRA gradients.

Writes finetune/src/test/resources/trl/ (see the README.md there for every file's schema).
Run by hand from the repository root (never in CI):

    /work/refvenv/bin/python scripts/reference/make_alignment_fixtures.py

Every loss is computed by TRL's own trainers (DPOTrainer, KTOTrainer, RewardTrainer): the script builds each
trainer on a tiny dataset, puts fixed LoRA weights into the PEFT model the trainer made, collates a batch with
the trainer's own collator and calls trainer.compute_loss, then backward. Metrics are read from the trainer's
_metrics. The one exception is the pre-1.0 `sigmoid` loss with label smoothing (cDPO), which TRL 1.x no longer
has; it is spelled out below with a comment.

float32 on CPU, eager attention. Deterministic given the same library versions.
"""
import argparse
import datetime
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings

if os.environ.get("PYTHONHASHSEED") != "0":
    # PEFT writes target_modules from a set: fix string hashing so reruns write identical JSON
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from datasets import Dataset  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaForSequenceClassification, PreTrainedTokenizerFast  # noqa: E402

import trl  # noqa: E402
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, RewardConfig, RewardTrainer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny  # noqa: E402

OUT = "finetune/src/test/resources/trl"
BASE_SEED = 501
POLICY_SEED = 502
REWARD_SEED = 503
PAD, BOS, EOS, UNK = 0, 1, 2, 3
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA = dict(r=4, lora_alpha=8, target_modules=ALL, lora_dropout=0.0, use_rslora=False)

# DPO cases: (name, DPOConfig overrides). Each is one TRL loss_type at one beta (label_smoothing only where
# TRL 1.x reads it: "robust"). "sigmoid_ls" is the pre-1.0 sigmoid with label smoothing, computed by hand.
DPO_CASES = [
    ("sigmoid", dict(loss_type=["sigmoid"], beta=0.1)),
    ("sigmoid_beta05", dict(loss_type=["sigmoid"], beta=0.5)),
    ("ipo", dict(loss_type=["ipo"], beta=0.1)),
    ("hinge", dict(loss_type=["hinge"], beta=0.1)),
    ("robust", dict(loss_type=["robust"], beta=0.1, label_smoothing=0.1)),
]
SIGMOID_LS = dict(beta=0.1, label_smoothing=0.1)
KTO_SETTINGS = dict(loss_type="kto", beta=0.1, desirable_weight=1.0, undesirable_weight=1.5)

# Preference pairs: (prompt length, chosen length, rejected length); completions end with EOS.
DPO_SHAPES = [(3, 4, 2), (5, 2, 5), (2, 6, 3)]
# KTO examples: (prompt length, completion length, desirable)
KTO_SHAPES = [(3, 4, True), (4, 2, False), (2, 5, True), (5, 3, False)]
# Reward pairs: (prompt length, chosen length, rejected length, margin)
REWARD_SHAPES = [(3, 4, 2, 0.5), (5, 2, 5, 0.0), (2, 6, 3, 1.25)]


def tokenizer(vocab):
    """Word-level tokenizer over names t0..t{V-1}: the text 't5 t17' is exactly the ids [5, 17]."""
    names = {"<pad>": PAD, "<s>": BOS, "</s>": EOS, "<unk>": UNK}
    names.update({"t%d" % i: i for i in range(4, vocab)})
    tok = Tokenizer(models.WordLevel(names, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>")


def text(ids):
    return " ".join({PAD: "<pad>", BOS: "<s>", EOS: "</s>"}.get(i, "t%d" % i) for i in ids)


def seqs(g, vocab, n, eos=False):
    ids = torch.randint(4, vocab, (n,), generator=g).tolist()
    if eos:
        ids[-1] = EOS
    return ids


def saved_name(param_name, adapter="default"):
    """PEFT's in-memory name -> the key it writes in adapter_model.safetensors."""
    return param_name.replace(".modules_to_save." + adapter, "").replace("." + adapter, "")


def save_adapter(model, directory):
    """PEFT's save_pretrained; the model-card README.md it also writes is not part of the format."""
    model.save_pretrained(directory)
    os.remove(os.path.join(directory, "README.md"))


def set_weights(model, weights):
    """Copies saved-name tensors into a PEFT model's trainable parameters; every one must be matched."""
    trainable = {saved_name(n): p for n, p in model.named_parameters() if p.requires_grad}
    assert set(trainable) == set(weights), (sorted(set(trainable) ^ set(weights)))
    with torch.no_grad():
        for k, p in trainable.items():
            p.copy_(weights[k])


def grads_of(model):
    out = {saved_name(n): p.grad.detach().clone().contiguous() for n, p in model.named_parameters()
           if p.requires_grad}
    zero = [k for k, v in out.items() if float(v.abs().max()) == 0.0]
    assert not zero, "zero gradients: " + str(zero)
    return out


def metrics_of(trainer):
    m = trainer._metrics["train"]
    return {k: v[-1] for k, v in sorted(m.items()) if k != "num_tokens"}


def common_args(tmp, **kw):
    return dict(output_dir=tmp, report_to="none", use_cpu=True, seed=0, bf16=False, fp16=False,
                per_device_train_batch_size=kw.pop("batch"), dataset_num_proc=None, logging_strategy="no",
                save_strategy="no", **kw)


def make_policy(base_dir, out):
    """The LoRA every DPO and KTO case starts from: PEFT's init of A, then B = 0.1·randn so A gets gradients."""
    torch.manual_seed(POLICY_SEED)
    model = get_peft_model(tiny.load(base_dir), LoraConfig(task_type="CAUSAL_LM", **LORA))
    g = torch.Generator().manual_seed(POLICY_SEED + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    d = os.path.join(out, "policy")
    save_adapter(model, d)
    return load_file(os.path.join(d, "adapter_model.safetensors"))


def token_logps(model, ids, mask, completion_mask):
    """Per-token log p(x_{t+1} | x_<=t) on completion targets (0 elsewhere), from plain logits: [N, T-1]."""
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return lp * completion_mask[:, 1:]


# ------------------------------------------------------------------------------------------------ DPO

def dpo(base_dir, out, tok, policy, vocab, tmp):
    g = torch.Generator().manual_seed(601)
    rows = []
    for p, c, r in DPO_SHAPES:
        prompt = seqs(g, vocab, p)
        rows.append({"prompt_ids": prompt, "chosen_ids": seqs(g, vocab, c, True), "rejected_ids": seqs(g, vocab, r, True)})
    data = Dataset.from_list([{"prompt": text(x["prompt_ids"]), "chosen": " " + text(x["chosen_ids"]),
                               "rejected": " " + text(x["rejected_ids"])} for x in rows])
    d = os.path.join(out, "dpo")
    os.makedirs(d)
    results, batch, logps = {}, None, None
    for name, kw in DPO_CASES:
        args = DPOConfig(**common_args(tmp, batch=len(rows), max_length=None, **kw))
        trainer = DPOTrainer(model=tiny.load(base_dir), args=args, train_dataset=data, processing_class=tok,
                             peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA))
        examples = [{k: trainer.train_dataset[i][k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
                    for i in range(len(rows))]
        assert examples == rows, "TRL tokenised the text differently from the intended ids"
        model = trainer.model
        set_weights(model, policy)
        model.train()
        inputs = trainer.data_collator(examples)
        loss = trainer.compute_loss(model, dict(inputs))
        loss.backward()
        results[name] = {"settings": {"loss_type": kw["loss_type"][0], "beta": kw["beta"],
                                      "label_smoothing": kw.get("label_smoothing", 0.0)},
                         "loss": float(loss.detach()), "metrics": metrics_of(trainer)}
        save_file(grads_of(model), os.path.join(d, "grads_%s.safetensors" % name))
        if batch is None:
            batch, logps = inputs, dpo_logps(model, inputs)
        model.zero_grad(set_to_none=True)
        del trainer

    # Pre-1.0 TRL `sigmoid` with label smoothing (conservative DPO), which TRL 1.16 dropped from "sigmoid":
    # trl/trainer/dpo_trainer.py of TRL 0.x, DPOTrainer.dpo_loss:
    #   losses = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    # with logits = (chosen_logps - rejected_logps) - (ref_chosen_logps - ref_rejected_logps), mean over pairs.
    torch.manual_seed(0)
    model = get_peft_model(tiny.load(base_dir), LoraConfig(task_type="CAUSAL_LM", **LORA))
    set_weights(model, policy)
    model.train()
    cm = batch["completion_mask"]
    lp = token_logps(model, batch["input_ids"], batch["attention_mask"], cm).sum(-1)
    chosen, rejected = lp.chunk(2)
    delta = (chosen - logps["ref_chosen_logps"]) - (rejected - logps["ref_rejected_logps"])
    b, ls = SIGMOID_LS["beta"], SIGMOID_LS["label_smoothing"]
    loss = (-F.logsigmoid(b * delta) * (1 - ls) - F.logsigmoid(-b * delta) * ls).mean()
    loss.backward()
    results["sigmoid_ls"] = {"settings": {"loss_type": "sigmoid (TRL 0.x, label smoothing; computed by hand)",
                                          "beta": b, "label_smoothing": ls},
                             "loss": float(loss.detach()), "metrics": {}}
    save_file(grads_of(model), os.path.join(d, "grads_sigmoid_ls.safetensors"))

    # the fused-head sums TRL used must equal plain log-softmax sums
    for k in ("policy", "ref"):
        for side in ("chosen", "rejected"):
            fused, plain = logps["%s_%s_logps" % (k, side)], logps["%s_%s_logps_plain" % (k, side)]
            assert float((fused - plain).abs().max()) < 1e-4, (k, side, fused, plain)
    m = results["sigmoid"]["metrics"]
    assert abs(m["logps/chosen"] - float(logps["policy_chosen_logps"].mean())) < 1e-5
    logps = {k: v for k, v in logps.items() if not k.endswith("_plain")}
    save_file({k: v.contiguous() for k, v in logps.items()}, os.path.join(d, "logps.safetensors"))
    tiny.write_json(os.path.join(d, "batch.json"), {
        "examples": rows,
        "input_ids": batch["input_ids"].tolist(),
        "attention_mask": batch["attention_mask"].tolist(),
        "completion_mask": batch["completion_mask"].tolist(),
        "pad_token_id": PAD})
    tiny.write_json(os.path.join(d, "results.json"), results)
    return results


def dpo_logps(model, inputs):
    """Per-sequence completion log-probs, policy and reference (adapter disabled), as TRL sums them."""
    ids, mask, cm = inputs["input_ids"], inputs["attention_mask"], inputs["completion_mask"]
    labels = ids.masked_fill(cm == 0, -100)
    out = {}
    with torch.no_grad():
        for k, ctx in (("policy", None), ("ref", model.disable_adapter)):
            if ctx is None:
                tok_lp = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).log_probs
                plain = token_logps(model, ids, mask, cm)
            else:
                with ctx():
                    tok_lp = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).log_probs
                    plain = token_logps(model, ids, mask, cm)
            out["%s_token_logps" % k] = tok_lp.float()
            c, r = tok_lp.sum(1).chunk(2)
            out["%s_chosen_logps" % k], out["%s_rejected_logps" % k] = c, r
            pc, pr = plain.sum(1).chunk(2)
            out["%s_chosen_logps_plain" % k], out["%s_rejected_logps_plain" % k] = pc, pr
    return out


# ------------------------------------------------------------------------------------------------ KTO

def kto_rows(seed, vocab):
    g = torch.Generator().manual_seed(seed)
    return [{"prompt_ids": seqs(g, vocab, p), "completion_ids": seqs(g, vocab, c, True), "label": label}
            for p, c, label in KTO_SHAPES]


def kto_seed(base_dir, policy, vocab):
    """The first data seed from 701 whose KL estimate is positive, so TRL's clamp(min=0) leaves it non-zero.

    TRL's KL pairs each prompt with the previous example's completion (rotation by one within the batch).
    """
    torch.manual_seed(0)
    model = get_peft_model(tiny.load(base_dir), LoraConfig(task_type="CAUSAL_LM", **LORA))
    set_weights(model, policy)
    for seed in range(701, 801):
        rows = kto_rows(seed, vocab)
        kl_ids = [rows[-1]["completion_ids"]] + [r["completion_ids"] for r in rows[:-1]]
        diffs = []
        for r, c in zip(rows, kl_ids):
            ids = torch.tensor([r["prompt_ids"] + c])
            cm = torch.tensor([[0] * len(r["prompt_ids"]) + [1] * len(c)])
            with torch.no_grad():
                pol = token_logps(model, ids, torch.ones_like(ids), cm).sum()
                with model.disable_adapter():
                    ref = token_logps(model, ids, torch.ones_like(ids), cm).sum()
            diffs.append(float(pol - ref))
        if sum(diffs) / len(diffs) > 0.05:
            return seed
    raise AssertionError("no KTO data seed with a positive KL estimate")


def kto(base_dir, out, tok, policy, vocab, tmp):
    seed = kto_seed(base_dir, policy, vocab)
    rows = kto_rows(seed, vocab)
    data = Dataset.from_list([{"prompt": text(x["prompt_ids"]), "completion": " " + text(x["completion_ids"]),
                               "label": x["label"]} for x in rows])
    args = KTOConfig(**common_args(tmp, batch=len(rows), max_length=None, **KTO_SETTINGS))
    trainer = KTOTrainer(model=tiny.load(base_dir), args=args, train_dataset=data, processing_class=tok,
                         peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA))
    keys = ("prompt_ids", "completion_ids", "KL_completion_ids", "label")
    examples = [{k: trainer.train_dataset[i][k] for k in keys} for i in range(len(rows))]
    assert [{k: e[k] for k in ("prompt_ids", "completion_ids", "label")} for e in examples] == rows
    model = trainer.model
    set_weights(model, policy)
    model.train()
    inputs = trainer.data_collator(examples)
    loss = trainer.compute_loss(model, dict(inputs))
    loss.backward()
    d = os.path.join(out, "kto")
    os.makedirs(d)
    save_file(grads_of(model), os.path.join(d, "grads.safetensors"))

    lp = {}
    with torch.no_grad():
        for k in ("policy", "ref"):
            with (model.disable_adapter() if k == "ref" else torch.no_grad()):
                for prefix, name in (("", "completion"), ("KL_", "kl")):
                    ids, mask = inputs[prefix + "input_ids"], inputs[prefix + "attention_mask"]
                    cm = inputs[prefix + "completion_mask"]
                    lp["%s_%s_logps" % (k, name)] = token_logps(model, ids, mask, cm).sum(-1)
    kl_raw = float((lp["policy_kl_logps"] - lp["ref_kl_logps"]).mean())
    metrics = metrics_of(trainer)
    assert abs(max(kl_raw, 0.0) - metrics["kl"]) < 1e-5, (kl_raw, metrics["kl"])
    save_file({k: v.contiguous() for k, v in lp.items()}, os.path.join(d, "logps.safetensors"))
    tiny.write_json(os.path.join(d, "batch.json"), {
        "examples": examples,
        **{k: inputs[k].tolist() for k in ("input_ids", "attention_mask", "completion_mask", "KL_input_ids",
                                           "KL_attention_mask", "KL_completion_mask", "label")},
        "pad_token_id": PAD})
    result = {"settings": KTO_SETTINGS, "data_seed": seed, "loss": float(loss.detach()), "kl_unclamped": kl_raw,
              "metrics": metrics}
    tiny.write_json(os.path.join(d, "results.json"), result)
    return result


# ------------------------------------------------------------------------------------------------ reward model

def reward(base_dir, out, tok, vocab, tmp):
    g = torch.Generator().manual_seed(801)
    rows = []
    for p, c, r, margin in REWARD_SHAPES:
        prompt = seqs(g, vocab, p)
        rows.append({"chosen_ids": prompt + seqs(g, vocab, c, True), "rejected_ids": prompt + seqs(g, vocab, r, True),
                     "margin": margin})
    data = Dataset.from_list([{"chosen": text(x["chosen_ids"]), "rejected": text(x["rejected_ids"]),
                               "margin": x["margin"]} for x in rows])
    d = os.path.join(out, "reward")
    os.makedirs(d)
    adapter_dir = os.path.join(d, "adapter")
    results, weights = {}, None
    for name, with_margin in (("margin", True), ("no_margin", False)):
        base = LlamaForSequenceClassification.from_pretrained(base_dir, num_labels=1, dtype=torch.float32,
                                                               attn_implementation="eager")
        lcfg = LoraConfig(task_type="SEQ_CLS", modules_to_save=["score"], **LORA)
        args = RewardConfig(**common_args(tmp, batch=len(rows), max_length=None))
        trainer = RewardTrainer(model=base, args=args, train_dataset=data, processing_class=tok, peft_config=lcfg)
        examples = [{k: trainer.train_dataset[i][k] for k in ("chosen_ids", "rejected_ids", "margin")}
                    for i in range(len(rows))]
        assert examples == rows
        model = trainer.model
        if weights is None:
            # fixed adapter: PEFT's A, B = 0.1·randn, score = randn/sqrt(hidden) (order-1 rewards)
            g2 = torch.Generator().manual_seed(REWARD_SEED)
            weights = {}
            for n, p in model.named_parameters():
                if not p.requires_grad:
                    continue
                if "lora_B" in n:
                    v = 0.1 * torch.randn(p.shape, generator=g2)
                elif "score" in n:
                    v = torch.randn(p.shape, generator=g2) / p.shape[1] ** 0.5
                else:  # lora_A as PEFT initialised it (after the trainer's set_seed(args.seed))
                    v = p.detach().clone()
                weights[saved_name(n)] = v
            set_weights(model, weights)
            save_adapter(model, adapter_dir)
            weights = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
        set_weights(model, weights)
        model.train()
        inputs = trainer.data_collator([e if with_margin else {k: v for k, v in e.items() if k != "margin"}
                                        for e in examples])
        loss = trainer.compute_loss(model, dict(inputs))
        loss.backward()
        save_file(grads_of(model), os.path.join(d, "grads_%s.safetensors" % name))
        results[name] = {"loss": float(loss.detach()), "metrics": metrics_of(trainer)}
        if with_margin:
            batch = inputs
            with torch.no_grad():
                scores = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.squeeze(-1)
        del trainer

    # a user's reload: base + saved adapter, nothing else
    fresh = LlamaForSequenceClassification.from_pretrained(base_dir, num_labels=1, dtype=torch.float32,
                                                            attn_implementation="eager")
    loaded = PeftModel.from_pretrained(fresh, adapter_dir).eval()
    with torch.no_grad():
        reloaded = loaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.squeeze(-1)
        # unpadded, one sequence at a time
        single = torch.stack([loaded(input_ids=batch["input_ids"][i:i + 1, :int(batch["attention_mask"][i].sum())])
                              .logits.squeeze() for i in range(batch["input_ids"].shape[0])])
    assert float((reloaded - scores).abs().max()) < 1e-6
    assert float((single - scores).abs().max()) < 1e-5
    chosen, rejected = scores.chunk(2)
    margin = batch["margin"]
    by_hand = -F.logsigmoid(chosen - rejected - margin).mean()
    assert abs(float(by_hand) - results["margin"]["loss"]) < 1e-6
    save_file({"scores": scores.clone(), "rewards_chosen": chosen.clone(),
               "rewards_rejected": rejected.clone()}, os.path.join(d, "scores.safetensors"))
    tiny.write_json(os.path.join(d, "batch.json"), {
        "examples": rows,
        "input_ids": batch["input_ids"].tolist(),
        "attention_mask": batch["attention_mask"].tolist(),
        "margin": margin.tolist(),
        "pad_token_id": PAD})
    results["meta"] = {"max_abs_diff_reloaded_scores": float((reloaded - scores).abs().max()),
                       "max_abs_diff_unpadded_scores": float((single - scores).abs().max()),
                       "adapter_keys": sorted(weights)}
    tiny.write_json(os.path.join(d, "results.json"), results)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):  # everything but the README and check_reward_export.py's record is regenerated
        if f not in ("README.md", "java-export"):
            shutil.rmtree(os.path.join(a.out, f)) if os.path.isdir(os.path.join(a.out, f)) else os.remove(
                os.path.join(a.out, f))

    cfg = tiny.tiny_config(pad_token_id=PAD)
    base_dir = os.path.join(a.out, "base")
    tiny.build(cfg, BASE_SEED).save_pretrained(base_dir)
    tok = tokenizer(cfg.vocab_size)
    policy = make_policy(base_dir, a.out)
    with tempfile.TemporaryDirectory() as tmp:
        r_dpo = dpo(base_dir, a.out, tok, policy, cfg.vocab_size, tmp)
        r_kto = kto(base_dir, a.out, tok, policy, cfg.vocab_size, tmp)
        r_rw = reward(base_dir, a.out, tok, cfg.vocab_size, tmp)
    v = tiny.versions()
    v["trl"] = trl.__version__
    v["date"] = datetime.date.today().isoformat()
    tiny.write_json(os.path.join(a.out, "versions.json"), v)
    print(json.dumps({"dpo": {k: r["loss"] for k, r in r_dpo.items()}, "kto": r_kto["loss"],
                      "kto_kl": r_kto["kl_unclamped"], "reward": {k: r_rw[k]["loss"] for k in ("margin", "no_margin")},
                      "versions": v}, indent=1))
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(a.out) for f in fs)
    print("total %.1f KiB" % (size / 1024))


if __name__ == "__main__":
    main()
