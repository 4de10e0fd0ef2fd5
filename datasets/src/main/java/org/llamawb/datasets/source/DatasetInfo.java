package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.llamawb.model.BadInputException;

/**
 * LLaMA-Factory's dataset registry ({@code dataset_info.json}): dataset name to file, formatting
 * ({@code alpaca} or {@code sharegpt}), {@code ranking}, {@code columns} and {@code tags}.
 *
 * <p>Each entry resolves to one of this workbench's {@link DataFormat}s when its columns and tags are the
 * ones those formats read; renamed columns, hub-only entries and alpaca-style ranking are reported as
 * unsupported with the reason rather than guessed at.
 */
public final class DatasetInfo {

    /**
     * One registry entry.
     *
     * @param file the local file, or null for an entry that lives only on a hub
     * @param format the format this workbench reads it with, if supported
     * @param unsupported why it is not supported, when {@code format} is empty
     */
    public record Entry(String name, Path file, Optional<DataFormat> format, String unsupported) {}

    private final Map<String, Entry> entries;

    private DatasetInfo(Map<String, Entry> entries) {
        this.entries = entries;
    }

    /** Reads a {@code dataset_info.json}; files are resolved beside it. */
    public static DatasetInfo read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not a valid dataset_info.json ("
                    + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": dataset_info.json must be a JSON object of datasets");
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        for (var it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            out.put(e.getKey(), entry(e.getKey(), e.getValue(), file.toAbsolutePath().getParent()));
        }
        return new DatasetInfo(out);
    }

    /** All entries in file order. */
    public Map<String, Entry> entries() {
        return java.util.Collections.unmodifiableMap(entries);
    }

    /** One entry by name. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new BadInputException("dataset_info.json has no dataset '" + name + "'");
        }
        return e;
    }

    private static Entry entry(String name, JsonNode spec, Path dir) {
        String fileName = spec.path("file_name").asText(null);
        Path file = fileName == null ? null : dir.resolve(fileName);
        if (file == null) {
            return new Entry(name, null, Optional.empty(), "hub-only dataset (no file_name)");
        }
        String formatting = spec.path("formatting").asText("alpaca");
        boolean ranking = spec.path("ranking").asBoolean(false);
        JsonNode columns = spec.path("columns");
        JsonNode tags = spec.path("tags");
        String unsupported = null;
        DataFormat format = null;
        if (formatting.equals("alpaca")) {
            if (ranking) {
                unsupported = "alpaca-style ranking columns";
            } else if (!renamed(columns, Map.of("prompt", "instruction", "query", "input", "response", "output",
                    "system", "system", "history", "history"))) {
                format = DataFormat.ALPACA;
            } else {
                unsupported = "renamed alpaca columns " + columns;
            }
        } else if (formatting.equals("sharegpt")) {
            String messages = columns.path("messages").asText("conversations");
            boolean openAiTags = tags.path("role_tag").asText("from").equals("role")
                    && tags.path("content_tag").asText("value").equals("content");
            boolean shareGptTags = tags.path("role_tag").asText("from").equals("from")
                    && tags.path("content_tag").asText("value").equals("value");
            boolean kto = columns.has("kto_tag");
            if (messages.equals("conversations") && shareGptTags && !kto
                    && !renamed(columns, Map.of("messages", "conversations", "chosen", "chosen", "rejected", "rejected",
                            "system", "system"))) {
                format = ranking ? DataFormat.SHAREGPT_PAIRS : DataFormat.SHAREGPT;
            } else if (messages.equals("messages") && openAiTags && !ranking
                    && (!kto || columns.path("kto_tag").asText().equals("label"))
                    && !renamed(columns, Map.of("messages", "messages", "kto_tag", "label"))) {
                format = kto ? DataFormat.KTO : DataFormat.OPENAI;
            } else {
                unsupported = "sharegpt columns/tags not read by this workbench: columns " + columns + " tags " + tags;
            }
        } else {
            unsupported = "unknown formatting '" + formatting + "'";
        }
        return new Entry(name, file, Optional.ofNullable(format), unsupported);
    }

    /** True when a column is mapped to a key other than the one the format reads. */
    private static boolean renamed(JsonNode columns, Map<String, String> expected) {
        for (var it = columns.fields(); it.hasNext(); ) {
            var c = it.next();
            String want = expected.get(c.getKey());
            if (want == null || !want.equals(c.getValue().asText())) {
                return true;
            }
        }
        return false;
    }
}
