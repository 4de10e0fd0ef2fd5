"""lm-evaluation-harness peer of `workbench eval --bench`: accuracy and examples/s on gauntlet tasks.

    python bench/peer/lmeval_gauntlet.py --model DIR --tasks arc_easy,piqa,copa,boolq,winogrande [--limit N]
        [--batch-size 32] [--threads T]

The tasks are read from recipes/eval/tasks/*.yaml and turned into (context, continuation) requests by
scripts/reference/eval/gauntlet.py, the same prompts the Java side uses; lm_eval's HFLM scores them
(tokenisation, batching, left truncation at max_length, its one-token-continuation cache) and acc / acc_norm
follow lm_eval's multiple-choice formulas. Per task, the timed part is: building the requests, HFLM.loglikelihood
and the metrics (model loading and one untimed warm-up call are not). Prints one JSON line:
{"bench": "eval_gauntlet", "impl": "python-lm-eval", ..., "tasks": {name: {examples, seconds, examples_per_s,
acc, acc_norm}}, "total_examples", "total_seconds", "examples_per_s"}.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "reference", "eval"))
import gauntlet  # noqa: E402
import harness  # noqa: E402


def run_task(lm, spec, examples, n):
    from lm_eval.api.instance import Instance
    from lm_eval.api.metrics import mean

    built = [gauntlet.requests(spec, examples, i) for i in range(n)]
    flat = [r for reqs, _, _ in built for r in reqs]
    res = lm.loglikelihood([Instance(request_type="loglikelihood", doc={}, arguments=r, idx=k)
                            for k, r in enumerate(flat)], disable_tqdm=True)
    acc, norm, k = [], [], 0
    for reqs, gold, choices in built:
        lls = np.array([ll for ll, _ in res[k:k + len(reqs)]])
        greedy = [g for _, g in res[k:k + len(reqs)]]
        k += len(reqs)
        if gold is None:  # completion: accuracy = the continuation is greedy
            acc.append(1.0 if greedy[0] else 0.0)
            continue
        acc.append(1.0 if int(np.argmax(lls)) == gold else 0.0)
        if spec["kind"] == "multiple_choice":
            norm.append(1.0 if int(np.argmax(lls / np.array([float(len(c)) for c in choices]))) == gold else 0.0)
    out = {"acc": mean(acc)}
    if norm:
        out["acc_norm"] = mean(norm)
    return out, len(flat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="Hugging Face model directory (e.g. the converted stories260K)")
    ap.add_argument("--tasks", default="arc_easy,piqa,copa,boolq,winogrande")
    ap.add_argument("--limit", type=int, default=0, help="first N examples per task (0 = all)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-length", type=int, default=None,
                    help="context window (default: the model's); stories260K's 512 is shorter than some PIQA answers")
    a = ap.parse_args()
    harness.setup(a)

    import lm_eval
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=a.model, device="cpu", dtype="float32", batch_size=a.batch_size, max_length=a.max_length)
    specs = [gauntlet.load_task(t) for t in a.tasks.split(",")]
    data = [gauntlet.read_examples(s) for s in specs]
    run_task(lm, specs[0], data[0], min(8, len(data[0])))  # warm-up, untimed

    tasks, total_s, total_n = {}, 0.0, 0
    for spec, examples in zip(specs, data):
        n = min(a.limit, len(examples)) if a.limit > 0 else len(examples)
        t = time.perf_counter()
        metrics, requests = run_task(lm, spec, examples, n)
        s = time.perf_counter() - t
        tasks[spec["name"]] = {"examples": n, "requests": requests, "seconds": s, "examples_per_s": n / s, **metrics}
        total_s += s
        total_n += n
        print(spec["name"], tasks[spec["name"]], file=sys.stderr)
    harness.emit("eval_gauntlet", a, {
        "impl": "python-lm-eval", "lm_eval": lm_eval.__version__, "model": a.model, "limit": a.limit,
        "batch_size": a.batch_size, "max_length": lm.max_length, "tasks": tasks, "total_examples": total_n,
        "total_seconds": total_s, "examples_per_s": total_n / total_s,
    })


if __name__ == "__main__":
    main()
