"""PEFT LoRA fixtures for the Java adapters module: adapters, gradients, AdamW steps, logits, merges.

Writes adapters/src/test/resources/fixtures/peft/ (see the README.md there for every file's schema).
Run by hand from the repository root (never in CI):

    /work/venv-ref/bin/python scripts/reference/make_peft_fixtures.py

float32 on CPU, eager attention (sdpa checked to agree). Deterministic given the same library versions.
"""
import argparse
import datetime
import json
import os
import shutil
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    # PEFT writes target_modules from a set: fix string hashing so reruns write identical JSON
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny  # noqa: E402

OUT = "adapters/src/test/resources/fixtures/peft"
BASE_SEED = 201
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CASES = {
    "lora": (301, dict(r=4, lora_alpha=8, target_modules=ALL, lora_dropout=0.0, use_rslora=False)),
    "rslora": (302, dict(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"], lora_dropout=0.0,
                         use_rslora=True)),
    "patterns": (303, dict(r=4, lora_alpha=8,
                           target_modules=r".*\.(self_attn\.(q|k|v)_proj|mlp\.(up|down)_proj)",
                           rank_pattern={"layers.1.self_attn.q_proj": 8, "down_proj": 2},
                           alpha_pattern={"layers.0.self_attn.k_proj": 32, "up_proj": 4},
                           lora_dropout=0.0, use_rslora=False)),
    # DoRA on some projections of every kind (attention in/out, MLP in/out), not all: untargeted ones stay plain
    "dora": (304, dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"],
                       lora_dropout=0.0, use_rslora=False, use_dora=True)),
}
MERGED = ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"]
PAD = 0


def make_batch(vocab):
    """B=2, T=10. Row 0: 3 prompt + 7 response tokens. Row 1: 4 prompt + 3 response + 3 padding."""
    g = torch.Generator().manual_seed(4242)
    ids = torch.randint(3, vocab, (2, 10), generator=g)
    mask = torch.ones(2, 10, dtype=torch.long)
    ids[1, 7:] = PAD
    mask[1, 7:] = 0
    labels = ids.clone()
    labels[0, :3] = -100
    labels[1, :4] = -100
    labels[1, 7:] = -100
    return ids, mask, labels


def manual_loss(logits, labels):
    """The same quantity as transformers' ForCausalLMLoss, spelled out: shift, mean over kept targets."""
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="mean")


def saved_name(param_name, adapter="default"):
    """PEFT's in-memory name -> the key it writes in adapter_model.safetensors.

    DoRA's magnitude is a parameter `weight` of a module (`lora_magnitude_vector.default.weight`) that PEFT
    saves as `...lora_magnitude_vector`, without `.weight`."""
    name = param_name.replace("." + adapter, "")
    return name.removesuffix(".weight") if name.endswith(".lora_magnitude_vector.weight") else name


def save_adapter(model, directory):
    """PEFT's save_pretrained; the model-card README.md it also writes is not part of the format."""
    model.save_pretrained(directory)
    os.remove(os.path.join(directory, "README.md"))


def scalings(model):
    out = {}
    for name, module in model.named_modules():
        if hasattr(module, "scaling") and isinstance(module.scaling, dict) and "default" in module.scaling:
            out[name.removeprefix("base_model.model.")] = {"r": module.r["default"],
                                                           "scaling": module.scaling["default"]}
    return out


def make_case(name, root, base_dir, batch):
    seed, lcfg = CASES[name]
    ids, mask, labels = batch
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

    torch.manual_seed(seed)  # PEFT's kaiming-uniform init of lora_A draws from the global generator
    model = get_peft_model(tiny.load(base_dir, "eager"), LoraConfig(task_type="CAUSAL_LM", **lcfg))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "lora_B" in pname:  # PEFT initialises B to zero; make it non-zero so A gets gradients
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for pname, p in model.named_parameters():
            # DoRA's magnitude starts as the row norms of W; move it off them so that m / ||W + sBA|| is not
            # about 1 and every term of the output depends on it
            if "lora_magnitude_vector" in pname:
                p.mul_(1 + 0.1 * torch.randn(p.shape, generator=g))
    save_adapter(model, d)
    adapter_keys = set(load_file(os.path.join(d, "adapter_model.safetensors")))

    # start again from the files on disk, exactly as a user would import the adapter
    model = PeftModel.from_pretrained(tiny.load(base_dir, "eager"), d, is_trainable=True)
    model.train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert {saved_name(n) for n, _ in trainable} == adapter_keys, "trainable params != saved adapter keys"

    with torch.no_grad():
        logits0 = model(input_ids=ids, attention_mask=mask).logits.float()
        with model.disable_adapter():
            base_logits = model(input_ids=ids, attention_mask=mask).logits.float()

    opt = torch.optim.AdamW([p for _, p in trainable], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses, grads = [], None
    for step in range(3):
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        if step == 0:
            assert abs(float(out.loss.detach()) - float(manual_loss(out.logits.detach().float(), labels))) < 1e-6
        out.loss.backward()
        if step == 0:
            grads = {saved_name(n): p.grad.detach().clone().contiguous() for n, p in trainable}
            zero = [k for k, v in grads.items() if float(v.abs().max()) == 0.0]
            assert not zero, "zero gradients: " + str(zero)
        losses.append(float(out.loss.detach()))
        opt.step()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        loss_after = float(out.loss)
        logits3 = out.logits.float()
    save_adapter(model, os.path.join(d, "adapter_step3"))
    with torch.no_grad():
        again = PeftModel.from_pretrained(tiny.load(base_dir, "eager"), os.path.join(d, "adapter_step3")).eval()
        assert float((again(input_ids=ids, attention_mask=mask).logits - logits3)[mask.bool()].abs().max()) < 1e-6

    # sdpa must agree with eager on the starting adapter
    sd = PeftModel.from_pretrained(tiny.load(base_dir, "sdpa"), d).eval()
    with torch.no_grad():
        sdpa_out = sd(input_ids=ids, attention_mask=mask, labels=labels)
    keep = mask.bool()
    sdpa_diff = float((sdpa_out.logits[keep] - logits0[keep]).abs().max())
    assert sdpa_diff < 1e-5 and abs(float(sdpa_out.loss) - losses[0]) < 1e-5, sdpa_diff

    # merge_and_unload of the starting adapter, read back from disk
    merged_model = PeftModel.from_pretrained(tiny.load(base_dir, "eager"), d).merge_and_unload()
    msd = merged_model.state_dict()
    merged = {k: msd[k].detach().clone().contiguous() for k in MERGED}
    with torch.no_grad():
        merged_logits = merged_model(input_ids=ids, attention_mask=mask).logits.float()
    merge_diff = float((merged_logits[keep] - logits0[keep]).abs().max())

    save_file(grads, os.path.join(d, "grads.safetensors"))
    save_file({"logits": logits0.contiguous(), "logits_step3": logits3.contiguous(),
               "base_logits": base_logits.contiguous()}, os.path.join(d, "expected.safetensors"))
    if lcfg.get("use_dora"):
        # DoRA's merge is W' = m * (W + sBA) / ||W + sBA|| rowwise: keep every merged projection and the
        # merged model's logits (the other cases' files stay as they were)
        merged = {k: v.detach().clone().contiguous() for k, v in msd.items()
                  if any(t in k for t in lcfg["target_modules"])}
        merged["merged_logits"] = merged_logits.contiguous()
    save_file(merged, os.path.join(d, "merged.safetensors"))
    results = {
        "loss": losses[0],
        "losses": losses,
        "loss_after_step3": loss_after,
        "num_target_tokens": int((labels[:, 1:] != -100).sum()),
        "optimizer": {"name": "torch.optim.AdamW", "lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8,
                      "weight_decay": 0.01, "steps": 3, "schedule": "constant"},
        "modules": scalings(model),
        "meta": {"seed": seed, "lora_B_init": "0.1 * randn (torch.Generator seed %d)" % (seed + 1),
                 "max_abs_diff_sdpa_vs_eager_logits": sdpa_diff,
                 "max_abs_diff_merged_vs_adapter_logits": merge_diff,
                 "grad_max_abs": max(float(v.abs().max()) for v in grads.values()),
                 "logits_max_abs_diff_adapter_vs_base": float((logits0[keep] - base_logits[keep]).abs().max())},
    }
    tiny.write_json(os.path.join(d, "results.json"), results)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(d) for f in fs)
    print(f"{name:9s} {size / 1024:6.1f} KiB  losses {losses} after {loss_after}  " + json.dumps(results["meta"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    ap.add_argument("cases", nargs="*", default=list(CASES))
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)

    base_dir = os.path.join(a.out, "base")
    shutil.rmtree(base_dir, ignore_errors=True)
    cfg = tiny.tiny_config()
    tiny.build(cfg, BASE_SEED).save_pretrained(base_dir)
    ids, mask, labels = make_batch(cfg.vocab_size)
    tiny.write_json(os.path.join(a.out, "batch.json"),
                    {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist(),
                     "pad_token_id": PAD})
    for c in a.cases:
        make_case(c, a.out, base_dir, (ids, mask, labels))
    v = tiny.versions()
    v["date"] = datetime.date.today().isoformat()
    print(json.dumps(v))


if __name__ == "__main__":
    main()
