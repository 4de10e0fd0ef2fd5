package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.TrainerState;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * A real training run against the real MLflow server of the integration tests (.ci/run starts it):
 * every param, every metric step, the tags, the dataset input and the artifacts appear, read back through
 * the REST API; the adapter artifact downloads and loads.
 */
class FinetuneTrackingTest {
    @TempDir
    Path tmp;

    @Test
    void aTrainingRunAppearsWholeInMlflow() throws Exception {
        String u = System.getenv("WORKBENCH_TEST_MLFLOW_URI");
        assumeTrue(u != null && !u.isBlank(), "no MLflow server: set WORKBENCH_TEST_MLFLOW_URI (.ci/run starts one)");
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        Path out = tmp.resolve("tracked");
        Path recipe = Files.writeString(tmp.resolve("tracked.yaml"), """
                model: {path: %s}
                adapter: {type: lora, r: 16, alpha: 8, target_modules: [q_proj, v_proj]}
                data:
                  sources: [{path: %s, format: sharegpt}]
                  max_length: 256
                  validation_fraction: 0.1
                train: {max_steps: 6, micro_batch_size: 2, learning_rate: 1.0e-3, log_every_steps: 1}
                eval: {every_steps: 3, max_batches: 2, sample_prompts: ["Who are you?"], sample_max_new_tokens: 8}
                tracking: {experiment: finetune-tracking-test, run_name: tracked-sft}
                output: {dir: %s, save_every_steps: 3}
                """.formatted(model, data, out));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Workbench.standard().run(new String[] {"finetune", recipe.toString(), "--tracking-uri", u, "--set", "adapter.r=4"},
                new PrintStream(err, true)), err.toString());

        try (MlflowServer server = MlflowServer.connect(URI.create(u.trim()), MlflowTimeouts.DEFAULT)) {
            String experiment = server.experiment("finetune-tracking-test").orElseThrow().id();
            List<RemoteRun> runs = server.searchRuns(List.of(experiment), "attributes.run_name = 'tracked-sft'");
            assertEquals(1, runs.size());
            RemoteRun run = server.getRun(runs.get(0).runId());
            assertEquals("FINISHED", run.status());
            // params: the flattened resolved recipe and the model config
            assertEquals("4", run.params().get("adapter.r"));
            assertEquals("6", run.params().get("train.max_steps"));
            assertEquals("vicuna_v1.1", run.params().get("data.template"));
            assertEquals("64", run.params().get("model_config.hidden_size"));
            // tags
            assertEquals("tracked-sft", run.tags().get("mlflow.runName"));
            assertEquals("sft", run.tags().get("method"));
            assertEquals("lora", run.tags().get("adapter_type"));
            assertEquals("none", run.tags().get("rematerialization"));
            assertTrue(run.tags().get("mlflow.note.content").contains("LoRA r=4"));
            // metrics: every step, with the values the trainer recorded
            TrainerState state = CheckpointStore.readState(out.resolve("checkpoint-000006"));
            List<MetricPoint> loss = server.metricHistory(run.runId(), "loss");
            assertEquals(6, loss.size());
            for (MetricPoint p : loss) {
                assertEquals(state.losses().get((int) p.step() - 1), p.value(), 1e-9, "loss at step " + p.step());
            }
            for (String key : List.of("learning_rate", "grad_norm", "epoch", "tokens_per_second")) {
                assertEquals(6, server.metricHistory(run.runId(), key).size(), key);
            }
            assertEquals(List.of(0L, 3L, 6L), server.metricHistory(run.runId(), "eval_loss").stream().map(MetricPoint::step).toList());
            assertTrue(run.latestMetrics().keySet().stream().anyMatch(k -> k.startsWith("system/")), "system metrics");
            // dataset input
            assertTrue(run.inputs().stream().anyMatch(d -> d.name().equals("dummy_conversation.json")), "dataset input");
            // artifacts: recipe, adapter, samples; the adapter downloads and loads
            Path downloaded = server.downloadArtifacts(run.runId(), "adapter", tmp.resolve("download"));
            Path adapterDir = Files.isRegularFile(downloaded.resolve(PeftAdapterFormat.CONFIG_FILE)) ? downloaded
                    : downloaded.resolve("adapter");
            try (NDManager m = NDManager.newBaseManager();
                    Llama base = Llama.load(Checkpoint.open(model), m);
                    LoraModel lora = new LoraModel(base)) {
                PeftAdapterFormat.read(lora, "default", adapterDir);
                Map<String, float[]> saved = CheckpointStore.readTensors(out.resolve("adapter/adapter_model.safetensors"));
                saved.forEach((k, v) -> assertEquals(v.length, lora.parameters("default").get(k).size()));
            }
            assertTrue(server.listArtifacts(run.runId(), "").stream().anyMatch(a -> a.path().equals("tracked.yaml")), "recipe");
            // the recipe artifact is what the run trained with: --set applied (before: the file's r: 16)
            Path recipeCopy = server.downloadArtifacts(run.runId(), "tracked.yaml", tmp.resolve("recipe"));
            String stored = Files.readString(Files.isDirectory(recipeCopy) ? recipeCopy.resolve("tracked.yaml") : recipeCopy);
            assertTrue(stored.startsWith("# resolved from " + recipe + " with --set adapter.r=4\n"), stored);
            assertTrue(stored.contains("\n  r: 4\n") && !stored.contains("r: 16"), stored);
            Path storedFile = Files.writeString(tmp.resolve("stored.yaml"), stored);
            assertEquals(RecipeLoader.load(recipe, Recipe.class, List.of("adapter.r=4")),
                    RecipeLoader.load(storedFile, Recipe.class, List.of()), "the stored recipe reproduces the run's");
            assertTrue(server.listArtifacts(run.runId(), "").stream().anyMatch(a -> a.path().equals("samples.jsonl")), "samples");
        }
    }
}
