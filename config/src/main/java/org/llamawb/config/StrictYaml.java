package org.llamawb.config;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/**
 * The one YAML binder: a document is parsed into a tree (a key given twice is refused, not silently
 * replaced), {@code --set key.path=value} overrides are applied to the tree, and the tree is bound to a
 * record strictly (unknown keys, wrong types, floats for integers and failed validations are refused).
 * Every failure is one {@link BadInputException} line naming where it came from ({@code FILE: line N} or
 * {@code --set ASSIGNMENT}) and the key.
 *
 * <p>Keys are snake_case: a record component {@code learningRate} is the key {@code learning_rate}
 * (an explicit {@code @JsonProperty} wins). Only record components are keys, never derived accessors.
 */
public final class StrictYaml {
    private static final YAMLMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .build())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            // the parser refuses `train:` twice (Jackson would keep the last one and drop the first)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // `max_steps: 2.5` is not 2 steps: an integer key takes integers only
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            // a document is its record components: derived accessors (isLora(), settings()) are not keys
            .visibility(PropertyAccessor.ALL, JsonAutoDetect.Visibility.NONE)
            .visibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
            .build();

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate (?:field|Object property) '([^']*)'");

    private StrictYaml() {}

    /**
     * Reads {@code file}, applies {@code sets} and binds the result as a {@code type}; {@code what} names the
     * document in messages ("recipe", "task", "eval recipe").
     */
    public static <T> T load(Path file, Class<T> type, String what, List<String> sets) {
        String text = readText(file, what);
        ObjectNode tree = parseTree(text, file.toString(), what);
        for (String s : sets) {
            set(tree, s);
        }
        return bind(tree, type, new Origin(file.toString(), what, text, sets));
    }

    /** Reads {@code file} as a {@code type}. */
    public static <T> T read(Path file, Class<T> type, String what) {
        return load(file, type, what, List.of());
    }

    /** Parses YAML text as a {@code type}; {@code source} names it in messages. */
    public static <T> T parse(String text, String source, Class<T> type, String what) {
        return bind(parseTree(text, source, what), type, new Origin(source, what, text, List.of()));
    }

    /** Applies {@code sets} to an already bound {@code value} and binds (so validates) the result again. */
    public static <T> T override(T value, Class<T> type, String what, List<String> sets) {
        if (sets.isEmpty()) {
            return value;
        }
        ObjectNode tree = YAML.valueToTree(value);
        for (String s : sets) {
            set(tree, s);
        }
        return bind(tree, type, new Origin("--set", what, null, sets));
    }

    /** The document in {@code file} as a tree (a mapping; an empty file is an empty mapping). */
    public static ObjectNode readTree(Path file, String what) {
        return parseTree(readText(file, what), file.toString(), what);
    }

    /**
     * Applies one {@code --set a.b.c=value} to a tree: the value is read as YAML ({@code 3}, {@code 2e-4},
     * {@code true}, {@code [q_proj, v_proj]}; nothing after {@code =} is null) and missing sections are
     * created. Whether the key exists is decided when the tree is bound, with the list of valid keys.
     */
    public static void set(ObjectNode tree, String assignment) {
        int eq = assignment.indexOf('=');
        String key = eq <= 0 ? "" : assignment.substring(0, eq).trim();
        String[] parts = key.split("\\.", -1);
        if (key.isEmpty() || List.of(parts).contains("")) {
            throw new BadInputException("--set " + assignment + ": expected key.path=value");
        }
        String raw = assignment.substring(eq + 1);
        JsonNode value;
        try {
            value = raw.isBlank() ? NullNode.getInstance() : YAML.readTree(raw);
        } catch (JsonProcessingException e) {
            throw new BadInputException("--set " + assignment + ": not a YAML value (" + firstLine(e.getOriginalMessage())
                    + "); quote it: " + key + "='...'");
        }
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || !child.isObject()) {
                child = node.putObject(parts[i]);
            }
            node = (ObjectNode) child;
        }
        node.set(parts[parts.length - 1], value == null || value.isMissingNode() ? NullNode.getInstance() : value);
    }

    /** Binds a tree strictly; {@code source} names it in messages (no line numbers: there is no text). */
    public static <T> T bind(JsonNode tree, Class<T> type, String source, String what) {
        return bind(tree, type, new Origin(source, what, null, List.of()));
    }

    /** Writes a record back as YAML with the same keys it is read with (a resolved recipe round-trips). */
    public static String toYaml(Object value) {
        try {
            return YAML.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as YAML", e);
        }
    }

    /** A record flattened to {@code section.key -> value} (for run parameters). */
    public static Map<String, String> flatten(Object value) {
        Map<String, String> out = new TreeMap<>();
        flatten("", YAML.valueToTree(value), out);
        return out;
    }

    private static void flatten(String prefix, JsonNode n, Map<String, String> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out));
        } else if (n.isNull()) {
            out.put(prefix, "null");
        } else if (n.isValueNode()) {
            out.put(prefix, n.asText());
        } else {
            out.put(prefix, n.toString());
        }
    }

    /** Where a tree came from: the text (for line numbers) and the overrides applied to it. */
    private record Origin(String source, String what, String text, List<String> sets) {}

    private static String readText(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": " + what + " not found");
        }
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read " + what + " (" + e.getMessage() + ")");
        }
    }

    private static ObjectNode parseTree(String text, String source, String what) {
        JsonNode n;
        try {
            n = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            Matcher dup = DUPLICATE.matcher(String.valueOf(e.getOriginalMessage()));
            if (dup.find()) {
                throw new BadInputException(source + ": " + line(e.getLocation()) + "duplicate key '"
                        + duplicatePath(e, dup.group(1)) + "' in " + what + " (a key may appear once; the earlier value would be lost)");
            }
            throw new BadInputException(source + ": " + line(e.getLocation()) + "not valid YAML ("
                    + firstLine(e.getOriginalMessage()) + ")");
        }
        if (n == null || n.isMissingNode() || n.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!n.isObject()) {
            throw new BadInputException(source + ": a " + what + " must be a YAML mapping of keys, got " + n.getNodeType().name().toLowerCase());
        }
        return (ObjectNode) n;
    }

    /** {@code section.key} of a duplicate, from the parser's context when it is there. */
    private static String duplicatePath(JsonProcessingException e, String name) {
        if (e instanceof JsonParseException p && p.getProcessor() != null) {
            JsonParser parser = p.getProcessor();
            Deque<String> names = new ArrayDeque<>();
            for (JsonStreamContext c = parser.getParsingContext(); c != null; c = c.getParent()) {
                if (c.inObject() && c.getCurrentName() != null) {
                    names.addFirst(c.getCurrentName());
                } else if (c.inArray()) {
                    names.addFirst("[" + c.getCurrentIndex() + "]");
                }
            }
            if (!names.isEmpty() && names.getLast().equals(name)) {
                return String.join(".", names).replace(".[", "[");
            }
        }
        return name;
    }

    private static <T> T bind(JsonNode tree, Class<T> type, Origin o) {
        try {
            return YAML.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            String p = path(e);
            String closest = closest(String.valueOf(e.getPropertyName()), e.getKnownPropertyIds());
            throw new BadInputException(where(o, e, null) + "unknown key '" + p + "' in " + o.what() + " (expected one of: "
                    + names(e.getKnownPropertyIds()) + ")" + (closest == null ? "" : " (did you mean '" + closest + "'?)"));
        } catch (JsonMappingException e) {
            String p = path(e);
            BadInputException cause = badInput(e);
            if (cause != null) {
                String msg = cause.getMessage();
                String key = p.isEmpty() || msg.contains(p) ? "" : "key '" + p + "': ";
                throw new BadInputException(where(o, e, msg) + key + msg, cause);
            }
            String key = p.isEmpty() ? o.what() : "key '" + p + "'";
            throw new BadInputException(where(o, e, null) + key + ": " + problem(e));
        } catch (JsonProcessingException e) {
            throw new BadInputException(o.source() + ": " + firstLine(e.getOriginalMessage()));
        }
    }

    private static String problem(JsonMappingException e) {
        if (e instanceof InvalidFormatException f) {
            return "cannot read '" + f.getValue() + "' as " + simpleType(f.getTargetType());
        }
        if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
            return "expected " + simpleType(m.getTargetType());
        }
        return firstLine(e.getOriginalMessage());
    }

    /**
     * {@code --set ASSIGNMENT: } when the failing key (or, for a failed validation that names it, a key below
     * it) was set on the command line; otherwise {@code SOURCE: line N: } with the line found in the text.
     */
    private static String where(Origin o, JsonMappingException e, String message) {
        String p = path(e);
        for (String s : o.sets()) {
            String key = s.substring(0, Math.max(0, s.indexOf('='))).trim();
            boolean covers = !p.isEmpty() && (p.equals(key) || p.startsWith(key + ".") || p.startsWith(key + "["));
            boolean named = message != null && (key.startsWith(p + ".") || p.isEmpty()) && message.contains(key);
            if (covers || named) {
                return "--set " + s + ": ";
            }
        }
        if (o.text() == null) {
            return o.source() + ": ";
        }
        int line = lineOf(o.text(), e.getPath());
        return o.source() + ": " + (line > 0 ? "line " + line + ": " : "");
    }

    /**
     * The 1-based line of a key path in block YAML: each name is looked for below the previous one, more
     * indented. Jackson's tree has no locations, so this reads the text; 0 when not found.
     */
    static int lineOf(String text, List<JsonMappingException.Reference> path) {
        String[] lines = text.split("\n", -1);
        int from = 0;
        int indent = -1;
        int found = 0;
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() == null) {
                continue; // a list index: the next name is an item's key, further down
            }
            Pattern key = Pattern.compile("^(\\s*)(?:-\\s+)?[\"']?" + Pattern.quote(r.getFieldName()) + "[\"']?\\s*:");
            int hit = -1;
            for (int i = from; i < lines.length; i++) {
                Matcher m = key.matcher(lines[i]);
                if (m.find() && m.group(1).length() > indent) {
                    hit = i;
                    indent = m.group(1).length();
                    break;
                }
            }
            if (hit < 0) {
                break;
            }
            found = hit + 1;
            from = hit + 1;
        }
        return found;
    }

    private static BadInputException badInput(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BadInputException b) {
                return b;
            }
        }
        return null;
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private static String line(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 1 ? "" : "line " + loc.getLineNr() + ": ";
    }

    private static String simpleType(Class<?> c) {
        if (c == Integer.class || c == int.class || c == Long.class || c == long.class) {
            return "an integer";
        }
        if (c == Double.class || c == double.class || c == Float.class || c == float.class) {
            return "a number";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "true or false";
        }
        if (c == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(c)) {
            return "a list";
        }
        if (c.isRecord() || Map.class.isAssignableFrom(c)) {
            return "a mapping";
        }
        return c.getSimpleName();
    }

    private static String names(Collection<Object> known) {
        TreeSet<String> s = new TreeSet<>();
        known.forEach(k -> s.add(String.valueOf(k)));
        return String.join(", ", s);
    }

    /** The known key nearest to {@code bad} by edit distance, if reasonably close. */
    static String closest(String bad, Collection<Object> known) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (Object k : new ArrayList<>(known)) {
            String s = String.valueOf(k);
            int d = editDistance(bad, s);
            if (d < bestD) {
                bestD = d;
                best = s;
            }
        }
        return best != null && bestD <= Math.max(2, bad.length() / 2) ? best : null;
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
