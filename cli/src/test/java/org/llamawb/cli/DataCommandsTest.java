package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.TestData;

/** {@code workbench data inspect|validate} on real data and on a file with every kind of problem. */
class DataCommandsTest {
    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    private int run(String... args) {
        Workbench w = new Workbench(List.of(new DataInspectCommand(out), new DataValidateCommand(out),
                new DataBenchCommand(out)));
        return w.run(args, err);
    }

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private static String tokenizer() {
        return TestData.require("tokenizers/llama/tokenizer.model").toString();
    }

    @Test
    void validateListsFileLineReasonAndExitsTwo(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, String.join("\n",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, ",
                "{\"messages\": [{\"role\": \"robot\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
                "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"Yo\"}]}") + "\n");
        int code = run("data", "validate", "--data", bad.toString(), "--tokenizer", tokenizer(), "--template", "gemma.jinja");
        assertEquals(2, code, errBytes.toString(StandardCharsets.UTF_8));
        assertTrue(errBytes.toString(StandardCharsets.UTF_8).startsWith("error: gemma.jinja: cannot read the chat template"));
        Path gemma = dir.resolve("gemma.jinja");
        Files.writeString(gemma, "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                + "{% endif %}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");
        code = run("data", "validate", "--data", bad.toString(), "--tokenizer", tokenizer(), "--template", gemma.toString());
        assertEquals(2, code);
        List<String> lines = out().lines().toList();
        assertEquals(bad + ":2: malformed JSON: Unexpected end-of-input within/between Array entries at column 50", lines.get(0));
        assertEquals(bad + ":3: unknown role 'robot' in 'messages[0].role' (expected system, user or assistant)", lines.get(1));
        assertEquals(bad + ":4: empty assistant turn (turn 2)", lines.get(2));
        assertEquals(bad + ":5: missing assistant turn", lines.get(3));
        assertEquals(bad + ":6: rejected by the chat template (chat template " + gemma
                + ": raise_exception: System role not supported)", lines.get(4));
        assertTrue(out().contains("records: 6 read, 4 skipped"), out());
        assertTrue(out().endsWith("problems: 5\n"), out());
    }

    @Test
    void validateACleanRealFileExitsZero() {
        String data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toString();
        assertEquals(0, run("data", "validate", "--data", data, "--tokenizer", tokenizer()));
        assertTrue(out().contains("examples: 500 encoded, 0 truncated, 0 dropped"), out());
        assertTrue(out().endsWith("ok: no problems\n"), out());
    }

    @Test
    void inspectMarksTheTrainedTokensAndPrintsStatistics() {
        String data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toString();
        assertEquals(0, run("data", "inspect", "--data", data, "--tokenizer", tokenizer(), "--template", "vicuna_v1.1",
                "--show", "1", "--color", "never"));
        String o = out();
        assertTrue(o.startsWith("--- " + data + ":2 (identity_0)\nA chat between a curious user and an artificial intelligence"
                + " assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: Who"
                + " are you? ASSISTANT:[[ I am Vicuna, a language model trained by researchers from Large Model Systems"
                + " Organization (LMSYS).</s>]]USER: Have a nice day! ASSISTANT:[[ You too!</s>]]\n("), o);
        assertTrue(o.contains("file: " + data + " (sharegpt), template vicuna_v1.1"), o);
        assertTrue(o.contains("tokens per example: p50 "), o);
        assertTrue(o.matches("(?s).*tokens: \\d+, trained \\d+ \\(\\d+\\.\\d%\\).*"), o);
        assertEquals(1, o.split("\n--- ", -1).length, "one example shown");
    }

    @Test
    void benchPrintsOneJsonLine() {
        String data = TestData.require("sft/oasst-en100/en_100_tree.jsonl").toString();
        assertEquals(0, run("data", "bench", "--data", data, "--tokenizer",
                TestData.require("models/stories260K/tok512.model").toString(), "--template", "vicuna_v1.1",
                "--max-length", "2048", "--repeats", "1"));
        assertTrue(out().startsWith("{\"bench\": \"data\", \"impl\": \"java-djl\", \"file\": \"" + data
                + "\", \"template\": \"vicuna_v1.1\", \"max_length\": 2048, \"examples\": 100,"), out());
    }

    @Test
    void aMissingRequiredFlagIsOneLineAndExitTwo() {
        assertEquals(2, run("data", "inspect", "--data", "x.json"));
        assertEquals("error: missing required flag --tokenizer (workbench data inspect --help)\n",
                errBytes.toString(StandardCharsets.UTF_8));
    }
}
