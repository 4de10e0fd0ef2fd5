package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/**
 * A data source's {@code columns:}: which field of a record holds each key a format reads, for files whose
 * fields have other names or shapes (LLaMA-Factory's {@code columns}, Axolotl's {@code field_*}).
 *
 * <pre>
 * columns: {instruction: question, output: answer}          # question/answer files
 * columns: {output: "outputs[0]"}                            # outputs nested in a list
 * columns: {prompt: prompt, answer_a: response_0, answer_b: response_1, preferred: better_response_id}
 * </pre>
 *
 * <p>A value is a field path: {@code name}, {@code a.b} (a field of an object) or {@code name[0]} (an
 * element of a list). Each mapped key is set on a copy of the record and the format decoder then reads it
 * as usual; other fields stay. A list of plain values holding exactly one stands for that value (so
 * {@code output: outputs} reads {@code outputs: ["..."]}); a longer one must be indexed. Lists of messages
 * or turns are passed on whole.
 *
 * <p>{@code answer_a}, {@code answer_b} and {@code preferred} describe a pairwise preference file with two
 * answers and a label instead of {@code chosen}/{@code rejected}: the label names the preferred answer by
 * the suffix of its field name, so {@code better_response_id: 1} picks {@code response_1}, AlpacaFarm's
 * {@code preference: 2} picks {@code output_2}, {@code winner: model_a} picks {@code response_a}; the label
 * may also be the field name itself. A label naming neither answer (a tie) makes the record a problem.
 * With {@code prompt} and {@code input} both mapped, a non-empty input is joined to the prompt after a
 * newline, as the Alpaca readers join instruction and input.
 *
 * @param fields target key → field path in the file, in the order given
 */
public record ColumnMapping(Map<String, String> fields) {
    /** The keys the formats read (recipe key {@code data.sources[].columns}). */
    public static final Set<String> TARGETS = Set.of("instruction", "input", "output", "system", "history",
            "conversations", "messages", "prompt", "chosen", "rejected", "completion", "label", "id", "answer_a",
            "answer_b", "preferred");
    private static final Set<String> PAIR = Set.of("answer_a", "answer_b", "preferred");

    public ColumnMapping {
        fields = fields == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (!TARGETS.contains(e.getKey())) {
                throw new BadInputException("data.sources[].columns: unknown key '" + e.getKey() + "'; expected one of "
                        + TARGETS.stream().sorted().collect(Collectors.joining(", ")));
            }
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new BadInputException("data.sources[].columns." + e.getKey() + " must name a field");
            }
            FieldPath.parse(e.getValue(), "data.sources[].columns." + e.getKey());
        }
        long pair = fields.keySet().stream().filter(PAIR::contains).count();
        if (pair != 0 && pair != 3) {
            throw new BadInputException("data.sources[].columns: answer_a, answer_b and preferred go together"
                    + " (two answers and the label that names the preferred one)");
        }
        if (pair == 3 && (fields.containsKey("chosen") || fields.containsKey("rejected"))) {
            throw new BadInputException("data.sources[].columns: map either chosen/rejected or answer_a/answer_b/"
                    + "preferred, not both");
        }
    }

    /** No mapping. */
    public static final ColumnMapping NONE = new ColumnMapping(Map.of());

    /**
     * Parses the CLI form {@code key=field,key=field} ({@code --columns}).
     *
     * @throws BadInputException naming the flag when an entry is not {@code key=field}
     */
    public static ColumnMapping parse(String flag, String spec) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0 || eq == part.length() - 1) {
                throw new BadInputException(flag + ": expected key=field[,key=field...], got '" + part.trim() + "'");
            }
            m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        try {
            return new ColumnMapping(m);
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage().replace("data.sources[].columns", flag));
        }
    }

    public boolean isEmpty() {
        return fields.isEmpty();
    }

    /** A copy of {@code record} with each mapped key set from its field. */
    JsonNode apply(JsonNode record) throws BadRecord {
        if (fields.isEmpty() || !record.isObject()) {
            return record;
        }
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.setAll((ObjectNode) record);
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (!PAIR.contains(e.getKey())) {
                out.set(e.getKey(), value(record, e.getKey(), e.getValue()));
            }
        }
        if (fields.containsKey("preferred")) {
            choose(record, out);
        }
        JsonNode prompt = out.get("prompt");
        JsonNode input = out.get("input");
        if (fields.containsKey("prompt") && fields.containsKey("input") && prompt.isTextual() && input.isTextual()
                && !input.asText().isEmpty()) {
            out.put("prompt", prompt.asText() + "\n" + input.asText());
        }
        return out;
    }

    /** Sets chosen/rejected from the two answers and the label. */
    private void choose(JsonNode record, ObjectNode out) throws BadRecord {
        String a = fields.get("answer_a");
        String b = fields.get("answer_b");
        JsonNode label = value(record, "preferred", fields.get("preferred"));
        if (!label.isTextual() && !label.isIntegralNumber()) {
            throw new BadRecord("preference label '" + fields.get("preferred") + "' must be a number or a string, got "
                    + label.getNodeType().name().toLowerCase(Locale.ROOT));
        }
        String l = label.asText().trim();
        boolean isA = names(l, a);
        boolean isB = names(l, b);
        if (isA == isB) {
            throw new BadRecord("preference label " + fields.get("preferred") + "=" + label + " names "
                    + (isA ? "both " + a + " and " : "neither " + a + " nor ") + b + " (expected " + suffix(a) + " or "
                    + suffix(b) + ")");
        }
        out.set("chosen", value(record, isA ? "answer_a" : "answer_b", isA ? a : b));
        out.set("rejected", value(record, isA ? "answer_b" : "answer_a", isA ? b : a));
    }

    /** Whether a label value names the answer field at {@code path}. */
    static boolean names(String label, String path) {
        String field = FieldPath.lastName(path);
        if (label.equalsIgnoreCase(field) || label.equalsIgnoreCase(path)) {
            return true;
        }
        String s = suffix(field);
        String labelSuffix = suffix(label);
        return !s.isEmpty() && (label.equalsIgnoreCase(s) || (!labelSuffix.equals(label) && labelSuffix.equalsIgnoreCase(s)));
    }

    /** What follows the last '_' or '-' of a field name, or its trailing digits ("response_1" → "1"). */
    static String suffix(String name) {
        int cut = Math.max(name.lastIndexOf('_'), name.lastIndexOf('-'));
        if (cut >= 0) {
            return name.substring(cut + 1);
        }
        int i = name.length();
        while (i > 0 && Character.isDigit(name.charAt(i - 1))) {
            i--;
        }
        return name.substring(i);
    }

    private static JsonNode value(JsonNode record, String target, String path) throws BadRecord {
        JsonNode v = FieldPath.parse(path, target).resolve(record);
        if (v == null) {
            throw new BadRecord("missing field '" + path + "' (columns." + target + ")");
        }
        // A list of plain values stands for its one value (outputs: ["..."]); lists of turns or messages, and
        // the keys whose value is a list (history: [[q, a]]), are passed on as they are.
        boolean plainList = v.isArray() && !v.isEmpty() && java.util.stream.StreamSupport.stream(v.spliterator(), false)
                .allMatch(JsonNode::isValueNode);
        if (plainList && !target.equals("history")) {
            if (v.size() != 1) {
                throw new BadRecord("field '" + path + "' (columns." + target + ") is a list of " + v.size()
                        + " values; pick one with " + path + "[0]");
            }
            v = v.get(0);
        }
        return v;
    }

    @Override
    public String toString() {
        return fields.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
    }

    /** A field path: names separated by '.', each optionally followed by list indexes {@code [n]}. */
    record FieldPath(List<Object> steps) {
        static FieldPath parse(String path, String key) {
            List<Object> steps = new ArrayList<>();
            for (String part : path.split("\\.", -1)) {
                int br = part.indexOf('[');
                String name = br < 0 ? part : part.substring(0, br);
                if (name.isEmpty()) {
                    throw new BadInputException(key + ": '" + path + "' is not a field path (name, a.b or name[0])");
                }
                steps.add(name);
                while (br >= 0) {
                    int close = part.indexOf(']', br);
                    String digits = close < 0 ? "" : part.substring(br + 1, close);
                    if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)
                            || (close + 1 < part.length() && part.charAt(close + 1) != '[')) {
                        throw new BadInputException(key + ": '" + path + "' is not a field path (name, a.b or name[0])");
                    }
                    steps.add(Integer.parseInt(digits));
                    br = close + 1 < part.length() ? close + 1 : -1;
                }
            }
            return new FieldPath(steps);
        }

        static String lastName(String path) {
            String s = path;
            int br = s.indexOf('[', s.lastIndexOf('.') + 1);
            if (br >= 0) {
                s = s.substring(0, br);
            }
            return s.substring(s.lastIndexOf('.') + 1);
        }

        /** The value at this path, or null when a step is absent or null. */
        JsonNode resolve(JsonNode root) {
            JsonNode n = root;
            for (Object step : steps) {
                n = step instanceof Integer i ? (n.isArray() ? n.get(i) : null) : (n.isObject() ? n.get((String) step) : null);
                if (n == null || n.isNull()) {
                    return null;
                }
            }
            return n;
        }
    }
}
