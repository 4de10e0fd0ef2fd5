package org.llamawb.finetune.remat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;

/**
 * Final norm, LM head and loss with a fused loss gradient, over slices of the tokens, each slice's
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

    private ChunkedHead() {}

    /**
     * Runs the head on {@code last: [B,T,d]} slice by slice, back-propagating {@code scale · Σ loss}; returns
     * {@code Σ loss}. Call with gradient recording on.
     *
     * @param sliced false: one slice of every token, for a {@code last} that is still part of a graph
     *     (autograd back-propagates through it once); true: slices of {@link #logitsPerSlice} logits,
     *     for a {@code last} that is a leaf requiring gradients (they accumulate over the slices)
     */
    static double lossAndBackward(Llama model, NDArray last, NDArray shifted, NDArray scale, boolean sliced) {
        long d = last.getShape().get(2);
        long n = last.getShape().get(0) * last.getShape().get(1);
        long rows = sliced ? Math.max(1, logitsPerSlice / model.config().vocabSize()) : n;
        NDArray flat = last.reshape(n, d); // [B·T, d]
        NDArray labels = shifted.reshape(n); // [B·T]
        double total = 0;
        for (long start = 0; start < n; start += rows) {
            long end = Math.min(n, start + rows);
            NDIndex slice = new NDIndex("{}:{}", start, end);
            try (NDScope scope = new NDScope()) {
                NDArray hidden = rows == n ? flat : flat.get(slice); // [rows, d]
                NDArray logits = model.logits(model.norm().forward(hidden)); // [rows, V], recorded
                NDArray grad = logits.stopGradient(); // the same storage, outside the graph
                NDArray sum = Kernels.get().crossEntropySumGradInPlace(grad, rows == n ? labels : labels.get(slice),
                        scale);
                JniUtils.backward((PtNDArray) logits, (PtNDArray) grad, false, false);
                total += sum.getFloat();
            }
        }
        return total;
    }
}
