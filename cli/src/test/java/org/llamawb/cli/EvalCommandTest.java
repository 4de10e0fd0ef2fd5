package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.eval.run.EvalTracker;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** {@code workbench eval} end to end on stories260K, and its one-line user errors. */
class EvalCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(AdapterLoader adapters, String... args) {
        EvalCommand cmd = new EvalCommand(adapters, EvalTracker.NONE, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        List<String> all = new ArrayList<>(List.of("eval"));
        all.addAll(Arrays.asList(args));
        return new Workbench(List.of(cmd)).run(all.toArray(new String[0]), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** tok512.model through the model module's converter, else LLAMAWB_REF_TOKENIZER (see eval's Stories260K). */
    private static Path tokenizer() {
        Path spm = TestData.require("models/stories260K/tok512.model");
        try {
            LlamaTokenizer.load(spm).close();
            return spm;
        } catch (BadInputException notYet) {
            String ref = System.getenv("LLAMAWB_REF_TOKENIZER");
            assumeTrue(ref != null && Files.isRegularFile(Path.of(ref)), "no tokenizer for stories260K on this branch");
            return Path.of(ref);
        }
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
        int code = run(AdapterLoader.UNAVAILABLE, "--model", model.toString(), "--tokenizer", tokenizer().toString(),
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

    @Test
    void comparesBaseAndAdapterOnTheSameTasks() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path outDir = tmp.resolve("cmp");
        // a stand-in adapter: halves the final norm while attached, restores it when closed
        AdapterLoader halveNorm = (llama, path) -> {
            NDArray original = llama.norm().weight();
            NDArray halved = original.div(original.getManager().full(original.getShape(), 2f));
            ai.djl.ndarray.NDScope.unregister(halved);
            llama.replace("model.norm.weight", halved);
            return () -> llama.replace("model.norm.weight", original);
        };
        int code = run(halveNorm, "--model", model.toString(), "--tokenizer", tokenizer().toString(), "--task-dir",
                taskDir().toString(), "--tasks", "copa", "--limit", "6", "--out", outDir.toString(),
                "--compare-adapter", tmp.resolve("adapter").toString());
        assertEquals(0, code, err());
        JsonNode c = JSON.readTree(outDir.resolve("comparison.json").toFile());
        JsonNode base = c.path("base").path("results").path("copa");
        JsonNode adapted = c.path("adapted").path("results").path("copa");
        assertEquals(adapted.path("acc").asDouble() - base.path("acc").asDouble(), c.path("delta").path("copa").path("acc").asDouble(), 1e-12);
        assertTrue(Files.isRegularFile(outDir.resolve("base/results.json")));
        assertTrue(Files.isRegularFile(outDir.resolve("adapter/samples/copa.jsonl")));
        assertTrue(Files.readString(outDir.resolve("comparison.md")).contains("| copa"));
        // the adapter changed the scores, and the base is the base again afterwards
        List<String> b = Files.readAllLines(outDir.resolve("base/samples/copa.jsonl"));
        assertNotEquals(b, Files.readAllLines(outDir.resolve("adapter/samples/copa.jsonl")));
    }

    @Test
    void userErrorsAreOneLineWithExitCodeTwo() throws Exception {
        assertEquals(2, run(AdapterLoader.UNAVAILABLE, "--tasks", "copa"));
        assertTrue(err().startsWith("error: no model"), err());
        err.reset();
        assertEquals(2, run(AdapterLoader.UNAVAILABLE, "--model", "m", "--tasks", "copa", "--limit", "ten"));
        assertEquals("error: --limit must be an integer, got 'ten'", err().strip());
        err.reset();
        assertEquals(2, run(AdapterLoader.UNAVAILABLE, "--model", "m", "--task-dir", taskDir().toString(), "--tasks", "cope"));
        assertTrue(err().strip().startsWith("error: unknown task 'cope'") && err().contains("available: copa"), err());
        err.reset();
        Path recipe = tmp.resolve("r.yaml");
        Files.writeString(recipe, "tasks: [copa]\nlimt: 3\n");
        assertEquals(2, run(AdapterLoader.UNAVAILABLE, recipe.toString()));
        assertTrue(err().strip().startsWith("error: " + recipe + ": line 2: unknown key 'limt'"), err());
        err.reset();
        assertEquals(2, run(AdapterLoader.UNAVAILABLE, "--model", TestData.require("models/stories260K/stories260K.bin").toString(),
                "--task-dir", taskDir().toString(), "--tasks", "copa", "--adapter", "some/adapter"));
        assertTrue(err().contains("cannot load adapters yet"), err());
        assertEquals(1, err().strip().lines().count(), err());
    }

    @Test
    void helpAndTaskListing() {
        assertEquals(0, run(AdapterLoader.UNAVAILABLE, "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--compare-adapter"));
        out.reset();
        assertEquals(0, run(AdapterLoader.UNAVAILABLE, "--list-tasks", "--task-dir", "../recipes/eval/tasks"));
        assertTrue(out.toString(StandardCharsets.UTF_8).lines().toList().containsAll(List.of("arc_easy", "winogrande", "mt_bench")));
    }
}
