package org.llamawb.finetune.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.Llama;

/**
 * The log-likelihood of each row's labelled tokens, {@code Σ_t log p(label_{t+1} | tokens ≤ t)}, as the
 * preference losses read it (TRL's {@code concatenated_forward}): labels are shifted as in
 * {@link CausalLmLoss}, positions labelled {@value TokenizedExample#IGNORE} count nothing. Rows are
 * right-padded, so causal attention keeps padding out of every real token's prediction.
 *
 * @param sums {@code [N]} the per-row sums, still attached to the graph when computed under autograd
 * @param values the same sums, read back
 * @param counts labelled tokens per row
 * @param logitSums per row, the sum over labelled positions of the mean logit over the vocabulary
 *     (for TRL's {@code logits/chosen} and {@code logits/rejected})
 * @param entropySums per row, the sum over labelled positions of the predictive entropy
 *     {@code −Σ_v p_v log p_v} (TRL's {@code entropy})
 * @param correct per row, labelled positions whose most likely token is the label (TRL's
 *     {@code mean_token_accuracy})
 */
public record SequenceLogProbs(NDArray sums, double[] values, long[] counts, double[] logitSums, double[] entropySums,
        double[] correct) {

    /**
     * Runs the model over {@code ids: [N, T]} and sums the log-probabilities of {@code labels: [N, T]}
     * (unshifted, transformers' convention).
     *
     * @param grad whether autograd records (call inside a gradient collector)
     */
    public static SequenceLogProbs of(Llama model, int[][] ids, int[][] labels, boolean grad, NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        long[] flatIds = new long[n * t];
        long[] safe = new long[n * t];
        float[] mask = new float[n * t];
        long[] counts = new long[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t; j++) {
                flatIds[i * t + j] = ids[i][j];
                int next = j + 1 < t ? labels[i][j + 1] : TokenizedExample.IGNORE;
                if (next != TokenizedExample.IGNORE) {
                    safe[i * t + j] = next;
                    mask[i * t + j] = 1;
                    counts[i]++;
                }
            }
        }
        NDArray input = m.create(flatIds, new Shape(n, t)); // [N, T]
        NDArray target = m.create(safe, new Shape(n, t, 1)); // [N, T, 1], ignored positions read token 0
        NDArray weights = m.create(mask, new Shape(n, t)); // [N, T]
        NDArray logits = model.logits(model.hidden(input, null, null, grad)); // [N, T, V]
        NDArray logp = logits.logSoftmax(-1); // [N, T, V]
        NDArray tokenLogps = logp.gather(target, -1).reshape(n, t); // [N, T]
        NDArray sums = tokenLogps.mul(weights).sum(new int[] {1}); // [N]
        // metrics only: outside the graph
        NDArray plainLogits = logits.stopGradient();
        NDArray plainLogp = logp.stopGradient();
        NDArray meanLogits = plainLogits.mean(new int[] {-1}).mul(weights).sum(new int[] {1}); // [N]
        NDArray entropy = plainLogp.exp().mul(plainLogp).sum(new int[] {-1}).neg().mul(weights).sum(new int[] {1}); // [N]
        NDArray hits = plainLogits.argMax(-1).eq(target.reshape(n, t)).toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                .mul(weights).sum(new int[] {1}); // [N]
        return new SequenceLogProbs(sums, toDoubles(sums.toFloatArray()), counts, toDoubles(meanLogits.toFloatArray()),
                toDoubles(entropy.toFloatArray()), toDoubles(hits.toFloatArray()));
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
