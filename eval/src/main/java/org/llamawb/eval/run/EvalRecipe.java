package org.llamawb.eval.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.llamawb.eval.score.Packing;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.config.StrictYaml;
import org.llamawb.model.BadInputException;

/**
 * An evaluation recipe ({@code workbench eval RECIPE.yaml}); every key has the command-line flag of the same
 * name ({@code compare_adapter} = {@code --compare-adapter}), and a flag overrides the key. Relative paths
 * resolve against the working directory.
 *
 * @param model checkpoint: Hugging Face directory or llama2.c file
 * @param tokenizer tokenizer.json (default: beside the model)
 * @param adapter evaluate base + this adapter
 * @param compareAdapter evaluate the base and base + this adapter, and compare
 * @param tasks task names (recipes/eval/tasks/NAME.yaml) or paths to task YAMLs
 * @param limit first N examples per task (0 = all)
 * @param shots overrides the tasks' shots
 * @param batchTokens token slots per forward pass
 * @param packing {@code tree} (a shared context once per question) or {@code none} (one row per request)
 * @param maxLength scoring window (default the model's max_position_embeddings)
 * @param addBos force BOS on or off (default: what the tokenizer does)
 * @param out output folder
 * @param experiment MLflow experiment name
 * @param trackingUri MLflow tracking URI
 */
public record EvalRecipe(
        @JsonProperty("model") String model,
        @JsonProperty("tokenizer") String tokenizer,
        @JsonProperty("adapter") String adapter,
        @JsonProperty("compare_adapter") String compareAdapter,
        @JsonProperty("tasks") List<String> tasks,
        @JsonProperty("limit") Integer limit,
        @JsonProperty("shots") Integer shots,
        @JsonProperty("batch_tokens") Integer batchTokens,
        @JsonProperty("packing") String packing,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("add_bos") Boolean addBos,
        @JsonProperty("out") String out,
        @JsonProperty("experiment") String experiment,
        @JsonProperty("tracking_uri") String trackingUri) {

    public EvalRecipe {
        tasks = tasks == null ? null : List.copyOf(tasks);
        if (tasks != null && tasks.isEmpty()) {
            throw new BadInputException("key 'tasks' is empty");
        }
        if (adapter != null && compareAdapter != null) {
            throw new BadInputException("keys 'adapter' and 'compare_adapter' exclude each other");
        }
        if (packing != null) {
            parsePacking(packing);
        }
        if (maxLength != null && maxLength < 2) {
            throw new BadInputException("key 'max_length' must be >= 2, got " + maxLength);
        }
    }

    public static EvalRecipe read(Path file) {
        return StrictYaml.read(file, EvalRecipe.class, "eval recipe");
    }

    public static EvalRecipe empty() {
        return new EvalRecipe(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public static Packing parsePacking(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "tree" -> Packing.TREE;
            case "none" -> Packing.NONE;
            default -> throw new BadInputException("packing must be tree or none, got '" + s + "'");
        };
    }

    /** The settings this recipe asks for (defaults where a key is absent). */
    public EvalSettings settings() {
        return new EvalSettings(limit == null ? 0 : limit, shots,
                batchTokens == null ? ScoringOptions.DEFAULT_BATCH_TOKENS : batchTokens, ScoringOptions.DEFAULT_MAX_ROWS,
                packing == null ? Packing.TREE : parsePacking(packing));
    }
}
