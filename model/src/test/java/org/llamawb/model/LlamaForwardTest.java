package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Internal consistency of the architecture: both attention paths, the KV cache, packing, gradients. */
class LlamaForwardTest {
    static NDManager manager;
    static Llama model;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager();
        LlamaConfig c = new LlamaConfig(97, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), false, false, 128);
        model = Llama.random(c, 7, 0.3, manager);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        manager.close();
    }

    static NDArray ids(long... v) {
        return manager.create(v, new Shape(1, v.length));
    }

    static float maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void fusedAndExplicitAttentionAgree() {
        NDArray x = manager.create(new long[] {1, 5, 9, 33, 2, 70, 11, 3, 4, 96, 0, 8}, new Shape(2, 6));
        model.setAttentionImplementation(AttentionImplementation.EXPLICIT);
        NDArray explicit = model.forward(x, null, null, false);
        model.setAttentionImplementation(AttentionImplementation.FUSED);
        NDArray fused = model.forward(x, null, null, false);
        assertEquals(new Shape(2, 6, 97), fused.getShape());
        assertTrue(maxDiff(explicit, fused) < 1e-5, "max diff " + maxDiff(explicit, fused));
    }

    @Test
    void kvCacheDecodingEqualsFullForward() {
        long[] seq = {1, 17, 42, 8, 8, 91, 3, 60};
        NDArray full = model.forward(ids(seq), null, null, false); // [1,8,V]
        for (AttentionImplementation impl : AttentionImplementation.values()) {
            model.setAttentionImplementation(impl);
            try (KvCache cache = model.newCache(1, 16)) {
                NDArray prefill = model.decodeAll(ids(1, 17, 42), cache); // [1,3,V]
                assertTrue(maxDiff(prefill, full.get(new NDIndex(":, :3, :"))) < 1e-5);
                NDArray two = model.decodeAll(ids(8, 8), cache); // 2 tokens after a cache: offset causal mask
                assertTrue(maxDiff(two, full.get(new NDIndex(":, 3:5, :"))) < 1e-5, impl + " chunk");
                for (int i = 5; i < seq.length; i++) {
                    NDArray step = model.decode(ids(seq[i]), cache); // [1,V]
                    assertTrue(maxDiff(step, full.get(new NDIndex(":, {}, :", i))) < 1e-5, impl + " step " + i);
                }
                assertEquals(8, cache.length());
            }
        }
        model.setAttentionImplementation(AttentionImplementation.FUSED);
    }

    @Test
    void packedRowsNeverAttendAcrossExamples() {
        long[] a = {1, 5, 9, 33};
        long[] b = {1, 70, 11};
        NDArray la = model.forward(ids(a), null, null, false);
        NDArray lb = model.forward(ids(b), null, null, false);
        NDArray packed = ids(1, 5, 9, 33, 1, 70, 11);
        NDArray pos = manager.create(new long[] {0, 1, 2, 3, 0, 1, 2}, new Shape(1, 7));
        NDArray seg = manager.create(new long[] {0, 0, 0, 0, 1, 1, 1}, new Shape(1, 7));
        for (AttentionImplementation impl : AttentionImplementation.values()) {
            model.setAttentionImplementation(impl);
            NDArray lp = model.forward(packed, pos, seg, false);
            assertTrue(maxDiff(lp.get(new NDIndex(":, :4, :")), la) < 1e-5, impl + " first");
            assertTrue(maxDiff(lp.get(new NDIndex(":, 4:, :")), lb) < 1e-5, impl + " second");
        }
        model.setAttentionImplementation(AttentionImplementation.FUSED);
    }

    @Test
    void gradientsOfFusedAndExplicitPathsAgree() {
        NDArray x = ids(1, 5, 9, 33, 2, 70);
        NDArray labels = manager.create(new long[] {5, 9, 33, 2, 70, -100});
        float[][] grads = new float[2][];
        NDArray w = model.layers().get(0).selfAttn().qProj().weight();
        w.setRequiresGradient(true);
        int i = 0;
        for (AttentionImplementation impl : AttentionImplementation.values()) {
            model.setAttentionImplementation(impl);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(x, null, null, true).reshape(6, 97);
                NDArray loss = Kernels.get().crossEntropySum(logits, labels, true);
                gc.backward(loss);
            }
            try (NDArray g = w.getGradient()) {
                grads[i++] = g.toFloatArray();
            }
            ai.djl.pytorch.jni.JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) w); // gradients accumulate
        }
        w.setRequiresGradient(false);
        model.setAttentionImplementation(AttentionImplementation.FUSED);
        assertArrayEquals(grads[0], grads[1], 1e-5f);
        float norm = 0;
        for (float g : grads[0]) {
            norm += g * g;
        }
        assertTrue(norm > 1e-6, "gradient must not vanish");
    }
}
