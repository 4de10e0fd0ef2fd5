package org.llamawb.eval.score;

/**
 * The score of one request, as lm-evaluation-harness returns it.
 *
 * @param logprob sum over the continuation tokens of log p(token | everything before it)
 * @param greedy whether every continuation token is the argmax of its distribution
 */
public record Loglikelihood(double logprob, boolean greedy) {}
