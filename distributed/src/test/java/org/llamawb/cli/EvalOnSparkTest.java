package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * {@code workbench eval ... --spark local-cluster[2,1,1024]}: two executor JVMs each score a contiguous half of
 * every task's examples and the driver writes the report of the same command without {@code --spark}. Tasks: a
 * multiple-choice set (COPA), the loss on dialogues (FastChat's) and the perplexity of stories, on stories260K with
 * a PEFT adapter compared against its base (so the executors attach and detach it). (Completion tasks go through
 * the multiple-choice runner; the eval module's ShardedRunnersTest covers them in shards.)
 *
 * <p>Equal means: the same keys, the same strings, integers and booleans, and numbers equal to 1e-6 of their size
 * (at least 1e-6) in results.json and comparison.json, to 1e-5 in the per-example samples; wall times and token
 * slots (padding, which depends on which requests share a forward pass) are not compared. Numbers differ at all
 * only in their last bits: an example's log-likelihood comes out of a batched float32 forward pass whose other rows
 * are the example's neighbours, and a batch of other neighbours is a matrix product of another shape (another
 * blocking of the same sums), so each token's log-probability can move by a few float32 ulps (1e-7 of its size),
 * and an example's sum over its tokens (a conversation's hundreds) by their sum; a task's metric averages many
 * examples. The test prints how many numbers differed, the largest relative difference and where.
 */
class EvalOnSparkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What depends on the clock or on how requests were batched, not on what was computed. */
    private static final Set<String> UNCOMPARED = Set.of("seconds", "examples_per_second", "token_slots", "tstamp");

    @TempDir
    Path tmp;

    private int compared;
    private int differing;
    private double worst;
    private String worstAt = "";

    /** The tasks, their data by absolute path (the test runs in distributed/, the executors elsewhere). */
    private Path taskDir() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tasks"));
        Path copa = TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl");
        Path dialogues = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json");
        Files.writeString(dir.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: " + copa + "\nprompt: \"{query}\"\n");
        Files.writeString(dir.resolve("dialogue.yaml"), "name: dialogue\nkind: dialogue_loss\nfile: " + dialogues
                + "\nformat: sharegpt\ntemplate: vicuna_v1.1\n");
        // stories as llama2.c's run.c tells them greedily from stories260K, one document per paragraph
        StringBuilder docs = new StringBuilder();
        for (String p : Files.readString(TestData.require("models/stories260K/runc-greedy-256.txt")).split("\n")) {
            if (!p.isBlank()) {
                docs.append(JSON.writeValueAsString(Map.of("text", p.strip()))).append('\n');
            }
        }
        Path stories = Files.writeString(tmp.resolve("stories.jsonl"), docs.toString());
        Files.writeString(dir.resolve("stories.yaml"), "name: stories\nkind: perplexity\nfile: " + stories + "\n");
        return dir;
    }

    /** A PEFT LoRA adapter for stories260K with a non-zero B, so that it changes every score. */
    private Path adapter(Path stories) {
        Path dir = tmp.resolve("adapter");
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(stories), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 3);
            SplittableRandom r = new SplittableRandom(5);
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
    void twoExecutorsWriteTheSingleProcessReport() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        List<String> common = List.of("eval", "--model", model.toString(), "--tokenizer",
                TestData.require("models/stories260K/tok512.model").toString(), "--task-dir", taskDir().toString(),
                "--tasks", "copa,dialogue,stories", "--limit", "8", "--compare-adapter", adapter(model).toString());
        long t0 = System.nanoTime();
        run(common, "--out", tmp.resolve("single").toString());
        long t1 = System.nanoTime();
        String log = run(common, "--out", tmp.resolve("spark").toString(), "--spark", "local-cluster[2,1,1024]");
        long t2 = System.nanoTime();
        assertTrue(log.contains("spark: local-cluster[2,1,1024], application ") && log.contains("2 workers per task"), log);

        List<Path> files;
        try (Stream<Path> s = Files.walk(tmp.resolve("single"))) {
            files = s.filter(p -> p.toString().endsWith(".json") || p.toString().endsWith(".jsonl"))
                    .filter(p -> !p.toString().contains("tracking")).map(tmp.resolve("single")::relativize).sorted().toList();
        }
        for (String f : List.of("comparison.json", "base/results.json", "adapter/results.json", "base/samples/copa.jsonl",
                "adapter/samples/stories.jsonl", "adapter/samples/dialogue.jsonl")) {
            assertTrue(files.contains(Path.of(f)), f + " written: " + files);
        }
        for (Path f : files) {
            List<String> a = Files.readAllLines(tmp.resolve("single").resolve(f));
            List<String> b = Files.readAllLines(tmp.resolve("spark").resolve(f));
            if (f.toString().endsWith(".json")) {
                a = List.of(String.join("\n", a));
                b = List.of(String.join("\n", b));
            }
            assertEquals(a.size(), b.size(), f.toString());
            // the metrics to 1e-6 of their size; a single example's float32 log-likelihood (a sum over its tokens) to 1e-5
            double tolerance = f.toString().endsWith(".json") ? 1e-6 : 1e-5;
            for (int i = 0; i < a.size(); i++) {
                same(JSON.readTree(a.get(i)), JSON.readTree(b.get(i)), f + ":" + (i + 1), tolerance);
            }
        }
        JsonNode results = JSON.readTree(tmp.resolve("spark/adapter/results.json").toFile()).path("results");
        assertEquals(3, results.size(), results.toString());
        assertEquals(8, JSON.readTree(tmp.resolve("spark/base/results.json").toFile()).path("tasks").get(0).path("examples")
                .asInt());
        System.out.printf("eval: one process %.1f s, two executors %.1f s; %d numbers compared, %d differed (largest "
                + "relative difference %.3g, at %s)%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9, compared, differing, worst, worstAt);
    }

    /** A bad line found by a worker fails the job; the driver says what one process says, in one line, exit 2. */
    @Test
    void aBadDataLineOnAWorkerIsTheSingleProcessOneLineError() throws Exception {
        Path copa = TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(copa).subList(0, 6));
        lines.set(4, "{\"query\": \"no choices\"");
        Path data = Files.write(tmp.resolve("broken.jsonl"), lines);
        Path dir = Files.createDirectories(tmp.resolve("broken-tasks"));
        Files.writeString(dir.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: " + data + "\nprompt: \"{query}\"\n");
        List<String> args = List.of("eval", "--model", TestData.require("models/stories260K/stories260K.bin").toString(),
                "--tokenizer", TestData.require("models/stories260K/tok512.model").toString(), "--task-dir", dir.toString(),
                "--tasks", "copa", "--out", tmp.resolve("broken").toString());
        String single = failing(args);
        List<String> spark = new ArrayList<>(args);
        spark.addAll(List.of("--spark", "local[2]"));
        assertEquals(single, failing(spark));
        assertTrue(single.startsWith("error: " + data + ":5"), single);
    }

    /** Runs a command line that fails as a user error; returns its one line. */
    private static String failing(List<String> args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = Workbench.standard().run(args.toArray(new String[0]), capture);
        String log = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(2, code, log);
        List<String> errors = log.lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), log);
        return errors.get(0);
    }

    @Test
    void workersWithoutSparkIsAOneLineUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(new String[] {"eval", "--model", "m", "--tasks", "copa", "--workers", "2"},
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertEquals("error: eval: --workers applies with --spark only", err.toString(StandardCharsets.UTF_8).strip());
    }

    /**
     * {@code b} has {@code a}'s keys and values, numbers within {@code tolerance} of their size (at least 1), but for
     * {@link #UNCOMPARED} keys.
     */
    private void same(JsonNode a, JsonNode b, String where, double tolerance) {
        if (a.isNumber() && b.isNumber()) {
            compared++;
            double d = Math.abs(a.asDouble() - b.asDouble()) / Math.max(1, Math.abs(a.asDouble()));
            if (d != 0) {
                differing++;
                if (d > worst) {
                    worst = d;
                    worstAt = where;
                }
            }
            assertTrue(d <= tolerance, where + ": " + a + " vs " + b);
        } else if (a.isObject() && b.isObject()) {
            List<String> ka = new ArrayList<>();
            a.fieldNames().forEachRemaining(ka::add);
            List<String> kb = new ArrayList<>();
            b.fieldNames().forEachRemaining(kb::add);
            assertEquals(ka, kb, where);
            for (String k : ka) {
                if (!UNCOMPARED.contains(k)) {
                    same(a.get(k), b.get(k), where + " ." + k, tolerance);
                }
            }
        } else if (a.isArray() && b.isArray()) {
            assertEquals(a.size(), b.size(), where);
            Iterator<JsonNode> ib = b.elements();
            int i = 0;
            for (JsonNode x : a) {
                same(x, ib.next(), where + " [" + i++ + "]", tolerance);
            }
        } else if (!a.equals(b)) {
            fail(where + ": " + a + " vs " + b);
        }
    }

    /** Runs a command line; returns what it printed on standard error (where commands report). */
    private static String run(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code;
        System.setErr(capture);
        try {
            code = Workbench.standard().run(all.toArray(new String[0]), capture);
        } finally {
            System.setErr(stderr);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, log);
        return log;
    }
}
