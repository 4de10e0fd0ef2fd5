/**
 * Perplexity and mean loss: of raw text over lm-evaluation-harness' rolling windows, and of labelled
 * sequences (a dialogue set's assistant tokens only, labels -100 elsewhere, as transformers computes loss).
 *
 * <p>The dialogue path takes {@link org.llamawb.eval.perplexity.LabelledSequence}s, so any tokeniser of
 * conversations plugs in: the datasets module's chat templates and assistant-only label masks produce
 * exactly that (ids + labels), and {@link org.llamawb.eval.perplexity.MaskedLoss#compute} turns them into
 * {@code eval_loss} and its perplexity.
 */
package org.llamawb.eval.perplexity;
