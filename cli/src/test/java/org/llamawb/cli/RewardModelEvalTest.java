package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.tracking.Tracking;

/** {@code workbench eval --reward-model DIR --data FILE} on stories260K, and its one-line user errors. */
class RewardModelEvalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        EvalCommand cmd = new EvalCommand((model, path) -> {
            throw new AssertionError("no language-model adapter expected, got " + path);
        }, r -> Tracking.NONE, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        List<String> all = new ArrayList<>(List.of("eval"));
        all.addAll(Arrays.asList(args));
        return new Workbench(List.of(cmd)).run(all.toArray(new String[0]), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static Path stories() {
        return TestData.require("models/stories260K/stories260K.bin");
    }

    private static Path tokenizer() {
        return TestData.require("models/stories260K/tok512.model");
    }

    /** A reward model on stories260K whose adapter changes the scores (B non-zero). */
    private Path rewardModel() {
        Path dir = tmp.resolve("rm");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(stories()), m);
                RewardModel rm = RewardModel.create(base, LoraConfig.of(4, 8, new TargetModules.AllLinear()), 5)) {
            SplittableRandom r = new SplittableRandom(6);
            for (Map.Entry<String, NDArray> e : rm.parameters().entrySet()) {
                if (e.getKey().contains("lora_B")) {
                    float[] v = new float[(int) e.getValue().size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextDouble() - 0.5) * 0.5f;
                    }
                    e.getValue().set(v);
                }
            }
            rm.save(dir, stories().toString());
        }
        return dir;
    }

    private Path pairs(String... lines) throws Exception {
        Path f = tmp.resolve("pairs.jsonl");
        Files.write(f, List.of(lines));
        return f;
    }

    private static String pair(String prompt, String chosen, String rejected) {
        return JSON.createObjectNode().put("prompt", prompt).put("chosen", chosen).put("rejected", rejected).toString();
    }

    @Test
    void scoresEveryPairAndReportsAccuracyAndMeans() throws Exception {
        String a = "Lily was happy.";
        String b = "The dog ran to the park and played with a big red ball all day long.";
        Path data = pairs(pair("Tell me a story.", a, b), pair("Tell me a story.", b, a),
                pair("Tell me a story.", a, b + " Then it slept."), pair("Who is Tom?", "Tom is a cat.", "Tom is a boy."));
        Path outDir = tmp.resolve("out");
        // batch-tokens small enough that every pair gets its own forward pass with its own padding
        int code = run("--reward-model", rewardModel().toString(), "--data", data.toString(), "--tokenizer",
                tokenizer().toString(), "--batch-tokens", "64", "--out", outDir.toString());
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        List<JsonNode> scores = new ArrayList<>();
        for (String l : Files.readAllLines(outDir.resolve("reward_scores.jsonl"))) {
            scores.add(JSON.readTree(l));
        }
        assertEquals(4, scores.size());
        double c0 = scores.get(0).get("chosen").asDouble();
        double r0 = scores.get(0).get("rejected").asDouble();
        assertTrue(Math.abs(c0 - r0) > 1e-4, "the two answers score differently");
        // the same prompt + answer scores the same wherever it sits and however much padding follows it
        assertEquals(c0, scores.get(1).get("rejected").asDouble(), 1e-5);
        assertEquals(r0, scores.get(1).get("chosen").asDouble(), 1e-5);
        assertEquals(c0, scores.get(2).get("chosen").asDouble(), 1e-5);
        double wins = 0;
        double sumC = 0;
        double sumR = 0;
        for (JsonNode s : scores) {
            wins += s.get("chosen").asDouble() > s.get("rejected").asDouble() ? 1 : 0;
            sumC += s.get("chosen").asDouble();
            sumR += s.get("rejected").asDouble();
        }
        JsonNode results = JSON.readTree(outDir.resolve("reward_results.json").toFile());
        assertEquals(4, results.get("pairs").asInt());
        assertEquals(wins / 4, results.get("accuracy").asDouble(), 1e-12);
        assertEquals(sumC / 4, results.get("rewards/chosen").asDouble(), 1e-6);
        assertEquals((sumC - sumR) / 4, results.get("margin").asDouble(), 1e-6);
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertTrue(stdout.contains("4 pairs") && stdout.contains(String.format(java.util.Locale.ROOT, "accuracy %.4f", wins / 4)),
                stdout);
    }

    @Test
    void languageModelAdapterAndDataWithoutPairsAreOneLineErrors() throws Exception {
        Path lm = tmp.resolve("lm");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(base)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            PeftAdapterFormat.write(lora, "default", lm, stories().toString());
        }
        Path data = pairs(pair("Tell me a story.", "Lily was happy.", "No."));
        int code = run("--reward-model", lm.toString(), "--data", data.toString(), "--tokenizer", tokenizer().toString());
        String e = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(2, code, e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.contains("adapter_config.json") && e.contains("modules_to_save does not name 'score'"), e);

        err.reset();
        Path sft = tmp.resolve("sft.jsonl");
        Files.writeString(sft, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
        code = run("--reward-model", rewardModel().toString(), "--data", sft.toString(), "--tokenizer", tokenizer().toString());
        e = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(2, code, e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.contains("sft.jsonl") && e.contains("no usable preference pairs"), e);
    }

    @Test
    void aRewardModelMadeOnAnotherBaseIsOneLineNamingFileAndTensor() throws Exception {
        Path other = tmp.resolve("other-rm");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = PreferenceBadInputTest.otherBase(m);
                RewardModel rm = RewardModel.create(base, LoraConfig.of(4, 8, new TargetModules.AllLinear()), 5)) {
            rm.save(other, "another-base");
        }
        Path data = pairs(pair("Tell me a story.", "Lily was happy.", "No."));
        int code = run("--reward-model", other.toString(), "--model", stories().toString(), "--data", data.toString(),
                "--tokenizer", tokenizer().toString());
        String e = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(2, code, e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.contains(other.resolve("adapter_model.safetensors") + ": tensor 'base_model.model.model.layers.0.")
                && e.contains("names its base 'another-base'; --model is " + stories()), e);
    }
}
