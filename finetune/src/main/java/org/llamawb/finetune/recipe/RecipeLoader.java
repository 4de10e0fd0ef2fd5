package org.llamawb.finetune.recipe;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/**
 * Reads a recipe YAML into a record: overrides applied to the tree first, then strict binding with
 * snake_case keys. Every failure is one line naming the file and the key.
 */
public final class RecipeLoader {
    private static final YAMLMapper YAML = YAMLMapper.builder(new YAMLFactory()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            // a recipe is its record components: derived accessors (isLora(), loraConfig()) are not keys
            .visibility(PropertyAccessor.ALL, JsonAutoDetect.Visibility.NONE)
            .visibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
            .build();

    private RecipeLoader() {}

    /** Loads {@code file} into {@code type} after applying {@code overrides} ({@code key.path=value}). */
    public static <T> T load(Path file, Class<T> type, List<String> overrides) {
        ObjectNode tree = readTree(file);
        for (String o : overrides) {
            applyOverride(tree, o);
        }
        return bind(tree, type, file.toString());
    }

    /** The parsed YAML as a tree (for tools that want the raw recipe). */
    public static ObjectNode readTree(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": recipe not found");
        }
        try {
            JsonNode n = YAML.readTree(file.toFile());
            if (n == null || n.isMissingNode() || n.isNull()) {
                return JsonNodeFactory.instance.objectNode();
            }
            if (!n.isObject()) {
                throw new BadInputException(file + ": a recipe must be a YAML mapping of sections");
            }
            return (ObjectNode) n;
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : ":" + e.getLocation().getLineNr();
            throw new BadInputException(file + where + ": not valid YAML: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /**
     * Applies one {@code --set a.b.c=value}: the value is parsed as YAML ({@code 3}, {@code 2e-4},
     * {@code true}, {@code [q_proj, v_proj]}, {@code null}), intermediate sections are created.
     */
    public static void applyOverride(ObjectNode tree, String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new BadInputException("--set " + assignment + ": expected key.path=value");
        }
        String key = assignment.substring(0, eq).trim();
        String raw = assignment.substring(eq + 1);
        JsonNode value;
        try {
            value = raw.isEmpty() ? JsonNodeFactory.instance.textNode("") : YAML.readTree(raw);
            if (value == null || value.isMissingNode()) {
                value = JsonNodeFactory.instance.nullNode();
            }
        } catch (JsonProcessingException e) {
            value = JsonNodeFactory.instance.textNode(raw);
        }
        String[] parts = key.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || !child.isObject()) {
                child = node.putObject(parts[i]);
            }
            node = (ObjectNode) child;
        }
        node.set(parts[parts.length - 1], value);
    }

    /** Binds a tree strictly; {@code source} names it in errors. */
    public static <T> T bind(JsonNode tree, Class<T> type, String source) {
        try {
            return YAML.treeToValue(tree, type);
        } catch (ValueInstantiationException e) {
            Throwable c = e.getCause();
            if (c instanceof BadInputException b) {
                throw new BadInputException(source + ": " + b.getMessage(), b);
            }
            throw new BadInputException(source + ": " + path(e) + ": " + (c == null ? e.getOriginalMessage() : c.getMessage()));
        } catch (UnrecognizedPropertyException e) {
            String bad = e.getPropertyName();
            String prefix = path(e);
            String closest = closest(bad, e.getKnownPropertyIds());
            throw new BadInputException(source + ": unknown key '" + prefix + "'"
                    + (closest == null ? "" : " (did you mean '" + closest + "'?)")
                    + "; valid keys here: " + e.getKnownPropertyIds().stream().map(String::valueOf).sorted()
                            .collect(Collectors.joining(", ")));
        } catch (InvalidFormatException e) {
            throw new BadInputException(source + ": " + path(e) + ": cannot read '" + e.getValue() + "' as "
                    + simpleType(e.getTargetType()));
        } catch (MismatchedInputException e) {
            throw new BadInputException(source + ": " + path(e) + ": expected " + simpleType(e.getTargetType()));
        } catch (JsonMappingException e) {
            throw new BadInputException(source + ": " + path(e) + ": " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (JsonProcessingException e) {
            throw new BadInputException(source + ": " + e.getOriginalMessage());
        }
    }

    /** Writes a record (a resolved recipe) back as YAML with snake_case keys. */
    public static String toYaml(Object recipe) {
        try {
            return YAML.writeValueAsString(recipe);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the recipe", e);
        }
    }

    /** The resolved recipe flattened to {@code section.key -> value} (for run params). */
    public static Map<String, String> flatten(Object recipe) {
        Map<String, String> out = new TreeMap<>();
        flatten("", YAML.valueToTree(recipe), out);
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

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private static String simpleType(Class<?> c) {
        if (c == null) {
            return "a value";
        }
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

    /** The known key nearest to {@code bad} by edit distance, if reasonably close. */
    static String closest(String bad, Collection<Object> known) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (Object k : known) {
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
}
