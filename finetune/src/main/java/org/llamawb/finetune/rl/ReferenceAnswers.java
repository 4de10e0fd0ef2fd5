package org.llamawb.finetune.rl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * The reference answers of a prompt file (JSONL, one object per line), keyed by each record's {@code id}: what
 * the {@code exact_answer} rule reward compares a completion with. The prompt readers keep only the messages, so
 * the answers are read beside them and matched by id ({@code workbench data generate} writes both).
 */
public final class ReferenceAnswers {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReferenceAnswers() {}

    /**
     * Reads {@code field} (e.g. {@code answer}) of every record. Records without the field have no reference
     * (an {@code exact_answer} reward then fails naming the example).
     *
     * @throws BadInputException naming {@code file:line} for bad JSON, a missing or repeated id, or a field that
     *     is not a string or number
     */
    public static Map<String, String> read(Path file, String field) {
        Map<String, String> out = new LinkedHashMap<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            long number = 0;
            Set<String> ids = new HashSet<>();
            while ((line = r.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String at = file + ":" + number;
                JsonNode record;
                try {
                    record = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new BadInputException(at + ": not valid JSON (" + e.getOriginalMessage() + ")");
                }
                JsonNode id = record == null ? null : record.get("id");
                if (id == null || !(id.isTextual() || id.isNumber())) {
                    throw new BadInputException(at + ": no 'id' to match the reference answer with its prompt");
                }
                if (!ids.add(id.asText())) {
                    throw new BadInputException(at + ": id '" + id.asText() + "' appears twice");
                }
                JsonNode answer = record.get(field);
                if (answer == null || answer.isNull()) {
                    continue;
                }
                if (!(answer.isTextual() || answer.isNumber())) {
                    throw new BadInputException(at + ": '" + field + "' must be a string or a number");
                }
                out.put(id.asText(), answer.asText());
            }
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return out;
    }
}
