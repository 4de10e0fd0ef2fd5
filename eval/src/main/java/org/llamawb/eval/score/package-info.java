/**
 * Log-likelihood scoring with lm-evaluation-harness semantics: {@link org.llamawb.eval.score.RequestEncoder}
 * tokenises a (context, continuation) pair as its {@code HFLM} does, and
 * {@link org.llamawb.eval.score.LoglikelihoodScorer} scores many requests in batches, running a context
 * that several continuations share only once.
 */
package org.llamawb.eval.score;
