/**
 * Perplexity and mean loss: of raw text over lm-evaluation-harness' rolling windows, and of labelled
 * sequences (a dialogue set's assistant tokens only, labels -100 elsewhere, as transformers computes loss).
 */
package org.llamawb.eval.perplexity;
