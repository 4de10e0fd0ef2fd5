package org.llamawb.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.apache.commons.cli.Options;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.dpo.DpoLoss;
import org.llamawb.finetune.dpo.DpoObjective;
import org.llamawb.finetune.dpo.ReferenceModel;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.sft.SftLoss;
import org.llamawb.finetune.train.NativeHeap;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.ComputePrecision;
import org.llamawb.model.CpuFeatures;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;

/**
 * {@code workbench bench gemm|forward|train|generate}: the measurements behind bench/BENCHMARKS.md,
 * one JSON line each, with the field names and definitions of the Python peers in bench/peer/.
 */
final class BenchCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure GEMM GFLOP/s, forward/backward, LoRA training and generation throughput";
    }

    @Override
    public int run(List<String> args) throws Exception {
        Options o = new Options();
        o.addOption(Flags.opt("dim", "N", "model width (default 288)"));
        o.addOption(Flags.opt("layers", "N", "decoder layers (default 6)"));
        o.addOption(Flags.opt("heads", "N", "attention heads (default 6)"));
        o.addOption(Flags.opt("kv-heads", "N", "key/value heads (default = heads)"));
        o.addOption(Flags.opt("hidden", "N", "feed-forward width (default 768)"));
        o.addOption(Flags.opt("vocab", "N", "vocabulary size (default 32000)"));
        o.addOption(Flags.opt("untied", null, "separate LM head (default: tied, as stories15M)"));
        o.addOption(Flags.opt("batch", "B", "batch size (default 8)"));
        o.addOption(Flags.opt("seq", "T", "sequence length (default 256)"));
        o.addOption(Flags.opt("steps", "N", "timed steps (default 10)"));
        o.addOption(Flags.opt("warmup", "N", "untimed steps first (default 2)"));
        o.addOption(Flags.opt("sizes", "LIST", "gemm: matrix sizes, comma-separated (default 1024,2048)"));
        o.addOption(Flags.opt("peak-gflops", "G", "the GEMM ceiling, for MFU"));
        o.addOption(Flags.opt("targets", "T", "train: qkvo or all-linear (default qkvo); full = every parameter"));
        o.addOption(Flags.opt("method", "M", "train: sft, dpo, grpo or ppo (default sft); dpo: --batch pairs of chosen and "
                + "rejected rows of --seq tokens, the first --prompt-fraction of them a prompt both share, through the "
                + "DPO step (sigmoid loss, beta 0.1, the reference = the base with the adapter off); grpo, ppo: the "
                + "method's rollouts and updates on --prompt-tokens prompts (--batch completions per micro-batch, "
                + "--new-tokens at most), rollout and update tokens/s apart; --steps/--warmup count rollout batches"));
        o.addOption(Flags.opt("prompt-tokens", "N", "train grpo/ppo: tokens per prompt (default 32)"));
        o.addOption(Flags.opt("generations", "G", "train grpo: completions per prompt (default 8)"));
        o.addOption(Flags.opt("mini-batches", "N", "train ppo: optimiser steps per pass over a rollout batch (default 2)"));
        o.addOption(Flags.opt("ppo-epochs", "N", "train ppo: passes over each rollout batch (default 2)"));
        o.addOption(Flags.opt("remat", "P", "train: none, full, hybrid or hybrid-lean (default none)"));
        o.addOption(Flags.opt("fb-steps", "N", "forward: timed forward+backward steps after the forward ones "
                + "(default --steps; 0: none)"));
        o.addOption(Flags.opt("fused-projections", "on|off", "forward, train, generate: stack each block's frozen "
                + "q/k/v and gate/up projections for one GEMM each (default off)"));
        o.addOption(Flags.opt("precision", "P", "train: fp32 or bf16, as train.precision (default fp32); bf16 falls "
                + "back to fp32 on a CPU without bfloat16 instructions unless -Dworkbench.bf16=force"));
        o.addOption(Flags.opt("rank", "R", "train: LoRA rank r, alpha 2r (default 8)"));
        o.addOption(Flags.opt("init", "G", "train: draw the random weights with java (the default, as every test) or "
                + "torch (libtorch's generator: other values, much faster for billions of parameters)"));
        o.addOption(Flags.opt("dtype", "D", "train: the frozen base in float32, bf16 or fp16, as model.dtype (default float32)"));
        o.addOption(Flags.opt("quantize", "Q", "train, generate: the frozen projections as none, nf4, int8 or keep (a GGUF "
                + "--model's blocks), as model.quantize (default none); the model is read or drawn and converted tensor by "
                + "tensor"));
        o.addOption(Flags.opt("max-grad-norm", "N", "train: global-norm clipping threshold, as train.max_grad_norm "
                + "(default 1.0; 0 = off)"));
        o.addOption(Flags.opt("accumulation", "N", "train: micro-batches per optimiser step (default 1)"));
        o.addOption(Flags.opt("prompt-fraction", "F", "train: ignore the labels of the first F of every row, "
                + "as an SFT prompt (default 0: every token trained)"));
        o.addOption(Flags.opt("model", "PATH", "generate, train: a checkpoint instead of a random model (train: its own "
                + "shape; --dim etc. are ignored)"));
        o.addOption(Flags.opt("tokenizer", "PATH", "generate: tokenizer for --model (unused for timing); train grpo/ppo: "
                + "the tokenizer whose words make the prompts (default ../shared/data/tokenizers/llama/tokenizer.model); "
                + "train sft: held loaded through the steps, as a run holds its tokenizer (for peak RSS beside grpo/ppo)"));
        o.addOption(Flags.opt("new-tokens", "N", "generate: tokens to generate (default 255); train grpo/ppo: at most "
                + "this many per completion (default 32)"));
        o.addOption(Flags.opt("profile", "DIR", "forward, train: after timing, write libtorch traces of one step "
                + "(forward.json, forward_backward.json, train_<policy>.json, train_dpo.json; chrome://tracing format)"));
        Flags f = Flags.parse("bench gemm|forward|train|generate [options]", o, args);
        if (f == null) {
            return 0;
        }
        if (f.positional().size() != 1) {
            throw new UsageException("bench: name one measurement: gemm, forward, train or generate");
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("bench", f.positional().get(0));
        out.put("impl", "java-djl");
        out.put("threads", Runtime.getRuntime().availableProcessors());
        try (NDManager m = NDManager.newBaseManager()) {
            out.put("baseline_rss_mib", peakRssMib());
            switch (f.positional().get(0)) {
                case "gemm" -> gemm(f, m, out);
                case "forward" -> forward(f, m, out);
                case "train" -> train(f, m, out);
                case "generate" -> generate(f, m, out);
                default -> throw new UsageException("bench: unknown measurement '" + f.positional().get(0)
                        + "' (expected gemm, forward, train or generate)");
            }
        }
        out.put("peak_rss_mib", peakRssMib());
        System.out.println(JSON.writeValueAsString(out));
        return 0;
    }

    static LlamaConfig shape(Flags f, int minPositions) {
        int dim = f.integer("dim", 288);
        int heads = f.integer("heads", 6);
        return new LlamaConfig(f.integer("vocab", 32000), dim, f.integer("hidden", 768), f.integer("layers", 6), heads,
                f.integer("kv-heads", heads), dim / heads, 10000.0, RopeScaling.NONE, 1e-5, !f.has("untied"), 1,
                List.of(2), false, false, Math.max(256, minPositions));
    }

    /** N for MFU: every parameter but the input embedding (a lookup); a tied matrix counts once, as the LM head. */
    static long matmulParams(LlamaConfig c) {
        return c.parameterCount() - (c.tieWordEmbeddings() ? 0 : (long) c.vocabSize() * c.hiddenSize());
    }

    private static void gemm(Flags f, NDManager m, ObjectNode out) {
        ObjectNode results = out.putObject("results");
        for (String s : f.string("sizes", "1024,2048").split(",")) {
            int n = Integer.parseInt(s.trim());
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            double[] t = time(f.integer("warmup", 2), f.integer("steps", 10), () -> {
                try (NDScope scope = new NDScope()) {
                    a.matMul(b).getFloat(0, 0); // getFloat forces completion
                }
                return null;
            });
            ObjectNode r = stats(results.putObject(String.valueOf(n)), t);
            r.put("gflops", 2.0 * n * n * n / median(t) / 1e9);
        }
    }

    private static void forward(Flags f, NDManager m, ObjectNode out) throws IOException {
        int batch = f.integer("batch", 8);
        int seq = f.integer("seq", 256);
        LlamaConfig c = shape(f, seq);
        describe(out, c, batch, seq);
        try (Llama model = Llama.random(c, 1, 0.02, m)) {
            boolean fused = fuse(f, model, out);
            NDArray ids = randomBatch(c, batch, seq, 0).inputIdsArray(m);
            double[] fwdCpu = new double[f.integer("steps", 10)];
            double[] fwd = time(f.integer("warmup", 2), f.integer("steps", 10), fwdCpu, () -> {
                try (NDScope scope = new NDScope()) {
                    model.forward(ids, null, null, false).getFloat(0, 0, 0);
                }
                return null;
            });
            out.put("forward_cpu_s_median", median(fwdCpu));
            if (f.integer("fb-steps", 1) == 0) {
                ObjectNode fo = stats(out.putObject("forward"), fwd);
                fo.put("tokens_per_s", (double) batch * seq / median(fwd));
                return;
            }
            if (fused) {
                model.fuseFrozenProjections(false); // full fine-tuning trains the separate tensors
            }
            model.parameters().values().forEach(p -> p.setRequiresGradient(true));
            Batch tb = randomBatch(c, batch, seq, 0);
            double[] fb = time(f.integer("warmup", 2), f.integer("fb-steps", f.integer("steps", 10)), () -> {
                try (NDScope scope = new NDScope()) {
                    ForwardBackward.run(model, tb, 1.0 / tb.trainedTokens(), Rematerialization.NONE, 0, m);
                }
                model.parameters().values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
                return null;
            });
            if (f.has("profile")) {
                Path dir = Path.of(f.string("profile", "."));
                Files.createDirectories(dir);
                profile(dir.resolve("forward.json"), () -> {
                    try (NDScope scope = new NDScope()) {
                        model.forward(ids, null, null, false).getFloat(0, 0, 0);
                    }
                });
                profile(dir.resolve("forward_backward.json"), () -> {
                    try (NDScope scope = new NDScope()) {
                        ForwardBackward.run(model, tb, 1.0 / tb.trainedTokens(), Rematerialization.NONE, 0, m);
                    }
                });
            }
            double tokens = (double) batch * seq;
            double peak = f.number("peak-gflops", 0);
            ObjectNode fo = stats(out.putObject("forward"), fwd);
            fo.put("tokens_per_s", tokens / median(fwd));
            mfu(fo, 2.0 * matmulParams(c) * tokens / median(fwd), peak);
            ObjectNode bo = stats(out.putObject("forward_backward"), fb);
            bo.put("tokens_per_s", tokens / median(fb));
            mfu(bo, 6.0 * matmulParams(c) * tokens / median(fb), peak);
        }
    }

    /** {@code --fused-projections on|off}: stacks the frozen projections when on; records how many groups were. */
    private static boolean fuse(Flags f, Llama model, ObjectNode out) {
        String v = f.string("fused-projections", "off");
        if (!v.equals("on") && !v.equals("off")) {
            throw new UsageException("bench: --fused-projections must be on or off, not '" + v + "'");
        }
        out.put("fused_projections", v.equals("on") ? model.fuseFrozenProjections(true) : 0);
        return v.equals("on");
    }

    /** One step under libtorch's profiler (operator names and input shapes), written as a chrome trace. */
    private static void profile(Path file, Runnable step) {
        JniUtils.startProfile(false, true, false);
        try {
            step.run();
        } finally {
            JniUtils.stopProfile(file.toString());
        }
    }

    private static void train(Flags f, NDManager m, ObjectNode out) throws IOException {
        String method = f.string("method", "sft");
        if (method.equals("dpo")) {
            dpo(f, m, out);
            return;
        }
        if (method.equals("grpo") || method.equals("ppo")) {
            BenchOnline.run(f, m, out, method);
            return;
        }
        if (!method.equals("sft")) {
            throw new UsageException("bench train: --method must be sft, dpo, grpo or ppo, not '" + method + "'");
        }
        // a GRPO/PPO run holds its tokenizer (it decodes completions for the rewards), and so does an SFT run; the
        // bench's SFT rows hold it too when asked, so that peak RSS compares like with like
        try (LlamaTokenizer held = f.has("tokenizer") ? LlamaTokenizer.load(Path.of(f.string("tokenizer", ""))) : null) {
            sft(f, m, out);
            if (held != null) {
                out.put("tokenizer_held_vocab", held.vocabSize()); // read after the steps: held through them
            }
        }
    }

    private static void sft(Flags f, NDManager m, ObjectNode out) throws IOException {
        int batch = f.integer("batch", 8);
        int seq = f.integer("seq", 256);
        Checkpoint checkpoint = f.has("model") ? Checkpoint.open(Path.of(f.string("model"))) : null;
        LlamaConfig c = checkpoint != null ? checkpoint.config() : shape(f, seq);
        describe(out, c, batch, seq);
        if (checkpoint != null) {
            ((ObjectNode) out.get("model")).put("path", f.string("model"));
        }
        out.put("method", "sft");
        String targets = f.string("targets", "qkvo");
        Rematerialization remat = Rematerialization.parse(f.string("remat", "none"));
        out.put("rematerialization", remat.recipeName());
        ComputePrecision asked = ComputePrecision.parse(f.string("precision", "fp32"), "--precision");
        CpuFeatures cpuFlags = CpuFeatures.probe();
        ComputePrecision precision = asked.resolve(cpuFlags, n -> System.err.println("note: --precision: " + n));
        out.put("precision_asked", asked.recipeName());
        out.put("precision", precision.recipeName());
        out.put("cpu_bf16", cpuFlags.bf16Instructions().orElse("none"));
        FrozenStorage storage = storage(f);
        out.put("base_storage", storage.describe());
        long loadStart = System.nanoTime();
        String init = f.string("init", "java");
        if (!init.equals("java") && !init.equals("torch")) {
            throw new UsageException("bench train: --init must be java or torch, not '" + init + "'");
        }
        out.put("init", init);
        try (Llama model = checkpoint != null ? Llama.load(checkpoint, m, storage)
                : init.equals("torch") ? Llama.randomNative(c, 1, 0.02, m, storage) : Llama.random(c, 1, 0.02, m, storage)) {
            model.setComputePrecision(precision);
            out.put("init_s", (System.nanoTime() - loadStart) / 1e9);
            NativeHeap.releaseLoadingMemory(); // as the trainer does once its base is loaded
            out.put("rss_after_init_mib", currentRssMib());
            if (storage.compact() && targets.equals("full")) {
                throw new UsageException("bench train: --dtype/--quantize keep the base frozen; use --targets qkvo or all-linear");
            }
            Map<String, NDArray> params;
            LoraModel lora = null;
            if (targets.equals("full")) {
                params = model.parameters();
                params.values().forEach(p -> p.setRequiresGradient(true));
            } else {
                lora = new LoraModel(model);
                params = addLora(lora, targets, f.integer("rank", 8), out);
            }
            fuse(f, model, out); // after the trained tensors are known: a trained group is left separate
            List<Batch> batches = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                batches.add(withPrompt(randomBatch(c, batch, seq, i), f.number("prompt-fraction", 0)));
            }
            try (AdamW opt = new AdamW(params, new AdamW.Settings(0.9, 0.999, 1e-8, 0.0), AdamW::decaysByDefault, m)) {
                out.put("prompt_fraction", f.number("prompt-fraction", 0));
                out.put("rss_before_steps_mib", currentRssMib());
                double[] lastLoss = new double[1];
                int[] step = new int[1];
                SftLoss loss = new SftLoss(model, remat);
                double maxGradNorm = f.number("max-grad-norm", 1.0);
                int accumulation = f.integer("accumulation", 1);
                double[] cpu = new double[f.integer("steps", 5)];
                // the trainer's own step: zero, micro-batches normalised by the step's trained tokens, clip, update
                double[] t = time(f.integer("warmup", 1), f.integer("steps", 5), cpu, () -> {
                    List<Batch> micro = new ArrayList<>(accumulation);
                    for (int i = 0; i < accumulation; i++) {
                        micro.add(batches.get((step[0] * accumulation + i) % batches.size()));
                    }
                    step[0]++;
                    lastLoss[0] = TrainingStep.run(micro, loss, params.values(), opt, 2e-4, maxGradNorm, step[0] * 64L).loss();
                    return null;
                });
                double tokens = (double) batch * seq * accumulation;
                out.put("gradient_accumulation_steps", accumulation);
                out.put("max_grad_norm", maxGradNorm);
                out.put("tokens_per_step", (long) tokens);
                stats(out.putObject("step"), t);
                out.put("cpu_s_median", median(cpu));
                out.put("tokens_per_s", tokens / median(t));
                double peak = f.number("peak-gflops", 0);
                mfu(out, 6.0 * matmulParams(c) * tokens / median(t), peak);
                if (peak > 0) {
                    out.put("mfu_frozen_base", 4.0 * matmulParams(c) * tokens / median(t) / 1e9 / peak);
                }
                out.put("last_loss", lastLoss[0]);
                if (f.has("profile")) {
                    Path dir = Path.of(f.string("profile", "."));
                    Files.createDirectories(dir);
                    Batch tb = batches.get(0);
                    opt.zeroGradients();
                    profile(dir.resolve("train_" + remat.recipeName() + ".json"), () -> {
                        try (NDScope scope = new NDScope()) {
                            ForwardBackward.run(model, tb, 1.0 / tb.trainedTokens(), remat, 0, m);
                        }
                    });
                }
            }
            if (lora != null) {
                lora.close();
            }
        }
    }

    /**
     * {@code bench train --method dpo}: the DPO step the trainer takes ({@link DpoObjective} in
     * {@link TrainingStep#run}) on {@code --batch} random pairs. Tokens per step = 2·B·T, the chosen and the
     * rejected rows of the policy's pass; the reference pass over the same rows is not counted again (the TRL
     * peer, bench/peer/trl_dpo.py, counts the same way).
     */
    private static void dpo(Flags f, NDManager m, ObjectNode out) throws IOException {
        int pairs = f.integer("batch", 4);
        int seq = f.integer("seq", 256);
        double promptFraction = f.number("prompt-fraction", 0);
        LlamaConfig c = shape(f, seq);
        describe(out, c, pairs, seq);
        out.put("method", "dpo");
        out.put("pairs", pairs);
        out.put("prompt_fraction", promptFraction);
        String targets = f.string("targets", "qkvo");
        if (targets.equals("full")) {
            throw new UsageException("bench train --method dpo: --targets must be qkvo or all-linear (the reference is "
                    + "the base with the adapter off)");
        }
        if (f.has("accumulation")) {
            throw new UsageException("bench train --method dpo: --accumulation is an SFT option");
        }
        Rematerialization remat = Rematerialization.parse(f.string("remat", "none"));
        out.put("rematerialization", remat.recipeName());
        try (Llama model = Llama.random(c, 1, 0.02, m); LoraModel lora = new LoraModel(model)) {
            Map<String, NDArray> params = addLora(lora, targets, 8, out);
            List<PairBatch> batches = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                batches.add(randomPairs(c, pairs, seq, promptFraction, i));
            }
            DpoObjective objective = new DpoObjective(model, ReferenceModel.base(model, lora), DPO_LOSS, remat);
            double maxGradNorm = f.number("max-grad-norm", 1.0);
            try (AdamW opt = new AdamW(params, new AdamW.Settings(0.9, 0.999, 1e-8, 0.0), AdamW::decaysByDefault, m)) {
                out.put("rss_before_steps_mib", currentRssMib());
                double[] lastLoss = new double[1];
                int[] step = new int[1];
                double[] cpu = new double[f.integer("steps", 5)];
                double[] t = time(f.integer("warmup", 1), f.integer("steps", 5), cpu, () -> {
                    PairBatch b = batches.get(step[0] % batches.size());
                    step[0]++;
                    lastLoss[0] = dpoStep(b, objective, params, opt, maxGradNorm, step[0]).loss();
                    return null;
                });
                long tokens = objective.tokens(batches.get(0));
                out.put("loss_type", DPO_LOSS.type()).put("beta", DPO_LOSS.beta());
                out.put("max_grad_norm", maxGradNorm);
                out.put("tokens_per_step", tokens);
                out.put("trained_tokens_per_step", objective.trainedTokens(batches.get(0)));
                stats(out.putObject("step"), t);
                out.put("cpu_s_median", median(cpu));
                out.put("tokens_per_s", tokens / median(t));
                out.put("pairs_per_s", pairs / median(t));
                out.put("last_loss", lastLoss[0]);
                if (f.has("profile")) {
                    Path dir = Path.of(f.string("profile", "."));
                    Files.createDirectories(dir);
                    profile(dir.resolve("train_dpo.json"), () -> dpoStep(batches.get(0), objective, params, opt,
                            maxGradNorm, 0));
                }
            }
        }
    }

    /** The DPO loss {@code bench train --method dpo} steps with: TRL's default sigmoid loss, beta 0.1. */
    static final DpoLoss DPO_LOSS = new DpoLoss("sigmoid", 0.1, 0);

    /** One timed DPO step: the trainer's {@link TrainingStep#run} on one micro-batch of pairs, learning rate 2e-4. */
    static TrainingStep.Outcome dpoStep(PairBatch b, DpoObjective objective, Map<String, NDArray> params, AdamW opt,
            double maxGradNorm, long seed) {
        return TrainingStep.run(List.of(b), objective, params.values(), opt, 2e-4, maxGradNorm, seed * 64L);
    }

    /** {@code --dtype} and {@code --quantize}, with the recipe keys' spellings. */
    private static FrozenStorage storage(Flags f) {
        HalfWeight.Format dtype;
        QuantizedWeight.Kind quantize;
        try {
            dtype = HalfWeight.Format.parse(f.string("dtype", "float32"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("bench train: --dtype " + e.getMessage());
        }
        String q = f.string("quantize", "none");
        if (q.equals(ModelLoading.KEEP)) {
            return FrozenStorage.keepingGguf(dtype);
        }
        try {
            quantize = q.equals("none") ? null : QuantizedWeight.Kind.parse(q);
        } catch (IllegalArgumentException e) {
            throw new UsageException("bench train: --quantize expected none, nf4, int8 or keep, got '" + q + "'");
        }
        return new FrozenStorage(dtype, quantize);
    }

    /** A LoRA r {@code rank}, alpha 2r, named default on {@code targets} (qkvo or all-linear); returns its trainable tensors. */
    private static Map<String, NDArray> addLora(LoraModel lora, String targets, int rank, ObjectNode out) {
        TargetModules t = switch (targets) {
            case "all-linear" -> new TargetModules.AllLinear();
            case "qkvo" -> new TargetModules.Names(List.of("q_proj", "k_proj", "v_proj", "o_proj"));
            default -> throw new UsageException("bench train: --targets must be qkvo, all-linear or full, not '"
                    + targets + "'");
        };
        lora.add("default", LoraConfig.of(rank, 2 * rank, t), 0);
        ObjectNode lo = out.putObject("lora");
        lo.put("r", rank).put("alpha", 2 * rank).put("targets", targets).put("trainable_params", lora.parameterCount("default"));
        return lora.trainableParameters("default");
    }

    /**
     * {@code pairs} random preference pairs of {@code seq} tokens each: a prompt of {@code round(fraction · seq)}
     * tokens that chosen and rejected share, then two different random answers filling the row; labels are the
     * answers only (no padding, as the TRL peer's pairs).
     */
    static PairBatch randomPairs(LlamaConfig c, int pairs, int seq, double promptFraction, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int prompt = (int) Math.round(promptFraction * seq);
        if (prompt >= seq) {
            throw new UsageException("bench train --method dpo: --prompt-fraction leaves no answer token in " + seq);
        }
        int[][][] ids = new int[2][pairs][seq];
        int[][][] labels = new int[2][pairs][seq];
        for (int i = 0; i < pairs; i++) {
            for (int j = 0; j < seq; j++) {
                int id = r.nextInt(c.vocabSize());
                for (int side = 0; side < 2; side++) {
                    ids[side][i][j] = j < prompt ? id : r.nextInt(c.vocabSize());
                    labels[side][i][j] = j < prompt ? TokenizedExample.IGNORE : ids[side][i][j];
                }
            }
        }
        return new PairBatch(Batch.ofRows(ids[0], labels[0]), Batch.ofRows(ids[1], labels[1]));
    }

    private static void generate(Flags f, NDManager m, ObjectNode out) throws IOException {
        int n = f.integer("new-tokens", 255);
        Llama model;
        if (f.has("model")) {
            FrozenStorage storage = storage(f);
            model = Llama.load(Checkpoint.open(Path.of(f.string("model"))), m, storage);
            out.putObject("model").put("path", f.string("model"));
            out.put("base_storage", storage.describe());
            out.put("rss_after_load_mib", currentRssMib());
        } else {
            LlamaConfig c = shape(f, n + 1);
            model = Llama.random(c, 1, 0.02, m);
            describe(out, c, 1, n + 1);
        }
        try (model) {
            fuse(f, model, out);
            out.put("params", model.config().parameterCount());
            out.put("params_matmul", matmulParams(model.config()));
            out.put("new_tokens", n);
            Generator g = new Generator(model);
            int[][] last = new int[1][];
            Sampling s = new Sampling(0, 0, 1, 0, n, java.util.Set.of()); // no stop: always n tokens, as min_new_tokens
            double[] cpu = new double[f.integer("steps", 3)];
            double[] t = time(f.integer("warmup", 1), f.integer("steps", 3), cpu, () -> {
                last[0] = g.generate(new int[] {Math.max(0, model.config().bosTokenId())}, s, id -> { });
                return null;
            });
            stats(out, t);
            out.put("cpu_s_median", median(cpu));
            out.put("tokens_per_s", n / median(t));
            out.put("ids", Arrays.toString(last[0]));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void describe(ObjectNode out, LlamaConfig c, int batch, int seq) {
        ObjectNode mo = out.putObject("model");
        mo.put("dim", c.hiddenSize()).put("layers", c.numHiddenLayers()).put("heads", c.numAttentionHeads())
                .put("kv_heads", c.numKeyValueHeads()).put("hidden", c.intermediateSize())
                .put("vocab", c.vocabSize()).put("tied", c.tieWordEmbeddings());
        out.put("params", c.parameterCount());
        out.put("params_matmul", matmulParams(c));
        out.put("batch", batch);
        out.put("seq", seq);
        out.put("tokens_per_step", (long) batch * seq);
    }

    private static Batch randomBatch(LlamaConfig c, int batch, int seq, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] ids = new int[batch][seq];
        for (int[] row : ids) {
            for (int j = 0; j < seq; j++) {
                row[j] = r.nextInt(c.vocabSize());
            }
        }
        return Batch.ofRows(ids, ids); // labels = ids, as the Python peers do
    }

    /**
     * The batch with the first {@code fraction} of every row's labels ignored, as an SFT prompt is:
     * assistant-only training.
     */
    private static Batch withPrompt(Batch b, double fraction) {
        if (fraction <= 0) {
            return b;
        }
        int[][] labels = new int[b.inputIds().length][];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = b.labels()[i].clone();
            Arrays.fill(labels[i], 0, (int) Math.round(fraction * labels[i].length), TokenizedExample.IGNORE);
        }
        return Batch.ofRows(b.inputIds(), labels);
    }

    private static double[] time(int warmup, int steps, Supplier<Void> body) {
        return time(warmup, steps, null, body);
    }

    /**
     * Wall seconds of each timed call; with {@code cpu}, also the process's CPU seconds of each (every thread,
     * libtorch's included), which another load on a shared machine inflates less than the wall time.
     */
    private static double[] time(int warmup, int steps, double[] cpu, Supplier<Void> body) {
        for (int i = 0; i < warmup; i++) {
            body.get();
        }
        double[] t = new double[steps];
        for (int i = 0; i < steps; i++) {
            long cpuStart = cpu == null ? 0 : cpuNanos();
            long start = System.nanoTime();
            body.get();
            t[i] = (System.nanoTime() - start) / 1e9;
            if (cpu != null) {
                cpu[i] = (cpuNanos() - cpuStart) / 1e9;
            }
        }
        return t;
    }

    static long cpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
    }

    private static double median(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static ObjectNode stats(ObjectNode o, double[] t) {
        o.put("median_s", median(t));
        o.put("mean_s", Arrays.stream(t).average().orElse(0));
        o.put("min_s", Arrays.stream(t).min().orElse(0));
        o.put("n", t.length);
        return o;
    }

    private static void mfu(ObjectNode o, double flopsPerSecond, double peakGflops) {
        if (peakGflops > 0) {
            o.put("mfu", flopsPerSecond / 1e9 / peakGflops);
        } else {
            o.putNull("mfu");
        }
    }

    /** Peak resident set size of this process (VmHWM), MiB; what ru_maxrss reports. */
    static double peakRssMib() {
        return statusMib("VmHWM:");
    }

    /** Resident set size now (VmRSS), MiB. */
    static double currentRssMib() {
        return statusMib("VmRSS:");
    }

    private static double statusMib(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
