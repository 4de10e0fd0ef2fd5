package org.llamawb.finetune.remat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;

/**
 * A head kept in bfloat16/float16 runs by hand, a piece of the vocabulary widened at a time: the loss and the gradient
 * of the last hidden state are those of the same head held in float32 (autograd's path), whether the vocabulary is
 * one piece or several with a short last one, and whether the rows come in one slice or many.
 */
class ChunkedHeadTest {

    @ParameterizedTest
    @EnumSource(HalfWeight.Format.class)
    void aCompactHeadWidenedPieceByPieceGivesTheLossAndGradientOfTheFloat32Head(HalfWeight.Format format) {
        LlamaConfig c = new LlamaConfig(53, 32, 48, 1, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), false, false, 64);
        long savedRows = ChunkedHead.vocabRows;
        long savedSlice = ChunkedHead.logitsPerSlice;
        try (NDManager m = NDManager.newBaseManager();
                Llama compact = Llama.random(c, 3, 0.3, m, new FrozenStorage(format, null));
                Llama widened = Llama.random(c, 3, 0.3, m)) {
            compact.parameters().forEach(widened::replace); // float32 arrays of the very values stored
            assertTrue(ChunkedHead.compactHead(compact), "the compact head takes the piecewise path");
            assertFalse(ChunkedHead.compactHead(widened), "a float32 head stays with autograd");
            int b = 2;
            int t = 9;
            int[][] labels = new int[b][t];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < t; j++) {
                    labels[i][j] = j < 2 ? -100 : (7 * i + 5 * j) % 53; // a masked prompt
                }
            }
            NDArray shifted = CausalLmLoss.shiftedLabels(m, labels);
            NDArray scale = m.full(new Shape(), 0.25f, DataType.FLOAT32);
            NDArray hidden = m.randomNormal(new Shape(b, t, 32)); // [B, T, d]
            for (boolean sliced : new boolean[] {false, true}) {
                ChunkedHead.logitsPerSlice = 53 * 4; // when sliced: 4 rows a slice, 12 labelled rows in 3 slices
                ChunkedHead.vocabRows = 1L << 20;
                double[] want = run(widened, hidden, shifted, scale, sliced);
                for (long rows : new long[] {53, 64, 8}) { // the whole vocabulary at once; 7 pieces, the last of 5
                    ChunkedHead.vocabRows = rows;
                    double[] got = run(compact, hidden, shifted, scale, sliced);
                    String what = format + " sliced " + sliced + " vocabulary pieces of " + rows;
                    assertEquals(want[0], got[0], 1e-5 * Math.abs(want[0]), what + " loss");
                    double worst = 0;
                    double size = 0;
                    for (int i = 1; i < want.length; i++) {
                        worst = Math.max(worst, Math.abs(want[i] - got[i]));
                        size = Math.max(size, Math.abs(want[i]));
                    }
                    assertTrue(size > 1e-3, "the gradient must be non-trivial");
                    assertTrue(worst <= 1e-6 * size, what + ": the hidden state's gradient differs by " + worst);
                }
            }
        } finally {
            ChunkedHead.vocabRows = savedRows;
            ChunkedHead.logitsPerSlice = savedSlice;
        }
    }

    /** {loss, the gradient of {@code hidden}...}. */
    private static double[] run(Llama model, NDArray hidden, NDArray shifted, NDArray scale, boolean sliced) {
        try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray leaf = hidden.duplicate();
            leaf.setRequiresGradient(true);
            NDArray last = sliced ? leaf : leaf.mul(hidden.getManager().ones(new Shape())); // a graph above it when whole
            double loss = ChunkedHead.lossAndBackward(model, last, shifted, scale, sliced);
            float[] g = leaf.getGradient().toFloatArray();
            double[] out = new double[g.length + 1];
            out[0] = loss;
            for (int i = 0; i < g.length; i++) {
                out[i + 1] = g[i];
            }
            return out;
        }
    }
}
