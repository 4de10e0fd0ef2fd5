"""Parquet and column-mapping fixtures for the datasets module, cut from the shared real data.

Writes datasets/src/test/resources/fixtures/parquet/ (the README.md there documents every file).
Run by hand from the repository root (never in CI); needs pyarrow:

    /work/refvenv/bin/python scripts/reference/make_parquet_fixtures.py [../shared/data]

Deterministic for one pyarrow version (it writes its version into each file's footer): records are
chosen by position and length, and answers are placed by a seeded RNG.
"""
import json
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
OUT = "datasets/src/test/resources/fixtures/parquet"


def load(rel):
    with open(os.path.join(DATA, rel), encoding="utf-8") as f:
        return json.load(f)


def write_parquet(name, rows, schema, compression):
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, os.path.join(OUT, name), compression=compression, row_group_size=4,
                   store_schema=False)


def write_jsonl(name, rows):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def short_pairs(dpo, n, limit):
    """The first n single-turn DPO pairs whose text is under `limit` characters (keeps the files small)."""
    out = []
    for i, r in enumerate(dpo):
        size = sum(len(t["value"]) for t in r["conversations"]) + len(r["chosen"]["value"]) + len(r["rejected"]["value"])
        if len(r["conversations"]) == 1 and size < limit:
            out.append((i, r))
        if len(out) == n:
            break
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    turn = pa.struct([("from", pa.string()), ("value", pa.string())])

    # ShareGPT/Vicuna: the first 12 FastChat dummy conversations, conversations: list<struct<from, value>>.
    convs = load("sft/fastchat-dummy-conversation/dummy_conversation.json")[:12]
    write_parquet("sharegpt.parquet", [{"id": c["id"], "conversations": c["conversations"]} for c in convs],
                  pa.schema([("id", pa.string()), ("conversations", pa.list_(turn))]), "snappy")

    # Alpaca: the first 12 LLaMA-Factory demo records (zstd, the other codec Hub files use).
    alpaca = load("sft/llamafactory-demo/alpaca_en_demo.json")
    write_parquet("alpaca.parquet", alpaca[:12], pa.schema([("instruction", pa.string()), ("input", pa.string()),
                                                           ("output", pa.string())]), "zstd")

    # LLaMA-Factory DPO pairs in ShareGPT form: conversations list plus chosen/rejected structs (gzip).
    dpo = load("preference/llamafactory-demo/dpo_en_demo.json")
    pairs = short_pairs(dpo, 14, 2500)
    write_parquet("dpo_pairs.parquet", [r for _, r in pairs[:6]],
                  pa.schema([("conversations", pa.list_(turn)), ("chosen", turn), ("rejected", turn)]), "gzip")

    rng = random.Random(16)
    # PKU-SafeRLHF's shape: prompt, response_0, response_1, better_response_id (0 or 1).
    pku = []
    for i, r in pairs[6:10]:
        better = rng.randrange(2)
        answers = {better: r["chosen"]["value"], 1 - better: r["rejected"]["value"]}
        pku.append({"prompt": r["conversations"][0]["value"], "response_0": answers[0], "response_1": answers[1],
                    "better_response_id": better})
    write_parquet("pku_pairs.parquet", pku, pa.schema([("prompt", pa.string()), ("response_0", pa.string()),
                                                       ("response_1", pa.string()),
                                                       ("better_response_id", pa.int64())]), "snappy")

    # AlpacaFarm's shape: instruction, input, output_1, output_2, preference (1 or 2), as JSON lines.
    farm = []
    for i, r in pairs[10:14]:
        preference = 1 + rng.randrange(2)
        outputs = {preference: r["chosen"]["value"], 3 - preference: r["rejected"]["value"]}
        farm.append({"instruction": r["conversations"][0]["value"], "input": "", "output_1": outputs[1],
                     "output_2": outputs[2], "preference": preference})
    write_jsonl("alpacafarm_pairs.jsonl", farm)

    # Instruction data whose output sits in a list: {instruction, input, outputs: [output]}.
    write_jsonl("outputs_list.jsonl", [{"instruction": a["instruction"], "input": a["input"], "outputs": [a["output"]]}
                                       for a in alpaca[12:18]])

    # Question/answer pairs keyed by a numeric id (Parquet int64), from Alpaca records without input.
    qa = [a for a in alpaca[18:60] if a["input"] == ""][:6]
    write_parquet("qa_by_id.parquet", [{"id": 1000 + k, "question": a["instruction"], "answer": a["output"]}
                                       for k, a in enumerate(qa)],
                  pa.schema([("id", pa.int64()), ("question", pa.string()), ("answer", pa.string())]), "snappy")

    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
