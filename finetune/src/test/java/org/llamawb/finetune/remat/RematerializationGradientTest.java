package org.llamawb.finetune.remat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/** `full` and `hybrid` give the gradients of `none` (issue: rematerialisation, item 1). */
class RematerializationGradientTest {
    NDManager manager;
    Llama model;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        // GQA (4 query heads, 2 key/value heads), biases on, untied head
        LlamaConfig c = new LlamaConfig(53, 32, 48, 3, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        model = Llama.random(c, 11, 0.3, manager);
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    static Batch batch(boolean packed) {
        SplittableRandom r = new SplittableRandom(5);
        int b = 2;
        int t = 12;
        int[][] ids = new int[b][t];
        int[][] labels = new int[b][t];
        int[][] pos = packed ? new int[b][t] : null;
        int[][] seg = packed ? new int[b][t] : null;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                ids[i][j] = r.nextInt(53);
                labels[i][j] = j < 3 ? -100 : ids[i][j]; // a masked prompt
                if (packed) {
                    int split = 5 + i; // two examples per row
                    seg[i][j] = j < split ? 0 : 1;
                    pos[i][j] = j < split ? j : j - split;
                    if (j == split) {
                        labels[i][j] = -100; // never predict an example from the previous one
                    }
                }
            }
        }
        return packed ? new Batch(ids, labels, pos, seg, 2 * b, (long) b * t) : Batch.ofRows(ids, labels);
    }

    Map<String, float[]> gradients(Map<String, NDArray> params, Rematerialization policy, Batch b) {
        for (NDArray p : params.values()) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
        try (NDScope scope = new NDScope()) {
            ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 3, manager);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            try (NDArray g = e.getValue().getGradient()) {
                out.put(e.getKey(), g.toFloatArray());
            }
        }
        return out;
    }

    @org.junit.jupiter.api.Test
    void policiesParseFromTheirRecipeNames() {
        for (Rematerialization r : Rematerialization.values()) {
            assertEquals(r, Rematerialization.parse(r.recipeName()));
        }
        assertEquals("hybrid-lean", Rematerialization.HYBRID_LEAN.recipeName());
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.llamawb.model.BadInputException.class,
                () -> Rematerialization.parse("hybrid_lean"));
        assertTrue(e.getMessage().contains("expected none, full, hybrid or hybrid-lean"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void hybridRefusesAdapterDropoutSayingWhy() {
        try (LoraModel lora = new LoraModel(model)) {
            lora.add("default", new LoraConfig(4, 8, 0.1, false, new TargetModules.AllLinear(), List.of(), Map.of(),
                    Map.of(), List.of()), 1);
            Map<String, NDArray> params = lora.trainableParameters("default");
            lora.setTraining(true);
            Batch b = batch(false);
            var e = org.junit.jupiter.api.Assertions.assertThrows(org.llamawb.model.BadInputException.class, () -> {
                try (NDScope scope = new NDScope()) {
                    ForwardBackward.run(model, b, 1.0, Rematerialization.HYBRID, 0, manager);
                }
            });
            assertTrue(e.getMessage().contains("adapter dropout") && e.getMessage().contains("adapter.dropout: 0"), e.getMessage());
            var lean = org.junit.jupiter.api.Assertions.assertThrows(org.llamawb.model.BadInputException.class, () -> {
                try (NDScope scope = new NDScope()) {
                    ForwardBackward.run(model, b, 1.0, Rematerialization.HYBRID_LEAN, 0, manager);
                }
            });
            assertTrue(lean.getMessage().startsWith("train.rematerialization: hybrid-lean recomputes nothing random"),
                    lean.getMessage());
            // full reseeds dropout before each block and again before recomputing it: the same masks as none
            Map<String, float[]> none = gradients(params, Rematerialization.NONE, b);
            Map<String, float[]> full = gradients(params, Rematerialization.FULL, b);
            for (String k : none.keySet()) {
                for (int i = 0; i < none.get(k).length; i++) {
                    assertEquals(none.get(k)[i], full.get(k)[i], 1e-5f, k);
                }
            }
            lora.setTraining(false);
            Map<String, float[]> noDropout = gradients(params, Rematerialization.NONE, b);
            assertTrue(none.keySet().stream().anyMatch(k -> !java.util.Arrays.equals(noDropout.get(k), none.get(k))),
                    "dropout must change the gradients");
            params.values().forEach(p -> p.setRequiresGradient(false));
        }
    }

    @ParameterizedTest(name = "{0} training, packed={1}")
    @CsvSource({"lora,false", "lora,true", "lora-attention,false", "lora-attention,true", "full,false", "full,true"})
    void fullAndHybridEqualNone(String mode, boolean packed) {
        Map<String, NDArray> params;
        LoraModel lora = null;
        if (mode.startsWith("lora")) {
            lora = new LoraModel(model);
            // lora-attention leaves the feed-forward frozen: full's recomputation then stops at the down
            // projection's input (ForwardBackward.recomputeAndBackward), which this case checks
            TargetModules targets = mode.equals("lora")
                    ? new TargetModules.AllLinear()
                    : new TargetModules.Names(List.of("q_proj", "k_proj", "v_proj", "o_proj"));
            lora.add("default", LoraConfig.of(4, 8, targets), 1);
            for (var layer : model.layers()) {
                assertEquals(mode.equals("lora-attention"), ForwardBackward.skipsDownProjection(layer), mode);
            }
            // B starts at zero; make it non-zero so that A's gradients are non-trivial
            SplittableRandom r = new SplittableRandom(2);
            lora.parameters("default").forEach((k, v) -> {
                if (k.contains("lora_B")) {
                    float[] x = new float[(int) v.size()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (r.nextDouble() - 0.5) * 0.4f;
                    }
                    v.set(x);
                }
            });
            params = lora.trainableParameters("default");
        } else {
            params = model.parameters();
            params.values().forEach(p -> p.setRequiresGradient(true));
        }
        Batch b = batch(packed);
        ChunkedHead.logitsPerSlice = 53 * 5; // 5 tokens per head slice: 24 tokens in 5 slices, the last one short
        Map<String, float[]> none = gradients(params, Rematerialization.NONE, b);
        for (Rematerialization policy : List.of(Rematerialization.FULL, Rematerialization.HYBRID, Rematerialization.HYBRID_LEAN)) {
            Map<String, float[]> other = gradients(params, policy, b);
            assertEquals(none.keySet(), other.keySet());
            double worst = 0;
            double scale = 0;
            for (String k : none.keySet()) {
                float[] a = none.get(k);
                float[] c = other.get(k);
                for (int i = 0; i < a.length; i++) {
                    worst = Math.max(worst, Math.abs(a[i] - c[i]));
                    scale = Math.max(scale, Math.abs(a[i]));
                }
            }
            assertTrue(worst <= 1e-5, policy + " differs from none by " + worst);
            assertTrue(scale > 1e-3, "gradients must be non-trivial");
        }
        ChunkedHead.logitsPerSlice = 8L << 20;
        params.values().forEach(p -> p.setRequiresGradient(false));
        if (lora != null) {
            lora.close();
        }
    }

    /**
     * `none` (the fused loss gradient, the head only on labelled rows) equals plain autograd through the
     * whole model and PyTorch's cross-entropy, in full fine-tuning with a tied or an untied head.
     */
    @ParameterizedTest(name = "tied={0}, packed={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void noneEqualsPlainAutograd(boolean tied, boolean packed) {
        LlamaConfig c = new LlamaConfig(53, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, tied, 1, List.of(2),
                false, false, 64);
        try (Llama m = Llama.random(c, 13, 0.3, manager)) {
            Map<String, NDArray> params = m.parameters();
            params.values().forEach(p -> p.setRequiresGradient(true));
            Batch b = batch(packed);
            double scale = 1.0 / b.trainedTokens();
            Map<String, float[]> reference = new LinkedHashMap<>();
            try (NDScope scope = new NDScope();
                    ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray logits = m.forward(b.inputIdsArray(manager), b.positionIdsArray(manager),
                        b.segmentIdsArray(manager), true); // [B,T,V]
                NDArray shifted = org.llamawb.finetune.sft.CausalLmLoss.shiftedLabels(manager, b.labels());
                NDArray loss = org.llamawb.model.Kernels.get().crossEntropySum(logits.reshape(-1, 53), shifted.reshape(-1), true);
                gc.backward(loss.mul(manager.create((float) scale)));
            }
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    reference.put(e.getKey(), g.toFloatArray());
                }
                JniUtils.zeroGrad((PtNDArray) e.getValue());
            }
            try (NDScope scope = new NDScope()) {
                ForwardBackward.run(m, b, scale, Rematerialization.NONE, 3, manager);
            }
            double worst = 0;
            double largest = 0;
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    float[] ours = g.toFloatArray();
                    float[] ref = reference.get(e.getKey());
                    for (int i = 0; i < ref.length; i++) {
                        worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
                        largest = Math.max(largest, Math.abs(ref[i]));
                    }
                }
            }
            assertTrue(worst <= 1e-5, "none differs from plain autograd by " + worst);
            assertTrue(largest > 1e-3, "gradients must be non-trivial");
            params.values().forEach(p -> p.setRequiresGradient(false));
        }
    }
}
