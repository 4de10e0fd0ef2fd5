package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.Evaluator;
import org.llamawb.eval.score.Packing;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskCatalog;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.TestData;
import org.llamawb.tracking.DatasetInput;
import org.llamawb.tracking.RunLog;
import org.llamawb.tracking.RunSpec;

/**
 * Training and evaluation log through one interface, {@link RunLog}: the trainer and the evaluator each write
 * their run into a log that is not a {@code TrackedRun} (one that keeps what it is given), and the record is
 * what they computed. Before, the trainer took the concrete {@code TrackedRun} and evaluation its own
 * {@code EvalTracker} of whole reports.
 */
class OneRunLogTest {
    @TempDir
    Path tmp;

    /** Keeps a run's params, metrics (by step), inputs, artifacts and how it ended. */
    static final class KeptRun implements RunLog {
        final Map<String, String> params = new LinkedHashMap<>();
        final Map<Long, Map<String, Double>> metrics = new LinkedHashMap<>();
        final List<String> inputs = new ArrayList<>();
        final List<Path> artifacts = new ArrayList<>();
        String status;

        @Override
        public void logParams(Map<String, ?> p) {
            p.forEach((k, v) -> params.put(k, String.valueOf(v)));
        }

        @Override
        public void logMetrics(Map<String, ? extends Number> m, long step) {
            m.forEach((k, v) -> metrics.computeIfAbsent(step, s -> new LinkedHashMap<>()).put(k, v.doubleValue()));
        }

        @Override
        public void setTag(String key, String value) {
            params.put("tag:" + key, value);
        }

        @Override
        public void logInput(DatasetInput in) {
            inputs.add(in.name());
        }

        @Override
        public void logArtifact(Path file, String artifactDir) {
            artifacts.add(file);
        }

        @Override
        public void logArtifacts(Path dir, String artifactDir) {
            artifacts.add(dir);
        }

        @Override
        public void logText(String text, String artifactPath) { }

        @Override
        public void finish() {
            status = status == null ? "FINISHED" : status;
        }

        @Override
        public void fail(Throwable error) {
            status = status == null ? "FAILED" : status;
        }

        @Override
        public void close() {
            fail(null);
        }
    }

    @Test
    void theTrainerAndTheEvaluatorLogIntoAnyRunLog() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        Path out = tmp.resolve("run");
        Path recipeFile = Files.writeString(tmp.resolve("r.yaml"), """
                model: {path: %s}
                data:
                  sources: [{path: %s, format: sharegpt}]
                  template: vicuna_v1.1
                  max_length: 128
                train: {max_steps: 2, micro_batch_size: 2, log_every_steps: 1}
                eval: {every_steps: 0, on_start: false}
                output: {dir: %s}
                """.formatted(model, data, out));
        Recipe recipe = RecipeLoader.load(recipeFile, Recipe.class, List.of());
        KeptRun training = new KeptRun();
        Trainer.Result result = Trainer.run(new Trainer.Options(recipe, false, training,
                new PrintStream(new ByteArrayOutputStream(), true)));
        assertEquals(2, result.steps());
        assertEquals(2, training.metrics.keySet().stream().filter(s -> s > 0).count(), training.metrics.toString());
        assertTrue(training.metrics.get(2L).containsKey("loss"), training.metrics.toString());
        assertTrue(training.inputs.contains(data.getFileName().toString()), training.inputs.toString());
        assertTrue(training.artifacts.contains(result.output()), training.artifacts + " lacks " + result.output());

        Path tasks = Files.createDirectories(tmp.resolve("tasks"));
        Files.writeString(tasks.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: "
                + TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl") + "\nprompt: \"{query}\"\n");
        Task copa = new TaskCatalog(tasks, tmp).resolve("copa").requireData();
        KeptRun evaluation = new KeptRun();
        List<RunSpec> started = new ArrayList<>();
        EvalReport report;
        try (EvalModel m = EvalModel.load(model, null)) {
            report = new Evaluator(new EvalSettings(4, null, 8192, 64, Packing.TREE), spec -> {
                started.add(spec);
                return evaluation;
            }, new PrintStream(new ByteArrayOutputStream(), true)).evaluate(m, List.of(copa), "base", null, tmp.resolve("eval"));
        }
        assertEquals(1, started.size());
        assertEquals("eval-base", started.get(0).runName());
        assertEquals(report.tasks().get(0).metrics().get("acc").value(), evaluation.metrics.get(0L).get("copa/acc"));
        assertEquals(List.of("copa"), evaluation.inputs);
        assertEquals("FINISHED", evaluation.status);
    }
}
