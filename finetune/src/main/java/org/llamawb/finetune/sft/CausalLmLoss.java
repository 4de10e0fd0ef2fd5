package org.llamawb.finetune.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;

/**
 * The next-token loss of a causal language model, as transformers computes it: the logits at position
 * {@code t} are scored against the label at {@code t + 1}; positions whose label is {@value TokenizedExample#IGNORE}
 * contribute nothing.
 *
 * <p>Returned as a <em>sum</em> over trained tokens, so a caller can divide by the number of trained
 * tokens in a whole optimiser step (all micro-batches): accumulation then equals one large batch.
 */
public final class CausalLmLoss {
    private CausalLmLoss() {}

    /**
     * Labels moved one position left ({@code out[b][t] = labels[b][t+1]}, the last is ignored), as an
     * int64 {@code [B, T]} array: shifting labels, not logits, avoids copying the {@code [B,T,V]} logits.
     */
    public static NDArray shiftedLabels(NDManager m, int[][] labels) {
        int b = labels.length;
        int t = labels[0].length;
        long[] out = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                out[i * t + j] = j + 1 < t ? labels[i][j + 1] : TokenizedExample.IGNORE;
            }
        }
        return m.create(out, new Shape(b, t));
    }

    /** Number of positions that are trained (a label that is not {@value TokenizedExample#IGNORE} after the first position). */
    public static long trainedTokens(int[][] labels) {
        long n = 0;
        for (int[] row : labels) {
            for (int j = 1; j < row.length; j++) {
                if (row[j] != TokenizedExample.IGNORE) {
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * {@code Σ -log p(label | prefix)} over trained positions; a 0-d array.
     *
     * @param logits {@code [B, T, V]}
     * @param shifted {@code [B, T]} from {@link #shiftedLabels}
     */
    public static NDArray sum(NDArray logits, NDArray shifted, boolean grad) {
        long v = logits.getShape().get(2);
        return Kernels.get().crossEntropySum(logits.reshape(-1, v), shifted.reshape(-1), grad); // [B*T, V] vs [B*T]
    }

    /**
     * {@link #sum} from the final normalised hidden states {@code [B, T, d]} (no gradient), with the LM head
     * run only on positions that have a label: the others add nothing to the loss, and with a 32k
     * vocabulary their logits would be most of the work.
     */
    public static NDArray sumOverLabelled(Llama model, NDArray normed, NDArray shifted) {
        long n = normed.getShape().get(0) * normed.getShape().get(1);
        NDArray flat = normed.reshape(n, normed.getShape().get(2)); // [B·T, d]
        NDArray labels = shifted.reshape(n); // [B·T]
        NDArray rows = labelledRows(labels);
        return rows == null
                ? Kernels.get().crossEntropySum(model.logits(flat), labels, false)
                : Kernels.get().crossEntropySum(model.logits(flat.get(rows)), labels.get(rows), false); // [m, V] vs [m]
    }

    /**
     * Indices (int64 {@code [m]}) of the positions of {@code shifted: [N]} whose label is not {@value TokenizedExample#IGNORE};
     * null when that is every position or none (then there is nothing to gather).
     */
    public static NDArray labelledRows(NDArray shifted) {
        long[] l = shifted.toLongArray();
        long[] idx = new long[l.length];
        int m = 0;
        for (int i = 0; i < l.length; i++) {
            if (l[i] != TokenizedExample.IGNORE) {
                idx[m++] = i;
            }
        }
        return m == 0 || m == l.length ? null : shifted.getManager().create(Arrays.copyOf(idx, m));
    }
}
