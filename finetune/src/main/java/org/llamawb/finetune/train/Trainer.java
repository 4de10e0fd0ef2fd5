package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
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
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.TemplateException;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.ResumePoint;
import org.llamawb.finetune.checkpoint.TrainerState;
import org.llamawb.finetune.dpo.DpoMethod;
import org.llamawb.finetune.grpo.GrpoMethod;
import org.llamawb.finetune.kto.KtoMethod;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.ppo.PpoMethod;
import org.llamawb.finetune.recipe.Method;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.reward.RewardMethod;
import org.llamawb.finetune.sft.DataSetup;
import org.llamawb.finetune.sft.SftMethod;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.StorageType;
import org.llamawb.tracking.DatasetInput;
import org.llamawb.tracking.RunLog;

/**
 * The trainer every method shares, in the order torchtune's recipes take: set up (base model, adapter,
 * method, optimiser, and the state of a checkpoint when resuming), then train ({@link TrainingStep}
 * per optimiser step, with logging), evaluate and checkpoint on their schedules, and write the result.
 * The method ({@link TrainingMethod}) supplies its batches, loss and metrics. Resuming continues from the
 * newest checkpoint with the same data order, optimiser state and parameters, so the loss curve is that
 * of an uninterrupted run.
 */
public final class Trainer {

    /**
     * How to run.
     *
     * @param recipe the resolved recipe (relative paths in it are relative to the working directory)
     * @param resume continue from the newest usable checkpoint of {@code output.dir} (see {@link ResumePoint})
     * @param run where metrics go (a tracked run; journal-only when no server is configured)
     * @param out progress lines
     * @param resumeFrom a checkpoint directory to continue from ({@code null}: the newest usable one when resuming)
     * @param parallel where each step's gradients are computed ({@code null}: in this process)
     */
    public record Options(Recipe recipe, boolean resume, RunLog run, PrintStream out, Path resumeFrom,
            ParallelGradients parallel) {
        public Options(Recipe recipe, boolean resume, RunLog run, PrintStream out, Path resumeFrom) {
            this(recipe, resume, run, out, resumeFrom, null);
        }

        public Options(Recipe recipe, boolean resume, RunLog run, PrintStream out) {
            this(recipe, resume, run, out, null);
        }

        /** These options with each step's gradients computed by {@code parallel}. */
        public Options withParallel(ParallelGradients parallel) {
            return new Options(recipe, resume, run, out, resumeFrom, parallel);
        }
    }

    /**
     * What a run produced.
     *
     * @param steps optimiser steps done in total
     * @param losses training loss of every step
     * @param evalLosses validation loss by step
     * @param output the final adapter (PEFT directory) or model (Hugging Face directory)
     */
    public record Result(long steps, List<Double> losses, Map<Long, Double> evalLosses, Path output) {}

    private Trainer() {}

    public static Result run(Options o) {
        Recipe r = o.recipe();
        if (o.parallel() != null && !r.methodKind().runsDataParallel()) {
            throw new BadInputException("method: " + r.method() + " does not run data-parallel (methods "
                    + Method.dataParallelNames() + " do); run it without a cluster");
        }
        Path runDir = Path.of(r.output().dir());
        CheckpointStore store = new CheckpointStore(runDir, r.output().keepLast());
        boolean resume = o.resume() || o.resumeFrom() != null;
        Optional<ResumePoint> point = resume ? ResumePoint.find(r, o.resumeFrom(), o.out()::println) : Optional.empty();
        Optional<Path> resumeFrom = point.map(ResumePoint::checkpoint);
        if (!resume && !store.list().isEmpty()) {
            throw new BadInputException(runDir + ": already holds checkpoints; pass --resume to continue that run "
                    + "or set output.dir to a new folder");
        }
        if (resume && resumeFrom.isEmpty()) {
            o.out().println("no checkpoint in " + runDir + " yet: starting from the beginning");
        }
        point.ifPresent(p -> {
            for (Path c : p.setAside()) {
                o.out().println("set aside " + c.getFileName() + " (after " + p.checkpoint().getFileName()
                        + ", where this run resumes) as " + CheckpointStore.setAside(c).getFileName());
            }
            p.changes().forEach(c -> o.out().println("resume: " + c + " (changed since " + p.checkpoint().getFileName() + ")"));
        });
        try (Replica replica = Replica.open(r, resumeFrom, o.out())) {
            return train(o, replica.base(), replica.context(), replica.method(), replica.params(), store, point,
                    replica.manager());
        }
    }

    /** The method the recipe names, with its data read and encoded. */
    static TrainingMethod<?> method(MethodContext ctx) {
        return switch (ctx.recipe().methodKind()) {
            case SFT -> SftMethod.create(ctx);
            case DPO -> DpoMethod.create(ctx);
            case KTO -> KtoMethod.create(ctx);
            case REWARD -> RewardMethod.create(ctx);
            case GRPO -> GrpoMethod.create(ctx);
            case PPO -> PpoMethod.create(ctx);
        };
    }

    /**
     * The adapter (fresh, with the rows of never-trained end tokens when {@code adapter.trainable_tokens} asks,
     * or from the checkpoint) with the method's heads, or every parameter, marked as requiring gradients.
     */
    static Map<String, NDArray> trainable(Recipe r, BaseModel base, ChatTemplate template, LoraModel lora,
            Optional<Path> resumeFrom, PrintStream out, Map<String, NDArray> heads) {
        Llama model = base.model();
        if (lora != null) {
            String name = r.adapter().name();
            if (resumeFrom.isPresent()) {
                Map<String, long[]> shapes = new LinkedHashMap<>();
                heads.forEach((h, w) -> shapes.put(h, w.getShape().getShape()));
                Map<String, NDArray> saved = PeftAdapterFormat.read(lora, name,
                        resumeFrom.get().resolve(CheckpointStore.ADAPTER_DIR), shapes);
                heads.forEach((h, w) -> w.set(saved.get(h).toFloatArray()));
            } else if (r.adapter().initFrom() != null) {
                // a trainable copy of the SFT adapter, as PEFT's is_trainable=True load
                try {
                    PeftAdapterFormat.read(lora, name, Path.of(r.adapter().initFrom()));
                } catch (BadInputException e) {
                    throw new BadInputException("adapter.init_from: " + e.getMessage(), e);
                }
                out.println("adapter '" + name + "' starts from " + r.adapter().initFrom() + " (adapter.init_from)");
            } else {
                lora.add(name, r.adapter().loraConfigFor(model, base.tokenizer(), endTokens(base, template), out::println),
                        r.train().seed());
            }
            lora.activate(name); // alone: a frozen reference adapter is applied in its own passes only
            lora.setTraining(true);
            Map<String, NDArray> params = new LinkedHashMap<>(lora.trainableParameters(name));
            heads.forEach((h, w) -> {
                w.setRequiresGradient(true);
                params.put(LoraModel.PEFT_PREFIX + h + ".weight", w); // the name it is saved under
            });
            return params;
        }
        Map<String, NDArray> params = model.parameters();
        if (resumeFrom.isPresent()) {
            Map<String, float[]> saved = CheckpointStore.readTensors(resumeFrom.get().resolve(CheckpointStore.TRAINABLE_FILE));
            params.forEach((k, v) -> v.set(require(saved, k, resumeFrom.get())));
        }
        params.values().forEach(p -> p.setRequiresGradient(true));
        return params;
    }

    /**
     * The tokens a trained model must make likely to stop: the one that closes an answer in the chat template
     * (its last trained token: {@code </s>}, {@code <|im_end|>}, {@code <|eot_id|>}), the ids that end
     * generation, and EOS.
     */
    static Set<Integer> endTokens(BaseModel base, ChatTemplate template) {
        Set<Integer> out = new TreeSet<>(base.generation().stopIds());
        LlamaTokenizer tokenizer = base.tokenizer();
        if (tokenizer.eosId() >= 0) {
            out.add(tokenizer.eosId());
        }
        try (ExampleEncoder enc = new ExampleEncoder(tokenizer, template, EncodeOptions.of(1 << 12))) {
            int[] labels = enc.render(List.of(Message.user("Hi"), Message.assistant("Hello."))).labels();
            for (int i = labels.length - 1; i >= 0; i--) {
                if (labels[i] != TokenizedExample.IGNORE) {
                    out.add(labels[i]);
                    break;
                }
            }
        } catch (TemplateException e) {
            // a template that refuses a plain exchange will refuse the data too, with the data's own message
        }
        return out;
    }

    private static <B> Result train(Options o, BaseModel base, MethodContext ctx, TrainingMethod<B> method,
            Map<String, NDArray> params, CheckpointStore store, Optional<ResumePoint> point, NDManager m) {
        Optional<Path> resumeFrom = point.map(ResumePoint::checkpoint);
        Recipe r = o.recipe();
        Path runDir = Path.of(r.output().dir());
        long trainable = params.values().stream().mapToLong(a -> a.getShape().size()).sum();
        int accumulation = r.train().gradientAccumulationSteps();
        long total = r.train().maxSteps() > 0 ? r.train().maxSteps()
                : Math.max(1, (long) r.train().epochs() * ceilDiv(method.batchesInEpoch(0), accumulation));
        TrainerState state = resumeFrom.map(CheckpointStore::readState).orElse(TrainerState.start(r.train().seed()));
        List<Double> losses = new ArrayList<>(state.losses());
        Map<Long, Double> evalLosses = new LinkedHashMap<>();
        String recipeYaml = point.map(p -> p.recipeToStore(RecipeLoader.toYaml(r))).orElse(RecipeLoader.toYaml(r));
        logRunStart(o, base, method, trainable, total, point);

        try (AdamW opt = new AdamW(params, r.train().adamSettings(), AdamW::decaysByDefault, m)) {
            if (resumeFrom.isPresent()) {
                // the optimiser counts the updates it made: a skipped (non-finite) step made none, and its
                // bias corrections must go on from that count, not from the trainer's step
                opt.restore(CheckpointStore.readTensors(resumeFrom.get().resolve(CheckpointStore.OPTIMIZER_FILE)),
                        state.step() - state.nonfiniteSkipped());
                method.metricMeans().restore(state.pendingMetrics()); // what the next logged means also average
                o.out().printf("resumed from %s at step %d (data position %s)%n", resumeFrom.get().getFileName(),
                        state.step(), new LoaderPosition(state.epoch(), state.batch()));
                if (state.intraOpThreads() > 0 && state.intraOpThreads() != JniUtils.getNumThreads()) {
                    o.out().printf("warning: %s was trained with %d intra-op threads, this process has %d: the resumed "
                            + "run will differ slightly from an uninterrupted one (run with -Dai.djl.pytorch.num_threads=%d "
                            + "for the same result)%n", resumeFrom.get().getFileName(), state.intraOpThreads(),
                            JniUtils.getNumThreads(), state.intraOpThreads());
                }
            }
            Progress progress = new Progress(o.out(), state.step(), total, r.train().policy().recipeName());
            Iterator<LoadedBatch<B>> batches = method.batches(new LoaderPosition(state.epoch(), state.batch()));
            long step = state.step();
            long skipped = state.nonfiniteSkipped();
            int inARow = state.nonfiniteInARow();
            long trainedTokens = state.trainedTokens();
            double best = state.bestEvalLoss();
            LoaderPosition position = new LoaderPosition(state.epoch(), state.batch());

            if (r.eval().onStart() && step == 0) {
                Map<String, Double> eval = evaluate(method, ctx, r.eval().maxBatches());
                if (!eval.isEmpty()) {
                    if (eval.containsKey("loss")) {
                        evalLosses.put(0L, eval.get("loss"));
                        o.out().printf(Locale.ROOT, "step 0: eval_loss %.4f (before training)%n", eval.get("loss"));
                    } else {
                        o.out().println("step 0: " + summary(eval) + " (before training)");
                    }
                    o.run().logMetrics(prefixed(eval), 0);
                }
            }
            while (step < total) {
                LoaderPosition stepStart = position;
                List<B> micro = new ArrayList<>(accumulation);
                for (int i = 0; i < accumulation; i++) {
                    LoadedBatch<B> lb = batches.next();
                    micro.add(lb.batch());
                    position = lb.next();
                }
                double lr = r.train().learningRate() * r.train().schedule().factor(step, r.train().warmupSteps(), total);
                long seedBase = r.train().seed() * 1_000_003L + step * 64; // dropout: a function of the position
                TrainingStep.Outcome s = o.parallel() == null
                        ? TrainingStep.run(micro, method.loss(), params.values(), opt, lr, r.train().maxGradNorm(), seedBase)
                        : TrainingStep.apply(o.parallel().gradients(stepStart, accumulation, seedBase, params,
                                method.metricMeans()), params.values(), opt, lr, r.train().maxGradNorm());
                step++;
                progress.addTokens(s.tokens());
                if (!s.applied()) {
                    skipped++;
                    inARow++;
                    progress.println(String.format(Locale.ROOT, "step %d: %s loss or gradient, update skipped (%d skipped so far)",
                            step, Double.isNaN(s.loss()) ? "NaN" : "infinite", skipped));
                    o.run().logMetric("nonfinite_steps_skipped", skipped, step);
                    if (inARow >= r.train().maxConsecutiveNonfinite()) {
                        throw new BadInputException("training stopped: " + inARow + " steps in a row had a NaN or "
                                + "infinite loss (train.max_consecutive_nonfinite); lower train.learning_rate or "
                                + "check the data (step " + step + ")");
                    }
                } else {
                    inARow = 0;
                }
                trainedTokens += s.trainedTokens();
                losses.add(s.loss());
                if (step % r.train().logEverySteps() == 0 || step == total) {
                    progress.line(step, s.loss(), lr, s.gradNorm());
                    Map<String, Double> metrics = new LinkedHashMap<>();
                    metrics.put("loss", s.loss());
                    metrics.put("learning_rate", lr);
                    metrics.put("grad_norm", s.gradNorm());
                    metrics.put("epoch", position.epoch() + (double) position.batch() / method.batchesInEpoch(position.epoch()));
                    metrics.put("tokens_per_second", progress.tokensPerSecond());
                    metrics.put("num_tokens", (double) trainedTokens);
                    metrics.putAll(method.takeMetrics()); // averaged over the micro-batches since the last log
                    if (o.parallel() != null) {
                        metrics.putAll(o.parallel().stepMetrics());
                    }
                    o.run().logMetrics(metrics, step);
                }
                boolean last = step == total;
                if (last || (r.eval().everySteps() > 0 && step % r.eval().everySteps() == 0)) {
                    Map<String, Double> eval = evaluate(method, ctx, r.eval().maxBatches());
                    if (eval.containsKey("loss")) {
                        double loss = eval.get("loss");
                        evalLosses.put(step, loss);
                        best = Double.isNaN(best) ? loss : Math.min(best, loss);
                        progress.println(String.format(Locale.ROOT, "step %d: eval_loss %.4f (best %.4f)", step, loss, best));
                    } else if (!eval.isEmpty()) {
                        progress.println("step " + step + ": " + summary(eval));
                    }
                    if (!eval.isEmpty()) {
                        o.run().logMetrics(prefixed(eval), step);
                    }
                }
                if (last || (r.output().saveEverySteps() > 0 && step % r.output().saveEverySteps() == 0)) {
                    TrainerState saved = new TrainerState(step, position.epoch(), position.batch(), r.train().seed(), skipped,
                            inARow, trainedTokens, losses, best, JniUtils.getNumThreads(), method.metricMeans().pending());
                    saveCheckpoint(store, saved, opt, recipeYaml, ctx, params, base, method);
                }
            }
            Path output = writeFinal(o, runDir, ctx, base, method.heads());
            if (!r.eval().samplePrompts().isEmpty()) {
                writeSamples(o, runDir, base, ctx);
            }
            return new Result(step, losses, evalLosses, output);
        }
    }

    /** The method's held-out metrics with the adapters in evaluation mode (no dropout). */
    private static Map<String, Double> evaluate(TrainingMethod<?> method, MethodContext ctx, int maxBatches) {
        if (ctx.lora() != null) {
            ctx.lora().setTraining(false);
        }
        try {
            return method.evaluate(maxBatches);
        } finally {
            if (ctx.lora() != null) {
                ctx.lora().setTraining(true);
            }
        }
    }

    /** Held-out metrics without a loss (online methods report rewards) as one line: {@code eval_reward 0.4100, ...}. */
    private static String summary(Map<String, Double> eval) {
        StringBuilder sb = new StringBuilder();
        eval.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append("eval_").append(k)
                .append(String.format(Locale.ROOT, " %.4f", v)));
        return sb.toString();
    }

    /** Held-out metrics under the names transformers logs: {@code eval_loss}, {@code eval_rewards/margins}. */
    private static Map<String, Double> prefixed(Map<String, Double> eval) {
        Map<String, Double> out = new LinkedHashMap<>();
        eval.forEach((k, v) -> out.put("eval_" + k, v));
        return out;
    }

    private static void logRunStart(Options o, BaseModel base, TrainingMethod<?> method, long trainable, long total,
            Optional<ResumePoint> point) {
        Recipe r = o.recipe();
        Llama model = base.model();
        Map<String, Object> params = new LinkedHashMap<>(RecipeLoader.flatten(r));
        // a param keeps its first value (MLflow refuses another): a key changed on resume is recorded beside it
        point.ifPresent(p -> p.changes().forEach(c -> {
            params.remove(c.key());
            params.put("resumed_at_step_" + p.state().step() + "." + c.key(), c.before() + " -> " + c.after());
        }));
        boolean totalChanged = point.isPresent() && point.get().changes().stream()
                .anyMatch(c -> c.key().equals("train.max_steps") || c.key().equals("train.epochs"));
        model.config().toJson().fields().forEachRemaining(e -> params.put("model_config." + e.getKey(), e.getValue().toString()));
        params.put("trainable_parameters", trainable);
        params.put(totalChanged ? "resumed_at_step_" + point.get().state().step() + ".total_steps" : "total_steps", total);
        params.put("train_examples", method.trainExamples());
        params.put("validation_examples", method.validationExamples());
        if (o.parallel() != null) {
            params.put("data_parallel_workers", o.parallel().workers());
        }
        o.run().logParams(params);
        o.run().setTag("rematerialization", r.train().rematerialization());
        o.run().setTag("precision", model.computePrecision().recipeName()); // the computed one, after any fallback
        for (var source : r.data().sources()) {
            Path p = Path.of(source.path());
            if (Files.isRegularFile(p)) {
                try {
                    o.run().logInput(DatasetInput.ofFile(p.getFileName().toString(), p, method.trainExamples(), "training"));
                } catch (IOException e) {
                    o.out().println("note: cannot describe the dataset " + p + " for tracking: " + e.getMessage());
                }
            }
        }
        o.out().printf("training %,d parameters (%s) of %s%s for %d steps; rematerialization %s; precision %s%n", trainable,
                r.adapter().isLora() ? (r.adapter().useDora() ? "DoRA r=" : "LoRA r=") + r.adapter().r() : "full fine-tuning", base.name(),
                r.model().storage().compact() ? " (frozen in " + r.model().storage().describe() + ")" : "", total,
                r.train().rematerialization(), model.computePrecision().recipeName());
        if (o.parallel() != null) {
            o.out().printf("each step's micro-batches are shared by %d data-parallel workers%n", o.parallel().workers());
        }
        if (r.model().storage().compact() && r.train().policy() == Rematerialization.NONE) {
            o.out().println("note: train.rematerialization: none keeps every widened float32 weight of the "
                    + r.model().storage().describe() + " base until its backward pass (about the float32 model's memory); "
                    + "full, hybrid and hybrid-lean widen each block's weights again in the backward pass instead");
        }
    }

    private static void saveCheckpoint(CheckpointStore store, TrainerState s, AdamW opt, String recipeYaml, MethodContext ctx,
            Map<String, NDArray> params, BaseModel base, TrainingMethod<?> method) {
        store.save(s, opt.state(), recipeYaml, dir -> {
            if (ctx.lora() != null) {
                PeftAdapterFormat.write(ctx.lora(), ctx.adapterName(), dir.resolve(CheckpointStore.ADAPTER_DIR), base.name(),
                        method.heads());
            } else {
                CheckpointStore.writeTrainable(dir, params);
            }
            method.saveState(dir);
        });
    }

    private static Path writeFinal(Options o, Path runDir, MethodContext ctx, BaseModel base, Map<String, NDArray> heads) {
        Llama model = base.model();
        Path out;
        if (ctx.lora() != null) {
            out = runDir.resolve("adapter");
            PeftAdapterFormat.write(ctx.lora(), ctx.adapterName(), out, base.name(), heads);
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

    private static void writeSamples(Options o, Path runDir, BaseModel base, MethodContext ctx) {
        Recipe r = o.recipe();
        Llama model = base.model();
        LlamaTokenizer tokenizer = base.tokenizer();
        if (ctx.lora() != null) {
            ctx.lora().setTraining(false);
        }
        StringBuilder jsonl = new StringBuilder();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        GenerationDefaults g = base.generation();
        for (String prompt : r.eval().samplePrompts()) {
            int[] ids = DataSetup.promptIds(ctx.template(), tokenizer, prompt);
            int max = r.eval().sampleMaxNewTokens();
            int[] out = new Generator(model).generate(ids, Sampling.greedy(max, g.stopIds()), t -> { });
            var line = json.createObjectNode();
            line.put("prompt", prompt);
            line.put("completion", tokenizer.decode(out));
            // as OpenAI and vLLM report it: "stop" when a stop token ended the answer, "length" at the limit
            line.put("finish_reason", out.length < max ? "stop" : "length");
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
