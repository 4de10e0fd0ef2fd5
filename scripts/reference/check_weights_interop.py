"""Checks that checkpoints written by the Java workbench load in transformers (run by hand, not in CI).

    ./mvnw -q -B -o -pl model test -Dtest=CheckpointTest      # writes model/target/weights-interop/
    /work/venv-ref/bin/python scripts/reference/check_weights_interop.py [model/target/weights-interop]

The Java test converts llama2.c's stories260K.bin to a Hugging Face directory twice: F32 in one
model.safetensors, and BF16 sharded at 200,000 bytes. Here:
  1. transformers loads both with no missing, unexpected or mismatched keys;
  2. every F32 tensor equals the reference conversion (fixtures/weights/stories260k-hf.json) bit for bit;
  3. greedy decoding from BOS with the F32 model reproduces llama2.c run.c's tokens;
  4. transformers' own save_pretrained of the same model in BF16 with the same shard limit writes
     byte-identical shards and index;
  5. the safetensors library re-saves every Java file to the same bytes (header, order, padding).
Exits non-zero on the first failure.
"""
import hashlib
import json
import pathlib
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "model/target/weights-interop"
REF = json.loads((ROOT / "model/src/test/resources/fixtures/weights/stories260k-hf.json").read_text())


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


def sha(t):
    return hashlib.sha256(t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()).hexdigest()


def load(d, **kw):
    model, info = LlamaForCausalLM.from_pretrained(d, output_loading_info=True, **kw)
    problems = {k: v for k, v in info.items() if v}
    check(not problems, f"transformers loads {d.name} cleanly {problems or ''}")
    return model.eval()


def resaves_identically(f):
    tensors, meta = {}, None
    with safe_open(f, "pt") as s:
        meta = s.metadata()
        for k in s.keys():
            tensors[k] = s.get_tensor(k)
    with tempfile.TemporaryDirectory() as t:
        p = pathlib.Path(t) / "x.safetensors"
        save_file(tensors, p, metadata=meta)
        return meta == {"format": "pt"} and p.read_bytes() == f.read_bytes()


def main():
    f32_dir = OUT / "stories260k-f32"
    bf16_dir = OUT / "stories260k-bf16-sharded"
    f32 = load(f32_dir)
    sd = f32.state_dict()
    bad = [k for k, v in REF["sha256_f32_le"].items() if sha(sd[k]) != v]
    check(not bad, f"{len(REF['sha256_f32_le'])} F32 tensors equal the reference conversion {bad[:3] if bad else ''}")
    with torch.no_grad():
        out = f32.generate(torch.tensor([[1]]), max_new_tokens=len(REF["greedy_ids_after_bos"]), do_sample=False)
    check(out[0, 1:].tolist() == REF["greedy_ids_after_bos"], f"greedy ids match llama2.c run.c: {out[0, 1:].tolist()}")

    bf16 = load(bf16_dir)
    bsd = bf16.state_dict()
    check(all(torch.equal(bsd[k], sd[k].to(torch.bfloat16)) for k in REF["sha256_f32_le"]),
          "BF16 shards hold torch's bfloat16 rounding of every tensor")
    with tempfile.TemporaryDirectory() as t:
        f32.to(torch.bfloat16).save_pretrained(t, max_shard_size=200_000)
        theirs = sorted(p.name for p in pathlib.Path(t).iterdir() if p.name.startswith("model"))
        ours = sorted(p.name for p in bf16_dir.iterdir() if p.name.startswith("model"))
        check(theirs == ours, f"same shard files as save_pretrained: {ours}")
        for name in ours:
            check((pathlib.Path(t) / name).read_bytes() == (bf16_dir / name).read_bytes(),
                  f"{name} byte-identical to transformers' save_pretrained")

    for f in sorted(OUT.glob("*/*.safetensors")):
        check(resaves_identically(f), f"safetensors re-saves {f.parent.name}/{f.name} to the same bytes")
    print("all checks passed")


if __name__ == "__main__":
    main()
