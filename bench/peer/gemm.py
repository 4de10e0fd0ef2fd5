"""torch fp32 matmul throughput, the yardstick for the Java GEMM numbers.

    python bench/peer/gemm.py [--sizes 1024 2048] [--repeats 10] [--threads N]
Prints one JSON line: GFLOP/s (2·n³ / median seconds) per size.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    results = {}
    for n in a.sizes:
        x = torch.randn(n, n)
        y = torch.randn(n, n)
        out = torch.empty(n, n)
        s = harness.summary(harness.timed(lambda: torch.matmul(x, y, out=out), a.repeats, a.warmup))
        results[str(n)] = {"gflops": 2 * n ** 3 / s["median_s"] / 1e9, **s}
    print_fields = {"dtype": "float32", "results": results}
    harness.emit("gemm", a, print_fields)


if __name__ == "__main__":
    main()
