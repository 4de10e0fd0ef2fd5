/**
 * Perplexity and mean loss: of raw text over lm-evaluation-harness' rolling windows, and of labelled
 * sequences (a dialogue set's assistant tokens only, labels -100 elsewhere, as transformers computes loss).
 * The {@code dialogue_loss} task feeds {@link org.llamawb.eval.perplexity.MaskedLoss} with the ids and
 * labels the datasets module's {@code ExampleEncoder} produces for SFT.
 */
package org.llamawb.eval.perplexity;
