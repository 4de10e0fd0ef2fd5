package org.llamawb.finetune.remat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.DecoderLayer;
import org.llamawb.model.FeedForward;
import org.llamawb.model.ForwardContext;
import org.llamawb.model.Kernels;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.Scoped;

/**
 * One micro-batch's forward and backward pass under a {@link Rematerialization} policy. Gradients
 * accumulate into every tensor that requires them; the caller zeroes them once per optimiser step.
 * Call inside the step's {@code NDScope}.
 *
 * <p>The policies concern the decoder blocks only; what is computed on the last block's output is the
 * method's {@link Head}: SFT's next-token loss here, a preference loss on sequence log-probabilities, a reward
 * head, an RL loss on per-token log-probabilities elsewhere. Every method trains under every policy so.
 */
public final class ForwardBackward {
    private ForwardBackward() {}

    /**
     * What a method computes on the output of the last decoder block, with its loss and that loss's backward.
     */
    @FunctionalInterface
    public interface Head {
        /**
         * Applies the final norm and the method's head to {@code last: [B,T,d]}, the last block's output, and
         * back-propagates {@code scale · loss} into it; returns what the method reports as its loss. Runs inside
         * the pass's gradient collector (use {@code JniUtils.backward}, not a collector of its own).
         *
         * @param leaf true when {@code last} is a leaf that requires gradients (the blocks' backward follows by
         *     hand or by recomputation): the head may back-propagate more than once, e.g. per slice, and the
         *     gradients add up in {@code last}; false when {@code last} is still part of the pass's graph:
         *     back-propagate exactly once, and autograd continues through every block
         */
        double lossAndBackward(NDArray last, boolean leaf);
    }

    /**
     * Runs the pass and returns the summed token loss of this micro-batch (not scaled).
     *
     * @param lossScale the backward pass differentiates {@code lossScale · Σ loss}; with
     *     {@code 1 / (trained tokens of the whole optimiser step)} accumulation equals one large batch
     * @param seed reseeds dropout before each (re)computed block, so recomputation sees the same masks
     */
    public static double run(Llama model, Batch batch, double lossScale, Rematerialization policy, long seed,
            NDManager m) {
        NDArray ids = batch.inputIdsArray(m);
        NDArray pos = batch.positionIdsArray(m);
        NDArray seg = batch.segmentIdsArray(m);
        NDArray shifted = CausalLmLoss.shiftedLabels(m, batch.labels());
        NDArray scale = m.full(new Shape(), (float) lossScale, DataType.FLOAT32);
        // the logits of every labelled position at once when the graph continues through the blocks (autograd keeps
        // everything under none anyway), in slices on a leaf; with the fused loss gradient either way
        return run(model, ids, pos, seg, policy, seed,
                (last, leaf) -> ChunkedHead.lossAndBackward(model, last, shifted, scale, leaf));
    }

    /**
     * Runs the blocks over {@code ids: [B,T]} under {@code policy}, the method's {@code head} on their output, and the
     * backward pass through the blocks; returns what the head returned.
     *
     * @param pos {@code [B,T]} positions, or null for 0..T−1
     * @param seg {@code [B,T]} packed-example index per token, or null when each row is one example
     * @param seed reseeds dropout before each (re)computed block, so recomputation sees the same masks
     */
    public static double run(Llama model, NDArray ids, NDArray pos, NDArray seg, Rematerialization policy, long seed,
            Head head) {
        return switch (policy) {
            case NONE -> none(model, ids, pos, seg, head, seed);
            case FULL -> full(model, ids, pos, seg, head, seed);
            case HYBRID -> HybridBlockBackward.run(model, ids, pos, seg, head, false);
            case HYBRID_LEAN -> HybridBlockBackward.run(model, ids, pos, seg, head, true);
        };
    }

    private static double none(Llama model, NDArray ids, NDArray pos, NDArray seg, Head head, long seed) {
        long t = ids.getShape().get(1);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = model.context(pos, seg, t, true);
            NDArray x = model.embed(ids); // [B,T,d]
            for (DecoderLayer layer : model.layers()) {
                NDArray in = x;
                JniUtils.setSeed(seed + layer.index()); // the same dropout stream per block as full recomputes
                x = Scoped.keep(() -> layer.forward(in, ctx));
            }
            // the backward runs from the head through every block
            return head.lossAndBackward(x, false);
        }
    }

    /**
     * Keeps only each block's input; recomputes the block inside the backward pass and injects the
     * upstream gradient. Exact: the same operations run on the same inputs.
     *
     * <p>Two pieces of the recomputation are left out because nothing reads them. The last block runs
     * under autograd in the first pass and keeps its graph through the head (it would be recomputed
     * straight away). And where the down projection is frozen and has no adapter (LoRA on the attention,
     * as in the paper and the default recipes), see {@link #recomputeAndBackward}.
     */
    private static double full(Llama model, NDArray ids, NDArray pos, NDArray seg, Head head, long seed) {
        long t = ids.getShape().get(1);
        List<DecoderLayer> layers = model.layers();
        int lastIndex = layers.size() - 1;
        List<NDArray> inputs = new ArrayList<>(lastIndex); // the inputs of every block but the last, which keeps its graph
        JniUtils.setGradMode(false);
        ForwardContext plain = model.context(pos, seg, t, false);
        NDArray x = model.embed(ids); // [B,T,d], no graph
        for (DecoderLayer layer : layers.subList(0, lastIndex)) {
            inputs.add(x);
            NDArray in = x;
            JniUtils.setSeed(seed + layer.index());
            x = Scoped.keep(() -> layer.forward(in, plain));
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = model.context(pos, seg, t, true);
            NDArray lastIn = x;
            lastIn.setRequiresGradient(true);
            JniUtils.setSeed(seed + lastIndex);
            NDArray lastOut = Scoped.keep(() -> layers.get(lastIndex).forward(lastIn, ctx)); // recorded
            // the head runs on a leaf (SFT's in slices), so that its backward stops there and the last block's
            // graph is traversed once, with the summed gradient of every slice
            NDArray last = lastOut.stopGradient(); // [B,T,d], the same storage
            last.setRequiresGradient(true);
            double loss = head.lossAndBackward(last, true);
            NDArray upstream = last.getGradient(); // d loss / d output of the last block
            last.close();
            JniUtils.backward((PtNDArray) lastOut, (PtNDArray) upstream, false, false);
            lastOut.close();
            upstream.close();
            upstream = lastIn.getGradient();
            if (lastIndex > 0) {
                lastIn.close();
            }
            for (int l = lastIndex - 1; l >= 0; l--) {
                NDArray in = inputs.get(l);
                NDArray up = upstream;
                DecoderLayer layer = layers.get(l);
                JniUtils.setSeed(seed + l);
                upstream = Scoped.keep(() -> recomputeAndBackward(layer, in, up, ctx));
                up.close();
                if (l > 0) {
                    in.close(); // the embedding output (l = 0) may still be needed below
                }
            }
            if (model.embeddingTrainable()) {
                JniUtils.backward((PtNDArray) model.embed(ids), (PtNDArray) upstream, false, false);
            }
            return loss;
        }
    }

    /**
     * Recomputes one block from its input {@code in: [B,T,d]} under autograd and back-propagates the
     * gradient {@code up: [B,T,d]} of its output; returns the gradient of its input.
     *
     * <p>The block's output is {@code y = r + down(h)}, with {@code r = in + attn(norm(in))} and
     * {@code h = silu(gate(n₂)) · up(n₂)}, {@code n₂ = norm(r)}. When the down projection is frozen and has no
     * adapter, its backward needs only its weight, {@code ∂L/∂h = up · W_down} ({@code [B,T,d]·[d,I]}), not
     * {@code y}; so {@code y} is never computed, which saves one {@code T·d·I} GEMM and an add per block. Two
     * roots are then injected, {@code ∂L/∂h} and the residual's {@code ∂L/∂r = up}, and the attention's
     * graph must see their sum once: {@code r} is cut from it as a leaf, the feed-forward's graph is
     * back-propagated into that leaf, and the attention's from {@code r} with {@code up + ∂(h-path)/∂r}.
     */
    static NDArray recomputeAndBackward(DecoderLayer layer, NDArray in, NDArray up, ForwardContext ctx) {
        in.setRequiresGradient(true);
        if (!skipsDownProjection(layer)) {
            NDArray out = layer.forward(in, ctx);
            JniUtils.backward((PtNDArray) out, (PtNDArray) up, false, false);
            return in.getGradient();
        }
        NDArray r = in.add(layer.selfAttn().forward(layer.inputLayernorm().forward(in), ctx)); // [B,T,d]
        NDArray rLeaf = r.stopGradient();
        rLeaf.setRequiresGradient(true);
        FeedForward mlp = layer.mlp();
        NDArray n2 = layer.postAttentionLayernorm().forward(rLeaf);
        NDArray[] gu = mlp.projectGateUp(n2); // [B,T,I] each
        NDArray h = Kernels.get().siluMul(gu[0], gu[1], true); // [B,T,I]
        NDArray dh = mlp.downProj().inputGradient(up); // [B,T,d]·[d,I] → [B,T,I], outside the graph
        JniUtils.backward((PtNDArray) h, (PtNDArray) dh, false, false);
        NDArray dr = rLeaf.getGradient().add(up); // the feed-forward's path plus the residual's
        JniUtils.backward((PtNDArray) r, (PtNDArray) dr, false, false);
        return in.getGradient();
    }

    /** True when a block's down projection is frozen and unadapted, so its recomputation can stop at its input. */
    static boolean skipsDownProjection(DecoderLayer layer) {
        Linear down = layer.mlp().downProj();
        return down.adapter() == null && !down.weightTrainable()
                && (down.bias() == null || !down.bias().hasGradient());
    }
}
