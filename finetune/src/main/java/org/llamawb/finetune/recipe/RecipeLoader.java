package org.llamawb.finetune.recipe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.llamawb.config.StrictYaml;

/**
 * Reads a fine-tuning recipe: the shared strict binder ({@link StrictYaml}) with "recipe" in its messages.
 * Overrides are applied to the tree first, then the tree is bound with snake_case keys; a duplicate or
 * unknown key, a wrong type or a failed validation is one line naming the file (and line) or the
 * {@code --set} and the key.
 */
public final class RecipeLoader {
    private static final String WHAT = "recipe";

    private RecipeLoader() {}

    /** Loads {@code file} into {@code type} after applying {@code overrides} ({@code key.path=value}). */
    public static <T> T load(Path file, Class<T> type, List<String> overrides) {
        return StrictYaml.load(file, type, WHAT, overrides);
    }

    /** The parsed YAML as a tree (for tools that want the raw recipe). */
    public static ObjectNode readTree(Path file) {
        return StrictYaml.readTree(file, WHAT);
    }

    /** Applies one {@code --set a.b.c=value} (see {@link StrictYaml#set}). */
    public static void applyOverride(ObjectNode tree, String assignment) {
        StrictYaml.set(tree, assignment);
    }

    /** Binds a tree strictly; {@code source} names it in errors. */
    public static <T> T bind(JsonNode tree, Class<T> type, String source) {
        return StrictYaml.bind(tree, type, source, WHAT);
    }

    /** Writes a record (a resolved recipe) back as YAML with snake_case keys. */
    public static String toYaml(Object recipe) {
        return StrictYaml.toYaml(recipe);
    }

    /** The resolved recipe flattened to {@code section.key -> value} (for run params). */
    public static Map<String, String> flatten(Object recipe) {
        return StrictYaml.flatten(recipe);
    }
}
