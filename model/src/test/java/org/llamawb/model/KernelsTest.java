package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KernelsTest {
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void fusedCrossEntropyGivesAutogradsLossAndGradientInPlace() {
        // 7 rows over a vocabulary of 11, two ignored rows, logits with a wide range (the max shift matters)
        NDArray logits = manager.randomNormal(0, 4, new Shape(7, 11), DataType.FLOAT32);
        NDArray labels = manager.create(new long[] {3, -100, 0, 10, 5, -100, 3});
        NDArray scale = manager.create(0.25f); // 0-d

        NDArray leaf = logits.duplicate();
        leaf.setRequiresGradient(true);
        float expectedLoss;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = Kernels.get().crossEntropySum(leaf, labels, true);
            expectedLoss = loss.getFloat();
            gc.backward(loss.mul(scale));
        }
        float[] expectedGrad = leaf.getGradient().toFloatArray();

        NDArray buffer = logits.duplicate();
        float loss = Kernels.get().crossEntropySumGradInPlace(buffer, labels, scale).getFloat();

        assertEquals(expectedLoss, loss, 1e-4f);
        assertArrayEquals(expectedGrad, buffer.toFloatArray(), 1e-6f, "the gradient written over the logits");
        float[] g = buffer.toFloatArray();
        for (int v = 0; v < 11; v++) {
            assertEquals(0f, g[11 + v], "an ignored row gets no gradient");
        }
        float rowSum = 0;
        for (int v = 0; v < 11; v++) {
            rowSum += g[v];
        }
        assertEquals(0f, rowSum, 1e-6f, "softmax − onehot sums to zero on a trained row");
        assertTrue(Math.abs(g[3]) > 1e-3, "the label's entry is non-trivial");
    }

    @Test
    void tokenLogProbsStatsAndTheirGradientEqualLogSoftmaxAndAutograd() {
        // 6 rows over 13 tokens, wide logits; row 4 has a tie for the maximum before its label
        float[] values = manager.randomNormal(0, 4, new Shape(6, 13), DataType.FLOAT32).toFloatArray();
        values[4 * 13 + 2] = 20f;
        values[4 * 13 + 9] = 20f;
        NDArray logits = manager.create(values, new Shape(6, 13));
        long[] label = {3, 0, 12, 5, 9, 7};
        NDArray labels = manager.create(label);
        NDArray weight = manager.create(new float[] {0.5f, -1f, 2f, 0f, 1f, -0.25f});

        NDArray leaf = logits.duplicate();
        leaf.setRequiresGradient(true);
        float[] expected;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray picked = leaf.logSoftmax(-1).gather(labels.reshape(6, 1), -1).reshape(6); // [6]
            expected = picked.toFloatArray();
            gc.backward(picked.mul(weight).sum());
        }
        float[] expectedGrad = leaf.getGradient().toFloatArray();
        NDArray logp = logits.logSoftmax(-1);
        float[] p = logp.exp().toFloatArray();
        float[] lp = logp.toFloatArray();

        NDArray[] light = Kernels.get().tokenLogProbs(logits, labels);
        NDArray[] stats = Kernels.get().tokenLogProbStats(logits, labels);
        assertArrayEquals(values, logits.toFloatArray(), "the logits are read, not changed");
        assertArrayEquals(expected, light[0].toFloatArray(), 1e-5f);
        assertArrayEquals(expected, stats[0].toFloatArray(), 1e-5f);
        assertArrayEquals(light[1].toFloatArray(), stats[1].toFloatArray(), 1e-6f);
        float[] mean = stats[2].toFloatArray();
        float[] entropy = stats[3].toFloatArray();
        float[] hit = stats[4].toFloatArray();
        for (int r = 0; r < 6; r++) {
            double m = 0;
            double h = 0;
            int top = 0;
            for (int v = 0; v < 13; v++) {
                m += values[r * 13 + v] / 13.0;
                h -= p[r * 13 + v] * lp[r * 13 + v];
                top = values[r * 13 + v] > values[r * 13 + top] ? v : top;
            }
            assertEquals(m, mean[r], 1e-5, "mean logit of row " + r);
            assertEquals(h, entropy[r], 1e-4, "entropy of row " + r);
            assertEquals(top == label[r] ? 1f : 0f, hit[r], "top-1 of row " + r);
        }
        assertEquals(0f, hit[4], "a tie before the label is not a top-1 hit (the first maximum wins)");

        NDArray buffer = logits.duplicate();
        Kernels.get().logProbGradInPlace(buffer, labels, light[1], weight);
        assertArrayEquals(expectedGrad, buffer.toFloatArray(), 1e-5f, "the gradient written over the logits");
    }
}
