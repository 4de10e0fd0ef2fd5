package org.llamawb.eval.task;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.BadInputException;

/**
 * Reads the JSONL data file of a task into {@link TaskExample}s, checking each line against the schema of
 * the task's kind (the llm-foundry gauntlet schema for the choice kinds, FastChat's question.jsonl for
 * generation). Every problem is one line naming the file, the line and the field.
 */
public final class ExampleReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Lines longer than this are refused before parsing (a corrupt or wrong file). */
    static final int MAX_LINE_CHARS = 16 << 20;

    private ExampleReader() {}

    public static List<TaskExample> read(Task task) {
        TaskKind kind = task.spec().kind();
        if (kind == TaskKind.PERPLEXITY || kind == TaskKind.DIALOGUE_LOSS) {
            throw new IllegalArgumentException(kind.yamlName() + " tasks read their files themselves");
        }
        Path file = task.requireData().data();
        List<TaskExample> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String text;
            int line = 0;
            while ((text = r.readLine()) != null) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                String at = file + ":" + line + ": ";
                if (text.length() > MAX_LINE_CHARS) {
                    throw new BadInputException(at + "line longer than " + MAX_LINE_CHARS + " characters");
                }
                JsonNode node;
                try {
                    node = JSON.readTree(text);
                } catch (JsonProcessingException e) {
                    throw new BadInputException(at + "not valid JSON (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
                }
                if (!node.isObject()) {
                    throw new BadInputException(at + "expected a JSON object");
                }
                out.add(example(kind, task.spec(), node, line, at));
            }
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (out.isEmpty()) {
            throw new BadInputException(file + ": no examples");
        }
        return out;
    }

    private static TaskExample example(TaskKind kind, TaskSpec spec, JsonNode n, int line, String at) {
        return switch (kind) {
            case MULTIPLE_CHOICE -> {
                List<String> choices = strings(n, "choices", at, 2);
                yield new TaskExample.Choice(line, fields(n), choices, gold(n, choices.size(), at));
            }
            case PARTIAL_CHOICE -> {
                List<String> options = strings(n, "context_options", at, 2);
                yield new TaskExample.Partial(line, options, string(n, "continuation", at), gold(n, options.size(), at));
            }
            case COMPLETION -> {
                string(n, "context", at);
                yield new TaskExample.Completion(line, fields(n), string(n, "continuation", at));
            }
            case EXACT_MATCH -> {
                JsonNode a = n.get(spec.answerField());
                List<String> answers;
                if (a != null && a.isTextual()) {
                    answers = List.of(a.asText());
                } else if (a != null && a.isArray()) {
                    answers = strings(n, spec.answerField(), at, 1);
                } else {
                    throw new BadInputException(at + "field '" + spec.answerField()
                            + "' (answer_field) must be a string or a list of strings");
                }
                yield new TaskExample.Answer(line, fields(n), answers);
            }
            case GENERATION -> {
                JsonNode id = n.get("question_id");
                if (id == null || !(id.isIntegralNumber() || id.isTextual())) {
                    throw new BadInputException(at + "field 'question_id' must be an integer or a string");
                }
                JsonNode cat = n.get("category");
                yield new TaskExample.Turns(line, id.asText(), cat != null && cat.isTextual() ? cat.asText() : "",
                        strings(n, "turns", at, 1));
            }
            case PERPLEXITY, DIALOGUE_LOSS -> throw new IllegalStateException();
        };
    }

    private static Map<String, String> fields(JsonNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            if (e.getValue().isTextual()) {
                out.put(e.getKey(), e.getValue().asText());
            }
        });
        return out;
    }

    private static String string(JsonNode n, String field, String at) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(at + "field '" + field + "' must be a string");
        }
        return v.asText();
    }

    private static List<String> strings(JsonNode n, String field, String at, int min) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) {
            throw new BadInputException(at + "field '" + field + "' must be a list of strings");
        }
        if (v.size() < min) {
            throw new BadInputException(at + "field '" + field + "' needs at least " + min + " entries, has " + v.size());
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw new BadInputException(at + "field '" + field + "[" + i + "]' must be a string");
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    private static int gold(JsonNode n, int options, String at) {
        JsonNode g = n.get("gold");
        if (g == null || !g.canConvertToInt() || !g.isIntegralNumber()) {
            throw new BadInputException(at + "field 'gold' must be an integer index");
        }
        int v = g.asInt();
        if (v < 0 || v >= options) {
            throw new BadInputException(at + "field 'gold' is " + v + ", outside [0, " + (options - 1) + "]");
        }
        return v;
    }
}
