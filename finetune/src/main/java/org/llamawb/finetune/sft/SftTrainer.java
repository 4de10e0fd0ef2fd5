package org.llamawb.finetune.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.DataLoader;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.TrainerState;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.optim.GradientClipping;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.StorageType;
import org.llamawb.tracking.DatasetInput;
import org.llamawb.tracking.TrackedRun;

/**
 * Supervised fine-tuning (LoRA, or every parameter when the recipe has no adapter), in one loop:
 * gather the micro-batches of a step, forward and backward each with the loss divided by the step's
 * trained tokens, clip, update, log, evaluate, checkpoint. Resuming continues from the newest
 * checkpoint with the same data order, optimiser state and parameters, so the loss curve is that of an
 * uninterrupted run.
 */
public final class SftTrainer {

    /**
     * How to run.
     *
     * @param recipe the resolved recipe (relative paths in it are relative to the working directory)
     * @param resume continue from the newest checkpoint of {@code output.dir}
     * @param run where metrics go (a tracked run; journal-only when no server is configured)
     * @param out progress lines
     */
    public record Options(Recipe recipe, boolean resume, TrackedRun run, PrintStream out) {}

    /**
     * What a run produced.
     *
     * @param steps optimiser steps done in total
     * @param losses training loss of every step
     * @param evalLosses validation loss by step
     * @param output the final adapter (PEFT directory) or model (Hugging Face directory)
     */
    public record Result(long steps, List<Double> losses, Map<Long, Double> evalLosses, Path output) {}

    private SftTrainer() {}

    /** The ids that close the training answers, and the ids that end generation: what must become likely to stop. */
    static java.util.Set<Integer> endTokens(PreparedData<TokenizedDataset> data, BaseModel base) {
        java.util.Set<Integer> out = new java.util.TreeSet<>(data.train().trainedRunEnds());
        out.addAll(base.generation().stopIds());
        if (base.tokenizer().eosId() >= 0) {
            out.add(base.tokenizer().eosId());
        }
        return out;
    }

    public static Result run(Options o) {
        Recipe r = o.recipe();
        Path runDir = Path.of(r.output().dir());
        CheckpointStore store = new CheckpointStore(runDir, r.output().keepLast());
        Optional<Path> resumeFrom = o.resume() ? store.latest() : Optional.empty();
        if (!o.resume() && !store.list().isEmpty()) {
            throw new BadInputException(runDir + ": already holds checkpoints; pass --resume to continue that run "
                    + "or set output.dir to a new folder");
        }
        if (o.resume() && resumeFrom.isEmpty()) {
            o.out().println("no checkpoint in " + runDir + " yet: starting from the beginning");
        }
        Rematerialization policy = r.train().policy();
        try (NDManager m = NDManager.newBaseManager(); BaseModel base = BaseModel.open(r.model(), r.train().seed(), m)) {
            Llama model = base.model();
            LlamaTokenizer tokenizer = base.tokenizer();
            ChatTemplate template = DataSetup.template(r.data(), tokenizer, base.location());
            PreparedData<TokenizedDataset> data = DatasetBuilder.sft(r.data(), tokenizer, template, Path.of(""));
            data.report().lines().forEach(o.out()::println);
            if (data.train().size() == 0) {
                throw new BadInputException("data: no training example survived reading and encoding (see the report above)");
            }
            int padId = Math.max(0, tokenizer.eosId());
            DataLoader loader = DatasetBuilder.trainLoader(data, r.data(), r.train().microBatchSize(), padId);
            DataLoader validation = data.validation().size() == 0 ? null
                    : DatasetBuilder.validationLoader(data, r.data(), r.train().microBatchSize(), padId);
            o.out().println("batches: " + loader.efficiency(0));

            // ---- what is trained
            LoraModel lora = null;
            Map<String, NDArray> params;
            String adapterName = r.adapter().name();
            if (r.adapter().isLora()) {
                lora = new LoraModel(model);
                if (resumeFrom.isPresent()) {
                    PeftAdapterFormat.read(lora, adapterName, resumeFrom.get().resolve(CheckpointStore.ADAPTER_DIR));
                } else {
                    lora.add(adapterName, r.adapter().loraConfigFor(model, tokenizer, endTokens(data, base), o.out()::println),
                            r.train().seed());
                }
                params = lora.trainableParameters(adapterName);
                lora.setTraining(true);
            } else {
                params = model.parameters();
                if (resumeFrom.isPresent()) {
                    Map<String, float[]> saved = CheckpointStore.readTensors(
                            resumeFrom.get().resolve(CheckpointStore.TRAINABLE_FILE));
                    params.forEach((k, v) -> v.set(require(saved, k, resumeFrom.get())));
                }
                params.values().forEach(p -> p.setRequiresGradient(true));
            }
            long trainable = params.values().stream().mapToLong(a -> a.getShape().size()).sum();

            // ---- schedule and state
            int accumulation = r.train().gradientAccumulationSteps();
            long total = r.train().maxSteps() > 0 ? r.train().maxSteps()
                    : Math.max(1, (long) r.train().epochs() * ceilDiv(loader.batchesInEpoch(0), accumulation));
            TrainerState state = resumeFrom.map(CheckpointStore::readState).orElse(TrainerState.start(r.train().seed()));
            List<Double> losses = new ArrayList<>(state.losses());
            Map<Long, Double> evalLosses = new LinkedHashMap<>();
            String recipeYaml = RecipeLoader.toYaml(r);
            logRunStart(o, r, base, data, loader, trainable, total, model);

            try (AdamW opt = new AdamW(params, r.train().adamSettings(), AdamW::decaysByDefault, m)) {
                if (resumeFrom.isPresent()) {
                    opt.restore(CheckpointStore.readTensors(resumeFrom.get().resolve(CheckpointStore.OPTIMIZER_FILE)),
                            state.step());
                    o.out().printf("resumed from %s at step %d (data position %s)%n", resumeFrom.get().getFileName(),
                            state.step(), new LoaderPosition(state.epoch(), state.batch()));
                }
                Progress progress = new Progress(o.out(), state.step(), total, policy.recipeName());
                Iterator<LoadedBatch<Batch>> batches = loader.from(new LoaderPosition(state.epoch(), state.batch()));
                long step = state.step();
                long skipped = state.nonfiniteSkipped();
                int inARow = state.nonfiniteInARow();
                long trainedTokens = state.trainedTokens();
                double best = state.bestEvalLoss();
                LoaderPosition position = new LoaderPosition(state.epoch(), state.batch());

                if (validation != null && r.eval().onStart() && step == 0) {
                    double eval = evaluate(model, lora, validation, r.eval().maxBatches());
                    evalLosses.put(0L, eval);
                    o.out().printf(java.util.Locale.ROOT, "step 0: eval_loss %.4f (before training)%n", eval);
                    o.run().logMetric("eval_loss", eval, 0);
                }
                while (step < total) {
                    // one optimiser step: its micro-batches, the loss normalised by all their trained tokens
                    List<TokenBatch> micro = new ArrayList<>(accumulation);
                    long stepTokens = 0;
                    long stepTrained = 0;
                    for (int i = 0; i < accumulation; i++) {
                        LoadedBatch<Batch> lb = batches.next();
                        TokenBatch tb = DataSetup.tokenBatch(lb.batch());
                        micro.add(tb);
                        stepTokens += tb.tokens();
                        stepTrained += tb.trainedTokens();
                        position = lb.next();
                    }
                    double lr = r.train().learningRate() * r.train().schedule().factor(step, r.train().warmupSteps(), total);
                    opt.zeroGradients();
                    double lossSum = 0;
                    for (int i = 0; i < micro.size(); i++) {
                        TokenBatch tb = micro.get(i);
                        if (tb.trainedTokens() == 0) {
                            continue;
                        }
                        long seed = r.train().seed() * 1_000_003L + step * 64 + i; // dropout: a function of the position
                        try (NDScope scope = new NDScope()) {
                            lossSum += ForwardBackward.run(model, tb, 1.0 / Math.max(1, stepTrained), policy, seed, m);
                        }
                    }
                    double loss = stepTrained == 0 ? Double.NaN : lossSum / stepTrained;
                    double gradNorm = Double.isFinite(loss) ? GradientClipping.clip(params.values(), r.train().maxGradNorm())
                            : Double.NaN;
                    step++;
                    progress.addTokens(stepTokens);
                    if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
                        skipped++;
                        inARow++;
                        o.out().printf("step %d: %s loss or gradient, update skipped (%d skipped so far)%n", step,
                                Double.isNaN(loss) ? "NaN" : "infinite", skipped);
                        o.run().logMetric("nonfinite_steps_skipped", skipped, step);
                        if (inARow >= r.train().maxConsecutiveNonfinite()) {
                            throw new BadInputException("training stopped: " + inARow + " steps in a row had a NaN or "
                                    + "infinite loss (train.max_consecutive_nonfinite); lower train.learning_rate or "
                                    + "check the data (step " + step + ")");
                        }
                    } else {
                        inARow = 0;
                        opt.step(lr);
                    }
                    trainedTokens += stepTrained;
                    losses.add(loss);
                    if (step % r.train().logEverySteps() == 0 || step == total) {
                        progress.line(step, loss, lr, gradNorm);
                        Map<String, Double> metrics = new LinkedHashMap<>();
                        metrics.put("loss", loss);
                        metrics.put("learning_rate", lr);
                        metrics.put("grad_norm", gradNorm);
                        metrics.put("epoch", position.epoch() + (double) position.batch() / loader.batchesInEpoch(position.epoch()));
                        metrics.put("tokens_per_second", progress.tokensPerSecond());
                        metrics.put("num_tokens", (double) trainedTokens);
                        o.run().logMetrics(metrics, step);
                    }
                    boolean last = step == total;
                    if (validation != null && (last || (r.eval().everySteps() > 0 && step % r.eval().everySteps() == 0))) {
                        double eval = evaluate(model, lora, validation, r.eval().maxBatches());
                        evalLosses.put(step, eval);
                        best = Double.isNaN(best) ? eval : Math.min(best, eval);
                        o.out().printf(java.util.Locale.ROOT, "step %d: eval_loss %.4f (best %.4f)%n", step, eval, best);
                        o.run().logMetric("eval_loss", eval, step);
                    }
                    if (last || (r.output().saveEverySteps() > 0 && step % r.output().saveEverySteps() == 0)) {
                        TrainerState s = new TrainerState(step, position.epoch(), position.batch(), r.train().seed(), skipped,
                                inARow, trainedTokens, losses, best);
                        saveCheckpoint(store, s, opt, recipeYaml, lora, adapterName, params, base);
                    }
                }
                Path output = writeFinal(o, r, runDir, store, lora, adapterName, base);
                if (!r.eval().samplePrompts().isEmpty()) {
                    writeSamples(o, r, runDir, base, lora, template);
                }
                return new Result(step, losses, evalLosses, output);
            } finally {
                if (lora != null) {
                    lora.close();
                }
            }
        }
    }

    private static void logRunStart(Options o, Recipe r, BaseModel base, PreparedData<TokenizedDataset> data,
            DataLoader loader, long trainable, long total, Llama model) {
        Map<String, Object> params = new LinkedHashMap<>(RecipeLoader.flatten(r));
        model.config().toJson().fields().forEachRemaining(e -> params.put("model_config." + e.getKey(), e.getValue().toString()));
        params.put("trainable_parameters", trainable);
        params.put("total_steps", total);
        params.put("train_examples", data.train().size());
        params.put("validation_examples", data.validation().size());
        o.run().logParams(params);
        o.run().setTag("rematerialization", r.train().rematerialization());
        for (var source : r.data().sources()) {
            Path p = Path.of(source.path());
            if (Files.isRegularFile(p)) {
                try {
                    o.run().logInput(DatasetInput.ofFile(p.getFileName().toString(), p, data.train().size(), "training"));
                } catch (IOException e) {
                    o.out().println("note: cannot describe the dataset " + p + " for tracking: " + e.getMessage());
                }
            }
        }
        o.out().printf("training %,d parameters (%s) of %s for %d steps; rematerialization %s%n", trainable,
                r.adapter().isLora() ? "LoRA r=" + r.adapter().r() : "full fine-tuning", base.name(), total,
                r.train().rematerialization());
    }

    /** Mean token loss on the validation split (assistant tokens only), adapters in evaluation mode. */
    static double evaluate(Llama model, LoraModel lora, DataLoader validation, int maxBatches) {
        if (lora != null) {
            lora.setTraining(false);
        }
        double sum = 0;
        long count = 0;
        int n = validation.batchesInEpoch(0);
        if (maxBatches > 0) {
            n = Math.min(n, maxBatches);
        }
        for (int i = 0; i < n; i++) {
            TokenBatch tb = DataSetup.tokenBatch(validation.batch(0, i));
            try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager()) {
                NDArray normed = model.hidden(tb.inputIdsArray(m), tb.positionIdsArray(m), tb.segmentIdsArray(m), false);
                sum += CausalLmLoss.sumOverLabelled(model, normed, CausalLmLoss.shiftedLabels(m, tb.labels())).getFloat();
            }
            count += tb.trainedTokens();
        }
        if (lora != null) {
            lora.setTraining(true);
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    private static void saveCheckpoint(CheckpointStore store, TrainerState s, AdamW opt, String recipeYaml, LoraModel lora,
            String adapterName, Map<String, NDArray> params, BaseModel base) {
        store.save(s, opt.state(), recipeYaml, dir -> {
            if (lora != null) {
                PeftAdapterFormat.write(lora, adapterName, dir.resolve(CheckpointStore.ADAPTER_DIR), base.name());
            } else {
                CheckpointStore.writeTrainable(dir, params);
            }
        });
    }

    private static Path writeFinal(Options o, Recipe r, Path runDir, CheckpointStore store, LoraModel lora, String adapterName,
            BaseModel base) {
        Llama model = base.model();
        Path out;
        if (lora != null) {
            out = runDir.resolve("adapter");
            PeftAdapterFormat.write(lora, adapterName, out, base.name());
        } else {
            out = runDir.resolve("model");
            if (Files.exists(out)) {
                ModelDirectory.deleteTree(out);
            }
            ModelDirectory.write(out, model.config(), model.parameters(), base.tokenizer(), base.generation(), StorageType.F32,
                    ModelDirectory.DEFAULT_SHARD_BYTES);
        }
        o.out().println("wrote " + out);
        o.run().logArtifacts(out, out.getFileName().toString());
        return out;
    }

    private static void writeSamples(Options o, Recipe r, Path runDir, BaseModel base, LoraModel lora,
            ChatTemplate template) {
        Llama model = base.model();
        LlamaTokenizer tokenizer = base.tokenizer();
        if (lora != null) {
            lora.setTraining(false);
        }
        StringBuilder jsonl = new StringBuilder();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        GenerationDefaults g = base.generation();
        for (String prompt : r.eval().samplePrompts()) {
            int[] ids = DataSetup.promptIds(template, tokenizer, prompt);
            int[] out = new Generator(model).generate(ids, Sampling.greedy(r.eval().sampleMaxNewTokens(), g.stopIds()), t -> { });
            var line = json.createObjectNode();
            line.put("prompt", prompt);
            line.put("completion", tokenizer.decode(out));
            jsonl.append(line.toString()).append('\n');
        }
        Path file = runDir.resolve("samples.jsonl");
        try {
            Files.writeString(file, jsonl.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        o.run().logArtifact(file, "");
        o.out().println("wrote " + file);
    }

    private static float[] require(Map<String, float[]> saved, String name, Path checkpoint) {
        float[] v = saved.get(name);
        if (v == null) {
            throw new BadInputException(checkpoint + ": " + CheckpointStore.TRAINABLE_FILE + " lacks tensor '" + name + "'");
        }
        return v;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
