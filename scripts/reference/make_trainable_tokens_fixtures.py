"""PEFT trainable tokens (LoraConfig.trainable_token_indices) fixtures for the Java adapters module.

Writes adapters/src/test/resources/fixtures/peft/trainable-tokens/ (see the README.md there).
Run by hand from the repository root (never in CI):
    /work/venv-ref/bin/python scripts/reference/make_trainable_tokens_fixtures.py
"""
import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file

import tiny

OUT = "adapters/src/test/resources/fixtures/peft/trainable-tokens"
BATCH = [[1, 7, 2, 9, 5, 2, 11, 3], [1, 2, 40, 5, 5, 17, 2, 0]]  # ids 2 and 5 (the trained rows) inside


def case(name, tied, indices, seed):
    root = os.path.join(OUT, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    base = tiny.build(tiny.tiny_config(tie_word_embeddings=tied), seed)
    base.save_pretrained(os.path.join(root, "base"))
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            trainable_token_indices=indices))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:  # LoRA factors and the trained rows: all non-trivial
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    model.save_pretrained(os.path.join(root, "adapter"))
    readme = os.path.join(root, "adapter", "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    ids = torch.tensor(BATCH)
    out = model(input_ids=ids)
    logits = out.logits  # [B, T, V]
    labels = ids[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                             reduction="sum")
    loss.backward()
    grads = {}
    for n, p in model.named_parameters():
        if p.requires_grad:
            key = n.replace(".default", "")
            grads[key] = p.grad.detach().clone().contiguous()
    save_file(grads, os.path.join(root, "grads.safetensors"))
    with torch.no_grad():
        with model.disable_adapter():
            base_logits = model(input_ids=ids).logits
        merged = model.merge_and_unload()
        merged_weights = {"model.embed_tokens.weight": merged.model.embed_tokens.weight.detach().clone().contiguous()}
        if not tied:
            merged_weights["lm_head.weight"] = merged.lm_head.weight.detach().clone().contiguous()
        merged_logits = merged(input_ids=ids).logits
    save_file({"logits": logits.detach().contiguous(), "base_logits": base_logits.contiguous(),
               "merged_logits": merged_logits.contiguous(), **merged_weights},
              os.path.join(root, "outputs.safetensors"))
    with open(os.path.join(root, "case.json"), "w") as f:
        json.dump({"tied": tied, "trainable_token_indices": indices, "input_ids": BATCH,
                   "loss_sum": loss.item()}, f, indent=1)
        f.write("\n")


def main():
    torch.manual_seed(0)
    case("tied", True, [2, 5], 31)
    case("untied", False, {"embed_tokens": [2, 5], "lm_head": [2]}, 32)


if __name__ == "__main__":
    main()
