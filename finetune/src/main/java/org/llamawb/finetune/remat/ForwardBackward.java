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
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.finetune.sft.TokenBatch;
import org.llamawb.model.DecoderLayer;
import org.llamawb.model.ForwardContext;
import org.llamawb.model.Llama;
import org.llamawb.model.Scoped;

/**
 * One micro-batch's forward and backward pass under a {@link Rematerialization} policy. Gradients
 * accumulate into every tensor that requires them; the caller zeroes them once per optimiser step.
 * Call inside the step's {@code NDScope}.
 */
public final class ForwardBackward {
    private ForwardBackward() {}

    /**
     * Runs the pass and returns the summed token loss of this micro-batch (not scaled).
     *
     * @param lossScale the backward pass differentiates {@code lossScale · Σ loss}; with
     *     {@code 1 / (trained tokens of the whole optimiser step)} accumulation equals one large batch
     * @param seed reseeds dropout before each (re)computed block, so recomputation sees the same masks
     */
    public static double run(Llama model, TokenBatch batch, double lossScale, Rematerialization policy, long seed,
            NDManager m) {
        NDArray ids = batch.inputIdsArray(m);
        NDArray pos = batch.positionIdsArray(m);
        NDArray seg = batch.segmentIdsArray(m);
        NDArray shifted = CausalLmLoss.shiftedLabels(m, batch.labels());
        NDArray scale = m.full(new Shape(), (float) lossScale, DataType.FLOAT32);
        return switch (policy) {
            case NONE -> none(model, ids, pos, seg, shifted, scale, seed);
            case FULL -> full(model, ids, pos, seg, shifted, scale, seed);
            case HYBRID -> HybridBlockBackward.run(model, ids, pos, seg, shifted, scale, false);
            case HYBRID_LEAN -> HybridBlockBackward.run(model, ids, pos, seg, shifted, scale, true);
        };
    }

    private static double none(Llama model, NDArray ids, NDArray pos, NDArray seg, NDArray shifted, NDArray scale,
            long seed) {
        long t = ids.getShape().get(1);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = model.context(pos, seg, t, true);
            NDArray x = model.embed(ids); // [B,T,d]
            for (DecoderLayer layer : model.layers()) {
                NDArray in = x;
                JniUtils.setSeed(seed + layer.index()); // the same dropout stream per block as full recomputes
                x = Scoped.keep(() -> layer.forward(in, ctx));
            }
            // the logits of every labelled position at once ([m, V]; no slicing: autograd keeps everything under
            // this policy), with the fused loss gradient; the backward runs from the logits through every block
            return ChunkedHead.lossAndBackward(model, x, shifted, scale, false);
        }
    }

    /**
     * Keeps only each block's input; recomputes the block inside the backward pass and injects the
     * upstream gradient. Exact: the same operations run on the same inputs.
     */
    private static double full(Llama model, NDArray ids, NDArray pos, NDArray seg, NDArray shifted, NDArray scale,
            long seed) {
        long t = ids.getShape().get(1);
        List<DecoderLayer> layers = model.layers();
        List<NDArray> inputs = new ArrayList<>(layers.size());
        JniUtils.setGradMode(false);
        ForwardContext plain = model.context(pos, seg, t, false);
        NDArray x = model.embed(ids); // [B,T,d], no graph
        for (DecoderLayer layer : layers) {
            inputs.add(x);
            NDArray in = x;
            JniUtils.setSeed(seed + layer.index());
            x = Scoped.keep(() -> layer.forward(in, plain));
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = model.context(pos, seg, t, true);
            NDArray last = x;
            last.setRequiresGradient(true);
            double loss = ChunkedHead.lossAndBackward(model, last, shifted, scale, true);
            NDArray upstream = last.getGradient(); // d loss / d output of the last block
            last.close();
            for (int l = layers.size() - 1; l >= 0; l--) {
                NDArray in = inputs.get(l);
                NDArray up = upstream;
                DecoderLayer layer = layers.get(l);
                JniUtils.setSeed(seed + l);
                upstream = Scoped.keep(() -> {
                    in.setRequiresGradient(true);
                    NDArray out = layer.forward(in, ctx);
                    JniUtils.backward((PtNDArray) out, (PtNDArray) up, false, false);
                    return in.getGradient();
                });
                up.close();
                if (l > 0) {
                    in.close(); // the embedding output (l = 0) may still be needed below
                }
            }
            if (model.embedTokens().hasGradient()) {
                JniUtils.backward((PtNDArray) model.embed(ids), (PtNDArray) upstream, false, false);
            }
            return loss;
        }
    }
}
