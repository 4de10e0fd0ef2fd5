"""Markdown tables from a bench/run.sh results file: python3 bench/summarize.py bench/results/DATE.jsonl

Rows with the same label (several rounds) are summarised by their median."""
import json
import statistics
import sys
from collections import OrderedDict


def load(path):
    rows = OrderedDict()
    for line in open(path):
        line = line.strip()
        if line:
            d = json.loads(line)
            rows.setdefault(d["label"], []).append(d["result"])
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def f(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def main(path):
    rows = load(path)
    last = lambda label: rows[label][-1]
    if "gemm java" in rows:
        print("| GEMM fp32 GFLOP/s | 1024³ | 2048³ |\n|---|---|---|")
        for impl in ("java", "python"):
            r = last("gemm " + impl)["results"]
            print(f"| {impl} | {f(r['1024']['gflops'], 1)} | {f(r['2048']['gflops'], 1)} |")
        print()
    if "forward 15M 8x256 java" in rows:
        forward_tables(rows)
    generate_and_train_tables(rows)


def forward_tables(rows):
    last = lambda label: rows[label][-1]
    j, p = last("forward 15M 8x256 java"), last("forward 15M 8x256 python")
    print("| 15M, 8×256 | Java tok/s | MFU | Python tok/s | MFU | Java / Python | peak RSS MiB (Java / Python) |")
    print("|---|---|---|---|---|---|---|")
    for k, name in (("forward", "forward"), ("forward_backward", "forward + backward (full)")):
        print(f"| {name} | {f(j[k]['tokens_per_s'])} | {f(j[k]['mfu'], 2)} | {f(p[k]['tokens_per_s'])} | {f(p[k]['mfu'], 2)} "
              f"| {j[k]['tokens_per_s'] / p[k]['tokens_per_s']:.2f}× | {f(j['peak_rss_mib'])} / {f(p['peak_rss_mib'])} |")
    print()
    fj, fp = rows["forward 15M 8x256 java"], rows["forward 15M 8x256 python"]
    if len(fj) > 1:
        print(f"| 15M, 8×256, {len(fj)} rounds | Java median / best tok/s | Python median / best tok/s | Java / Python (median) | (best) |")
        print("|---|---|---|---|---|")
        for k, name in (("forward", "forward"), ("forward_backward", "forward + backward (full)")):
            jm, pm = med([r[k]["tokens_per_s"] for r in fj]), med([r[k]["tokens_per_s"] for r in fp])
            # best = the fastest timed step of any round (noise here only ever adds time)
            jb = max(j["tokens_per_step"] / r[k]["min_s"] for r in fj)
            pb = max(p["tokens_per_step"] / r[k]["min_s"] for r in fp)
            print(f"| {name} | {f(jm)} / {f(jb)} | {f(pm)} / {f(pb)} | {jm / pm:.2f}× | {jb / pb:.2f}× |")
        print()


def generate_and_train_tables(rows):
    last = lambda label: rows[label][-1]
    models = [m for m in ("stories260K", "15M") if rows.get(f"generate {m} java")]
    if models:
        print("| greedy generation, KV cache, 255 tokens | Java tok/s | Python tok/s | Java / Python | peak RSS MiB (Java / Python) |")
        print("|---|---|---|---|---|")
        for m in models:
            a, b = last(f"generate {m} java"), last(f"generate {m} python")
            print(f"| {m} | {f(a['tokens_per_s'], 1)} | {f(b['tokens_per_s'], 1)} | {a['tokens_per_s'] / b['tokens_per_s']:.2f}× "
                  f"| {f(a['peak_rss_mib'])} / {f(b['peak_rss_mib'])} |")
        print()
    if "lora-train 15M 8x256 java" in rows:
        a, b = last("lora-train 15M 8x256 java"), last("lora-train 15M 8x256 python")
        print("| LoRA SFT step, 15M, 8×256, r 8 on q,k,v,o | step s | tok/s | MFU (6N) | MFU (4N, frozen base) | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for name, r in (("Java (workbench)", a), ("Python (transformers + PEFT)", b)):
            print(f"| {name} | {r['step']['median_s']:.3f} | {f(r['tokens_per_s'])} | {f(r['mfu'], 2)} | {f(r['mfu_frozen_base'], 2)} | {f(r['peak_rss_mib'])} |")
        print(f"\nJava / Python: {a['tokens_per_s'] / b['tokens_per_s']:.2f}×\n")
    if "lora-sft 15M 8x256 prompt 0.67 java" in rows:
        js, ps = rows["lora-sft 15M 8x256 prompt 0.67 java"], rows["lora-sft 15M 8x256 prompt 0.67 python"]
        print(f"| assistant-only LoRA step, 15M, 8×256, 67% prompt, {len(js)} rounds | step s (median) | tok/s | peak RSS MiB |")
        print("|---|---|---|---|")
        for name, rs in (("Java (workbench)", js), ("Python (transformers + PEFT)", ps)):
            print(f"| {name} | {med([r['step']['median_s'] for r in rs]):.3f} | {f(med([r['tokens_per_s'] for r in rs]))} "
                  f"| {f(med([r['peak_rss_mib'] for r in rs]))} |")
        print(f"\nJava / Python: {med([r['tokens_per_s'] for r in js]) / med([r['tokens_per_s'] for r in ps]):.2f}×\n")
    shapes = ["6L 8x256", "6L 2x1024", "6L 1x2048", "24L 1x2048"]
    if any(k.startswith("remat ") for k in rows):
        print("| config | setting | step s | tok/s | MFU (4N) | peak RSS MiB | activation MiB | vs `none` time | vs `none` activations | vs Python equivalent |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for s in shapes:
            none_t = med([r["step"]["median_s"] for r in rows.get(f"remat {s} none java", [])])
            none_act = med([r["peak_rss_mib"] - r["rss_before_steps_mib"] for r in rows.get(f"remat-memory {s} none java", [])])
            py = {gc: med([r["tokens_per_s"] for r in rows.get(f"remat {s} gc-{gc} python", [])]) for gc in ("off", "on")}
            for setting, label, peer in (("none", f"remat {s} none java", "off"), ("full", f"remat {s} full java", "on"),
                                         ("hybrid", f"remat {s} hybrid java", "on"),
                                         ("hybrid-lean", f"remat {s} hybrid-lean java", "on"),
                                         ("Python, checkpointing off", f"remat {s} gc-off python", None),
                                         ("Python, checkpointing on", f"remat {s} gc-on python", None)):
                rs = rows.get(label, [])
                if not rs:
                    continue
                t = med([r["step"]["median_s"] for r in rs])
                tps = med([r["tokens_per_s"] for r in rs])
                mfu = med([r.get("mfu_frozen_base") for r in rs])  # LoRA: the frozen base gets no weight-gradient GEMMs
                rss = med([r["peak_rss_mib"] for r in rs])
                mem = rows.get(label.replace("remat ", "remat-memory "), [])
                act = med([r["peak_rss_mib"] - r["rss_before_steps_mib"] for r in mem]) if mem else None
                vs_t = f"{t / none_t:.2f}×" if peer and none_t else "–"
                vs_a = f"{act / none_act:.0%}" if act is not None and none_act else "–"
                vs_py = f"{tps / py[peer]:.2f}×" if peer and py[peer] else "–"
                print(f"| {s.replace('x', '×')} | {setting} | {t:.2f} | {f(tps)} | {f(mfu, 2)} | {f(rss)} | {f(act)} | {vs_t} | {vs_a} | {vs_py} |")
        print()
        # the rounds are interleaved, so each round's own ratio cancels slow spells of the machine
        for s in shapes:
            for policy in ("none", "full", "hybrid", "hybrid-lean"):
                js = rows.get(f"remat {s} {policy} java", [])
                ps = rows.get(f"remat {s} gc-{'off' if policy == 'none' else 'on'} python", [])
                if len(js) > 1 and len(js) == len(ps):
                    ratios = [p["step"]["median_s"] / j["step"]["median_s"] for j, p in zip(js, ps)]
                    print(f"- {s} {policy} vs Python, round by round: " + ", ".join(f"{x:.2f}×" for x in ratios)
                          + f"; median {med(ratios):.2f}×")
        print()
    for label, rs in rows.items():
        if label.startswith("longctx"):
            r = rs[-1]
            print(f"- {label}: " + ("failed: " + r["error"] if r.get("failed") else
                  f"completed, step {r['step']['median_s']:.1f} s, {f(r['tokens_per_s'])} tok/s, peak RSS {f(r['peak_rss_mib'])} MiB"))
    print()
    for label, rs in rows.items():
        if label.startswith("data "):
            r = rs[-1]
            print(f"| {r['file'].split('/')[-1]} | {r['examples']} | {f(r['encode_examples_per_s'])} | {f(r['encode_tokens_per_s'])} "
                  f"| {f(r['pack_tokens_per_s'])} | {r['fill']:.3f} |")
    print()
    if "eval gauntlet java" in rows:
        a, b = last("eval gauntlet java"), last("eval gauntlet python")
        print("| task | examples | Java acc / acc_norm | Python acc / acc_norm | Java ex/s | Python ex/s | Java / Python |")
        print("|---|---|---|---|---|---|---|")
        for t, ja in a["tasks"].items():
            pb = b["tasks"][t]
            acc = lambda v: f"{v['acc']:.4f} / " + ("–" if v.get("acc_norm") is None else f"{v['acc_norm']:.4f}")
            print(f"| {t} | {ja['examples']} | {acc(ja)} | {acc(pb)} | {ja['examples_per_s']:.1f} | {pb['examples_per_s']:.1f} "
                  f"| {ja['examples_per_s'] / pb['examples_per_s']:.2f}× |")
        print(f"| all | {sum(v['examples'] for v in a['tasks'].values())} | | | {a['examples_per_s']:.1f} | {b['examples_per_s']:.1f} "
              f"| {a['examples_per_s'] / b['examples_per_s']:.2f}× |")

    dpo = [k for k in rows if k.startswith("dpo ") and k.endswith(" java")]
    for label in dpo:
        shape = label[len("dpo "):-len(" java")]  # "15M 4x2x256 prompt 0.5"
        model, pairs, prompt = shape.split(" ", 2)
        b, _, t = pairs.split("x")
        sft = f"dpo-sft {model} {2 * int(b)}x{t} {prompt}"
        print("| LoRA step | step s (median) | CPU s/step | tok/s | peak RSS MiB | RSS before steps MiB |")
        print("|---|---|---|---|---|---|")
        for name, key in (("DPO, Java (workbench)", label), ("DPO, Python (TRL DPOTrainer + PEFT)", f"dpo {shape} python-trl"),
                          ("SFT same rows, Java", sft + " java"), ("SFT same rows, Python (TRL SFTTrainer + PEFT)",
                                                                   sft + " python-trl")):
            rs = rows.get(key, [])
            if rs:
                print(f"| {name} | {med([r['step']['median_s'] for r in rs]):.3f} | {f(med([r.get('cpu_s_median') for r in rs]), 2)} "
                      f"| {f(med([r['tokens_per_s'] for r in rs]))} | {f(med([r['peak_rss_mib'] for r in rs]))} "
                      f"| {f(med([r.get('rss_before_steps_mib') for r in rs]))} |")
        js, ps = rows.get(label, []), rows.get(f"dpo {shape} python-trl", [])
        if js and ps:
            ratios = [j["tokens_per_s"] / p["tokens_per_s"] for j, p in zip(js, ps)]
            print(f"\n- DPO tokens/s Java / TRL, round by round: " + ", ".join(f"{x:.2f}×" for x in ratios)
                  + f"; median {med(ratios):.2f}×")
        for side, d, s_ in (("Java", label, sft + " java"), ("TRL", f"dpo {shape} python-trl", sft + " python-trl")):
            if rows.get(d) and rows.get(s_):
                r = med([x["peak_rss_mib"] for x in rows[d]]) / med([x["peak_rss_mib"] for x in rows[s_]])
                print(f"- peak RSS DPO / SFT, {side}: {r:.2f}×")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
