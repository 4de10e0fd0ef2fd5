package org.llamawb.tracking;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a run is, as it appears in MLflow: its output directory (where the journal lives; the same
 * directory again resumes the same MLflow run), its name, and the tags MLflow shows in its run list.
 *
 * @param sourceName {@code mlflow.source.name}, e.g. the recipe path or {@code workbench finetune}
 * @param method {@code method} tag: sft, reward, dpo, ppo, eval
 * @param baseModel {@code base_model} tag: the base checkpoint's name or path
 * @param adapterType {@code adapter_type} tag: lora, dora, none
 * @param note {@code mlflow.note.content}: a short summary shown on the run page
 * @param gitCommit {@code mlflow.source.git.commit}; null to detect it from the working directory
 * @param tags further tags
 * @param startTime when the work began, for a run logged after it (an evaluation); null: when the run
 *     is started
 */
public record RunSpec(Path outputDir, String runName, String sourceName, String method, String baseModel,
        String adapterType, String note, String gitCommit, Map<String, String> tags, Instant startTime) {

    public static final String METHOD = "method";
    public static final String BASE_MODEL = "base_model";
    public static final String ADAPTER_TYPE = "adapter_type";

    public RunSpec {
        if (outputDir == null) {
            throw new IllegalArgumentException("a tracked run needs an output directory");
        }
        if (runName == null || runName.isBlank()) {
            runName = outputDir.toAbsolutePath().normalize().getFileName().toString();
        }
        sourceName = sourceName == null ? "workbench" : sourceName;
        tags = Map.copyOf(tags == null ? Map.of() : tags);
    }

    /** A run with only a directory and a name; add tags with the {@code with...} methods. */
    public static RunSpec of(Path outputDir, String runName) {
        return new RunSpec(outputDir, runName, null, null, null, null, null, null, Map.of(), null);
    }

    public RunSpec withSourceName(String s) {
        return new RunSpec(outputDir, runName, s, method, baseModel, adapterType, note, gitCommit, tags, startTime);
    }

    public RunSpec withMethod(String m) {
        return new RunSpec(outputDir, runName, sourceName, m, baseModel, adapterType, note, gitCommit, tags, startTime);
    }

    public RunSpec withBaseModel(String m) {
        return new RunSpec(outputDir, runName, sourceName, method, m, adapterType, note, gitCommit, tags, startTime);
    }

    public RunSpec withAdapterType(String a) {
        return new RunSpec(outputDir, runName, sourceName, method, baseModel, a, note, gitCommit, tags, startTime);
    }

    public RunSpec withNote(String n) {
        return new RunSpec(outputDir, runName, sourceName, method, baseModel, adapterType, n, gitCommit, tags, startTime);
    }

    public RunSpec withGitCommit(String c) {
        return new RunSpec(outputDir, runName, sourceName, method, baseModel, adapterType, note, c, tags, startTime);
    }

    public RunSpec withTag(String key, String value) {
        Map<String, String> t = new LinkedHashMap<>(tags);
        t.put(key, value);
        return new RunSpec(outputDir, runName, sourceName, method, baseModel, adapterType, note, gitCommit, t, startTime);
    }

    public RunSpec withStartTime(Instant t) {
        return new RunSpec(outputDir, runName, sourceName, method, baseModel, adapterType, note, gitCommit, tags, t);
    }

    /** The run's tags in MLflow's names, given the commit found (or null). */
    Map<String, String> mlflowTags(String commit) {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("mlflow.runName", runName);
        t.put("mlflow.source.name", sourceName);
        t.put("mlflow.source.type", "LOCAL");
        String user = System.getProperty("user.name");
        if (user != null && !user.isBlank()) {
            t.put("mlflow.user", user);
        }
        put(t, "mlflow.source.git.commit", gitCommit != null ? gitCommit : commit);
        put(t, "mlflow.note.content", note);
        put(t, METHOD, method);
        put(t, BASE_MODEL, baseModel);
        put(t, ADAPTER_TYPE, adapterType);
        t.putAll(tags);
        return t;
    }

    private static void put(Map<String, String> t, String k, String v) {
        if (v != null && !v.isBlank()) {
            t.put(k, v);
        }
    }
}
