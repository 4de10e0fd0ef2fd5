package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.tracking.Tracking;

/** {@code workbench eval} end to end on stories260K, and its one-line user errors. */
class EvalCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    /** Fails the test if an adapter is attached where none should be. */
    private static final AdapterLoader NO_ADAPTERS = (model, path) -> {
        throw new AssertionError("no adapter expected, got " + path);
    };

    private int run(AdapterLoader adapters, String... args) {
        EvalCommand cmd = new EvalCommand(adapters, r -> Tracking.NONE, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        List<String> all = new ArrayList<>(List.of("eval"));
        all.addAll(Arrays.asList(args));
        return new Workbench(List.of(cmd)).run(all.toArray(new String[0]), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** stories260K's SentencePiece vocabulary (converted by the model module). */
    private static Path tokenizer() {
        return TestData.require("models/stories260K/tok512.model");
    }

    /** A copa task reading the shared data by absolute path (the test's working directory is cli/). */
    private Path taskDir() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tasks"));
        Path data = TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl");
        Files.writeString(dir.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: " + data + "\nprompt: \"{query}\"\n");
        return dir;
    }

    @Test
    void evaluatesWritesReportAndPrintsTheTable() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path outDir = tmp.resolve("out");
        int code = run(NO_ADAPTERS, "--model", model.toString(), "--tokenizer", tokenizer().toString(),
                "--task-dir", taskDir().toString(), "--tasks", "copa", "--limit", "6", "--out", outDir.toString(), "--bench");
        assertEquals(0, code, err());
        JsonNode results = JSON.readTree(outDir.resolve("results.json").toFile());
        double acc = results.path("results").path("copa").path("acc").asDouble(-1);
        // acc equals the per-example samples written beside it
        List<String> samples = Files.readAllLines(outDir.resolve("samples/copa.jsonl"));
        assertEquals(6, samples.size());
        double right = 0;
        for (String s : samples) {
            JsonNode n = JSON.readTree(s);
            right += n.path("pred").asInt() == n.path("gold").asInt() ? 1 : 0;
        }
        assertEquals(right / 6, acc, 1e-12);
        assertEquals(6, results.path("tasks").get(0).path("examples").asInt());
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertTrue(stdout.contains("copa") && stdout.contains("acc_norm"), stdout);
        JsonNode bench = JSON.readTree(stdout.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
        assertEquals(acc, bench.path("tasks").path("copa").path("acc").asDouble(), 1e-12);
        assertTrue(bench.path("examples_per_s").asDouble() > 0);
        assertTrue(Files.readString(outDir.resolve("report.md")).contains("![copa](charts/copa.png)"));
        byte[] png = Files.readAllBytes(outDir.resolve("charts/copa.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    }

    /** A PEFT LoRA adapter for stories260K with non-zero B (PEFT initialises B to zero: no effect). */
    private Path peftAdapter(Path stories) {
        Path dir = tmp.resolve("adapter");
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(stories), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 3);
            SplittableRandom r = new SplittableRandom(4);
            for (Map.Entry<String, NDArray> e : lora.parameters("default").entrySet()) {
                if (e.getKey().contains("lora_B")) {
                    float[] v = new float[(int) e.getValue().size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextDouble() - 0.5) * 0.5f;
                    }
                    e.getValue().set(v);
                }
            }
            PeftAdapterFormat.write(lora, "default", dir, stories.toString());
        }
        return dir;
    }

    @Test
    void comparesBaseAndPeftAdapterOnTheSameTasks() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path adapter = peftAdapter(model);
        Path outDir = tmp.resolve("cmp");
        int code = run(AdapterAttachment::attach, "--model", model.toString(), "--tokenizer", tokenizer().toString(),
                "--task-dir", taskDir().toString(), "--tasks", "copa", "--limit", "6", "--out", outDir.toString(),
                "--compare-adapter", adapter.toString());
        assertEquals(0, code, err());
        JsonNode c = JSON.readTree(outDir.resolve("comparison.json").toFile());
        JsonNode base = c.path("base").path("results").path("copa");
        JsonNode adapted = c.path("adapted").path("results").path("copa");
        assertEquals(adapted.path("acc").asDouble() - base.path("acc").asDouble(), c.path("delta").path("copa").path("acc").asDouble(), 1e-12);
        assertEquals(adapter.toString(), c.path("adapted").path("adapter").asText());
        assertTrue(Files.readString(outDir.resolve("comparison.md")).contains("| copa"));
        assertTrue(Files.isRegularFile(outDir.resolve("charts/copa.png")));
        // the adapter changed every log-likelihood; the base run equals a plain run of the base model
        List<String> b = Files.readAllLines(outDir.resolve("base/samples/copa.jsonl"));
        List<String> a = Files.readAllLines(outDir.resolve("adapter/samples/copa.jsonl"));
        for (int i = 0; i < b.size(); i++) {
            assertNotEquals(JSON.readTree(b.get(i)).path("loglikelihoods"), JSON.readTree(a.get(i)).path("loglikelihoods"));
        }
        Path plain = tmp.resolve("plain");
        assertEquals(0, run(NO_ADAPTERS, "--model", model.toString(), "--tokenizer", tokenizer().toString(), "--task-dir",
                taskDir().toString(), "--tasks", "copa", "--limit", "6", "--out", plain.toString()), err());
        assertEquals(b, Files.readAllLines(plain.resolve("samples/copa.jsonl")));
    }

    @Test
    void sparkFlagsAreOneLineUsageErrorsInTheSingleMachineJar() throws Exception {
        assertEquals(2, run(NO_ADAPTERS, "--model", "m", "--tasks", "copa", "--workers", "2"));
        assertEquals("error: eval: --workers applies with --spark only", err().strip());
        err.reset();
        // the cli's class path has no engine: the distributed module (workbench-spark.jar) brings Spark's
        assertEquals(2, run(NO_ADAPTERS, "--model", TestData.require("models/stories260K/stories260K.bin").toString(),
                "--task-dir", taskDir().toString(), "--tasks", "copa", "--spark", "local[2]"));
        assertTrue(err().strip().startsWith("error: --spark: this workbench jar is built without Spark; run distributed/"
                + "target/workbench-spark.jar"), err());
        assertEquals(1, err().strip().lines().count(), err());
        err.reset();
        assertEquals(2, run(NO_ADAPTERS, "--model", "m", "--task-dir", taskDir().toString(), "--tasks", "copa", "--bench",
                "--spark", "local[2]"));
        assertEquals("error: --bench times one process; run it without --spark", err().strip());
    }

    @Test
    void userErrorsAreOneLineWithExitCodeTwo() throws Exception {
        assertEquals(2, run(NO_ADAPTERS, "--tasks", "copa"));
        assertTrue(err().startsWith("error: no model"), err());
        err.reset();
        assertEquals(2, run(NO_ADAPTERS, "--model", "m", "--tasks", "copa", "--limit", "ten"));
        assertEquals("error: --limit expects an integer, got 'ten'", err().strip());
        err.reset();
        assertEquals(2, run(NO_ADAPTERS, "--model", "m", "--task-dir", taskDir().toString(), "--tasks", "cope"));
        assertTrue(err().strip().startsWith("error: unknown task 'cope'") && err().contains("available: copa"), err());
        err.reset();
        Path recipe = tmp.resolve("r.yaml");
        Files.writeString(recipe, "tasks: [copa]\nlimt: 3\n");
        assertEquals(2, run(NO_ADAPTERS, recipe.toString()));
        assertTrue(err().strip().startsWith("error: " + recipe + ": line 2: unknown key 'limt'"), err());
        err.reset();
        assertEquals(2, run(NO_ADAPTERS, "--model", TestData.require("models/stories260K/stories260K.bin").toString(),
                "--task-dir", taskDir().toString(), "--tasks", "copa", "--adapter", "some/adapter"));
        assertTrue(err().startsWith("error: --adapter: some/adapter is not a directory"), err());
        assertEquals(1, err().strip().lines().count(), err());
    }

    @Test
    void helpAndTaskListing() {
        assertEquals(0, run(NO_ADAPTERS, "--help"));
        assertEquals(0, run(NO_ADAPTERS, "--list-tasks", "--task-dir", "../recipes/eval/tasks"));
        assertTrue(out.toString(StandardCharsets.UTF_8).lines().toList().containsAll(List.of("arc_easy", "winogrande", "mt_bench")));
    }
}
