package org.llamawb.finetune.remat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.ComputePrecision;
import org.llamawb.model.Kernels;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.quant.FrozenWeight;

/**
 * Final norm, LM head and loss with a fused loss gradient, over slices of the labelled tokens, each slice's
 * backward run before the next slice's logits exist.
 *
 * <p>The {@code [N, V]} logits are the largest activation of a small model with a 32k vocabulary. Autograd's
 * cross-entropy keeps their log-softmax and, in its backward, allocates two more {@code [N, V]} tensors (the
 * zero-filled gradient of the picked log-probabilities and the softmax gradient), each of them fresh pages
 * to fault in. Here the loss and its gradient {@code scale · (softmax − onehot)} are computed in one
 * kernel that writes the gradient over the logits themselves (the head's backward needs only its input and
 * weight, not its output), and that gradient is injected into the head's graph. With slices, the
 * {@code [N, V]} logits are never resident at once either; their gradients flow into the last hidden state
 * exactly as one whole pass would (the loss is a sum over tokens).
 */
final class ChunkedHead {
    /** Logit values per slice: 8M floats, 32 MiB (tests make it small to exercise many slices). */
    static long logitsPerSlice = Long.getLong("workbench.headSliceLogits", 8L << 20);
    /** Rows of a compact head widened at a time: 4,096 of TinyLlama's 2,048-wide head are 32 MiB in float32. */
    static long vocabRows = Long.getLong("workbench.headVocabRows", 4096);

    private ChunkedHead() {}

    /**
     * Runs the head on {@code last: [B,T,d]} slice by slice, back-propagating {@code scale · Σ loss}; returns
     * {@code Σ loss}. Call with gradient recording on.
     *
     * @param sliced false: one slice of every labelled token, for a {@code last} that is still part of a graph
     *     (autograd back-propagates through it once); true: slices of {@link #logitsPerSlice} logits,
     *     for a {@code last} that is a leaf requiring gradients (they accumulate over the slices)
     */
    static double lossAndBackward(Llama model, NDArray last, NDArray shifted, NDArray scale, boolean sliced) {
        long d = last.getShape().get(2);
        long n = last.getShape().get(0) * last.getShape().get(1);
        NDArray flat = last.reshape(n, d); // [B·T, d]
        NDArray labels = shifted.reshape(n); // [B·T]
        // Only positions with a label reach the head: an untrained position (prompt, padding, a packed
        // example's first token) has no loss and a zero gradient, so its logits are never computed. In
        // assistant-only SFT that is most of the batch (the stories260K Vicuna recipe trains 33% of its tokens).
        NDArray trained = CausalLmLoss.labelledRows(labels); // [m] int64, or null when every row is trained (or none is)
        long m = trained == null ? n : trained.getShape().get(0);
        long rows = sliced ? Math.max(1, logitsPerSlice / model.config().vocabSize()) : m;
        double total = 0;
        for (long start = 0; start < m; start += rows) {
            long end = Math.min(m, start + rows);
            boolean whole = start == 0 && end == m;
            NDIndex slice = new NDIndex("{}:{}", start, end);
            try (NDScope scope = new NDScope()) {
                NDArray hidden; // [rows, d]
                NDArray target; // [rows]
                if (trained == null) {
                    hidden = whole ? flat : flat.get(slice);
                    target = whole ? labels : labels.get(slice);
                } else {
                    NDArray at = whole ? trained : trained.get(slice);
                    hidden = flat.get(at); // gathered under autograd: the gradient scatters back to these rows
                    target = labels.get(at);
                }
                if (compactHead(model)) {
                    total += compactLossAndBackward(model.lmHead(), model.norm().forward(hidden), target, scale);
                    continue;
                }
                NDArray logits = model.logits(model.norm().forward(hidden)); // [rows, V], recorded
                NDArray grad = logits.stopGradient(); // the same storage, outside the graph
                NDArray sum = Kernels.get().crossEntropySumGradInPlace(grad, target, scale);
                JniUtils.backward((PtNDArray) logits, (PtNDArray) grad, false, false);
                total += sum.getFloat();
            }
        }
        return total;
    }

    /**
     * A head kept compact (bfloat16/float16, NF4/int8) with nothing trained in it and float32 products: its backward
     * needs only its weight, so it is run by hand a piece of the vocabulary at a time, never the whole widened table.
     */
    static boolean compactHead(Llama model) {
        Linear head = model.lmHead();
        return head.frozen() != null && head.adapter() == null && head.bias() == null
                && head.precision() == ComputePrecision.FP32;
    }

    /**
     * The loss of {@code normed: [rows, d]} (recorded) against {@code target: [rows]}, with {@code scale · loss}
     * back-propagated into it; returns the loss. Autograd would keep the whole widened head {@code [V, d]} (262 MB
     * for TinyLlama's 32,000 × 2,048) from the product to its backward; here {@link #vocabRows} of it are widened
     * at a time, twice: for their logits, then for their share of the input gradient {@code Σ_chunks G[:, c]·W_c}
     * (the same sum in another order, so equal to the whole product within rounding).
     */
    private static double compactLossAndBackward(Linear head, NDArray normed, NDArray target, NDArray scale) {
        FrozenWeight w = head.frozen();
        long vocab = head.outFeatures();
        long d = head.inFeatures();
        long rows = normed.getShape().get(0);
        long chunk = Math.max(1, vocabRows);
        NDArray x = normed.stopGradient(); // the same storage, outside the graph: the products record nothing
        NDArray logits = x.getManager().zeros(new Shape(rows, vocab)); // [rows, V]
        for (long a = 0; a < vocab; a += chunk) {
            long b = Math.min(vocab, a + chunk);
            try (NDScope scope = new NDScope()) {
                NDArray part = ai.djl.nn.core.Linear.linear(x, w.denseRows(a, b)).singletonOrThrow(); // [rows, b - a]
                logits.set(new NDIndex(":, {}:{}", a, b), part);
            }
        }
        NDArray sum = Kernels.get().crossEntropySumGradInPlace(logits, target, scale); // logits := d(scale·loss)/dlogits
        NDArray dx = x.getManager().zeros(new Shape(rows, d)); // [rows, d]
        for (long a = 0; a < vocab; a += chunk) {
            long b = Math.min(vocab, a + chunk);
            try (NDScope scope = new NDScope()) {
                dx.addi(logits.get(new NDIndex(":, {}:{}", a, b)).matMul(w.denseRows(a, b))); // [rows, b-a]·[b-a, d]
            }
        }
        logits.close();
        JniUtils.backward((PtNDArray) normed, (PtNDArray) dx, false, false);
        return sum.getFloat();
    }
}
