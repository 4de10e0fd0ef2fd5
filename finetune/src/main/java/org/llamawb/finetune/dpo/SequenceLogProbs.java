package org.llamawb.finetune.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;
import java.util.function.Supplier;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;

/**
 * The log-likelihood of each row's labelled tokens, {@code Σ_t log p(label_{t+1} | tokens ≤ t)}, as the
 * preference losses read it (TRL's {@code concatenated_forward}): labels are shifted as in
 * {@link CausalLmLoss}, positions labelled {@value TokenizedExample#IGNORE} count nothing. Rows are
 * right-padded, so causal attention keeps padding out of every real token's prediction.
 *
 * <p>Only labelled positions reach the LM head (a prompt's or padding's logits are never computed), and no
 * {@code [N, T, V]} log-softmax exists: the kernels read each position's log-probability, log-sum-exp and
 * metrics off the logits. A pass under autograd keeps its {@code [m, V]} logits (m labelled positions) and
 * its graph; {@link #backward} then writes the gradient of {@code Σ_row g_row · logp_row} over those logits
 * and back-propagates it once, so a preference loss, a function of whole-sequence log-probabilities known
 * only after the pass, costs one forward and one backward. A pass without autograd (the reference, the
 * evaluation) runs a few rows at a time and the head in slices, and keeps nothing of {@code [m, V]} size; nor does a
 * pass on a rematerialised step's last block output ({@link #ofLast} on a leaf), whose backward recomputes the head
 * slice by slice.
 */
public final class SequenceLogProbs {
    /** Logit values per slice of a pass without autograd, and per metrics temporary: 8M floats, 32 MiB. */
    static long logitsPerSlice = Long.getLong("workbench.headSliceLogits", 8L << 20);
    /**
     * Tokens per chunk of rows of a pass without autograd. Such a pass holds one layer's temporaries at a time;
     * in chunks they stay small, and so does what the C allocator keeps of them after the pass: the reference
     * pass runs just before the policy's pass builds its graph, and heap memory it leaves behind (glibc keeps
     * freed blocks below 32 MiB) adds to the step's peak RSS. The rows are independent, so the result is the
     * same. Measured on the 15M bench model, DPO with 4 pairs × 256 tokens: peak RSS 1,053-1,164 MiB with the
     * reference in one pass, 1,040-1,094 MiB in chunks of 512 tokens, 1,101-1,112 MiB in chunks of 1,024 (against
     * 947-971 MiB for SFT on the same rows); CPU seconds per step 9.9, 13.7 and 10.1 in one back-to-back series
     * (smaller chunks, more and smaller operations). 512 keeps the DPO/SFT peak within 1.15×; 1,024 is faster.
     */
    static long tokensPerChunk = Long.getLong("workbench.referenceChunkTokens", 512);

    private final double[] values;
    private final long[] counts;
    private final double[] logitSums;
    private final double[] entropySums;
    private final double[] correct;
    /** The log-probability of each labelled position, in row-major order (row, then position). */
    private final float[] tokens;
    /** Under autograd: the head's output {@code [m, V]} (recorded), else null. */
    private NDArray logits;
    /** {@code [m]} int64 labels of the labelled positions; {@code [m]} their log-sum-exp. */
    private final NDArray targets;
    private final NDArray lse;
    /** The row of each labelled position. */
    private final int[] rowOf;
    /** Whether the pass ran under autograd and can be back-propagated. */
    private boolean recorded;
    /** On a leaf ({@link #ofLast} with {@code leaf}): the leaf {@code [N, T, d]}, the labelled rows' indices, the slice size. */
    private NDArray leaf;
    private NDArray where;
    private int rowsPerSlice;
    /** The model whose head a leaf's backward recomputes. */
    private Llama model;

    /** The sampling temperature the logits are divided by (1: none). */
    private double temperature = 1.0;

    private SequenceLogProbs(double[] values, long[] counts, double[] logitSums, double[] entropySums, double[] correct,
            float[] tokens, NDArray logits, NDArray targets, NDArray lse, int[] rowOf, boolean recorded) {
        this.values = values;
        this.tokens = tokens;
        this.counts = counts;
        this.logitSums = logitSums;
        this.entropySums = entropySums;
        this.correct = correct;
        this.logits = logits;
        this.targets = targets;
        this.lse = lse;
        this.rowOf = rowOf;
        this.recorded = recorded;
    }

    /**
     * Runs the model over {@code ids: [N, T]} and sums the log-probabilities of {@code labels: [N, T]}
     * (unshifted, transformers' convention), with the metrics.
     *
     * @param grad whether autograd records (call inside a gradient collector); then call {@link #backward}
     *     inside the same collector
     */
    public static SequenceLogProbs of(Llama model, int[][] ids, int[][] labels, boolean grad, NDManager m) {
        return run(model, ids, labels, grad, true, m);
    }

    /** The per-row sums only, without autograd and without the metrics (a reference pass). */
    public static double[] values(Llama model, int[][] ids, int[][] labels, NDManager m) {
        try (NDScope scope = new NDScope()) {
            return run(model, ids, labels, false, false, m).values;
        }
    }

    /**
     * {@link #of} under autograd, from {@code last: [N, T, d]}, the last decoder block's output of a pass the caller
     * runs (under a rematerialisation policy): the final norm and the head are applied here, and {@link #backward}
     * back-propagates into {@code last}. Call inside the pass's gradient collector.
     *
     * @param leaf false: {@code last} is part of the pass's graph; the {@code [m, V]} logits are kept for the one
     *     backward. True: {@code last} is a leaf that requires gradients; nothing of {@code [m, V]} size is kept: the
     *     values are read slice by slice without a graph, and {@link #backward} recomputes each slice's norm and
     *     logits from {@code last} under autograd and back-propagates it before the next (one more head forward, the
     *     memory a rematerialised step is for)
     */
    public static SequenceLogProbs ofLast(Llama model, NDArray last, int[][] labels, boolean leaf, NDManager m) {
        return ofLast(model, last, labels, leaf, 1.0, true, m);
    }

    /**
     * {@link #ofLast(Llama, NDArray, int[][], boolean, NDManager)} of {@code log softmax(logits / temperature)}, as the
     * online methods read it (TRL divides by the sampling temperature), with or without the metrics. The online
     * losses are functions of every token's log-probability ({@link #tokenLogProbs}), not of the rows' sums: their
     * gradient per token goes to {@link #backwardTokens}. No {@code [m, V]} log-softmax exists under autograd (TRL's
     * {@code selective_log_softmax} keeps the logits for its log-sum-exp's backward; here they are kept and their
     * gradient is written over them, or on a leaf nothing of that size is kept at all).
     */
    public static SequenceLogProbs ofLast(Llama model, NDArray last, int[][] labels, boolean leaf, double temperature,
            boolean metrics, NDManager m) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (leaf) {
            return head(model, () -> last, labels, true, metrics, true, temperature, m);
        }
        return head(model, () -> model.norm().forward(last), labels, true, metrics, false, temperature, m);
    }

    private static SequenceLogProbs run(Llama model, int[][] ids, int[][] labels, boolean grad, boolean metrics,
            NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        int rowsPerChunk = (int) Math.max(1, tokensPerChunk / t);
        if (!grad && n > rowsPerChunk) {
            return inChunks(model, ids, labels, metrics, rowsPerChunk, m);
        }
        // [N, T] -> [N, T, d], the final normalised hidden states
        return head(model, () -> model.hidden(idsArray(ids, m), null, null, grad), labels, grad, metrics, false, 1.0, m);
    }

    /** Rows of token ids as a {@code [N, T]} int64 array. */
    public static NDArray idsArray(int[][] ids, NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        long[] flat = new long[n * t];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t; j++) {
                flat[i * t + j] = ids[i][j];
            }
        }
        return m.create(flat, new Shape(n, t));
    }

    /**
     * The head over the labelled positions of {@code hiddenStates()}, which is run only when some position is labelled:
     * the final normalised hidden states, or with {@code onLeaf} the last block's output (a leaf), normalised here per
     * slice.
     */
    private static SequenceLogProbs head(Llama model, Supplier<NDArray> hiddenStates, int[][] labels, boolean grad,
            boolean metrics, boolean onLeaf, double temperature, NDManager m) {
        int n = labels.length;
        int t = labels[0].length;
        long[] counts = new long[n];
        int labelled = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j + 1 < t; j++) {
                if (labels[i][j + 1] != TokenizedExample.IGNORE) {
                    counts[i]++;
                    labelled++;
                }
            }
        }
        long[] positions = new long[labelled];
        long[] next = new long[labelled];
        int[] rowOf = new int[labelled];
        int k = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j + 1 < t; j++) {
                if (labels[i][j + 1] != TokenizedExample.IGNORE) {
                    positions[k] = (long) i * t + j;
                    next[k] = labels[i][j + 1];
                    rowOf[k++] = i;
                }
            }
        }
        double[] values = new double[n];
        double[] logitSums = new double[n];
        double[] entropySums = new double[n];
        double[] correct = new double[n];
        float[] tokens = new float[labelled];
        if (labelled == 0) {
            return new SequenceLogProbs(values, counts, logitSums, entropySums, correct, tokens, null, null, null, rowOf,
                    grad);
        }
        NDArray hidden = hiddenStates.get(); // [N, T, d]
        long d = hidden.getShape().get(2);
        NDArray where = m.create(positions); // [m]
        NDArray target = m.create(next); // [m]
        int vocab = model.config().vocabSize();
        int rows = (int) Math.max(1, Math.min(labelled, logitsPerSlice / vocab));
        boolean keep = grad && !onLeaf; // the [m, V] logits are kept for the backward pass
        if (onLeaf) {
            JniUtils.setGradMode(false); // the values are read without a graph; backward recomputes each slice
        }
        // gathered under autograd when the graph continues: the gradient scatters back to these positions
        NDArray at = hidden.reshape((long) n * t, d).get(where); // [m, d]
        NDArray logits = keep ? scaled(model.logits(at), temperature, m) : null; // [m, V]
        NDArray plain = keep ? logits.stopGradient() : null; // the same storage, outside the graph
        float[] lseAll = new float[labelled];
        for (int start = 0; start < labelled; start += rows) {
            int end = Math.min(labelled, start + rows);
            try (NDScope scope = new NDScope()) {
                NDIndex slice = new NDIndex("{}:{}", start, end);
                NDArray z = keep ? plain.get(slice) // [rows, V]
                        : scaled(model.logits(onLeaf ? model.norm().forward(at.get(slice)) : at.get(slice)), temperature, m);
                NDArray y = target.get(slice); // [rows]
                NDArray[] s = metrics ? Kernels.get().tokenLogProbStats(z, y) : Kernels.get().tokenLogProbs(z, y);
                float[] logp = s[0].toFloatArray();
                System.arraycopy(logp, 0, tokens, start, end - start);
                System.arraycopy(s[1].toFloatArray(), 0, lseAll, start, end - start);
                float[] mean = metrics ? s[2].toFloatArray() : null;
                float[] entropy = metrics ? s[3].toFloatArray() : null;
                float[] hit = metrics ? s[4].toFloatArray() : null;
                for (int i = 0; i < end - start; i++) {
                    int row = rowOf[start + i];
                    values[row] += logp[i];
                    if (metrics) {
                        logitSums[row] += mean[i];
                        entropySums[row] += entropy[i];
                        correct[row] += hit[i];
                    }
                }
            }
        }
        if (onLeaf) {
            JniUtils.setGradMode(true);
        }
        SequenceLogProbs out = new SequenceLogProbs(values, counts, logitSums, entropySums, correct, tokens, logits,
                target, grad ? m.create(lseAll) : null, rowOf, grad);
        out.temperature = temperature;
        if (onLeaf) {
            out.leaf = hidden; // [N, T, d]
            out.where = where;
            out.model = model;
            out.rowsPerSlice = rows;
        }
        return out;
    }

    /** A pass without autograd over {@code rows} rows at a time, each chunk in its own scope; the results joined. */
    private static SequenceLogProbs inChunks(Llama model, int[][] ids, int[][] labels, boolean metrics, int rows,
            NDManager m) {
        int n = ids.length;
        double[] values = new double[n];
        long[] counts = new long[n];
        double[] logitSums = new double[n];
        double[] entropySums = new double[n];
        double[] correct = new double[n];
        float[][] tokens = new float[(n + rows - 1) / rows][];
        for (int start = 0; start < n; start += rows) {
            int end = Math.min(n, start + rows);
            try (NDScope scope = new NDScope()) {
                SequenceLogProbs c = run(model, Arrays.copyOfRange(ids, start, end),
                        Arrays.copyOfRange(labels, start, end), false, metrics, m);
                System.arraycopy(c.values, 0, values, start, end - start);
                System.arraycopy(c.counts, 0, counts, start, end - start);
                System.arraycopy(c.logitSums, 0, logitSums, start, end - start);
                System.arraycopy(c.entropySums, 0, entropySums, start, end - start);
                System.arraycopy(c.correct, 0, correct, start, end - start);
                tokens[start / rows] = c.tokens;
            }
        }
        int labelled = Arrays.stream(tokens).mapToInt(t -> t.length).sum();
        float[] joined = new float[labelled];
        int at = 0;
        for (float[] t : tokens) {
            System.arraycopy(t, 0, joined, at, t.length);
            at += t.length;
        }
        return new SequenceLogProbs(values, counts, logitSums, entropySums, correct, joined, null, null, null,
                new int[0], false);
    }

    /** {@code logits / temperature} (under autograd when {@code logits} is recorded); the logits themselves at 1. */
    private static NDArray scaled(NDArray logits, double temperature, NDManager m) {
        // a 0-d constant, not a Java number: scalar operands can corrupt gradients (djl-notes)
        return temperature == 1.0 ? logits : logits.div(m.full(new Shape(), (float) temperature, DataType.FLOAT32));
    }

    /**
     * Back-propagates {@code Σ_row rowGrad[row] · values[row]} through the recorded pass: the gradient of every
     * labelled position, {@code rowGrad[row] · (onehot(label) − softmax)}, is written over the logits and injected
     * into the head's graph: the kept logits at once, or on a leaf slice by slice, each slice's norm and logits
     * recomputed under autograd. Once, inside the collector of a pass made with {@code grad = true}.
     */
    public void backward(float[] rowGrad) {
        float[] weights = new float[rowOf.length];
        for (int k = 0; k < rowOf.length; k++) {
            weights[k] = rowGrad[rowOf[k]];
        }
        backwardTokens(weights);
    }

    /**
     * Back-propagates {@code Σ_k tokenGrad[k] · log p_k} over the labelled positions (in the order of
     * {@link #tokenLogProbs}) through the recorded pass, as {@link #backward} does for whole rows: once, inside the
     * collector of a pass made under autograd.
     */
    public void backwardTokens(float[] tokenGrad) {
        if (tokenGrad.length != rowOf.length) {
            throw new IllegalArgumentException(tokenGrad.length + " token gradients for " + rowOf.length
                    + " labelled positions");
        }
        if (!recorded) {
            throw new IllegalStateException("backward needs a pass under autograd that was not back-propagated yet");
        }
        recorded = false;
        if (rowOf.length == 0) {
            return;
        }
        NDManager m = targets.getManager();
        NDArray weight = m.create(tokenGrad); // [m]
        if (leaf == null) {
            NDArray grad = logits.stopGradient(); // [m, V], the logits' storage: the head's backward reads only its input and weight
            Kernels.get().logProbGradInPlace(grad, targets, lse, weight);
            JniUtils.backward((PtNDArray) logits, (PtNDArray) grad, false, false);
            logits = null;
            return;
        }
        for (int start = 0; start < rowOf.length; start += rowsPerSlice) {
            int end = Math.min(rowOf.length, start + rowsPerSlice);
            try (NDScope scope = new NDScope()) {
                NDIndex slice = new NDIndex("{}:{}", start, end);
                // reshaped here, under autograd: a view made without it would not lead back to the leaf
                NDArray rows = leaf.reshape(-1, leaf.getShape().get(2)).get(where.get(slice)); // [N·T, d] -> [rows, d]
                NDArray z = scaled(model.logits(model.norm().forward(rows)), temperature, m); // [rows, V], recorded
                NDArray grad = z.stopGradient();
                Kernels.get().logProbGradInPlace(grad, targets.get(slice), lse.get(slice), weight.get(slice));
                JniUtils.backward((PtNDArray) z, (PtNDArray) grad, false, false); // adds into the leaf's gradient
            }
        }
    }

    /**
     * The log-probability of every labelled position: row 0's positions in order, then row 1's, and so on (a position
     * {@code j} of row {@code i} counts when {@code labels[i][j + 1]} is not ignored).
     */
    public float[] tokenLogProbs() {
        return tokens;
    }

    /** The per-row sums of the labelled tokens' log-probabilities. */
    public double[] values() {
        return values;
    }

    /** Labelled tokens per row. */
    public long[] counts() {
        return counts;
    }

    /**
     * Per row, the sum over labelled positions of the mean logit over the vocabulary (for TRL's
     * {@code logits/chosen} and {@code logits/rejected}).
     */
    public double[] logitSums() {
        return logitSums;
    }

    /** Per row, the sum over labelled positions of the predictive entropy {@code −Σ_v p_v log p_v} (TRL's {@code entropy}). */
    public double[] entropySums() {
        return entropySums;
    }

    /** Per row, labelled positions whose most likely token is the label (TRL's {@code mean_token_accuracy}). */
    public double[] correct() {
        return correct;
    }
}
