"""Learning-rate schedule and gradient-clipping fixtures for the Java optim package.

Writes finetune/src/test/resources/fixtures/optim/ (see the README.md there for each file's schema):
  schedules.json  transformers' get_{constant,linear,cosine}_schedule_with_warmup multipliers, every step
  clipping.json   torch.nn.utils.clip_grad_norm_ on fixed float32 gradients: the returned norm and the
                  clipped gradients, for a limit that clips, one that does not, and one 1e-5 below the norm
Run by hand from the repository root (never in CI):

    /work/refvenv/bin/python scripts/reference/make_schedule_fixtures.py

CPU, float32 gradients, float64 multipliers (LambdaLR's lr_lambdas, called directly). Deterministic.
"""
import json
import os

import torch
import transformers
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

OUT = "finetune/src/test/resources/fixtures/optim"

# (warmup, total): no warm-up, a short one, warm-up of most of the run, warm-up longer than the run, one step
SHAPES = [(0, 10), (3, 20), (9, 10), (12, 10), (0, 1), (5, 57)]
SCHEDULES = {
    "constant": lambda opt, w, t: get_constant_schedule_with_warmup(opt, num_warmup_steps=w),
    "linear": lambda opt, w, t: get_linear_schedule_with_warmup(opt, num_warmup_steps=w, num_training_steps=t),
    "cosine": lambda opt, w, t: get_cosine_schedule_with_warmup(opt, num_warmup_steps=w, num_training_steps=t),
}


def schedules():
    cases = []
    for name, make in SCHEDULES.items():
        for warmup, total in SHAPES:
            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            sched = make(opt, warmup, total)
            f = sched.lr_lambdas[0]
            # every step of the run and two past its end (a resumed run with a raised max_steps reads those)
            cases.append({"schedule": name, "warmup": warmup, "total": total,
                          "factors": [float(f(step)) for step in range(total + 2)]})
    return {"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}


def clipping():
    g = torch.Generator().manual_seed(17)
    shapes = [[4, 3], [5], [2, 2, 2]]
    grads = [torch.randn(s, generator=g, dtype=torch.float32) for s in shapes]
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in grads])))
    cases = []
    # a limit that clips hard, one above the norm, one 1e-5 below it (just clips)
    for max_norm in [1.0, 100.0, norm * (1 - 1e-5)]:
        params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        for p, x in zip(params, grads):
            p.grad = x.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=max_norm)
        cases.append({"max_norm": max_norm, "total_norm": float(total),
                      "clipped": [p.grad.flatten().tolist() for p in params]})
    return {"torch": torch.__version__, "shapes": shapes, "grads": [x.flatten().tolist() for x in grads], "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, value in [("schedules.json", schedules()), ("clipping.json", clipping())]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(value, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
