"""A LoRA step on a bitsandbytes-quantised base, as PEFT computes it: fixtures for QuantizedBaseLoraTest.

Run by hand from the repository root (never in CI), with bitsandbytes' CPU backend installed:

    /work/refvenv/bin/python scripts/reference/make_qlora_fixtures.py

Takes the PEFT fixture base (adapters/.../fixtures/peft/base) and replaces every decoder projection by its
dequantised bitsandbytes codes (NF4: quantize_4bit(blocksize=64, quant_type="nf4") then dequantize_4bit; int8:
int8_vectorwise_quant then int8_vectorwise_dequant), loads the `lora` fixture adapter on it with PEFT, and runs
the fixture batch once: loss and every LoRA gradient go to adapters/.../fixtures/peft/qlora/<kind>/.
"""
import datetime
import json
import os
import sys

import bitsandbytes as bnb
import bitsandbytes.functional as F
import peft
import torch
from peft import PeftModel
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny  # noqa: E402

FIX = "adapters/src/test/resources/fixtures/peft"
PROJ = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def dequantised(w, kind):
    if kind == "nf4":
        q, st = F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=False)
        return F.dequantize_4bit(q, st)
    codes, scales, _ = F.int8_vectorwise_quant(w.clone())
    return F.int8_vectorwise_dequant(codes, scales)


def main():
    torch.set_num_threads(1)
    batch = json.load(open(os.path.join(FIX, "batch.json")))
    ids = torch.tensor(batch["input_ids"])
    mask = torch.tensor(batch["attention_mask"])
    labels = torch.tensor(batch["labels"])
    for kind in ["nf4", "int8"]:
        base = tiny.load(os.path.join(FIX, "base"), "eager")
        with torch.no_grad():
            for name, module in base.named_modules():
                if name.endswith(PROJ):
                    module.weight.copy_(dequantised(module.weight.detach().clone(), kind))
        model = PeftModel.from_pretrained(base, os.path.join(FIX, "lora"), is_trainable=True)
        model.train()
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        grads = {n.replace(".default", ""): p.grad.detach().clone().contiguous()
                 for n, p in model.named_parameters() if p.requires_grad}
        d = os.path.join(FIX, "qlora", kind)
        os.makedirs(d, exist_ok=True)
        save_file(grads, os.path.join(d, "grads.safetensors"))
        tiny.write_json(os.path.join(d, "results.json"), {
            "loss": float(out.loss.detach()),
            "meta": {"bitsandbytes": bnb.__version__, "peft": peft.__version__, "torch": torch.__version__,
                     "date": datetime.date.today().isoformat(), "adapter": "../../lora", "base": "../../base"}})
        print(kind, float(out.loss), len(grads))


if __name__ == "__main__":
    main()
