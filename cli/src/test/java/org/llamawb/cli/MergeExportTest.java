package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/** {@code merge} and {@code export}: merged checkpoints and exported files give the adapted model's logits. */
class MergeExportTest {
    @TempDir
    Path tmp;

    static int cli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(args, new PrintStream(err, true));
        if (code != 0) {
            System.err.println(err);
        }
        return code;
    }

    static float[] logits(Path model, long[] ids) {
        try (NDManager m = NDManager.newBaseManager(); Llama l = Llama.load(Checkpoint.open(model), m)) {
            return l.forward(m.create(ids, new Shape(1, ids.length)), null, null, false).toFloatArray();
        }
    }

    static float maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float w = 0;
        for (int i = 0; i < a.length; i++) {
            w = Math.max(w, Math.abs(a[i] - b[i]));
        }
        return w;
    }

    @Test
    void mergedCheckpointGivesPeftsAdaptedLogitsAndWeightedMergeSumsUpdates() throws Exception {
        Path base = Fixtures.path("peft/base");
        Path lora = Fixtures.path("peft/lora");
        Path rslora = Fixtures.path("peft/rslora");
        long[] ids = {34, 88, 122, 35, 108, 30, 60, 118, 77, 126};
        Path merged = tmp.resolve("merged");
        assertEquals(0, cli("merge", "--model", base.toString(), "--adapter", lora.toString(), "--out", merged.toString()));
        try (NDManager m = NDManager.newBaseManager(); Safetensors expected = Safetensors.open(lora.resolve("expected.safetensors"))) {
            float[] peft = expected.load("logits", m).get("0:1").toFloatArray(); // row 0 of PEFT's batch: no padding
            float d = maxDiff(logits(merged, ids), peft);
            assertTrue(d <= 1e-4, "merged checkpoint differs from PEFT's base+adapter logits by " + d);
        }

        Path weighted = tmp.resolve("weighted");
        assertEquals(0, cli("merge", "--model", base.toString(), "--adapter", lora.toString(), "--adapter", rslora.toString(),
                "--weights", "0.7,0.3", "--out", weighted.toString()));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(base), m);
                LoraModel adapters = new LoraModel(model);
                Checkpoint w = Checkpoint.open(weighted)) {
            PeftAdapterFormat.read(adapters, "l", lora);
            PeftAdapterFormat.read(adapters, "r", rslora);
            for (String name : List.of("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj",
                    "model.layers.1.self_attn.k_proj")) {
                NDArray want = model.parameters().get(name + ".weight");
                for (String a : List.of("l", "r")) {
                    var lw = adapters.layer(name).weights(a);
                    if (lw != null) {
                        want = want.add(lw.delta().mul(a.equals("l") ? 0.7f : 0.3f));
                    }
                }
                float d = w.weights().load(name + ".weight", m).sub(want).abs().max().getFloat();
                assertTrue(d <= 1e-6, name + ": W + 0.7·ΔW_lora + 0.3·ΔW_rslora differs by " + d);
            }
        }
    }

    @Test
    void mergeOntoAQuantisedBaseWritesTheTrainedWeightsOrRequantisesWithTheErrorStated() throws Exception {
        Path base = Fixtures.path("peft/base");
        Path lora = Fixtures.path("peft/lora");
        long[] ids = {34, 88, 122, 35, 108, 30, 60, 118, 77, 126};
        FrozenStorage nf4 = new FrozenStorage(null, QuantizedWeight.Kind.NF4);
        Path exact = tmp.resolve("exact");
        Path requantized = tmp.resolve("requantized");
        String said;
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(captured, true));
            assertEquals(0, cli("merge", "--model", base.toString(), "--adapter", lora.toString(), "--quantize", "nf4",
                    "--out", exact.toString()));
            assertEquals(0, cli("merge", "--model", base.toString(), "--adapter", lora.toString(), "--quantize", "nf4",
                    "--requantize", "--out", requantized.toString()));
            assertEquals(2, cli("merge", "--model", base.toString(), "--adapter", lora.toString(), "--requantize",
                    "--out", tmp.resolve("refused").toString()));
        } finally {
            System.setOut(stdout);
            said = captured.toString();
        }
        assertTrue(said.contains("exactly the weights the adapter was trained against"), said);
        assertTrue(said.contains("re-quantised the merged projections to nf4: error RMS"), said);
        String name = "model.layers.0.self_attn.q_proj.weight";
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(base), m, nf4);
                LoraModel adapters = new LoraModel(model);
                Checkpoint e = Checkpoint.open(exact);
                Checkpoint r = Checkpoint.open(requantized);
                Llama again = Llama.load(Checkpoint.open(requantized), m, nf4)) {
            PeftAdapterFormat.read(adapters, "default", lora);
            float[] trained = model.forward(m.create(ids, new Shape(1, ids.length)), null, null, false).toFloatArray();
            float d = maxDiff(logits(exact, ids), trained);
            assertTrue(d <= 1e-4, "the merge onto the NF4 base differs from the NF4 base + adapter by " + d);
            NDArray want = model.linears().get(0).weight().add(adapters.layer("model.layers.0.self_attn.q_proj")
                    .weights("default").delta());
            float w = e.weights().load(name, m).sub(want).abs().max().getFloat();
            assertTrue(w <= 1e-6, name + ": deq(Q(W)) + ΔW differs by " + w);
            // re-quantised values are NF4 values: loading them as NF4 changes nothing
            NDArray written = r.weights().load(name, m);
            assertTrue(written.sub(want).abs().max().getFloat() > 0, "re-quantising moves the merged weight");
            assertEquals(0f, again.linears().get(0).weight().sub(written).abs().max().getFloat(), name);
        }
    }

    @Test
    void peftExportRoundTripsAndGgufExportKeepsTheLogits() throws Exception {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        Path adapter = tmp.resolve("adapter");
        long[] ids = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
        float[] adapted;
        float[] merged;
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(stories), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 3);
            SplittableRandom r = new SplittableRandom(4);
            for (Map.Entry<String, NDArray> e : lora.parameters("default").entrySet()) {
                if (e.getKey().contains("lora_B")) {
                    float[] v = new float[(int) e.getValue().size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextDouble() - 0.5) * 0.2f;
                    }
                    e.getValue().set(v);
                }
            }
            PeftAdapterFormat.write(lora, "default", adapter, stories.toString());
            adapted = model.forward(m.create(ids, new Shape(1, ids.length)), null, null, false).toFloatArray();
            lora.merge("default");
            merged = model.forward(m.create(ids, new Shape(1, ids.length)), null, null, false).toFloatArray();
            assertTrue(maxDiff(adapted, merged) <= 1e-4, "merging must keep the logits");
        }
        Path exported = tmp.resolve("exported");
        assertEquals(0, cli("export", "--format", "peft", "--model", stories.toString(), "--adapter", adapter.toString(),
                "--out", exported.toString()));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(stories), m);
                LoraModel lora = new LoraModel(model)) {
            PeftAdapterFormat.read(lora, "default", exported);
            assertEquals(0f, maxDiff(adapted, model.forward(m.create(ids, new Shape(1, ids.length)), null, null, false).toFloatArray()));
        }
        StringBuilder report = new StringBuilder();
        for (String dtype : List.of("f32", "f16", "q8_0")) {
            Path gguf = tmp.resolve("stories-" + dtype + ".gguf");
            assertEquals(0, cli("export", "--format", "gguf", "--model", stories.toString(), "--adapter", adapter.toString(),
                    "--dtype", dtype, "--out", gguf.toString()));
            float d = maxDiff(merged, logits(gguf, ids));
            report.append(dtype).append(": max |Δlogit| = ").append(d).append("; ");
            float bound = switch (dtype) {
                case "f32" -> 0f; // the merged float32 weights come back bit for bit
                case "f16" -> 0.05f;
                default -> 0.25f;
            };
            assertTrue(d <= bound, dtype + " GGUF round trip differs by " + d);
        }
        System.out.println("GGUF export round trip on stories260K + LoRA: " + report);
    }
}
