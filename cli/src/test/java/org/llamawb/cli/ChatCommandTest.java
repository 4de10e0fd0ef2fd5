package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * A chat piped through stdin: every streamed reply equals a one-shot greedy {@code generate} of the
 * conversation rendered so far, and later turns feed only their new tokens.
 */
class ChatCommandTest {
    private static final Pattern STATS = Pattern.compile("\\[prompt (\\d+) tokens: (\\d+) fed, (\\d+) from the cache; reply (\\d+) tokens]");

    record Turn(int prompt, int fed, int cached) {}

    static String model() {
        return TestData.require("models/stories260K/stories260K.bin").toString();
    }

    /** {@code workbench generate --prompt TEXT} greedily; its stdout without the final newline. */
    static String oneShot(String renderedConversation) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Workbench.standard().run(new String[] {"generate", "--model", model(), "--prompt", renderedConversation,
                    "--temperature", "0", "--max-new-tokens", "30"}, new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n"));
        return text.substring(0, text.length() - 1);
    }

    @Test
    void pipedSessionRepliesEqualOneShotGenerationAndReuseTheCache() {
        String session = String.join("\n", "Once upon a time", "", "Tell me about the cat", "/system You are a storyteller.",
                "What happened next?", "/frobnicate", "/reset", "Hello", "/exit", "never read") + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ChatCommand chat = new ChatCommand(new ByteArrayInputStream(session.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        int code = new Workbench(List.of(chat)).run(new String[] {"chat", "--model", model(), "--template", "vicuna_v1.1",
                "--temperature", "0", "--max-new-tokens", "30", "--stats"}, new PrintStream(err, true, StandardCharsets.UTF_8));
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, stderr);

        // The same conversation, each turn rendered whole and generated from scratch.
        var vicuna = BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.LLAMA);
        StringBuilder expected = new StringBuilder();
        List<Message> turns = new ArrayList<>();
        List<String> rendered = new ArrayList<>();
        String system = null;
        for (String line : new String[] {"Once upon a time", "Tell me about the cat", "/system", "What happened next?",
                "/reset", "Hello"}) {
            if (line.equals("/system")) {
                system = "You are a storyteller.";
                continue;
            }
            if (line.equals("/reset")) {
                turns.clear();
                continue;
            }
            List<Message> conversation = new ArrayList<>();
            if (system != null) {
                conversation.add(Message.system(system));
            }
            conversation.addAll(turns);
            conversation.add(Message.user(line));
            rendered.add(vicuna.render(conversation, true).text());
            String reply = oneShot(rendered.get(rendered.size() - 1));
            expected.append(reply).append('\n');
            turns.add(Message.user(line));
            turns.add(Message.assistant(reply));
        }
        assertEquals(expected.toString(), out.toString(StandardCharsets.UTF_8));
        assertTrue(expected.length() > 20, "the model said something: " + expected);

        List<Turn> stats = new ArrayList<>();
        Matcher m = STATS.matcher(stderr);
        while (m.find()) {
            stats.add(new Turn(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))));
        }
        assertEquals(4, stats.size(), "one reply per user line, none after /exit: " + stderr);
        assertTrue(stderr.contains("unknown chat command /frobnicate"), stderr);
        for (Turn t : stats) {
            assertEquals(t.prompt(), t.fed() + t.cached());
        }
        assertEquals(0, stats.get(0).cached(), "the first turn is computed whole");
        // The second turn extends the first prompt and its reply: the whole first prompt comes from the cache.
        assertTrue(stats.get(1).cached() >= stats.get(0).prompt(), stats.toString());
        assertTrue(stats.get(1).fed() < stats.get(1).prompt() / 2, stats.toString());
        // A new system message changes the text right after BOS: only the tokens before the first differing one
        // are kept (BOS, and tok512's lone leading-space piece).
        try (LlamaTokenizer tok = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.bin"))) {
            int[] before = tok.encode(rendered.get(1), true);
            int[] after = tok.encode(rendered.get(2), true);
            int common = 0;
            while (before[common] == after[common]) {
                common++;
            }
            assertTrue(common <= 2, "differs right after BOS: " + common);
            assertEquals(common, stats.get(2).cached(), stats.toString());
        }
        // After /reset the system message and the first "USER:" are still shared.
        assertTrue(stats.get(3).cached() > 1 && stats.get(3).fed() < stats.get(3).prompt(), stats.toString());
    }

    @Test
    void aModelWithoutChatTemplateNeedsTemplateFlag() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ChatCommand chat = new ChatCommand(new ByteArrayInputStream(new byte[0]), System.out, System.err);
        int code = new Workbench(List.of(chat)).run(new String[] {"chat", "--model", model()},
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("error: the model has no chat_template; pass --template NAME"),
                err.toString(StandardCharsets.UTF_8));
    }
}
