"""Reference renderings of chat templates, and reference token ids / labels, for the datasets module.

Run by hand with the reference venv (transformers, fschat, sentencepiece, torch), from the repository root:

    /work/venv-ref/bin/python scripts/reference/chat_template_fixtures.py ../shared/data \
        datasets/src/test/resources/fixtures/chat_templates.json

What it records (all deterministic; rerunning leaves `git status` clean):

  conversations  the conversations every template is rendered over (role/content dicts).
  fastchat       FastChat's own conversation templates (fastchat.conversation: vicuna_v1.1, koala_v1,
                 alpaca; SeparatorStyle.ADD_COLON_TWO): a system message in the conversation is set with
                 `set_system_message`, turns are appended with `append_message`, and the generation prompt
                 is `append_message(roles[1], None)`; the text is `get_prompt()`.
  jinja          Hugging Face chat templates (the `chat_template` strings of the models named below, copied
                 verbatim) rendered by transformers' `apply_chat_template(..., tokenize=False)` with the
                 model's bos/eos strings. A template that raises records `error` (its message) instead of
                 `text`. Templates with `{% generation %}` also record `generation` (transformers'
                 character indices of the generation blocks, as `return_assistant_tokens_mask` uses them).
  tokenized      for each built-in template and supervised conversation: the rendered text encoded the way
                 Llama 2's tokenizer.json does (split at the special tokens <s>, </s>, <unk>; each piece
                 between them encoded by sentencepiece on its own), with one BOS first unless the text
                 already starts with <s>.
  fastchat_train FastChat's `fastchat.train.train.preprocess` (Vicuna's SFT masking) run on the
                 conversations without a system message, with the real LLaMA tokenizer.model: input ids and
                 labels (-100 = not trained) up to the padding.
"""
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm
import transformers
from fastchat.conversation import get_conv_template
from transformers import LlamaTokenizer
from transformers.utils.chat_template_utils import render_jinja_template

CONVERSATIONS = {
    "single": [
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "I am Vicuna, a language model trained by researchers from LMSYS."},
    ],
    "system_two_turns": [
        {"role": "system", "content": "You are a pirate. Answer briefly."},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Ahoy, matey!"},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "Four, arr."},
    ],
    "whitespace": [
        {"role": "user", "content": "  Leading and trailing spaces  \n"},
        {"role": "assistant", "content": "\n Indented answer.\n\nSecond paragraph.  "},
    ],
    "unicode_and_braces": [
        {"role": "user", "content": "Übersetze: 你好, 世界 🦙 — \"quoted\" {braces} {{ not_jinja }} {% raw %} \\n"},
        {"role": "assistant", "content": "Hallo, Welt 🦙 – «fertig» {{ 1 + 1 }}"},
    ],
    "three_turns": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
        {"role": "user", "content": "e"},
        {"role": "assistant", "content": "f"},
    ],
    # Prompts (end with a user turn): rendered with the generation prompt.
    "prompt_single": [
        {"role": "user", "content": "Tell me a joke."},
    ],
    "prompt_system_history": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a colour."},
    ],
}


def is_prompt(name):
    return CONVERSATIONS[name][-1]["role"] == "user"


# name -> (model the template comes from, bos_token, eos_token, chat_template)
TEMPLATES = {
    "llama-2": (
        "meta-llama/Llama-2-7b-chat-hf", "<s>", "</s>",
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    ),
    "llama-3": (
        "meta-llama/Meta-Llama-3-8B-Instruct", "<|begin_of_text|>", "<|eot_id|>",
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    ),
    "chatml": (
        "teknium/OpenHermes-2.5-Mistral-7B", "<s>", "<|im_end|>",
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    ),
    "mixtral": (
        "mistralai/Mixtral-8x7B-Instruct-v0.1", "<s>", "</s>",
        "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
    ),
    "gemma": (
        "google/gemma-7b-it", "<bos>", "<eos>",
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
    ),
    "zephyr": (
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "<s>", "</s>",
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
    ),
    # Llama-3.1/3.3-Instruct's template with {% generation %} around the assistant content (the "trainable"
    # variant Levanter/Marin publish): exercises `is defined`, `is not none`, `|trim`, slicing, `items`.
    "llama-3.1-generation": (
        "meta-llama/Llama-3.3-70B-Instruct (+ generation blocks)", "<|begin_of_text|>", "<|eot_id|>",
        r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {%- if message.role == "assistant" %}
            {{- "<|start_header_id|>assistant<|end_header_id|>\n\n" }}
            {%- generation %}
            {{- message['content'] | trim }}
            {%- endgeneration %}
            {{- "<|eot_id|>" }}
        {%- else %}
            {{- "<|start_header_id|>" + message['role'] + "<|end_header_id|>\n\n" + message['content'] | trim + "<|eot_id|>" }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- "<|start_header_id|>assistant<|end_header_id|>\n\n" }}
{%- endif %}""",
    ),
    # Qwen3's template: namespace(), reversed iteration, str.split/startswith/endswith/lstrip/rstrip/strip.
    "qwen3": (
        "Qwen/Qwen3-0.6B", "", "<|im_end|>",
        r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}""",
    ),
}

# Built-in template name -> where its reference rendering comes from.
FASTCHAT_BUILTINS = {"vicuna_v1.1": "vicuna_v1.1", "koala": "koala_v1", "alpaca": "alpaca"}
JINJA_BUILTINS = {"llama-2": "llama-2", "llama-3": "llama-3", "chatml": "chatml"}


def fastchat_render(conv_name, messages, add_generation_prompt):
    conv = get_conv_template(conv_name)
    start = 0
    if messages and messages[0]["role"] == "system":
        conv.set_system_message(messages[0]["content"])
        start = 1
    for m in messages[start:]:
        conv.append_message(conv.roles[0] if m["role"] == "user" else conv.roles[1], m["content"])
    if add_generation_prompt:
        conv.append_message(conv.roles[1], None)
    return conv.get_prompt()


def jinja_render(tokenizer, name, messages, add_generation_prompt):
    _, bos, eos, source = TEMPLATES[name]
    out = {"template": name, "conversation": None, "add_generation_prompt": add_generation_prompt}
    try:
        out["text"] = tokenizer.apply_chat_template(
            messages, chat_template=source, tokenize=False, add_generation_prompt=add_generation_prompt,
            bos_token=bos, eos_token=eos)
        if re.search(r"\{%-?\s*generation\s*-?%\}", source):
            rendered, indices = render_jinja_template(
                conversations=[messages], chat_template=source, return_assistant_tokens_mask=True,
                add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos)
            assert rendered[0] == out["text"]
            out["generation"] = [list(span) for span in indices[0]]
    except Exception as e:  # the template's raise_exception
        out.pop("text", None)
        out["error"] = str(e)
    return out


SPECIALS = re.compile(r"(<s>|</s>|<unk>)")


def segmented_ids(sp, text):
    """Llama 2's tokenizer.json semantics: special tokens matched first, the rest by sentencepiece."""
    ids = [] if text.startswith("<s>") else [sp.bos_id()]
    for part in SPECIALS.split(text):
        if part == "":
            continue
        if part == "<s>":
            ids.append(sp.bos_id())
        elif part == "</s>":
            ids.append(sp.eos_id())
        elif part == "<unk>":
            ids.append(sp.unk_id())
        else:
            ids.extend(sp.encode(part))
    return ids


def fastchat_train(tokenizer_dir, messages):
    from fastchat.train.train import preprocess

    tok = LlamaTokenizer.from_pretrained(tokenizer_dir, legacy=True, add_bos_token=True,
                                         model_max_length=256, padding_side="right")
    tok.pad_token = tok.unk_token
    source = [{"from": "human" if m["role"] == "user" else "gpt", "value": m["content"]} for m in messages]
    out = preprocess([source], tok)
    ids = out["input_ids"][0]
    n = int(out["attention_mask"][0].sum())
    return ids[:n].tolist(), out["labels"][0][:n].tolist()


def main():
    data = Path(sys.argv[1])
    out_file = Path(sys.argv[2])
    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copy(data / "tokenizers/llama/tokenizer.model", tmp / "tokenizer.model")
        tokenizer = LlamaTokenizer.from_pretrained(str(tmp), legacy=True)
        sp = spm.SentencePieceProcessor(model_file=str(tmp / "tokenizer.model"))

        fastchat = []
        for builtin, conv_name in FASTCHAT_BUILTINS.items():
            for cname, messages in CONVERSATIONS.items():
                gen = is_prompt(cname)
                fastchat.append({"template": builtin, "fastchat_name": conv_name, "conversation": cname,
                                 "add_generation_prompt": gen,
                                 "text": fastchat_render(conv_name, messages, gen)})

        jinja = []
        for tname in TEMPLATES:
            for cname, messages in CONVERSATIONS.items():
                r = jinja_render(tokenizer, tname, messages, is_prompt(cname))
                r["conversation"] = cname
                jinja.append(r)

        tokenized = []
        for entry in fastchat:
            if not entry["add_generation_prompt"]:
                tokenized.append({"template": entry["template"], "conversation": entry["conversation"],
                                  "input_ids": segmented_ids(sp, entry["text"])})
        for builtin, tname in JINJA_BUILTINS.items():
            for r in jinja:
                if r["template"] == tname and not r["add_generation_prompt"] and "text" in r:
                    tokenized.append({"template": builtin, "conversation": r["conversation"],
                                      "input_ids": segmented_ids(sp, r["text"])})

        train = []
        for cname, messages in CONVERSATIONS.items():
            if not is_prompt(cname) and messages[0]["role"] != "system":
                ids, labels = fastchat_train(str(tmp), messages)
                train.append({"template": "vicuna_v1.1", "conversation": cname, "input_ids": ids, "labels": labels})

        result = {
            "generated_by": "scripts/reference/chat_template_fixtures.py",
            "versions": {"transformers": transformers.__version__, "fschat": __import__("fastchat").__version__,
                         "sentencepiece": spm.__version__},
            "conversations": CONVERSATIONS,
            "templates": {k: {"model": v[0], "bos_token": v[1], "eos_token": v[2], "source": v[3]}
                          for k, v in TEMPLATES.items()},
            "builtin_references": {**{k: "fastchat:" + v for k, v in FASTCHAT_BUILTINS.items()},
                                   **{k: "jinja:" + v for k, v in JINJA_BUILTINS.items()}},
            "fastchat": fastchat,
            "jinja": jinja,
            "tokenized": tokenized,
            "fastchat_train": train,
        }
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out_file}: {len(fastchat)} fastchat, {len(jinja)} jinja, {len(tokenized)} tokenized,"
              f" {len(train)} fastchat_train")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
