/**
 * Metric arithmetic as lm-evaluation-harness defines it: means with the standard error of the mean,
 * argmax decisions (acc, acc_norm), perplexity.
 */
package org.llamawb.eval.metrics;
