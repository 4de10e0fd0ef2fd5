/**
 * Generation tasks: MT-bench / Vicuna-bench answers through a chat template (the datasets module's built-in
 * templates, the model's own {@code chat_template} or a {@code .jinja} file) written as FastChat's answer
 * JSONL, and exact-match tasks whose answer is pulled out of the generated text by a regex.
 */
package org.llamawb.eval.generation;
