package org.llamawb.distributed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;

/**
 * The recipe as the workers read it: the resolved YAML with every local file it names made absolute, since an
 * executor runs in a working directory of its own. Hub names and URLs stay as they are (each worker finds them in
 * its cache or fetches them, as the driver did).
 */
final class WorkerRecipe {
    private WorkerRecipe() {}

    /** The YAML the workers bind (it is also the key of their cached replica). */
    static String yaml(Recipe recipe) {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        try {
            ObjectNode tree = (ObjectNode) yaml.readTree(RecipeLoader.toYaml(recipe));
            absolute(tree.path("model"), "path");
            absolute(tree.path("model"), "tokenizer");
            absolute(tree.path("adapter"), "init_from");
            for (JsonNode source : tree.path("data").path("sources")) {
                absolute(source, "path");
            }
            // bound once here, so that a worker never refuses what the driver accepted
            return RecipeLoader.toYaml(RecipeLoader.bind(tree, Recipe.class, "recipe for the workers"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void absolute(JsonNode parent, String key) {
        if (parent instanceof ObjectNode o && o.get(key) instanceof TextNode t) {
            Path p = Path.of(t.textValue());
            if (!p.isAbsolute() && Files.exists(p)) {
                o.put(key, p.toAbsolutePath().normalize().toString());
            }
        }
    }
}
