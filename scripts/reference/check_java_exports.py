"""Do Python PEFT and transformers open what the Java workbench writes, and compute the same numbers?

Run by hand from the repository root (never in CI), after building the CLI (./workbench builds itself):

    /work/venv-ref/bin/python scripts/reference/check_java_exports.py

For each PEFT fixture case (lora, rslora, patterns, dora: an adapter saved by PEFT) it runs the Java CLI to
  1. re-export the adapter (`workbench export --format peft`), and
  2. merge it into the base (`workbench merge`),
then loads (1) with PeftModel.from_pretrained and (2) with LlamaForCausalLM.from_pretrained and compares
their logits with the logits PEFT itself computed for the original adapter (expected.safetensors).
It also checks a LoRA adapter trained by the Java workbench on stories260K (converted to a Hugging Face
directory by `workbench model convert`): PEFT applies it to the converted base, transformers loads the
Java-merged model, and the two agree. The same again for a DoRA adapter (`adapter.use_dora: true`) trained by
the workbench: its files hold PEFT's `lora_magnitude_vector` tensors and PEFT applies them as the Java merge does.

Writes adapters/src/test/resources/fixtures/peft/java-exports/results.json (asserted by
JavaExportsCheckTest) with the versions and the date.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import peft
import torch
import transformers
from peft import PeftModel
from safetensors.torch import load_file
from transformers import LlamaForCausalLM

FIX = "adapters/src/test/resources/fixtures/peft"
OUT = os.path.join(FIX, "java-exports", "results.json")
SHARED = "../shared/data"


def workbench(*args):
    subprocess.run(["./workbench", *args], check=True, stdout=subprocess.DEVNULL)


def masked_max_diff(a, b, mask):
    m = mask.bool().unsqueeze(-1).expand_as(a)
    return (a - b).abs()[m].max().item()


def main():
    torch.manual_seed(0)
    batch = json.load(open(os.path.join(FIX, "batch.json")))
    ids = torch.tensor(batch["input_ids"])
    mask = torch.tensor(batch["attention_mask"])
    base_dir = os.path.join(FIX, "base")
    tmp = tempfile.mkdtemp(prefix="java-exports-")
    results = {"cases": {}}
    for case in ["lora", "rslora", "patterns", "dora"]:
        expected = load_file(os.path.join(FIX, case, "expected.safetensors"))["logits"]
        exported = os.path.join(tmp, case + "-peft")
        merged = os.path.join(tmp, case + "-merged")
        workbench("export", "--format", "peft", "--model", base_dir, "--adapter", os.path.join(FIX, case), "--out", exported)
        workbench("merge", "--model", base_dir, "--adapter", os.path.join(FIX, case), "--out", merged)
        base = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32, attn_implementation="eager")
        with torch.no_grad():
            via_peft = PeftModel.from_pretrained(base, exported).eval()(input_ids=ids, attention_mask=mask).logits
            via_merged = LlamaForCausalLM.from_pretrained(merged, dtype=torch.float32, attn_implementation="eager")(
                input_ids=ids, attention_mask=mask).logits
        results["cases"][case] = {
            "peft_loads_java_export_max_abs_diff": masked_max_diff(via_peft, expected, mask),
            "transformers_loads_java_merge_max_abs_diff": masked_max_diff(via_merged, expected, mask),
        }

    # Adapters trained by the Java workbench, on the real stories260K: LoRA, and DoRA.
    hf = os.path.join(tmp, "stories260K-hf")
    workbench("model", "convert", "--model", os.path.join(SHARED, "models/stories260K/stories260K.bin"), "--out", hf)
    ids2 = torch.tensor([[1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315]])
    for key, extra in [("java_trained_stories260k", []),
                       ("java_trained_stories260k_dora", ["--set", "adapter.use_dora=true"])]:
        trained = os.path.join(tmp, key + "-run")
        merged = os.path.join(tmp, key + "-merged")
        # the recipe's model and data, from ../shared/data instead of their download addresses (no network here)
        workbench("finetune", "recipes/sft-stories260k-vicuna.yaml", "--set", "train.max_steps=20", "--set",
                  "output.dir=" + trained, "--set", "eval.every_steps=0", "--set", "eval.sample_prompts=[]",
                  "--set", "model.path=" + os.path.join(SHARED, "models/stories260K/stories260K.bin"),
                  "--set", "data.sources=[{path: %s, format: sharegpt}]"
                  % os.path.join(SHARED, "sft/fastchat-dummy-conversation/dummy_conversation.json"), *extra)
        workbench("merge", "--model", hf, "--adapter", os.path.join(trained, "adapter"), "--out", merged)
        with torch.no_grad():
            base = LlamaForCausalLM.from_pretrained(hf, dtype=torch.float32)
            plain = base(input_ids=ids2).logits
            peft_model = PeftModel.from_pretrained(base, os.path.join(trained, "adapter")).eval()
            adapted = peft_model(input_ids=ids2).logits
            merged_logits = LlamaForCausalLM.from_pretrained(merged, dtype=torch.float32)(input_ids=ids2).logits
        results[key] = {
            "adapter_changes_the_model_max_abs": (adapted - plain).abs().max().item(),
            "peft_adapter_vs_java_merge_max_abs_diff": (adapted - merged_logits).abs().max().item(),
        }
        if extra:
            saved = load_file(os.path.join(trained, "adapter", "adapter_model.safetensors"))
            magnitudes = [k for k in saved if k.endswith(".lora_magnitude_vector")]
            # how far training moved each magnitude from where it starts (B = 0, so m = the row norms of W)
            moved = 0.0
            for name, module in peft_model.named_modules():
                if hasattr(module, "lora_magnitude_vector") and "default" in module.lora_magnitude_vector:
                    m = module.lora_magnitude_vector["default"].weight
                    moved = max(moved, (m - module.base_layer.weight.norm(dim=1)).abs().max().item())
            results[key]["magnitude_tensors"] = len(magnitudes)
            results[key]["use_dora"] = json.load(open(os.path.join(trained, "adapter", "adapter_config.json")))["use_dora"]
            results[key]["magnitude_max_abs_move_from_row_norms"] = moved
    results["meta"] = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "command": "/work/venv-ref/bin/python scripts/reference/check_java_exports.py",
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
