package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What auto-detection chose from a file's first record: a format and, when the record has a known
 * other shape (two answers and a preference label, outputs in a list, question/answer pairs), the
 * columns that map it. {@link #note} says it in one line, with how to choose otherwise.
 *
 * @param columns the guessed mapping; empty when the record already has the format's own keys
 */
record Detection(DataFormat format, ColumnMapping columns, String note) {
    private static final List<String> ANSWER_PREFIXES = List.of("response", "output", "completion", "answer");
    private static final List<String[]> ANSWER_SUFFIXES = List.of(new String[] {"0", "1"}, new String[] {"1", "2"},
            new String[] {"a", "b"});
    private static final List<String> LABELS = List.of("better_response_id", "preference", "preferred", "winner",
            "choice");
    private static final List<String> PROMPTS = List.of("prompt", "instruction", "question", "query");
    private static final List<String[]> QA = List.of(new String[] {"question", "answer"},
            new String[] {"query", "response"}, new String[] {"prompt", "completion"},
            new String[] {"prompt", "response"});

    /** Detection of a record that was already mapped by the user's columns: its keys decide the format. */
    static Optional<Detection> ofMapped(JsonNode mapped, ColumnMapping columns, String file) {
        return DataFormat.detect(mapped).map(f -> new Detection(f, columns, file + ": detected format "
                + f.wireName() + " from the mapped keys " + keys(mapped) + "; set format: on the data source (--format)"
                + " to choose another"));
    }

    /** Detection of an unmapped record; empty when no format fits. */
    static Optional<Detection> of(JsonNode record, String file) {
        Optional<Detection> guess = guess(record, file);
        if (guess.isPresent()) {
            return guess;
        }
        return DataFormat.detect(record).map(f -> new Detection(f, ColumnMapping.NONE, file + ": detected format "
                + f.wireName() + " from the first record's keys " + keys(record) + "; set format: on the data source"
                + " (--format) to choose another"));
    }

    private static Optional<Detection> guess(JsonNode r, String file) {
        if (!r.isObject() || r.has("conversations") || r.has("messages")
                || (r.has("chosen") && r.has("rejected")) || r.has("output")) {
            return Optional.empty();
        }
        Map<String, String> m = new LinkedHashMap<>();
        DataFormat format = null;
        String label = LABELS.stream().filter(r::has).findFirst().orElse(null);
        String[] answers = label == null ? null : answerPair(r);
        if (answers != null) {
            // Two answers and a label naming the better one (PKU-SafeRLHF, AlpacaFarm, Chatbot Arena).
            String prompt = PROMPTS.stream().filter(r::has).findFirst().orElse(null);
            if (prompt != null) {
                m.put("prompt", prompt);
                if (r.has("input") && !prompt.equals("input")) {
                    m.put("input", "input");
                }
                m.put("answer_a", answers[0]);
                m.put("answer_b", answers[1]);
                m.put("preferred", label);
                format = DataFormat.PREFERENCE;
            }
        } else if (r.has("outputs") && r.get("outputs").isArray()) {
            // Instruction data whose answers sit in a list: the first is the output.
            String instruction = PROMPTS.stream().filter(r::has).findFirst().orElse(null);
            if (instruction != null) {
                if (!instruction.equals("instruction")) {
                    m.put("instruction", instruction);
                }
                m.put("output", r.get("outputs").size() == 1 ? "outputs" : "outputs[0]");
                format = DataFormat.ALPACA;
            }
        } else if (!r.has("instruction") && !r.has("label")) {
            // (with a label, prompt/completion is TRL's unpaired preference shape, not instruction data)
            for (String[] qa : QA) {
                if (r.has(qa[0]) && r.has(qa[1]) && r.get(qa[0]).isTextual()) {
                    m.put("instruction", qa[0]);
                    m.put("output", qa[1]);
                    format = DataFormat.ALPACA;
                    break;
                }
            }
        }
        if (format == null) {
            return Optional.empty();
        }
        ColumnMapping columns = new ColumnMapping(m);
        return Optional.of(new Detection(format, columns, file + ": guessed format " + format.wireName()
                + " with columns " + columns + " from the first record's keys " + keys(r)
                + "; if that is wrong, set format: and columns: on the data source (--format, --columns)"));
    }

    /** Two answer fields with a common prefix and paired suffixes (response_0/response_1, output_1/output_2). */
    private static String[] answerPair(JsonNode r) {
        for (String p : ANSWER_PREFIXES) {
            for (String[] s : ANSWER_SUFFIXES) {
                for (String sep : new String[] {"_", ""}) {
                    String a = p + sep + s[0];
                    String b = p + sep + s[1];
                    if (r.has(a) && r.has(b)) {
                        return new String[] {a, b};
                    }
                }
            }
        }
        return null;
    }

    static String keys(JsonNode node) {
        if (!node.isObject()) {
            return "(a JSON " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + ")";
        }
        StringBuilder sb = new StringBuilder("{");
        node.fieldNames().forEachRemaining(k -> sb.append(sb.length() > 1 ? ", " : "").append(k));
        return sb.append("}").toString();
    }
}
