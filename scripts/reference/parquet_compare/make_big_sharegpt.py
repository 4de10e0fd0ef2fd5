"""Writes big-sharegpt.parquet and big-sharegpt.jsonl (100,000 conversations) into the current folder.

FastChat's turn structure (roles and turn counts of dummy_conversation.json), with each turn's words drawn
at random from the Alpaca demo so the text compresses like real text rather than repeating. See README.md.
"""
import json
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
src = json.load(open(f"{DATA}/sft/fastchat-dummy-conversation/dummy_conversation.json"))
alpaca = json.load(open(f"{DATA}/sft/llamafactory-demo/alpaca_en_demo.json"))
words = " ".join(a["instruction"] + " " + a["output"] for a in alpaca).split()
rng = random.Random(0)
rows = []
for i in range(100000):
    c = src[i % len(src)]
    conv = []
    for t in c["conversations"]:
        n = max(8, len(t["value"].split()))
        conv.append({"from": t["from"], "value": " ".join(rng.choice(words) for _ in range(n))})
    rows.append({"id": f"{c['id']}-{i}", "conversations": conv})
pq.write_table(pa.Table.from_pylist(rows), "big-sharegpt.parquet", compression="snappy", row_group_size=10000)
with open("big-sharegpt.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
print(len(rows), "rows")
