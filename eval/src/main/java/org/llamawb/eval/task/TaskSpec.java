package org.llamawb.eval.task;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.llamawb.model.BadInputException;

/**
 * One evaluation task, as written in a small YAML file (see recipes/eval/README.md). Bound strictly:
 * unknown keys, keys that do not apply to the kind and invalid values are errors naming the key.
 *
 * @param name the task's name in reports and MLflow metric keys ({@code arc_easy/acc})
 * @param kind what is measured
 * @param file the data file; a relative path is resolved against the working directory
 * @param description free text for the report
 * @param prompt the context of an example: {@code {field}} is replaced by the example's string field (for
 *     partial_choice, {@code {context}} is each context option); default {@code {query}} or {@code {context}}
 * @param targetDelimiter between the context and the answer (lm-evaluation-harness' target_delimiter, " ")
 * @param fewshotDelimiter between shots and before the example (lm-evaluation-harness' "\n\n")
 * @param shots solved examples of the same file put before each example (never the example itself)
 * @param seed seed of the shot draw (the same seed draws the same shots) and of sampling when temperature > 0
 * @param answerField exact_match: the field holding the answer (a string or a list of accepted strings)
 * @param extract exact_match: regex applied to the generated text; group 1 if it has groups, else the match
 * @param maxNewTokens exact_match, generation: tokens generated per answer
 * @param stop exact_match, generation: generation stops before any of these strings
 * @param template generation, dialogue_loss: chat template (the datasets module's: a built-in such as
 *     {@code vicuna_v1.1}, {@code llama-2}, {@code chatml}, {@code none}; {@code model}; or a .jinja file)
 * @param system generation: system prompt replacing the template's default
 * @param temperature exact_match, generation: 0 for greedy decoding
 * @param maxLength perplexity: window in tokens; dialogue_loss: longer conversations are cut (default the model's)
 * @param format dialogue_loss: the data format (sharegpt, openai, alpaca, oasst, ...); detected when absent
 */
public record TaskSpec(
        @JsonProperty("name") String name,
        @JsonProperty("kind") TaskKind kind,
        @JsonProperty("file") String file,
        @JsonProperty("description") String description,
        @JsonProperty("prompt") String prompt,
        @JsonProperty("target_delimiter") String targetDelimiter,
        @JsonProperty("fewshot_delimiter") String fewshotDelimiter,
        @JsonProperty("shots") Integer shots,
        @JsonProperty("seed") Long seed,
        @JsonProperty("answer_field") String answerField,
        @JsonProperty("extract") String extract,
        @JsonProperty("max_new_tokens") Integer maxNewTokens,
        @JsonProperty("stop") List<String> stop,
        @JsonProperty("template") String template,
        @JsonProperty("system") String system,
        @JsonProperty("temperature") Double temperature,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("format") String format) implements Serializable {

    public static final long DEFAULT_SEED = 1234;

    private static final Set<TaskKind> CHOICE = EnumSet.of(TaskKind.MULTIPLE_CHOICE, TaskKind.PARTIAL_CHOICE,
            TaskKind.COMPLETION);
    private static final Set<TaskKind> WITH_SHOTS = EnumSet.of(TaskKind.MULTIPLE_CHOICE, TaskKind.PARTIAL_CHOICE,
            TaskKind.COMPLETION, TaskKind.EXACT_MATCH);
    private static final Set<TaskKind> GENERATING = EnumSet.of(TaskKind.EXACT_MATCH, TaskKind.GENERATION);

    public TaskSpec {
        required("name", name);
        if (kind == null) {
            throw new BadInputException("key 'kind' is required (multiple_choice, partial_choice, completion, perplexity,"
                    + " dialogue_loss, generation or exact_match)");
        }
        required("file", file);
        Map<String, Object> given = new LinkedHashMap<>();
        given.put("prompt", prompt);
        given.put("target_delimiter", targetDelimiter);
        given.put("fewshot_delimiter", fewshotDelimiter);
        given.put("shots", shots);
        given.put("seed", seed);
        given.put("answer_field", answerField);
        given.put("extract", extract);
        given.put("max_new_tokens", maxNewTokens);
        given.put("stop", stop);
        given.put("template", template);
        given.put("system", system);
        given.put("temperature", temperature);
        given.put("max_length", maxLength);
        given.put("format", format);
        for (Map.Entry<String, Object> e : given.entrySet()) {
            if (e.getValue() != null && !applies(e.getKey(), kind)) {
                throw new BadInputException("key '" + e.getKey() + "' does not apply to kind " + kind.yamlName());
            }
        }
        if (usesPrompt(kind) && prompt == null) {
            prompt = kind == TaskKind.PARTIAL_CHOICE || kind == TaskKind.COMPLETION ? "{context}" : "{query}";
        }
        if (WITH_SHOTS.contains(kind)) {
            targetDelimiter = targetDelimiter == null ? " " : targetDelimiter;
            fewshotDelimiter = fewshotDelimiter == null ? "\n\n" : fewshotDelimiter;
            shots = shots == null ? 0 : shots;
            if (shots < 0) {
                throw new BadInputException("key 'shots' must be >= 0, got " + shots);
            }
        }
        if (WITH_SHOTS.contains(kind) || GENERATING.contains(kind)) {
            seed = seed == null ? DEFAULT_SEED : seed;
        }
        if (kind == TaskKind.EXACT_MATCH) {
            answerField = answerField == null ? "answer" : answerField;
            if (extract != null) {
                try {
                    Pattern.compile(extract);
                } catch (PatternSyntaxException e) {
                    throw new BadInputException("key 'extract' is not a valid regular expression: "
                            + e.getDescription() + " near index " + e.getIndex());
                }
            }
        }
        if (GENERATING.contains(kind)) {
            maxNewTokens = maxNewTokens == null ? (kind == TaskKind.GENERATION ? 256 : 32) : maxNewTokens;
            if (maxNewTokens < 1) {
                throw new BadInputException("key 'max_new_tokens' must be >= 1, got " + maxNewTokens);
            }
            stop = stop == null ? (kind == TaskKind.EXACT_MATCH ? List.of("\n\n") : List.of()) : List.copyOf(stop);
            for (String s : stop) {
                if (s.isEmpty()) {
                    throw new BadInputException("key 'stop' holds an empty string");
                }
            }
            temperature = temperature == null ? 0.0 : temperature;
            if (!(temperature >= 0) || temperature.isInfinite()) {
                throw new BadInputException("key 'temperature' must be >= 0, got " + temperature);
            }
        }
        if (kind == TaskKind.GENERATION || kind == TaskKind.DIALOGUE_LOSS) {
            template = template == null ? "vicuna_v1.1" : template;
        }
        if (maxLength != null && maxLength < 2) {
            throw new BadInputException("key 'max_length' must be >= 2, got " + maxLength);
        }
    }

    private static boolean applies(String key, TaskKind kind) {
        return switch (key) {
            case "prompt" -> usesPrompt(kind);
            case "target_delimiter", "fewshot_delimiter", "shots" -> WITH_SHOTS.contains(kind);
            case "seed" -> WITH_SHOTS.contains(kind) || GENERATING.contains(kind);
            case "answer_field", "extract" -> kind == TaskKind.EXACT_MATCH;
            case "max_new_tokens", "stop", "temperature" -> GENERATING.contains(kind);
            case "template" -> kind == TaskKind.GENERATION || kind == TaskKind.DIALOGUE_LOSS;
            case "system" -> kind == TaskKind.GENERATION;
            case "max_length" -> kind == TaskKind.PERPLEXITY || kind == TaskKind.DIALOGUE_LOSS;
            case "format" -> kind == TaskKind.DIALOGUE_LOSS;
            default -> throw new IllegalArgumentException(key);
        };
    }

    private static boolean usesPrompt(TaskKind kind) {
        return kind != TaskKind.PERPLEXITY && kind != TaskKind.GENERATION && kind != TaskKind.DIALOGUE_LOSS;
    }

    private static void required(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new BadInputException("key '" + key + "' is required");
        }
    }

    /** Whether this kind is scored from log-likelihoods of choices or continuations. */
    public boolean isChoiceKind() {
        return CHOICE.contains(kind);
    }

    /** This task with another number of shots (the {@code --shots} flag); kinds without shots are unchanged. */
    public TaskSpec withShots(int n) {
        if (!WITH_SHOTS.contains(kind)) {
            return this;
        }
        return new TaskSpec(name, kind, file, description, prompt, targetDelimiter, fewshotDelimiter, n, seed,
                answerField, extract, maxNewTokens, stop, template, system, temperature, maxLength, format);
    }

    /** The YAML keys, for messages and docs. */
    public static List<String> keys() {
        return new ArrayList<>(List.of("name", "kind", "file", "description", "prompt", "target_delimiter",
                "fewshot_delimiter", "shots", "seed", "answer_field", "extract", "max_new_tokens", "stop", "template",
                "system", "temperature", "max_length", "format"));
    }
}
