"""Reference numbers for the eval module: lm-evaluation-harness scoring on the real stories260K model.

    /work/venv-ref/bin/python scripts/reference/eval/make_eval_fixtures.py [--work /tmp/llamawb-eval-ref]

1. Converts ../shared/data/models/stories260K/stories260K.bin (llama2.c legacy layout, read with numpy,
   q/k rows permuted to rotate-half) and tok512.model into a Hugging Face LlamaForCausalLM directory under
   --work (not committed: derived from shared data).
2. Builds log-likelihood requests from a few examples of each gauntlet task kind, with the prompts of
   recipes/eval/tasks/*.yaml (see gauntlet.py), and scores them with lm_eval's HFLM.loglikelihood
   (its own tokenisation: whole string encoded, split at the context's length, BOS from the tokenizer,
   left truncation at max_length). acc / acc_norm / stderr use lm_eval's formulas (argmax of lls,
   of lls / len(choice); lm_eval.api.metrics.mean and mean_stderr).
3. Rolling-window perplexity with lm_eval.utils.get_rolling_token_windows + HFLM._loglikelihood_tokens,
   a masked (assistant-only) loss from transformers' own labels=-100 loss, and greedy generate() ids.

Writes eval/src/test/resources/fixtures/lmeval/stories260K.json (documented in the README beside it).
Deterministic: rerunning leaves git status clean.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gauntlet  # noqa: E402

DATA = os.path.join(gauntlet.repo_root(), "..", "shared", "data")
STORIES = os.path.join(DATA, "models", "stories260K")

# (task, shots, example indices); the BoolQ passages are longer than 512 tokens (left truncation).
CASES = [
    ("arc_easy", 0, [0, 1, 2]),
    ("arc_challenge", 0, [0, 1]),
    ("piqa", 0, [0, 1, 2]),
    ("boolq", 0, [0, 1]),
    ("openbookqa", 0, [0, 1]),
    ("copa", 0, [0, 1, 2]),
    ("siqa", 0, [0, 1]),
    ("winogrande", 0, [0, 1, 2]),
    ("lambada_openai", 0, [0, 1, 2]),
    ("arc_easy", 2, [0, 1]),
    ("winogrande", 2, [0]),
    ("lambada_openai", 1, [3]),
]


def r6(x):
    return float(f"{x:.9g}")


def score_cases(lm):
    from lm_eval.api.instance import Instance
    from lm_eval.api.metrics import mean, mean_stderr
    import numpy as np

    out = []
    for name, shots, indices in CASES:
        spec = gauntlet.load_task(name)
        examples = gauntlet.read_examples(spec)
        idx = list(indices)
        task = {"task": name, "kind": spec["kind"], "shots": shots, "seed": spec["seed"], "examples": []}
        accs, norms, greedy_all, lls_all = [], [], [], []
        for i in idx:
            reqs, gold, choices = gauntlet.requests(spec, examples, i, shots)
            inst = [Instance(request_type="loglikelihood", doc={}, arguments=r, idx=k) for k, r in enumerate(reqs)]
            res = lm.loglikelihood(inst, disable_tqdm=True)
            rows = []
            for (ctx, cont), (ll, greedy) in zip(reqs, res):
                ctx_ids, cont_ids = lm._encode_pair(ctx, cont)
                rows.append({"context": ctx, "continuation": cont, "context_ids": ctx_ids,
                             "continuation_ids": cont_ids, "truncated": len(ctx_ids) + len(cont_ids) > lm.max_length + 1,
                             "loglikelihood": r6(ll), "greedy": bool(greedy)})
            ex = {"index": i, "requests": rows}
            lls = np.array([ll for ll, _ in res])
            if gold is not None:
                pred = int(np.argmax(lls))
                pred_norm = int(np.argmax(lls / np.array([float(len(c)) for c in choices])))
                ex.update(gold=gold, pred=pred, pred_norm=pred_norm)
                accs.append(1.0 if pred == gold else 0.0)
                norms.append(1.0 if pred_norm == gold else 0.0)
            else:
                greedy_all.append(1.0 if res[0][1] else 0.0)
                lls_all.append(res[0][0])
            task["examples"].append(ex)
        if accs:
            task["metrics"] = {"acc": mean(accs), "acc_stderr": r6(mean_stderr(accs)) if len(accs) > 1 else None,
                               "acc_norm": mean(norms),
                               "acc_norm_stderr": r6(mean_stderr(norms)) if len(norms) > 1 else None}
        else:
            import math
            task["metrics"] = {"acc": mean(greedy_all),
                               "acc_stderr": r6(mean_stderr(greedy_all)) if len(greedy_all) > 1 else None,
                               "perplexity": r6(math.exp(-mean(lls_all)))}
        out.append(task)
        print(name, shots, task["metrics"], file=sys.stderr)
    return out


# Edge cases of the request encoding: a greedy continuation, an empty context (scored after the prefix
# token), trailing whitespace moved from the context to the continuation, double spaces, non-ASCII text.
EDGE_REQUESTS = [
    ("Once upon a time, there was a little girl named", " Lily"),
    ("Once upon a time, there was a little girl named Lily. She loved to", " play"),
    ("", "Once upon a time"),
    ("Once upon a time, ", "there was a cat."),
    ("The dog ran  fast", "  and  jumped."),
    ("Lily ate a crêpe at the café", " and smiled. 😀"),
]


def edge_requests(lm):
    from lm_eval.api.instance import Instance

    inst = [Instance(request_type="loglikelihood", doc={}, arguments=r, idx=k) for k, r in enumerate(EDGE_REQUESTS)]
    res = lm.loglikelihood(inst, disable_tqdm=True)
    out = []
    for (ctx, cont), (ll, g) in zip(EDGE_REQUESTS, res):
        if ctx == "":
            cont_ids = lm.tok_encode(cont, add_special_tokens=False)
            ctx_ids = [lm.prefix_token_id]
        else:
            ctx_ids, cont_ids = lm._encode_pair(ctx, cont)
        out.append({"context": ctx, "continuation": cont, "context_ids": ctx_ids, "continuation_ids": cont_ids,
                    "loglikelihood": r6(ll), "greedy": bool(g)})
    return out


def rolling(lm, text, max_len):
    from lm_eval import utils

    tokens = lm.tok_encode(text, add_special_tokens=False)
    windows = [utils.make_disjoint_window(w) for w in utils.get_rolling_token_windows(
        token_list=tokens, prefix_token=lm.prefix_token_id, max_seq_len=max_len, context_len=1)]
    res = lm._loglikelihood_tokens([(None, a, b) for a, b in windows], disable_tqdm=True, override_bs=len(windows))
    total = sum(r[0] for r in res)
    return {"max_length": max_len, "tokens": len(tokens), "windows": len(windows),
            "window_loglikelihoods": [r6(r[0]) for r in res], "loglikelihood": r6(total),
            "bytes": len(text.encode("utf-8"))}


def masked_loss(model, tok):
    """Mean cross-entropy over the assistant tokens only, by transformers' labels=-100 convention."""
    user = "User: Tell me a story about a cat.\nAssistant:"
    answer = " Once upon a time, there was a little cat named Tom. Tom liked to play in the sun."
    prompt_ids = tok.encode(user)  # BOS + user turn
    full = tok.encode(user + answer)
    assert full[:len(prompt_ids)] == prompt_ids
    labels = [-100] * len(prompt_ids) + full[len(prompt_ids):]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([full]), labels=torch.tensor([labels]))
    return {"input_ids": full, "labels": labels, "loss": r6(out.loss.item()),
            "scored_tokens": sum(1 for x in labels[1:] if x != -100)}


def greedy(model, tok):
    out = []
    for prompt, n in [("", 60), ("Once upon a time, there was", 40)]:
        ids = tok.encode(prompt) if prompt else [tok.bos_token_id]
        with torch.no_grad():
            g = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                               max_new_tokens=n, do_sample=False, pad_token_id=0)
        out.append({"prompt": prompt, "prompt_ids": ids, "new_ids": g[0, len(ids):].tolist()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/llamawb-eval-ref")
    ap.add_argument("--out", default=os.path.join(gauntlet.repo_root(), "eval", "src", "test", "resources",
                                                  "fixtures", "lmeval", "stories260K.json"))
    a = ap.parse_args()
    torch.manual_seed(0)
    hf_dir = os.path.join(a.work, "stories260K-hf")
    gauntlet.convert_stories260k(os.path.join(STORIES, "stories260K.bin"), os.path.join(STORIES, "tok512.model"), hf_dir)

    import lm_eval
    import transformers
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoTokenizer, LlamaForCausalLM

    lm = HFLM(pretrained=hf_dir, device="cpu", dtype="float32", batch_size=4)
    model = LlamaForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(hf_dir)
    assert tok.encode("a")[0] == tok.bos_token_id, "the converted tokenizer must add BOS"

    story = open(os.path.join(STORIES, "runc-greedy-256.txt"), encoding="utf-8").read()
    fixture = {
        "about": "lm-evaluation-harness scoring of stories260K (see README.md)",
        "versions": {"lm_eval": lm_eval.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
        "max_length": lm.max_length,
        "prefix_token_id": lm.prefix_token_id,
        "tasks": score_cases(lm),
        "edge_requests": edge_requests(lm),
        "perplexity": {"file": "models/stories260K/runc-greedy-256.txt",
                       "token_ids": lm.tok_encode(story, add_special_tokens=False),
                       "words": len(re.split(r"\s+", story)),
                       "runs": [rolling(lm, story, 64), rolling(lm, story, lm.max_length)]},
        "masked_loss": masked_loss(model, tok),
        "generation": greedy(model, tok),
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    text = json.dumps(fixture, indent=1, ensure_ascii=False)
    # lists of numbers on one line each (token ids), so the file stays small and diffs stay readable
    text = re.sub(r"\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)
    with open(a.out, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print("wrote", a.out, "and", hf_dir, file=sys.stderr)


if __name__ == "__main__":
    main()
