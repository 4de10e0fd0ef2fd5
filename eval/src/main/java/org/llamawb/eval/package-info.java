/**
 * Evaluation of LLaMA models: multiple-choice log-likelihood tasks scored as lm-evaluation-harness
 * scores them, perplexity, generation tasks, reports and the base-versus-adapter comparison.
 *
 * <p>Sub-packages by concern: {@code task} (YAML task files and the requests they make),
 * {@code score} (tokenisation of requests and batched log-likelihood scoring), {@code metrics},
 * {@code perplexity}, {@code generation}, {@code report} and {@code run} (the evaluator the CLI calls).
 */
package org.llamawb.eval;
