package org.llamawb.datasets.synthetic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Small arithmetic questions with verifiable answers, generated from a seed: sums and differences of operands up
 * to {@code maxOperand}, products of operands up to {@code maxFactor}. The same seed gives the same file.
 *
 * <p>Three record shapes (one JSON object per line):
 * <ul>
 *   <li>{@link Kind#PROMPTS} ({@code --format prompts}): {@code {id, messages: [user], answer}}; {@code answer} is
 *       the reference the {@code exact_answer} rule reward compares with ({@link #ANSWER_PATTERN} extracts it);
 *   <li>{@link Kind#PAIRS} ({@code --format preference}): {@code {id, prompt: [user], chosen: [assistant],
 *       rejected: [assistant], answer}}; chosen states the right result, rejected a near miss;
 *   <li>{@link Kind#SFT} ({@code --format openai}): {@code {id, messages: [user, assistant], answer}}.
 * </ul>
 *
 * @param maxOperand largest operand of {@code +} and {@code -} (≥ 1)
 * @param maxFactor largest operand of {@code *} (≥ 1)
 */
public record ArithmeticTask(int maxOperand, int maxFactor) {
    /** The words before the final answer in every reply. */
    public static final String ANSWER_PREFIX = "The answer is";
    /** A regular expression whose group 1 is the final answer of a reply. */
    public static final String ANSWER_PATTERN = ANSWER_PREFIX + " (-?\\d+)";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Which records to write. */
    public enum Kind {
        PROMPTS,
        PAIRS,
        SFT
    }

    public ArithmeticTask {
        if (maxOperand < 1 || maxOperand > 1_000_000) {
            throw new IllegalArgumentException("--max-operand must be within [1, 1000000], got " + maxOperand);
        }
        if (maxFactor < 1 || maxFactor > 1_000_000) {
            throw new IllegalArgumentException("--max-factor must be within [1, 1000000], got " + maxFactor);
        }
    }

    /** Two-digit sums and differences, one-digit products: small enough for a tiny model to learn. */
    public static ArithmeticTask small() {
        return new ArithmeticTask(99, 9);
    }

    /** {@code n} problems drawn from {@code seed}. */
    public List<ArithmeticProblem> problems(int n, long seed) {
        if (n < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + n);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        List<ArithmeticProblem> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            char op = "+-*".charAt(rng.nextInt(3));
            int max = op == '*' ? maxFactor : maxOperand;
            out.add(new ArithmeticProblem("arithmetic-" + seed + "-" + i, rng.nextInt(max + 1), op,
                    rng.nextInt(max + 1)));
        }
        return out;
    }

    /**
     * A wrong result close to the right one, as a model would get it wrong: off by one, off by ten, or (for sums
     * and differences) the other operation. Never equal to the answer.
     */
    public static long nearMiss(ArithmeticProblem p, SplittableRandom rng) {
        long right = p.answer();
        long wrong = switch (rng.nextInt(4)) {
            case 0 -> right + 1;
            case 1 -> right - 1;
            case 2 -> right + (rng.nextBoolean() ? 10 : -10);
            default -> switch (p.op()) {
                case '+' -> p.left() - p.right();
                case '-' -> p.left() + p.right();
                default -> right + p.left(); // one factor too many
            };
        };
        return wrong == right ? right + 1 : wrong;
    }

    /** The JSON record of one problem; {@code rng} draws the rejected result of a pair. */
    public static ObjectNode record(ArithmeticProblem p, Kind kind, SplittableRandom rng) {
        ObjectNode r = JSON.createObjectNode();
        r.put("id", p.id());
        ArrayNode user = JSON.createArrayNode().add(message("user", p.question()));
        switch (kind) {
            case PROMPTS -> r.set("messages", user);
            case SFT -> r.set("messages", user.add(message("assistant", p.reply(p.answer()))));
            case PAIRS -> {
                r.set("prompt", user);
                r.set("chosen", JSON.createArrayNode().add(message("assistant", p.reply(p.answer()))));
                r.set("rejected", JSON.createArrayNode().add(message("assistant", p.reply(nearMiss(p, rng)))));
            }
        }
        r.put("answer", Long.toString(p.answer()));
        return r;
    }

    /** Writes {@code n} records of {@code kind} drawn from {@code seed} to {@code out} (JSONL, UTF-8). */
    public void write(Path out, Kind kind, int n, long seed) throws IOException {
        // a second stream for the wrong answers, so prompts and pairs of one seed ask the same questions
        SplittableRandom wrongs = new SplittableRandom(seed ^ 0x5DEECE66DL);
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (ArithmeticProblem p : problems(n, seed)) {
                w.write(JSON.writeValueAsString(record(p, kind, wrongs)));
                w.write('\n');
            }
        }
    }

    private static ObjectNode message(String role, String content) {
        return JSON.createObjectNode().put("role", role).put("content", content);
    }
}
