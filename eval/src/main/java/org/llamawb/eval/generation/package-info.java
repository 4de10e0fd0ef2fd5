/**
 * Generation tasks: MT-bench / Vicuna-bench answers through a chat template written as FastChat's answer
 * JSONL, and exact-match tasks whose answer is pulled out of the generated text by a regex. Built-in chat
 * templates stand in until the datasets module's templates (the model's own {@code chat_template}) land.
 */
package org.llamawb.eval.generation;
