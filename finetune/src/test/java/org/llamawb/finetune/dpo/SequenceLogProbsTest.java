package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
 * positions; and the sums equal the cross-entropy of the same rows, a route through log-softmax.
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
}
