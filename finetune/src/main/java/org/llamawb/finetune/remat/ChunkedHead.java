package org.llamawb.finetune.remat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.Llama;
import org.llamawb.model.Scoped;

/**
 * Final norm, LM head and loss over slices of the tokens, each slice's backward run before the next
 * slice's logits exist. The {@code [B·T, V]} logits — with a 32k vocabulary the largest activation of a
 * small model — are never resident at once; their gradients flow into the last hidden state exactly as
 * one whole pass would (the loss is a sum over tokens).
 */
final class ChunkedHead {
    /** Logit values per slice: 8M floats, 32 MiB (tests make it small to exercise many slices). */
    static long logitsPerSlice = Long.getLong("workbench.headSliceLogits", 8L << 20);

    private ChunkedHead() {}

    /**
     * Runs the head on {@code last: [B,T,d]} (a leaf requiring gradients) slice by slice inside {@code gc},
     * back-propagating {@code scale · Σ loss}; returns {@code Σ loss}.
     */
    static double lossAndBackward(Llama model, NDArray last, NDArray shifted, NDArray scale, GradientCollector gc) {
        long d = last.getShape().get(2);
        long n = last.getShape().get(0) * last.getShape().get(1);
        long rows = Math.max(1, logitsPerSlice / model.config().vocabSize());
        NDArray flat = last.reshape(n, d); // [B·T, d]
        NDArray labels = shifted.reshape(n); // [B·T]
        double total = 0;
        for (long start = 0; start < n; start += rows) {
            long end = Math.min(n, start + rows);
            NDIndex slice = new NDIndex("{}:{}", start, end);
            NDArray sum = Scoped.keep(() -> {
                NDArray logits = model.logits(model.norm().forward(flat.get(slice))); // [rows, V]
                return CausalLmLoss.sum(logits.expandDims(0), labels.get(slice).expandDims(0), true);
            });
            gc.backward(sum.mul(scale));
            total += sum.getFloat();
            sum.close();
        }
        return total;
    }
}
