package org.llamawb.eval.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.metrics.Metric;

/**
 * The JSON form of reports, close to lm-evaluation-harness' {@code results} block:
 * {@code {"results": {task: {"acc": v, "acc_stderr": s, ...}}, "tasks": [...details...]}}. Undefined
 * numbers (NaN) are written as null so the file stays valid JSON.
 */
public final class ReportJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportJson() {}

    public static ObjectNode toJson(EvalReport r) {
        ObjectNode root = JSON.createObjectNode();
        root.put("label", r.label());
        root.put("model", r.model());
        if (r.adapter() == null) {
            root.putNull("adapter");
        } else {
            root.put("adapter", r.adapter());
        }
        root.set("settings", JSON.valueToTree(r.settings()));
        ObjectNode results = root.putObject("results");
        ArrayNode tasks = root.putArray("tasks");
        for (TaskResult t : r.tasks()) {
            ObjectNode res = results.putObject(t.task());
            for (Metric m : t.metrics().values()) {
                number(res, m.name(), m.value());
                if (m.hasStderr()) {
                    number(res, m.name() + "_stderr", m.stderr());
                }
            }
            ObjectNode d = tasks.addObject();
            d.put("task", t.task());
            d.put("kind", t.kind().yamlName());
            d.put("examples", t.examples());
            d.put("shots", t.shots());
            number(d, "seconds", t.seconds());
            number(d, "examples_per_second", t.examplesPerSecond());
            d.put("token_slots", t.tokenSlots());
            d.set("artifacts", JSON.valueToTree(t.artifacts()));
        }
        return root;
    }

    public static ObjectNode comparisonJson(Comparison c) {
        ObjectNode root = JSON.createObjectNode();
        root.set("base", toJson(c.base()));
        root.set("adapted", toJson(c.adapted()));
        ObjectNode delta = root.putObject("delta");
        for (Comparison.Row row : c.rows()) {
            number(delta.has(row.task()) ? (ObjectNode) delta.get(row.task()) : delta.putObject(row.task()), row.metric(),
                    row.delta());
        }
        return root;
    }

    private static void number(ObjectNode n, String key, double v) {
        if (Double.isFinite(v)) {
            n.put(key, v);
        } else {
            n.putNull(key);
        }
    }

    public static void write(ObjectNode node, Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, JSON.writeValueAsString(node) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One JSON object per line (per-example samples, generated answers). */
    public static void writeLines(List<?> records, Path file) {
        ObjectMapper compact = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        try {
            for (Object o : records) {
                sb.append(compact.writeValueAsString(o)).append('\n');
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Settings as a plain map (for JSON and MLflow params). */
    public static Map<String, String> params(EvalReport r) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put("model", r.model());
        if (r.adapter() != null) {
            p.put("adapter", r.adapter());
        }
        r.settings().forEach((k, v) -> p.put(k, String.valueOf(v)));
        return p;
    }
}
