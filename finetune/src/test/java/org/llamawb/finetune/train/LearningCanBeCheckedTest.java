package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ai.djl.ndarray.NDManager;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.reward.RewardObjective;
import org.llamawb.finetune.sft.DataSetup;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;
import org.llamawb.tracking.TrackedRun;

/**
 * Learning that can be checked: DPO and the reward model, each with LoRA on the pretrained stories260K, trained on
 * generated arithmetic pairs (the right result over a near miss) must rank the held-out pairs right. The task is
 * {@code data generate --task arithmetic --pairs --n 1000 --seed 11 --max-operand 2 --max-factor 2}: 27 questions,
 * so every question is seen in training and a held-out pair (20% by content hash, never trained on) asks a known
 * question with a wrong answer not paired with it in training. That tests whether the method learnt which answer is
 * right rather than which strings were rejected; a question never seen cannot be answered by a 260K-parameter model.
 * The run is the one bench/BENCHMARKS.md makes (recipes/METHOD-stories260k.yaml with the same overrides and steps),
 * evaluated only before and after; its numbers and the runs that led to this task are there.
 */
class LearningCanBeCheckedTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The overrides of the BENCHMARKS command, besides data, steps and output. */
    static final List<String> BENCH_OVERRIDES = List.of("data.template=llama-2", "data.validation_fraction=0.2",
            "adapter.r=8", "adapter.alpha=16", "train.micro_batch_size=16", "train.gradient_accumulation_steps=1",
            "train.learning_rate=1e-3", "train.lr_schedule=constant", "eval.on_start=true");

    @TempDir
    Path tmp;

    /** The generated task of BENCHMARKS: operands 0..2, 1000 draws (122 distinct pairs). */
    static Path arithmeticPairs(Path dir) throws IOException {
        Path data = dir.resolve("pairs.jsonl");
        new ArithmeticTask(2, 2).write(data, ArithmeticTask.Kind.PAIRS, 1000, 11);
        return data;
    }

    /** The BENCHMARKS overrides of one method: DPO with β 0.5 (TRL's 0.1 ranked 0.88 of the held-out pairs right). */
    static List<String> methodOverrides(String method) {
        return method.equals("dpo") ? List.of("dpo.beta=0.5") : List.of();
    }

    static Recipe recipe(String method, Path data, int steps, Path out) {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        ObjectNode tree = RecipeLoader.readTree(Path.of("..", "recipes", method + "-stories260k.yaml"));
        List<String> overrides = new ArrayList<>(List.of("model.path=" + model,
                "data.sources=[{path: " + data + ", format: preference}]"));
        overrides.addAll(BENCH_OVERRIDES);
        overrides.addAll(methodOverrides(method));
        overrides.addAll(List.of("train.max_steps=" + steps, "eval.every_steps=" + steps, "output.dir=" + out,
                "output.save_every_steps=0"));
        for (String s : overrides) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    /** Metric {@code key} of the run's journal by step. */
    static Map<Long, Double> metric(Path out, String key) throws IOException {
        Map<Long, Double> byStep = new TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("tracking/journal.jsonl"))) {
            JsonNode e = JSON.readTree(line);
            if ("metric".equals(e.path("type").asText()) && key.equals(e.path("key").asText())) {
                byStep.put(e.path("step").asLong(), e.path("value").asDouble());
            }
        }
        return byStep;
    }

    /**
     * The final adapter is a PEFT SEQ_CLS directory that {@link RewardModel#load} reads onto a fresh base, and the
     * loaded model scores the held-out pairs exactly as the trainer's last evaluation did.
     */
    static void assertLoadsAndScoresAsTrained(Recipe r, Path out) throws IOException {
        JsonNode config = JSON.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("SEQ_CLS", config.path("task_type").asText(), config.toString());
        assertEquals("[\"score\"]", config.path("modules_to_save").toString(), config.toString());
        long last = r.train().maxSteps();
        try (NDManager m = NDManager.newBaseManager(); BaseModel base = BaseModel.open(r.model(), 0, m);
                RewardModel rm = RewardModel.load(base.model(), out.resolve("adapter"))) {
            ChatTemplate template = DataSetup.template(r.data(), base.tokenizer(), base.location());
            PreparedData<PairDataset> data = DatasetBuilder.preference(r.data(), base.tokenizer(), template, Path.of(""));
            PairLoader held = DatasetBuilder.validationPairLoader(data, r.data(), r.train().microBatchSize(),
                    Math.max(0, base.tokenizer().eosId()));
            RewardObjective scoring = new RewardObjective(rm);
            MetricMeans means = new MetricMeans();
            for (int i = 0; i < held.batchesInEpoch(0); i++) {
                Map<String, Double> one = new java.util.LinkedHashMap<>(scoring.evaluate(held.batch(0, i)));
                one.remove("loss_sum");
                means.add(one);
            }
            Map<String, Double> loaded = means.take();
            for (String k : List.of("accuracy", "rewards/chosen", "rewards/rejected")) {
                double trained = metric(out, "eval_" + k).get(last);
                assertEquals(trained, loaded.get(k), 1e-4, k + " of the loaded reward model");
            }
        }
    }

    /**
     * The BENCHMARKS run (same recipe, data, seed and steps, evaluated only before and after) reaches
     * {@code threshold} on the held-out pairs, from at or below chance before training, and the held-out loss goes
     * down. 240 steps of 16 pairs are about 580k tokens: about a minute on an idle 2-core machine at the 10,600
     * tokens/s measured alone, about a minute and a half for DPO with its reference pass (estimates); 260 s (DPO) and
     * 164 s (reward) were seen on a shared one with one PyTorch thread.
     */
    @ParameterizedTest
    @CsvSource({"dpo, eval_rewards/accuracies, 240, 0.9", "reward, eval_accuracy, 240, 0.88"})
    void heldOutAccuracyRises(String method, String metric, int steps, double threshold) throws Exception {
        Path data = arithmeticPairs(tmp);
        Path out = tmp.resolve(method);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Recipe r = recipe(method, data, steps, out);
        long t0 = System.nanoTime();
        Trainer.Result result;
        try (TrackedRun run = PreferenceTrainingResumeTest.journalOnly(out)) {
            result = Trainer.run(new Trainer.Options(r, false, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
        Map<Long, Double> acc = metric(out, metric);
        System.out.printf("%s: %s %s, eval loss %s in %.1f s%n", method, metric, acc, result.evalLosses(),
                (System.nanoTime() - t0) / 1e9);
        assertEquals(2, acc.size(), acc + "\n" + log);
        assertTrue(result.evalLosses().get((long) steps) < result.evalLosses().get(0L) - 0.1,
                "held-out loss goes down: " + result.evalLosses());
        if (method.equals("reward")) {
            assertLoadsAndScoresAsTrained(r, out);
        }
        // before: at or below chance (DPO's implicit rewards are all 0 with B = 0, so no pair is strictly ahead);
        // after 240 steps (about 40 epochs of the 97 training pairs) seen: DPO 0.969 (24 of 25 pairs), reward 0.938
        // (23 of 25); the metric is TRL's mean over evaluation batches (16 + 9 pairs). The reward model's bound is
        // 0.88, not 0.9: one close pair of the 9-pair batch flipping by another CPU's rounding is 0.882 and is
        // not a failure to learn (the BENCHMARKS run, 0.938, is the >= 0.9 evidence)
        double before = acc.get(0L);
        double after = acc.get((long) steps);
        assertTrue(before <= 0.55, "before training: " + acc);
        assertTrue(after >= threshold, "after training: " + acc + "\n" + log);
    }
}
