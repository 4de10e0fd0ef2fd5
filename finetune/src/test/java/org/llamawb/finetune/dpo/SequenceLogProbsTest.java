package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * The three routes through {@link SequenceLogProbs} give the same numbers: the pass under autograd (the whole
 * head at once), the pass without it in one chunk, and in chunks of rows with the head in slices of a few
 * positions; and the sums equal the cross-entropy of the same rows, a route through log-softmax. On a leaf, the head
 * in slices equals the head kept whole.
 */
class SequenceLogProbsTest {

    @Test
    void chunkedSlicedAndRecordedPassesAgree() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        PairBatch pb = DpoObjectiveTest.batch(5);
        int[][] ids = DpoObjective.concat(pb.chosen().inputIds(), pb.rejected().inputIds()); // [6, T]
        int[][] labels = DpoObjective.concat(pb.chosen().labels(), pb.rejected().labels());
        long savedChunk = SequenceLogProbs.tokensPerChunk;
        long savedSlice = SequenceLogProbs.logitsPerSlice;
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(ckpt), m)) {
            SequenceLogProbs whole;
            try (NDScope s = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                whole = SequenceLogProbs.of(model, ids, labels, true, m);
            }
            SequenceLogProbs.tokensPerChunk = 1L << 20;
            SequenceLogProbs one;
            double[] oneValues;
            try (NDScope s = new NDScope()) {
                one = SequenceLogProbs.of(model, ids, labels, false, m);
                oneValues = SequenceLogProbs.values(model, ids, labels, m);
            }
            SequenceLogProbs.tokensPerChunk = 2L * ids[0].length; // two rows at a time: chunks of 2, 2, 2
            SequenceLogProbs.logitsPerSlice = 3L * model.config().vocabSize(); // three positions per head slice
            SequenceLogProbs chunked;
            double[] chunkedValues;
            try (NDScope s = new NDScope()) {
                chunked = SequenceLogProbs.of(model, ids, labels, false, m);
                chunkedValues = SequenceLogProbs.values(model, ids, labels, m);
            }
            assertThrows(IllegalStateException.class, () -> chunked.backward(new float[6]),
                    "a pass without autograd cannot be back-propagated");
            double[] expected = new double[6];
            try (NDScope s = new NDScope()) {
                NDArray logits = model.forward(Batch.ofRows(ids, labels).inputIdsArray(m), null, null, false);
                NDArray shifted = CausalLmLoss.shiftedLabels(m, labels);
                for (int r = 0; r < 6; r++) {
                    expected[r] = -org.llamawb.model.Kernels.get().crossEntropySum(logits.get(r), shifted.get(r), false)
                            .getFloat();
                }
            }
            for (SequenceLogProbs p : new SequenceLogProbs[] {one, chunked}) {
                assertArrayEquals(whole.values(), p.values(), 1e-4);
                assertArrayEquals(whole.counts(), p.counts());
                assertArrayEquals(whole.logitSums(), p.logitSums(), 1e-4);
                assertArrayEquals(whole.entropySums(), p.entropySums(), 1e-4);
                assertArrayEquals(whole.correct(), p.correct());
            }
            assertArrayEquals(whole.values(), oneValues, 1e-4);
            assertArrayEquals(whole.values(), chunkedValues, 1e-4);
            assertArrayEquals(expected, whole.values(), 1e-4, "the sums are the rows' negated cross-entropy");
            assertEquals(CausalLmLoss.trainedTokens(labels), java.util.Arrays.stream(whole.counts()).sum());
        } finally {
            SequenceLogProbs.tokensPerChunk = savedChunk;
            SequenceLogProbs.logitsPerSlice = savedSlice;
        }
    }

    /**
     * On a leaf (a rematerialised step's last block output), the head in slices, recomputed slice by slice in the
     * backward, gives the values, metrics and the gradient into the leaf of the head kept whole in the graph.
     */
    @Test
    void slicedHeadOnALeafEqualsTheKeptHead() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        PairBatch pb = DpoObjectiveTest.batch(5);
        int[][] ids = DpoObjective.concat(pb.chosen().inputIds(), pb.rejected().inputIds()); // [6, T]
        int[][] labels = DpoObjective.concat(pb.chosen().labels(), pb.rejected().labels());
        long savedSlice = SequenceLogProbs.logitsPerSlice;
        float[] rowGrad = {0.3f, -1.1f, 0.7f, -0.2f, 1.4f, -0.9f};
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(ckpt), m);
                NDScope s = new NDScope()) {
            NDArray last; // [6, T, d], the last block's output
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray x = model.embed(SequenceLogProbs.idsArray(ids, m));
                var ctx = model.context(null, null, ids[0].length, false);
                for (var layer : model.layers()) {
                    x = layer.forward(x, ctx);
                }
                last = x.stopGradient();
            }
            SequenceLogProbs[] passes = new SequenceLogProbs[2];
            float[][] grads = new float[2][];
            for (int leaf = 0; leaf < 2; leaf++) {
                SequenceLogProbs.logitsPerSlice = leaf == 1 ? 4L * model.config().vocabSize() : savedSlice; // 4 positions
                NDArray in = last.duplicate();
                in.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    passes[leaf] = SequenceLogProbs.ofLast(model, in, labels, leaf == 1, m);
                    passes[leaf].backward(rowGrad);
                }
                grads[leaf] = in.getGradient().toFloatArray();
            }
            assertArrayEquals(passes[0].values(), passes[1].values(), 1e-5);
            assertArrayEquals(passes[0].counts(), passes[1].counts());
            assertArrayEquals(passes[0].logitSums(), passes[1].logitSums(), 1e-5);
            assertArrayEquals(passes[0].entropySums(), passes[1].entropySums(), 1e-5);
            assertArrayEquals(passes[0].correct(), passes[1].correct());
            double largest = 0;
            for (int i = 0; i < grads[0].length; i++) {
                assertEquals(grads[0][i], grads[1][i], 1e-6, "gradient into the leaf [" + i + "]");
                largest = Math.max(largest, Math.abs(grads[0][i]));
            }
            assertTrue(largest > 1e-3, "the gradient reaches the leaf");
        } finally {
            SequenceLogProbs.logitsPerSlice = savedSlice;
        }
    }
}
