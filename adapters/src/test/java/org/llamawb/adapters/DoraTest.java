package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Kernels;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * DoRA ({@code use_dora}) against PEFT 0.21.2 (fixture {@code peft/dora} by make_peft_fixtures.py): PEFT's files load
 * with its logits, loss and every gradient (A, B and the magnitude), merge as {@code merge_and_unload}, and write back
 * as the same tensors; a new DoRA adapter leaves the model unchanged; the dropout branch recomputes the base term
 * from the dropped input.
 */
class DoraTest {
    @TempDir
    Path tmp;

    private static final Path DIR = Fixtures.path("peft/dora");

    private static float maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void peftDoraAdapterGivesPeftLogitsLossGradientsMergeAndFiles() throws Exception {
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        int[][] mask = Fixtures.intMatrix(batch.get("attention_mask"));
        long[][] labels = Fixtures.longMatrix(batch.get("labels"));
        JsonNode results = Fixtures.json(DIR.resolve("results.json"));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                Safetensors expected = Safetensors.open(DIR.resolve("expected.safetensors"));
                Safetensors grads = Safetensors.open(DIR.resolve("grads.safetensors"));
                Safetensors merged = Safetensors.open(DIR.resolve("merged.safetensors"));
                LoraModel lora = new LoraModel(model)) {
            LoraConfig config = PeftAdapterFormat.read(lora, "default", DIR);
            assertTrue(config.useDora());
            int modules = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = results.get("modules").fields(); it.hasNext(); modules++) {
                Map.Entry<String, JsonNode> e = it.next();
                LoraWeights w = lora.layer(e.getKey()).weights("default");
                assertTrue(w.isDora(), e.getKey());
                assertEquals(e.getValue().get("scaling").asDouble(), w.scalingValue(), 1e-6, e.getKey());
                assertEquals(lora.layer(e.getKey()).base().outFeatures(), w.magnitude().getShape().get(0), e.getKey());
            }
            assertEquals(10, modules, "q, v, o, gate and down in both layers");
            assertEquals(modules * 3, lora.parameters("default").size(), "A, B and the magnitude of each module");

            NDArray ids = PeftFixtureTest.ids(m, batch);
            float d = PeftFixtureTest.maskedMaxDiff(model.forward(ids, null, null, false), expected.load("logits", m), mask);
            assertTrue(d <= 1e-5, "base+DoRA logits differ from PEFT's by " + d);
            float base = PeftFixtureTest.maskedMaxDiff(lora.withAdaptersDisabled(() -> model.forward(ids, null, null, false)),
                    expected.load("base_logits", m), mask);
            assertTrue(base <= 1e-5, "disabled adapter differs from the base by " + base);

            // transformers' loss (mean over the shifted targets) and its gradient for every A, B and magnitude
            Map<String, NDArray> params = lora.trainableParameters("default");
            assertEquals(grads.names(), new java.util.TreeSet<>(params.keySet()), "the trainable tensors are PEFT's");
            int t = labels[0].length;
            long[] shifted = new long[labels.length * t];
            int targets = 0;
            for (int i = 0; i < labels.length; i++) {
                for (int j = 0; j < t; j++) {
                    shifted[i * t + j] = j + 1 < t ? labels[i][j + 1] : -100;
                    targets += shifted[i * t + j] == -100 ? 0 : 1;
                }
            }
            assertEquals(results.get("num_target_tokens").asInt(), targets);
            NDArray perToken = m.full(new Shape(), 1f / targets, DataType.FLOAT32); // a tensor constant, not a scalar
            lora.setTraining(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(ids, null, null, true);
                NDArray loss = Kernels.get().crossEntropySum(logits.reshape(-1, logits.getShape().get(2)),
                        m.create(shifted), true).mul(perToken);
                assertEquals(results.get("loss").asDouble(), loss.getFloat(), 1e-5, "loss");
                gc.backward(loss);
            }
            lora.setTraining(false);
            for (String name : grads.names()) {
                try (NDArray g = params.get(name).getGradient()) {
                    float gd = maxDiff(g, grads.load(name, m));
                    assertTrue(gd <= 1e-5, "gradient of " + name + " differs from PEFT's by " + gd);
                    if (name.endsWith(LoraModel.MAGNITUDE)) {
                        assertTrue(g.abs().max().getFloat() > 1e-3, "the magnitude is trained: " + name);
                    }
                }
            }
            params.values().forEach(p -> p.setRequiresGradient(false));

            // merge_and_unload: m ⊙ (W + sBA) / ‖W + sBA‖ by rows; unmerge gives the base back bit for bit
            Map<String, float[]> before = new java.util.HashMap<>();
            merged.names().stream().filter(n -> n.endsWith(".weight"))
                    .forEach(n -> before.put(n, model.parameters().get(n).toFloatArray()));
            assertEquals(10, before.size());
            lora.merge("default");
            for (String name : before.keySet()) {
                float md = maxDiff(model.parameters().get(name), merged.load(name, m));
                assertTrue(md <= 1e-6, "merged " + name + " differs from PEFT's merge_and_unload by " + md);
            }
            float ml = PeftFixtureTest.maskedMaxDiff(model.forward(ids, null, null, false), merged.load("merged_logits", m),
                    mask);
            assertTrue(ml <= 1e-5, "merged logits differ from PEFT's by " + ml);
            lora.unmerge("default");
            before.forEach((n, w) -> assertArrayEquals(w, model.parameters().get(n).toFloatArray(), n));

            // written back: PEFT's config and exactly PEFT's tensors under PEFT's names, read again to the same logits
            Path out = tmp.resolve("dora");
            PeftAdapterFormat.write(lora, "default", out, "base");
            assertEquals(config, PeftAdapterFormat.readConfig(out));
            JsonNode ours = new ObjectMapper().readTree(out.resolve(PeftAdapterFormat.CONFIG_FILE).toFile());
            assertTrue(ours.get("use_dora").asBoolean(), ours.toString());
            try (Safetensors mine = Safetensors.open(out.resolve(PeftAdapterFormat.WEIGHTS_FILE));
                    Safetensors theirs = Safetensors.open(DIR.resolve(PeftAdapterFormat.WEIGHTS_FILE))) {
                assertEquals(theirs.names(), mine.names());
                for (String name : theirs.names()) {
                    assertArrayEquals(theirs.load(name, m).toFloatArray(), mine.load(name, m).toFloatArray(), name);
                }
            }
            float[] adapted = model.forward(ids, null, null, false).toFloatArray();
            lora.disable();
            try (LoraModel again = new LoraModel(model)) {
                PeftAdapterFormat.read(again, "default", out);
                assertArrayEquals(adapted, model.forward(ids, null, null, false).toFloatArray());
            }
        }
    }

    /**
     * {@code finetune} checks an {@code adapter.init_from} adapter against the base from headers alone, before a
     * run exists: a DoRA file's magnitudes ({@code [out]}) must pass against their projections' rows, and a
     * magnitude of the wrong length must be named.
     */
    @Test
    void theHeaderOnlyFitCheckAcceptsDoraMagnitudesAndNamesAWrongOne() throws Exception {
        Map<String, long[]> shapes;
        try (Checkpoint c = Checkpoint.open(Fixtures.path("peft/base"))) {
            shapes = org.llamawb.model.weights.LlamaLayout.expected(c.config());
        }
        PeftAdapterFormat.checkFits(DIR, shapes);
        Map<String, long[]> narrower = new java.util.HashMap<>(shapes);
        String q = "model.layers.0.self_attn.q_proj.weight";
        long[] s = shapes.get(q);
        narrower.put(q, new long[] {s[0] + 1, s[1]});
        String e = assertThrows(BadInputException.class,
                () -> PeftAdapterFormat.checkFits(DIR, narrower)).getMessage();
        assertTrue(e.contains("q_proj") && e.contains("does not fit the base model's '" + q + "'"), e);
    }

    @Test
    void magnitudesUnderAPlainLoraConfigAreRefusedNamingTheKey() throws Exception {
        Path bad = tmp.resolve("bad");
        java.nio.file.Files.createDirectories(bad);
        JsonNode config = new ObjectMapper().readTree(DIR.resolve(PeftAdapterFormat.CONFIG_FILE).toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) config).put("use_dora", false);
        new ObjectMapper().writeValue(bad.resolve(PeftAdapterFormat.CONFIG_FILE).toFile(), config);
        java.nio.file.Files.copy(DIR.resolve(PeftAdapterFormat.WEIGHTS_FILE), bad.resolve(PeftAdapterFormat.WEIGHTS_FILE));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                LoraModel lora = new LoraModel(model)) {
            BadInputException e = assertThrows(BadInputException.class, () -> PeftAdapterFormat.read(lora, "x", bad));
            assertTrue(e.getMessage().contains("lora_magnitude_vector") && e.getMessage().contains("use_dora"), e.getMessage());
        }
    }

    @Test
    void aNewDoraAdapterStartsAtTheRowNormsAndChangesNothing() throws Exception {
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                LoraModel lora = new LoraModel(model)) {
            NDArray ids = PeftFixtureTest.ids(m, batch);
            float[] plain = model.forward(ids, null, null, false).toFloatArray();
            lora.add("d", LoraConfig.of(4, 8, TargetModules.parse(List.of("q_proj", "down_proj"))).withDora(true), 7);
            Map<String, NDArray> p = lora.parameters("d");
            assertEquals(12, p.size());
            for (Linear lin : model.linears()) {
                LoraWeights w = lora.layer(lin.name()) == null ? null : lora.layer(lin.name()).weights("d");
                if (w == null) {
                    continue;
                }
                NDArray rowNorms = lin.weight().square().sum(new int[] {1}).sqrt(); // [out]
                assertTrue(maxDiff(w.magnitude(), rowNorms) <= 1e-6, lin.name());
                assertEquals(w.magnitude(), p.get(LoraModel.PEFT_PREFIX + lin.name() + LoraModel.MAGNITUDE));
            }
            float d = PeftFixtureTest.maxDiff(plain, model.forward(ids, null, null, false).toFloatArray());
            assertTrue(d <= 1e-6, "B = 0 and m = ‖W‖: the model must not change, got " + d);
            BadInputException e = assertThrows(BadInputException.class,
                    () -> lora.addWeighted("w", List.of("d"), List.of(0.5)));
            assertTrue(e.getMessage().contains("DoRA"), e.getMessage());
        }
    }

    /**
     * With dropout in training PEFT cannot reuse the base output: the base term is {@code W·dropout(x)}, so the
     * projection is {@code W·x + (k - 1)·W·x' + k·s·B·A·x'} with {@code x' = dropout(x)}, {@code k = m / ‖W + sBA‖}.
     * The same seed gives the same dropout mask, so {@code x'} is recomputed here.
     */
    @Test
    void withDropoutTheBaseTermUsesTheDroppedInput() throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                LoraModel lora = new LoraModel(model)) {
            String q = "model.layers.0.self_attn.q_proj";
            lora.addWith("d", new LoraConfig(4, 8, 0.5, false, TargetModules.parse(List.of("q_proj")), List.of(0), Map.of(),
                    Map.of(), List.of(), Map.of(), true), (path, shapeA, shapeB) -> new NDArray[] {
                        m.randomNormal(new Shape(shapeA)), m.randomNormal(new Shape(shapeB)),
                        m.randomUniform(0.5f, 1.5f, new Shape(shapeB[0]))});
            Linear lin = lora.layer(q).base();
            LoraWeights w = lora.layer(q).weights("d");
            NDArray x = m.randomNormal(new Shape(3, 32));
            lora.setTraining(true);
            Engine.getInstance().setRandomSeed(11);
            NDArray y = lin.forward(x); // [3, 32]
            Engine.getInstance().setRandomSeed(11);
            NDArray dropped = x.getNDArrayInternal().dropout(x, 0.5f, true).singletonOrThrow();
            assertNotEquals(0f, maxDiff(dropped, x.mul(2)), "some inputs are dropped");
            NDArray k = w.magnitude().div(lin.weight().add(w.delta()).square().sum(new int[] {1}).sqrt());
            NDArray wx2 = dropped.matMul(lin.weight().transpose());
            NDArray want = x.matMul(lin.weight().transpose()).add(k.sub(1).mul(wx2))
                    .add(k.mul(dropped.matMul(w.delta().transpose())));
            float d = maxDiff(y, want);
            assertTrue(d <= 1e-5, "DoRA with dropout differs from its formula by " + d);
            lora.setTraining(false);
            NDArray eval = lin.forward(x);
            NDArray merged = x.matMul(lin.weight().add(w.delta()).mul(k.reshape(-1, 1)).transpose());
            assertTrue(maxDiff(eval, merged) <= 1e-5, "without dropout DoRA is k·(W + sBA)·x");
        }
    }
}
