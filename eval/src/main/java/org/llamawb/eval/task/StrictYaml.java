package org.llamawb.eval.task;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/**
 * Binds YAML to records strictly: an unknown or duplicate key, a wrong type or a failed validation is one
 * {@link BadInputException} line naming the file, the line and the key.
 */
public final class StrictYaml {
    private static final ObjectMapper YAML = YAMLMapper.builder(YAMLFactory.builder().build())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    private StrictYaml() {}

    /** Reads {@code file} as a {@code type}; {@code what} names the document in messages ("task", "eval recipe"). */
    public static <T> T read(Path file, Class<T> type, String what) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read " + what + " (" + e.getMessage() + ")");
        }
        return parse(text, file.toString(), type, what);
    }

    /** Parses YAML text; {@code source} names it in messages. */
    public static <T> T parse(String text, String source, Class<T> type, String what) {
        if (text.isBlank()) {
            throw new BadInputException(source + ": empty " + what);
        }
        try {
            return YAML.readValue(text, type);
        } catch (UnrecognizedPropertyException e) {
            throw new BadInputException(source + ": " + line(text, e) + "unknown key '" + path(e) + "' in " + what
                    + " (expected one of: " + names(e.getKnownPropertyIds()) + ")");
        } catch (JsonMappingException e) {
            BadInputException cause = badInput(e);
            if (cause != null) {
                String at = e.getPath().isEmpty() ? "" : "key '" + path(e) + "': ";
                throw new BadInputException(source + ": " + line(text, e) + at + cause.getMessage());
            }
            String key = e.getPath().isEmpty() ? what : "key '" + path(e) + "'";
            throw new BadInputException(source + ": " + line(text, e) + key + ": " + firstLine(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw new BadInputException(source + ": " + line(e.getLocation()) + "not valid YAML ("
                    + firstLine(e.getOriginalMessage()) + ")");
        }
    }

    /**
     * Applies {@code key=value} overrides ({@code --set}) to a bound record: each value is read as YAML (so
     * {@code limit=5}, {@code tasks=[copa,piqa]}, {@code add_bos=false}), the key must exist, and the result
     * is validated again as a whole.
     */
    public static <T> T override(T value, Class<T> type, String what, List<String> sets) {
        if (sets.isEmpty()) {
            return value;
        }
        ObjectNode tree = YAML.valueToTree(value);
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new BadInputException("--set " + s + ": expected key=value");
            }
            String key = s.substring(0, eq).trim();
            if (!tree.has(key)) {
                List<String> keys = new ArrayList<>();
                tree.fieldNames().forEachRemaining(keys::add);
                throw new BadInputException("--set " + s + ": unknown key '" + key + "' in " + what + " (expected one of: "
                        + String.join(", ", new TreeSet<>(keys)) + ")");
            }
            JsonNode v;
            try {
                v = s.length() == eq + 1 ? NullNode.getInstance() : YAML.readTree(s.substring(eq + 1));
            } catch (JsonProcessingException e) {
                throw new BadInputException("--set " + s + ": not a YAML value (" + firstLine(e.getOriginalMessage()) + ")");
            }
            tree.set(key, v == null || v.isMissingNode() ? NullNode.getInstance() : v);
        }
        try {
            return YAML.treeToValue(tree, type);
        } catch (JsonProcessingException e) {
            BadInputException cause = badInput(e);
            String at = e instanceof JsonMappingException m && !m.getPath().isEmpty() ? "key '" + path(m) + "': " : "";
            throw new BadInputException("--set: " + at + (cause != null ? cause.getMessage() : firstLine(e.getOriginalMessage())));
        }
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

    /**
     * The line of the offending key: Jackson reports where the parser stopped (often the line after), so the
     * first line that starts with the top-level key is preferred.
     */
    private static String line(String text, JsonMappingException e) {
        if (!e.getPath().isEmpty() && e.getPath().get(0).getFieldName() != null) {
            Pattern key = Pattern.compile("^" + Pattern.quote(e.getPath().get(0).getFieldName()) + "\\s*:");
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (key.matcher(lines[i]).find()) {
                    return "line " + (i + 1) + ": ";
                }
            }
        }
        return line(e.getLocation());
    }

    private static String line(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 1 ? "" : "line " + loc.getLineNr() + ": ";
    }

    private static String names(Collection<Object> known) {
        TreeSet<String> s = new TreeSet<>();
        known.forEach(o -> s.add(String.valueOf(o)));
        return String.join(", ", s);
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
