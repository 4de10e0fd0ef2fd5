package org.llamawb.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.grpo.GrpoMethod;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.ppo.PpoMethod;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.sft.DataSetup;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * {@code bench train --method grpo|ppo}: the trainer's step loop over {@link GrpoMethod} or {@link PpoMethod} (the
 * recipe's own rollouts, rewards and losses, built from a recipe the bench writes) on a random model of the bench
 * shape, with every role on that one base, timed in two parts (the TRL peers, bench/peer/trl_grpo.py and
 * trl_ppo.py, time the same two):
 * <ul>
 *   <li><b>rollout</b>: sampling with the KV cache, {@link Rollouts#generate}; rollout tokens/s = the tokens it
 *       generated (each completion's, its stop token included, no padding) / its wall seconds. The whole rollout
 *       phase (sampling, rewards, the old/reference/critic passes, advantages) is reported beside it.</li>
 *   <li><b>update</b>: {@link TrainingStep#run} on the method's micro-batches (policy and, for PPO, critic forward,
 *       backward, clipping, AdamW); update tokens/s = the completion tokens it trained (each time a micro-batch is
 *       trained: PPO trains every completion {@code ppo_epochs} times) / its wall seconds.</li>
 * </ul>
 * The loop is the trainer's without logging, evaluation and checkpoints. Prompts are {@code --prompt-tokens} tokens
 * each (words that are single tokens of {@code --tokenizer}, template {@code none}), so both sides see the same
 * shapes. {@code --steps} and {@code --warmup} count rollout batches here, not optimiser steps.
 */
final class BenchOnline {
    /** GRPO's KL weight: non-zero, so the reference pass (the adapter disabled) runs, as it does in TRL with β &gt; 0. */
    static final double GRPO_BETA = 0.04;
    /** PPO's fixed KL coefficient (TRL's PPOConfig default). */
    static final double PPO_KL_COEF = 0.05;
    static final double LEARNING_RATE = 2e-4;

    private BenchOnline() {}

    /** The shapes of one measurement, as flags give them. */
    record Setting(boolean grpo, int promptTokens, int newTokens, int microBatch, int accumulation, int generations,
            int miniBatches, int ppoEpochs) {
        Setting {
            if (newTokens < 1 || promptTokens < 2 || microBatch < 1 || accumulation < 1 || miniBatches < 1 || ppoEpochs < 1
                    || generations < 2) {
                throw new UsageException("bench train --method " + (grpo ? "grpo" : "ppo") + ": --new-tokens, --batch, "
                        + "--accumulation, --mini-batches and --ppo-epochs must be ≥ 1, --prompt-tokens and "
                        + "--generations ≥ 2");
            }
            if (grpo && microBatch * accumulation % generations != 0) {
                throw new UsageException("bench train --method grpo: --batch × --accumulation (" + microBatch * accumulation
                        + ") must be a multiple of --generations (" + generations + ")");
            }
        }

        /** Prompts per rollout batch: GRPO's generation batch over G, PPO's micro × accumulation × mini-batches. */
        int promptsPerRollout() {
            return grpo ? microBatch * accumulation / generations : microBatch * accumulation * miniBatches;
        }

        /** Optimiser steps per rollout batch (GRPO: one update per generation, TRL's num_iterations 1). */
        int stepsPerRollout() {
            return grpo ? 1 : miniBatches * ppoEpochs;
        }
    }

    static void run(Flags f, NDManager m, ObjectNode out, String method) throws IOException {
        boolean grpo = method.equals("grpo");
        if (f.has("remat") || f.has("prompt-fraction") || f.has("targets")) {
            throw new UsageException("bench train --method " + method + ": --remat, --prompt-fraction and --targets are "
                    + "SFT/DPO options (the adapter is LoRA r 8 on q, k, v, o)");
        }
        Setting s = new Setting(grpo, f.integer("prompt-tokens", 32), f.integer("new-tokens", 32),
                f.integer("batch", grpo ? 16 : 8), f.integer("accumulation", 1), f.integer("generations", 8),
                f.integer("mini-batches", 2), f.integer("ppo-epochs", 2));
        int warmup = f.integer("warmup", 1);
        int steps = f.integer("steps", 3);
        if (steps < 1 || warmup < 0) {
            throw new UsageException("bench train --method " + method + ": --steps must be ≥ 1 and --warmup ≥ 0");
        }
        LlamaConfig c = BenchCommand.shape(f, s.promptTokens() + s.newTokens());
        Path tokenizerPath = Path.of(f.string("tokenizer", "../shared/data/tokenizers/llama/tokenizer.model"));
        if (!Files.isRegularFile(tokenizerPath)) {
            throw new UsageException("bench train --method " + method + ": --tokenizer " + tokenizerPath
                    + " is not a file (the prompts are written as its words)");
        }
        Path dir = Files.createTempDirectory("llamawb-bench-" + method);
        Path data = dir.resolve("prompts.jsonl");
        Recipe r = recipe(s, c, tokenizerPath, data, warmup + steps);
        try (LlamaTokenizer tok = LlamaTokenizer.load(tokenizerPath)) {
            if (tok.vocabSize() > c.vocabSize()) {
                throw new UsageException("bench train --method " + method + ": --tokenizer has " + tok.vocabSize()
                        + " tokens, more than --vocab " + c.vocabSize());
            }
            ChatTemplate template = DataSetup.template(r.data(), tok, tokenizerPath);
            writePrompts(data, tok, template, s.promptsPerRollout() * (warmup + steps), s.promptTokens());
            describe(out, c, s, warmup, steps);
            try (Llama model = Llama.random(c, 1, 0.02, m); LoraModel lora = new LoraModel(model)) {
                TreeSet<Integer> endTokens = new TreeSet<>(c.eosTokenIds());
                endTokens.add(tok.eosId());
                PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
                MethodContext ctx = new MethodContext(r, model, tok, template, lora, r.adapter().name(), quiet, endTokens);
                TrainingMethod<?> tm = grpo ? GrpoMethod.create(ctx) : PpoMethod.create(ctx);
                // as the trainer: the method first (PPO adds its critic), then the policy adapter, alone active
                String name = r.adapter().name();
                lora.add(name, r.adapter().loraConfigFor(model, tok, endTokens, line -> { }), r.train().seed());
                lora.activate(name);
                lora.setTraining(true);
                Map<String, NDArray> params = new LinkedHashMap<>(lora.trainableParameters(name));
                tm.companions().forEach((k, w) -> {
                    w.setRequiresGradient(true);
                    params.put(k, w);
                });
                ObjectNode lo = out.putObject("lora");
                lo.put("r", 8).put("alpha", 16).put("targets", "qkvo")
                        .put("trainable_params", params.values().stream().mapToLong(a -> a.getShape().size()).sum());
                try (AdamW opt = new AdamW(params, r.train().adamSettings(), AdamW::decaysByDefault, m)) {
                    out.put("rss_before_steps_mib", BenchCommand.currentRssMib());
                    measure(tm, params, opt, r, s, warmup, steps, out);
                }
            }
        } finally {
            Files.deleteIfExists(data);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The trainer's loop (micro-batches from the method, then {@link TrainingStep#run}) over {@code warmup + steps}
     * rollout batches, the last {@code steps} of them timed.
     */
    private static <B> void measure(TrainingMethod<B> method, Map<String, NDArray> params, AdamW opt, Recipe r, Setting s,
            int warmup, int steps, ObjectNode out) {
        Iterator<LoadedBatch<B>> batches = method.batches(new LoaderPosition(0, 0));
        long phaseNanos = 0;
        long updateNanos = 0;
        long phaseCpu = 0;
        long updateCpu = 0;
        long trained = 0;
        long samplingNanos = 0;
        long generated = 0;
        long step = 0;
        double lastLoss = Double.NaN;
        for (int rollout = 0; rollout < warmup + steps; rollout++) {
            boolean timed = rollout >= warmup;
            Rollouts.SamplingClock before = Rollouts.samplingClock();
            for (int k = 0; k < s.stepsPerRollout(); k++) {
                long c0 = BenchCommand.cpuNanos();
                long t0 = System.nanoTime();
                List<B> micro = new ArrayList<>(s.accumulation());
                for (int i = 0; i < s.accumulation(); i++) {
                    micro.add(batches.next().batch()); // at a rollout batch's first step: sampling, rewards, passes
                }
                long t1 = System.nanoTime();
                long c1 = BenchCommand.cpuNanos();
                TrainingStep.Outcome o = TrainingStep.run(micro, method.loss(), params.values(), opt, LEARNING_RATE,
                        r.train().maxGradNorm(), r.train().seed() * 1_000_003L + step * 64);
                long t2 = System.nanoTime();
                long c2 = BenchCommand.cpuNanos();
                step++;
                lastLoss = o.loss();
                if (timed) {
                    phaseNanos += t1 - t0;
                    updateNanos += t2 - t1;
                    phaseCpu += c1 - c0;
                    updateCpu += c2 - c1;
                    trained += o.trainedTokens();
                }
            }
            Rollouts.SamplingClock after = Rollouts.samplingClock();
            if (timed) {
                samplingNanos += after.nanos() - before.nanos();
                generated += after.tokens() - before.tokens();
            }
        }
        int completions = steps * s.promptsPerRollout() * (s.grpo() ? s.generations() : 1);
        ObjectNode ro = out.putObject("rollout");
        ro.put("completions", completions);
        ro.put("generated_tokens", generated);
        ro.put("mean_completion_tokens", (double) generated / completions);
        ro.put("sampling_s", samplingNanos / 1e9);
        ro.put("tokens_per_s", generated / (samplingNanos / 1e9));
        ro.put("phase_s", phaseNanos / 1e9);
        ro.put("phase_cpu_s", phaseCpu / 1e9);
        ro.put("phase_tokens_per_s", generated / (phaseNanos / 1e9));
        ObjectNode uo = out.putObject("update");
        uo.put("optimizer_steps", steps * s.stepsPerRollout());
        uo.put("trained_tokens", trained);
        uo.put("s", updateNanos / 1e9);
        uo.put("cpu_s", updateCpu / 1e9);
        uo.put("tokens_per_s", trained / (updateNanos / 1e9));
        out.put("rollout_tokens_per_s", generated / (samplingNanos / 1e9));
        out.put("update_tokens_per_s", trained / (updateNanos / 1e9));
        out.put("last_loss", lastLoss);
    }

    private static void describe(ObjectNode out, LlamaConfig c, Setting s, int warmup, int steps) {
        ObjectNode mo = out.putObject("model");
        mo.put("dim", c.hiddenSize()).put("layers", c.numHiddenLayers()).put("heads", c.numAttentionHeads())
                .put("kv_heads", c.numKeyValueHeads()).put("hidden", c.intermediateSize())
                .put("vocab", c.vocabSize()).put("tied", c.tieWordEmbeddings());
        out.put("params", c.parameterCount());
        out.put("method", s.grpo() ? "grpo" : "ppo");
        ObjectNode co = out.putObject("config");
        co.put("prompt_tokens", s.promptTokens()).put("max_new_tokens", s.newTokens())
                .put("micro_batch", s.microBatch()).put("accumulation", s.accumulation())
                .put("prompts_per_rollout", s.promptsPerRollout()).put("optimizer_steps_per_rollout", s.stepsPerRollout())
                .put("temperature", 1.0).put("top_k", 0).put("top_p", 1.0).put("learning_rate", LEARNING_RATE)
                .put("rollouts_timed", steps).put("rollouts_warmup", warmup);
        if (s.grpo()) {
            co.put("num_generations", s.generations()).put("num_iterations", 1).put("beta", GRPO_BETA)
                    .put("loss_type", "dapo");
        } else {
            co.put("num_mini_batches", s.miniBatches()).put("num_ppo_epochs", s.ppoEpochs()).put("kl_coef", PPO_KL_COEF)
                    .put("critic", "LoRA adapter + value head on the same base").put("reward", "rule (regex)");
        }
    }

    /** The recipe the trainer would run for this measurement (LoRA r 8 / alpha 16 on q, k, v, o; a regex reward). */
    static Recipe recipe(Setting s, LlamaConfig c, Path tokenizer, Path data, int rollouts) {
        ObjectNode tree = new ObjectMapper().createObjectNode();
        List<String> set = new ArrayList<>(List.of(
                "method=" + (s.grpo() ? "grpo" : "ppo"),
                "model.tokenizer=" + tokenizer.toAbsolutePath(),
                "model.init={hidden_size: " + c.hiddenSize() + ", intermediate_size: " + c.intermediateSize()
                        + ", num_hidden_layers: " + c.numHiddenLayers() + ", num_attention_heads: " + c.numAttentionHeads()
                        + ", num_key_value_heads: " + c.numKeyValueHeads() + ", vocab_size: " + c.vocabSize() + "}",
                "data.sources=[{path: " + data.toAbsolutePath() + ", format: prompts}]",
                "data.template=none",
                "data.max_length=" + 2 * (s.promptTokens() + s.newTokens()),
                "data.validation_fraction=0",
                "adapter.type=lora", "adapter.r=8", "adapter.alpha=16", "adapter.dropout=0",
                "adapter.target_modules=[q_proj, k_proj, v_proj, o_proj]",
                "train.max_steps=" + rollouts * s.stepsPerRollout(),
                "train.micro_batch_size=" + s.microBatch(),
                "train.gradient_accumulation_steps=" + s.accumulation(),
                "train.learning_rate=" + LEARNING_RATE, "train.lr_schedule=constant", "train.weight_decay=0",
                "train.max_grad_norm=1.0", "train.seed=0",
                "rewards=[{name: says_the, type: regex, pattern: '\\bthe\\b'}]",
                "eval.every_steps=0", "eval.on_start=false",
                "output.dir=" + data.getParent().resolve("out"), "output.save_every_steps=0"));
        if (s.grpo()) {
            set.addAll(List.of("grpo.num_generations=" + s.generations(), "grpo.max_completion_length=" + s.newTokens(),
                    "grpo.temperature=1.0", "grpo.num_iterations=1", "grpo.beta=" + GRPO_BETA, "grpo.loss_type=dapo"));
        } else {
            set.addAll(List.of("ppo.num_ppo_epochs=" + s.ppoEpochs(), "ppo.num_mini_batches=" + s.miniBatches(),
                    "ppo.response_length=" + s.newTokens(), "ppo.temperature=1.0", "ppo.kl_coef=" + PPO_KL_COEF));
        }
        for (String a : set) {
            RecipeLoader.applyOverride(tree, a);
        }
        return RecipeLoader.bind(tree, Recipe.class, "bench train --method " + (s.grpo() ? "grpo" : "ppo"));
    }

    /**
     * {@code n} prompt records whose rendering under {@code template} is exactly {@code tokens} tokens: random words
     * that are single tokens of the tokenizer, as many as the template leaves room for.
     */
    static void writePrompts(Path file, LlamaTokenizer tok, ChatTemplate template, int n, int tokens) throws IOException {
        List<String> words = new ArrayList<>();
        int lead = tok.encode("a", false).length;
        for (int id = 0; id < tok.vocabSize() && words.size() < 2000; id++) {
            String p = tok.piece(id);
            if (p.length() > 1 && p.startsWith("\u2581") && p.substring(1).chars().allMatch(Character::isLowerCase)) {
                String w = p.substring(1);
                // one token at the start and one after another word
                if (tok.encode(w, false).length == 1 && tok.encode("a " + w, false).length == lead + 1) {
                    words.add(w);
                }
            }
        }
        if (words.size() < 20) {
            throw new UsageException("bench train: the tokenizer has too few single-token words to write prompts with");
        }
        int overhead = DataSetup.promptIds(template, tok, words.get(0)).length - 1;
        ObjectMapper json = new ObjectMapper();
        SplittableRandom rng = new SplittableRandom(17);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < tokens - overhead; w++) {
                text.append(w == 0 ? "" : " ").append(words.get(rng.nextInt(words.size())));
            }
            int got = DataSetup.promptIds(template, tok, text.toString()).length;
            if (got != tokens) {
                throw new IllegalStateException("prompt " + i + " renders to " + got + " tokens, not " + tokens);
            }
            ObjectNode rec = json.createObjectNode().put("id", "p" + i).put("prompt", text.toString());
            sb.append(json.writeValueAsString(rec)).append('\n');
        }
        Files.writeString(file, sb);
    }
}
