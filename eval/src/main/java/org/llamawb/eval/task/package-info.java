/**
 * Evaluation tasks: the strict YAML task file ({@link org.llamawb.eval.task.TaskSpec}), the examples of its
 * data file (the llm-foundry gauntlet JSONL schema, MT-bench questions, question/answer JSONL) and the
 * (context, continuation) requests an example makes, zero-shot or with seeded shots.
 */
package org.llamawb.eval.task;
