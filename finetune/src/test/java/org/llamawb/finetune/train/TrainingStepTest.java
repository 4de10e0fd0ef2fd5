package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.llamawb.finetune.optim.AdamW;

/**
 * The one step on a toy loss {@code Σ_i w·x_i} over micro-batches {@code x}: the gradient is normalised by
 * the step's units, clipped by the global norm, and a NaN loss leaves the parameters alone.
 */
class TrainingStepTest {

    /** A micro-batch: values whose loss is {@code Σ w·x} (units = values). */
    record Micro(float[] x) {}

    static TrainingStep.Loss<Micro> linear(NDArray w, List<Long> seeds) {
        return new TrainingStep.Loss<>() {
            @Override
            public double lossAndBackward(Micro b, double scale, long seed) {
                seeds.add(seed);
                NDManager m = w.getManager();
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = m.create(b.x());
                    NDArray sum = w.mul(x).sum(); // Σ w·x, w: [1]
                    gc.backward(sum.mul(m.full(new Shape(), (float) scale, DataType.FLOAT32)));
                    return sum.getFloat();
                }
            }

            @Override
            public long units(Micro b) {
                return b.x().length;
            }

            @Override
            public long tokens(Micro b) {
                return b.x().length;
            }

            @Override
            public long trainedTokens(Micro b) {
                return b.x().length;
            }
        };
    }

    @Test
    void normalisesByTheStepsUnitsClipsAndSkipsNonFinite() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {2f});
            w.setRequiresGradient(true);
            List<Long> seeds = new ArrayList<>();
            TrainingStep.Loss<Micro> loss = linear(w, seeds);
            // weight decay 0, lr 0: the gradient stays readable after the step
            try (AdamW opt = new AdamW(Map.of("w", w), new AdamW.Settings(0.9, 0.999, 1e-8, 0), n -> false, m)) {
                List<Micro> micro = List.of(new Micro(new float[] {1, 2}), new Micro(new float[] {3}), new Micro(new float[] {}));
                TrainingStep.Outcome o = TrainingStep.run(micro, loss, List.of(w), opt, 0.0, 0, 100);
                // loss = Σ w·x / 3 = 2·6/3 = 4; gradient = Σ x / 3 = 2 (no clipping)
                assertEquals(4, o.loss(), 1e-6);
                assertEquals(2, o.gradNorm(), 1e-6);
                assertEquals(3, o.units());
                assertEquals(List.of(100L, 101L), seeds, "an empty micro-batch is not run; seeds follow positions");
                assertEquals(2, w.getGradient().getFloat(0), 1e-6);
                assertTrue(o.applied());

                TrainingStep.Outcome clipped = TrainingStep.run(micro, loss, List.of(w), opt, 0.0, 0.5, 0);
                assertEquals(2, clipped.gradNorm(), 1e-6, "the norm before clipping is reported");
                assertEquals(0.5, w.getGradient().getFloat(0), 1e-5, "the gradient is scaled to max_grad_norm");

                float before = w.getFloat(0);
                TrainingStep.Outcome nan = TrainingStep.run(List.of(new Micro(new float[] {Float.NaN})), loss, List.of(w), opt,
                        1.0, 1.0, 0);
                assertFalse(nan.applied());
                assertEquals(before, w.getFloat(0), 0, "a NaN loss does not update");
            }
        }
    }
}
