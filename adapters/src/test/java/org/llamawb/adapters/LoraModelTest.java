package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

class LoraModelTest {
    NDManager manager;
    Llama model;
    NDArray ids;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        LlamaConfig c = new LlamaConfig(61, 32, 40, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), false, false, 64);
        model = Llama.random(c, 3, 0.3, manager);
        ids = manager.create(new long[] {1, 4, 9, 16, 25, 36, 49}, new Shape(1, 7));
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    float[] logits() {
        return model.forward(ids, null, null, false).toFloatArray();
    }

    static void randomizeB(LoraModel lora, String name, long seed) {
        java.util.Random r = new java.util.Random(seed);
        for (Map.Entry<String, NDArray> e : lora.parameters(name).entrySet()) {
            if (e.getKey().contains("lora_B")) {
                float[] v = new float[(int) e.getValue().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextGaussian() * 0.2f;
                }
                e.getValue().set(v);
            }
        }
    }

    @Test
    void peftInitialisationLeavesTheModelUnchangedAndBoundsA() {
        float[] base = logits();
        try (LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            assertArrayEquals(base, logits(), 0f);
            Map<String, NDArray> p = lora.parameters("default");
            assertEquals(2 * 2 * 7, p.size()); // 2 layers x 7 projections x {A, B}
            NDArray a = p.get("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
            assertEquals(new Shape(4, 40), a.getShape());
            assertTrue(a.abs().max().getFloat() <= 1 / Math.sqrt(40));
            assertTrue(a.abs().max().getFloat() > 0.5 / Math.sqrt(40));
            assertEquals(new Shape(32, 4), p.get("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight").getShape());
        }
    }

    @Test
    void forwardAddsScaledLowRankUpdate() {
        NDArray x = manager.randomNormal(new Shape(3, 32));
        var q = model.layers().get(1).selfAttn().qProj();
        NDArray base = q.forward(x);
        try (LoraModel lora = new LoraModel(model)) {
            LoraConfig cfg = new LoraConfig(2, 6, 0, true, new TargetModules.Names(List.of("q_proj")), List.of(1),
                    Map.of(), Map.of(), List.of());
            lora.add("a", cfg, 5);
            randomizeB(lora, "a", 9);
            LoraWeights w = lora.layer("model.layers.1.self_attn.q_proj").weights("a");
            assertEquals(6 / Math.sqrt(2), w.scalingValue(), 1e-12); // rsLoRA
            NDArray expected = base.add(x.matMul(w.a().transpose()).matMul(w.b().transpose()).mul(6 / Math.sqrt(2)));
            assertTrue(q.forward(x).sub(expected).abs().max().getFloat() < 1e-5);
            assertEquals(null, lora.layer("model.layers.0.self_attn.q_proj"), "layers_to_transform = [1]");
        }
    }

    @Test
    void disableGivesTheExactBaseAndMergeUnmergeRoundTrips() {
        float[] base = logits();
        NDArray w0 = model.layers().get(0).mlp().upProj().weight().duplicate();
        try (LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            randomizeB(lora, "default", 2);
            float[] adapted = logits();
            assertTrue(maxDiff(adapted, base) > 1e-3, "the adapter must change the output");
            assertArrayEquals(base, lora.withAdaptersDisabled(this::logits), 0f);
            assertArrayEquals(adapted, logits(), 0f);
            lora.merge("default");
            assertArrayEquals(adapted, logits(), 1e-4f);
            lora.unmerge("default");
            assertArrayEquals(adapted, logits(), 0f);
            assertArrayEquals(w0.toFloatArray(), model.layers().get(0).mlp().upProj().weight().toFloatArray(), 0f);
            lora.disable();
            assertArrayEquals(base, logits(), 0f);
        }
        assertArrayEquals(base, logits(), 0f); // closing detaches everything
    }

    @Test
    void severalNamedAdaptersCanBeActivatedSeparately() {
        try (LoraModel lora = new LoraModel(model)) {
            lora.add("policy", LoraConfig.of(2, 4, new TargetModules.Names(List.of("v_proj"))), 1);
            lora.add("value", LoraConfig.of(2, 4, new TargetModules.Names(List.of("o_proj"))), 2);
            randomizeB(lora, "policy", 3);
            randomizeB(lora, "value", 4);
            lora.activate("policy");
            float[] p = logits();
            lora.activate("value");
            float[] v = logits();
            lora.activate("policy", "value");
            float[] both = logits();
            assertTrue(maxDiff(p, v) > 1e-3 && maxDiff(p, both) > 1e-3 && maxDiff(v, both) > 1e-3);
            assertThrows(BadInputException.class, () -> lora.activate("nope"));
        }
    }

    @Test
    void modulesToSaveAreTrainedCopiesSwappedOutWhenDisabled() {
        float[] base = logits();
        try (LoraModel lora = new LoraModel(model)) {
            LoraConfig cfg = new LoraConfig(2, 4, 0, false, new TargetModules.Names(List.of("q_proj")), List.of(),
                    Map.of(), Map.of(), List.of("lm_head"));
            lora.add("default", cfg, 1);
            NDArray head = lora.parameters("default").get("base_model.model.lm_head.weight");
            head.addi(0.5f);
            assertTrue(maxDiff(base, logits()) > 1e-2);
            assertArrayEquals(base, lora.withAdaptersDisabled(this::logits), 0f);
        }
    }

    static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
