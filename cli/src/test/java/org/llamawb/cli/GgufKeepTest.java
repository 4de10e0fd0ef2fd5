package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.gguf.GgmlType;
import org.llamawb.model.gguf.GgufWeights;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.GgufBlockWeight;
import org.llamawb.model.weights.Checkpoint;

/**
 * {@code model.quantize: keep} / {@code --quantize keep}: a GGUF model whose quantised projections stay in the file's
 * blocks computes what the model dequantised up front computes. On SmolLM2-135M-Instruct (Q4_1, when
 * {@value SmolLm2#ENV} names it): the same logits bit for bit, the same greedy answers, the same LoRA loss and
 * gradients under each rematerialisation policy; on a Q8_0 export of stories260K: a merge onto the kept base writes
 * the full-precision merge of the dequantised base, and the flags refuse what they cannot do, naming themselves.
 */
class GgufKeepTest {
    @TempDir
    Path tmp;

    private static void assertSameBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + " [" + i + "]: dequantised " + want[i] + ", kept " + got[i]);
            }
        }
    }

    @Test
    void smolLm2KeptQ41GivesTheDequantisedLogitsAndGreedyAnswers() {
        Path gguf = SmolLm2.gguf();
        JsonNode answers = SmolLm2.reference().get("answers");
        try (NDManager m = NDManager.newBaseManager();
                Llama dequantised = Llama.load(Checkpoint.open(gguf), m);
                Llama kept = Llama.load(Checkpoint.open(gguf), m, FrozenStorage.keepingGguf(null))) {
            long bytes = 0;
            for (Linear lin : kept.linears()) {
                GgufBlockWeight w = assertInstanceOf(GgufBlockWeight.class, lin.frozen(), lin.name());
                assertEquals(GgufBlockWeight.Format.Q4_1, w.format(), lin.name());
                bytes += w.bytes();
            }
            assertEquals(20L * (dequantised.linears().stream().mapToLong(l -> l.weight().size()).sum() / 32), bytes,
                    "20 bytes per 32 values, as in the file");
            int[] prompt = SmolLm2.ints(answers.get(1).get("prompt_ids"));
            long[] ids = java.util.Arrays.stream(prompt).asLongStream().toArray();
            try (NDScope scope = new NDScope()) {
                NDArray x = m.create(ids, new Shape(1, ids.length));
                assertSameBits(dequantised.forward(x, null, null, false).toFloatArray(),
                        kept.forward(x, null, null, false).toFloatArray(), "logits of answer 1's prompt");
            }
            // every decoding step widens all 210 projections again: one answer (8 tokens, ending at EOS) keeps it short
            int[] want = SmolLm2.ints(answers.get(0).get("generated_ids"));
            int[] p = SmolLm2.ints(answers.get(0).get("prompt_ids"));
            int[] got = new Generator(kept).generate(p, Sampling.greedy(want.length, Set.of()), t -> { });
            assertArrayEquals(want, got, "greedy answer 0 (transformers') on the kept Q4_1 base");
            assertArrayEquals(new Generator(dequantised).generate(p, Sampling.greedy(want.length, Set.of()), t -> { }), got,
                    "greedy answer 0 on the dequantised base");
        }
    }

    @Test
    void smolLm2LoraStepOnTheKeptBaseHasTheDequantisedBasesLossAndGradients() {
        Path gguf = SmolLm2.gguf();
        JsonNode answer = SmolLm2.reference().get("answers").get(1);
        int[] prompt = SmolLm2.ints(answer.get("prompt_ids"));
        int[] reply = SmolLm2.ints(answer.get("generated_ids"));
        int[] input = new int[prompt.length + reply.length];
        int[] labels = new int[input.length];
        for (int i = 0; i < input.length; i++) {
            input[i] = i < prompt.length ? prompt[i] : reply[i - prompt.length];
            labels[i] = i < prompt.length ? -100 : input[i]; // the reply is trained
        }
        Batch b = Batch.ofRows(new int[][] {input}, new int[][] {labels});
        try (NDManager m = NDManager.newBaseManager();
                Llama dequantised = Llama.load(Checkpoint.open(gguf), m);
                Llama kept = Llama.load(Checkpoint.open(gguf), m, FrozenStorage.keepingGguf(null))) {
            for (Rematerialization policy : Rematerialization.values()) {
                loraStepsAgree(dequantised, kept, b, policy, m);
            }
        }
    }

    /** One LoRA step (the same adapter) on each model: the same loss and gradients within 1e-6. */
    private static void loraStepsAgree(Llama dequantised, Llama kept, Batch b, Rematerialization policy, NDManager m) {
        double[] loss = new double[2];
        Map<String, float[]> grads = new java.util.HashMap<>();
        for (int k = 0; k < 2; k++) {
            Llama model = k == 0 ? dequantised : kept;
            try (LoraModel lora = new LoraModel(model)) {
                lora.add("default", LoraConfig.of(8, 16, new TargetModules.AllLinear()), 5);
                randomiseB(lora);
                try (NDScope scope = new NDScope()) {
                    loss[k] = ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 0, m) / b.trainedTokens();
                }
                for (Map.Entry<String, NDArray> e : lora.trainableParameters("default").entrySet()) {
                    try (NDArray g = e.getValue().getGradient()) {
                        float[] v = g.toFloatArray();
                        if (k == 0) {
                            grads.put(e.getKey(), v);
                        } else {
                            float[] want = grads.get(e.getKey());
                            float d = 0;
                            for (int i = 0; i < v.length; i++) {
                                d = Math.max(d, Math.abs(v[i] - want[i]));
                            }
                            assertTrue(d <= 1e-6, policy + ": gradient of " + e.getKey() + " differs by " + d);
                        }
                    }
                }
            }
        }
        assertEquals(loss[0], loss[1], 1e-6, policy + " loss");
        assertTrue(loss[0] > 0 && Double.isFinite(loss[0]), policy + " loss " + loss[0]);
    }

    /** lora_B away from its zero initialisation, so that lora_A's gradients are not zero. */
    private static void randomiseB(LoraModel lora) {
        SplittableRandom r = new SplittableRandom(4);
        for (Map.Entry<String, NDArray> e : lora.parameters("default").entrySet()) {
            if (e.getKey().contains("lora_B")) {
                float[] v = new float[(int) e.getValue().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (r.nextDouble() - 0.5) * 0.02f;
                }
                e.getValue().set(v);
                e.getValue().setRequiresGradient(true); // trained again after the copy
            }
        }
    }

    @Test
    void mergeOntoAKeptQ80BaseWritesTheMergeOfTheDequantisedBase() throws Exception {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        Path gguf = tmp.resolve("stories-q8_0.gguf");
        assertEquals(0, MergeExportTest.cli("export", "--format", "gguf", "--model", stories.toString(), "--dtype", "q8_0",
                "--out", gguf.toString()));
        try (GgufWeights w = GgufWeights.open(gguf)) {
            assertEquals(GgmlType.Q8_0, w.ggmlType("model.layers.0.self_attn.q_proj.weight"));
        }
        Path adapter = tmp.resolve("adapter");
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(gguf), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 3);
            randomiseB(lora);
            PeftAdapterFormat.write(lora, "default", adapter, gguf.toString());
        }
        Path plain = tmp.resolve("plain");
        Path kept = tmp.resolve("kept");
        String said;
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(captured, true));
            assertEquals(0, MergeExportTest.cli("merge", "--model", gguf.toString(), "--adapter", adapter.toString(),
                    "--out", plain.toString()));
            assertEquals(0, MergeExportTest.cli("merge", "--model", gguf.toString(), "--adapter", adapter.toString(),
                    "--quantize", "keep", "--out", kept.toString()));
            assertEquals(2, MergeExportTest.cli("merge", "--model", gguf.toString(), "--adapter", adapter.toString(),
                    "--quantize", "keep", "--requantize", "--out", tmp.resolve("refused").toString()));
            assertEquals(2, MergeExportTest.cli("merge", "--model", stories.toString(), "--adapter", adapter.toString(),
                    "--quantize", "keep", "--out", tmp.resolve("not-gguf").toString()));
        } finally {
            System.setOut(stdout);
            said = captured.toString();
        }
        assertTrue(said.contains("merged onto the GGUF file's kept blocks in full precision"), said);
        try (NDManager m = NDManager.newBaseManager();
                Checkpoint p = Checkpoint.open(plain);
                Checkpoint k = Checkpoint.open(kept)) {
            assertEquals(p.weights().names(), k.weights().names());
            for (String name : p.weights().names()) {
                assertSameBits(p.weights().load(name, m).toFloatArray(), k.weights().load(name, m).toFloatArray(), name);
            }
        }
    }

    @Test
    void flagsNameThemselvesWhenRefused() {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(new String[] {"generate", "--model", stories.toString(), "--quantize", "q4",
            "--max-new-tokens", "1"}, new PrintStream(err, true));
        assertEquals(2, code);
        assertTrue(err.toString().contains("--quantize: expected none, nf4, int8 or keep, got 'q4'"), err.toString());
        err.reset();
        code = Workbench.standard().run(new String[] {"generate", "--model", stories.toString(), "--quantize", "keep",
            "--max-new-tokens", "1"}, new PrintStream(err, true));
        assertEquals(2, code);
        assertTrue(err.toString().contains("quantize 'keep'") && err.toString().contains("GGUF"), err.toString());
    }
}
