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
}
