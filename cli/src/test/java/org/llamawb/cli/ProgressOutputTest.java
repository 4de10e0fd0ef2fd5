package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/** Conversion and evaluation report progress on stderr; off a terminal (as here), as plain lines. */
class ProgressOutputTest {
    @TempDir
    Path tmp;

    /** stderr of {@code args}, with System.err captured (progress is written there). */
    static String stderrOf(String... args) {
        PrintStream saved = System.err;
        PrintStream savedOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            int code = Workbench.standard().run(args, new PrintStream(errors, true, StandardCharsets.UTF_8));
            assertEquals(0, code, errors.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
            System.setOut(savedOut);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    static List<String> linesStartingWith(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).toList();
    }

    @Test
    void convertCountsTensors() {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        String err = stderrOf("model", "convert", "--model", stories.toString(), "--out", tmp.resolve("hf").toString());
        int saved;
        try (Checkpoint c = Checkpoint.open(tmp.resolve("hf"))) {
            saved = c.weights().names().size();
        }
        List<String> lines = linesStartingWith(err, "convert: ");
        assertTrue(!lines.isEmpty(), err);
        for (String l : lines.subList(0, lines.size() - 1)) {
            assertTrue(l.matches("convert: \\d+% \\(\\d+ of " + saved + " tensors\\).*"), l);
        }
        String last = lines.get(lines.size() - 1);
        assertTrue(last.matches("convert: " + saved + " tensors in \\d+:\\d\\d  [0-9.]+ tensors/s"), last);
        assertTrue(!err.contains("\r"), "no redrawing off a terminal");
    }

    @Test
    void evalCountsRequests() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tasks"));
        Path data = TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl");
        Files.writeString(dir.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: " + data + "\nprompt: \"{query}\"\n");
        Supplier<String> model = () -> TestData.require("models/stories260K/stories260K.bin").toString();
        String err = stderrOf("eval", "--model", model.get(), "--tokenizer",
                TestData.require("models/stories260K/tok512.model").toString(), "--task-dir", dir.toString(),
                "--tasks", "copa", "--limit", "5", "--out", tmp.resolve("eval").toString());
        List<String> lines = linesStartingWith(err, "copa: ").stream().filter(l -> l.contains("request")).toList();
        assertTrue(!lines.isEmpty(), err);
        // Five two-choice questions: ten requests.
        for (String l : lines.subList(0, lines.size() - 1)) {
            assertTrue(l.matches("copa: \\d+% \\(\\d+ of 10 requests\\).*"), l);
        }
        String last = lines.get(lines.size() - 1);
        assertTrue(last.matches("copa: 10 requests in \\d+:\\d\\d  [0-9.]+ requests/s"), last);
    }
}
