"""Reference token ids for tricky strings on the real LLaMA tokenizer.model (and stories260K's tok512.model).

Run by hand with the reference venv (sentencepiece, transformers, protobuf), from the repository root:

    /work/venv-ref/bin/python scripts/reference/tokenizer_ids.py ../shared/data \
        model/src/test/resources/fixtures/tokenizer/llama_tricky_ids.json

For every string it records:
  sentencepiece    SentencePieceProcessor.encode(text): the ground truth (no BOS).
  segmented        text split at the special tokens <s>, </s>, <unk>; each special token is its id and each
                   piece between them is encoded by sentencepiece on its own. That is what Llama 2's
                   published ("legacy") tokenizer.json does, and what our tokenizer must do; it equals
                   `sentencepiece` for strings without special tokens.
  hf_spm_legacy    transformers' SpmConverter.build_tokenizer_from_spm_proto(..., legacy=True) (a
                   `tokenizers` Tokenizer built from the proto, special tokens added): an independent
                   Hugging Face construction of the same semantics.
  hf_llama_fast    LlamaTokenizerFast.from_pretrained(<dir with only tokenizer.model>) as this
                   transformers version builds it (legacy=False, merges by id, Metaspace): recorded to
                   document where it departs from sentencepiece; not what we aim for.
"""
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm
import tokenizers
import transformers
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import AddedToken
from transformers import LlamaTokenizerFast
from transformers.convert_slow_tokenizer import SpmConverter

STRINGS = [
    "",
    " ",
    "  ",
    "Hello world",
    " Hello",
    "  Hello",
    "Hello  ",
    "a" + " " * 20 + "b",
    "\n",
    "\n\n\n",
    "\t",
    "a\tb",
    "line one\nline two\r\nline three",
    "Führer naïve café résumé",
    "e\u0301 vs \u00e9",
    "Привет, мир! Как дела?",
    "我想在apple工作1314151天～",
    "日本語のテキストとカタカナ",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "שלום עולם",
    "🦙 llama 😀 👨‍👩‍👧‍👦 ✅",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math ∑∫√",
    "\u00a0non-breaking\u00a0space",
    "\u0001\u0002 control",
    "12345 3.14159 1,000,000",
    "def f(x):\n    return x**2  # comment\n",
    "I've been 'told he's there, 'RE you sure? We'Ve a'lL",
    "<0x0A> is not a newline",
    "▁already▁escaped",
    "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! </s>",
    "<s>hello</s><s> world</s>",
    "a <unk> b",
    "User: hi\nAssistant:</s>",
]

STORIES = [
    "Once upon a time, there was a little girl named Lily.",
    "",
    "  two  spaces  ",
    "newline\nand\ttab",
    "unicode: café ☕ 🐱",
    "CAPS and 12345",
]

SPECIAL = re.compile(r"(<s>|</s>|<unk>)")


def segmented(sp, text):
    ids = []
    for part in SPECIAL.split(text):
        if part == "":
            continue
        if SPECIAL.fullmatch(part):
            ids.append(sp.piece_to_id(part))
        else:
            ids.extend(sp.encode(part))
    return ids


def hf_legacy(model_file):
    proto = pb.ModelProto()
    proto.ParseFromString(Path(model_file).read_bytes())
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    tok = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=True)
    tok.add_special_tokens([AddedToken(p.piece, normalized=False, special=True)
                            for p in proto.pieces if p.type in (2, 3)])
    return tok


def hf_fast(model_file):
    d = tempfile.mkdtemp()
    shutil.copy(model_file, Path(d) / "tokenizer.model")
    return LlamaTokenizerFast.from_pretrained(d)


def records(model_file, strings):
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    legacy = hf_legacy(model_file)
    fast = hf_fast(model_file)
    out = []
    for s in strings:
        out.append({
            "text": s,
            "sentencepiece": sp.encode(s),
            "segmented": segmented(sp, s),
            "hf_spm_legacy": legacy.encode(s, add_special_tokens=False).ids,
            "hf_llama_fast": fast.encode(s, add_special_tokens=False),
            "sentencepiece_decoded": sp.decode(sp.encode(s)),
        })
    return out


def main():
    data = Path(sys.argv[1])
    llama = data / "tokenizers/llama/tokenizer.model"
    stories = data / "models/stories260K/tok512.model"
    result = {
        "generated_by": "scripts/reference/tokenizer_ids.py",
        "versions": {"sentencepiece": spm.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "llama": records(llama, STRINGS),
        "stories260K_tok512": records(stories, STORIES),
    }
    Path(sys.argv[2]).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name in ("llama", "stories260K_tok512"):
        for r in result[name]:
            marks = [k for k in ("segmented", "hf_spm_legacy", "hf_llama_fast")
                     if r[k] != r["segmented"] or r[k] != r["sentencepiece"]]
            if marks:
                print(name, repr(r["text"]), "differs from sentencepiece:", marks)


if __name__ == "__main__":
    main()
