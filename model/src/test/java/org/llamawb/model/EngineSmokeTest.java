package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class EngineSmokeTest {
    @Test
    void pytorchEngineLoadsOffline() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {1, 2, 3, 4}, new ai.djl.ndarray.types.Shape(2, 2));
            assertEquals(7f, a.matMul(a).getFloat(0, 1) - 3f, 1e-6); // [[7,10],[15,22]]
            assertEquals("PyTorch", m.getEngine().getEngineName());
        }
    }
}
