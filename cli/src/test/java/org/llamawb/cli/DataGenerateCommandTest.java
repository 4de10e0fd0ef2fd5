package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code workbench data generate --task arithmetic}. */
class DataGenerateCommandTest {
    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

    private int run(String... args) {
        Workbench w = new Workbench(List.of(new DataGenerateCommand(new PrintStream(outBytes, true, StandardCharsets.UTF_8))));
        return w.run(args, new PrintStream(errBytes, true, StandardCharsets.UTF_8));
    }

    @Test
    void writesPromptsAndPairsOfTheSameQuestions(@TempDir Path dir) throws Exception {
        Path prompts = dir.resolve("p.jsonl");
        Path pairs = dir.resolve("pairs.jsonl");
        assertEquals(0, run("data", "generate", "--task", "arithmetic", "--out", prompts.toString(), "--n", "12",
                "--seed", "4"));
        assertEquals(0, run("data", "generate", "--task", "arithmetic", "--out", pairs.toString(), "--n", "12",
                "--seed", "4", "--pairs"));
        List<String> p = Files.readAllLines(prompts);
        List<String> q = Files.readAllLines(pairs);
        assertEquals(12, p.size());
        assertEquals(12, q.size());
        assertTrue(p.get(0).startsWith("{\"id\":\"arithmetic-4-0\",\"messages\":[{\"role\":\"user\",\"content\":\"What is "),
                p.get(0));
        String question = p.get(0).substring(p.get(0).indexOf("What is"), p.get(0).indexOf('?'));
        assertTrue(q.get(0).contains(question) && q.get(0).contains("\"rejected\""), q.get(0));
        assertTrue(outBytes.toString(StandardCharsets.UTF_8).contains("wrote 12 arithmetic records to " + prompts
                + " (--format prompts"));
    }

    @Test
    void badFlagsAreOneLineUsageErrors(@TempDir Path dir) {
        assertEquals(2, run("data", "generate", "--task", "algebra", "--out", dir.resolve("x").toString()));
        assertEquals("error: --task: unknown task 'algebra'; expected arithmetic\n",
                errBytes.toString(StandardCharsets.UTF_8));
        errBytes.reset();
        assertEquals(2, run("data", "generate", "--task", "arithmetic", "--out", dir.resolve("x").toString(), "--n", "0"));
        assertEquals("error: --n must be >= 1, got 0\n", errBytes.toString(StandardCharsets.UTF_8));
    }
}
