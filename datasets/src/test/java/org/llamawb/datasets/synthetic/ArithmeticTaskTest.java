package org.llamawb.datasets.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ReadOptions;

class ArithmeticTaskTest {
    private static final Pattern QUESTION = Pattern.compile("What is (\\d+) ([-+*]) (\\d+)\\?.*");
    private static final Pattern ANSWER = Pattern.compile(ArithmeticTask.ANSWER_PATTERN);

    @Test
    void sameSeedSameFileOtherSeedOtherQuestions(@TempDir Path dir) throws Exception {
        ArithmeticTask t = ArithmeticTask.small();
        t.write(dir.resolve("a.jsonl"), ArithmeticTask.Kind.PAIRS, 50, 7);
        t.write(dir.resolve("b.jsonl"), ArithmeticTask.Kind.PAIRS, 50, 7);
        t.write(dir.resolve("c.jsonl"), ArithmeticTask.Kind.PAIRS, 50, 8);
        assertEquals(Files.readString(dir.resolve("a.jsonl")), Files.readString(dir.resolve("b.jsonl")));
        assertNotEquals(Files.readString(dir.resolve("a.jsonl")), Files.readString(dir.resolve("c.jsonl")));
    }

    @Test
    void promptsReadBackWithCorrectReferenceAnswers(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prompts.jsonl");
        ArithmeticTask.small().write(file, ArithmeticTask.Kind.PROMPTS, 300, 11);
        List<Example> read = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.PROMPTS));
        assertEquals(300, read.size());
        List<String> lines = Files.readAllLines(file);
        Set<Character> ops = new HashSet<>();
        for (int i = 0; i < read.size(); i++) {
            Prompt p = assertInstanceOf(Prompt.class, read.get(i));
            Matcher q = QUESTION.matcher(p.messages().get(0).content());
            assertTrue(q.matches(), p.messages().get(0).content());
            long a = Long.parseLong(q.group(1));
            long b = Long.parseLong(q.group(3));
            char op = q.group(2).charAt(0);
            ops.add(op);
            long expected = op == '+' ? a + b : op == '-' ? a - b : a * b;
            assertTrue(a <= (op == '*' ? 9 : 99) && b <= (op == '*' ? 9 : 99), "operands within range");
            assertTrue(lines.get(i).contains("\"answer\":\"" + expected + "\""), lines.get(i));
        }
        assertEquals(Set.of('+', '-', '*'), ops);
    }

    @Test
    void pairsStateRightAndWrongResultsInTheCheckedFormat(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pairs.jsonl");
        ArithmeticTask.small().write(file, ArithmeticTask.Kind.PAIRS, 200, 3);
        List<Example> read = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.PREFERENCE));
        assertEquals(200, read.size());
        for (Example e : read) {
            PreferencePair p = assertInstanceOf(PreferencePair.class, e);
            Matcher q = QUESTION.matcher(p.prompt().get(0).content());
            assertTrue(q.matches());
            long a = Long.parseLong(q.group(1));
            long b = Long.parseLong(q.group(3));
            long expected = switch (q.group(2)) {
                case "+" -> a + b;
                case "-" -> a - b;
                default -> a * b;
            };
            assertEquals(expected, finalAnswer(p.chosen().content()));
            assertNotEquals(expected, finalAnswer(p.rejected().content()));
        }
    }

    @Test
    void sftConversationsEndWithTheAnswer(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sft.jsonl");
        ArithmeticTask.small().write(file, ArithmeticTask.Kind.SFT, 20, 5);
        List<Example> read = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.OPENAI));
        Conversation c = assertInstanceOf(Conversation.class, read.get(0));
        assertEquals(2, c.messages().size());
        ArithmeticProblem p = ArithmeticTask.small().problems(1, 5).get(0);
        assertEquals(p.answer(), finalAnswer(c.messages().get(1).content()));
    }

    @Test
    void nearMissIsNeverRightAndRangesAreChecked() {
        SplittableRandom rng = new SplittableRandom(1);
        for (ArithmeticProblem p : new ArithmeticTask(3, 2).problems(500, 9)) {
            assertNotEquals(p.answer(), ArithmeticTask.nearMiss(p, rng), p.expression());
        }
        // 0 + 0 = 0 - 0: swapping the operation alone would not be wrong
        assertNotEquals(0L, ArithmeticTask.nearMiss(new ArithmeticProblem("z", 0, '+', 0), new SplittableRandom(3)));
        var e = assertThrows(IllegalArgumentException.class, () -> new ArithmeticTask(0, 9));
        assertTrue(e.getMessage().startsWith("--max-operand"));
        assertThrows(IllegalArgumentException.class, () -> ArithmeticTask.small().problems(0, 1));
    }

    private static long finalAnswer(String reply) {
        Matcher m = ANSWER.matcher(reply);
        assertTrue(m.find(), reply);
        return Long.parseLong(m.group(1));
    }
}
