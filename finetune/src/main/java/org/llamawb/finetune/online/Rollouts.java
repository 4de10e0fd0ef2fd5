package org.llamawb.finetune.online;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.mix.DataSource;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.finetune.dpo.SequenceLogProbs;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.rl.ReferenceAnswers;
import org.llamawb.finetune.rl.RuleReward;
import org.llamawb.finetune.rl.RuleRewardSpec;
import org.llamawb.finetune.rl.RuleRewards;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.BatchedGenerator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** The rollout steps GRPO and PPO share, as functions; each method keeps its own loop. */
public final class Rollouts {
    private Rollouts() {}

    /**
     * The prompts of rollout batch {@code index} of {@code epoch}: a permutation of {@code train} seeded by
     * {@code dataSeed} and the epoch, cut in order into batches of {@code perBatch} (a function of the data position
     * only, so a resumed run draws the same prompts).
     */
    public static List<TokenizedPrompt> prompts(List<TokenizedPrompt> train, long dataSeed, int epoch, int index,
            int perBatch) {
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(dataSeed * 1_000_003L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        int from = index * perBatch;
        return Arrays.stream(order, from, from + perBatch).mapToObj(train::get).toList();
    }

    /** The reference answers of the recipe's data sources, read only when an {@code exact_answer} reward needs them. */
    public static Map<String, String> answers(Recipe r, String answerField) {
        Map<String, String> answers = new HashMap<>();
        if (r.rewards().stream().map(RuleRewardSpec::type)
                .anyMatch(t -> t != null && t.trim().equalsIgnoreCase("exact_answer"))) {
            List<DataSource> sources = r.data().sources();
            for (int i = 0; i < sources.size(); i++) {
                answers.putAll(ReferenceAnswers.read(sources.get(i).file(Path.of("")), answerField));
            }
        }
        return answers;
    }

    /**
     * Loads the reward models among {@code rewards} onto the trainer's adapters (see {@link RewardModels}), scoring
     * {@code train.micro_batch_size} rows a pass, and says so.
     */
    public static RewardModels rewardModels(MethodContext ctx, RuleRewards rewards) {
        RewardModels models = RewardModels.load(ctx.lora(), ctx.adapterName(), rewards, ctx.padId(),
                ctx.recipe().train().microBatchSize());
        for (int m = 0; m < models.size(); m++) {
            RuleRewards.ModelReward spec = rewards.models().get(m);
            ctx.out().printf("reward '%s': the reward model in %s, a frozen adapter on the base%n", spec.name(), spec.path());
        }
        return models;
    }

    /** Completions of left-padded {@code prompts}, sampled with the KV cache, stopping at end tokens and stop strings. */
    public static List<BatchedGenerator.Completion> generate(Llama model, List<TokenizedPrompt> prompts, Sampling s,
            int padId, List<String> stopStrings, LlamaTokenizer tokenizer) {
        List<int[]> ids = prompts.stream().map(TokenizedPrompt::ids).toList();
        long start = System.nanoTime();
        List<BatchedGenerator.Completion> out = new BatchedGenerator(model).generate(ids, s, padId, stopStrings,
                tokenizer::decode);
        SAMPLING_NANOS.add(System.nanoTime() - start);
        SAMPLED_TOKENS.add(out.stream().mapToLong(c -> c.tokens().length).sum());
        return out;
    }

    private static final LongAdder SAMPLING_NANOS = new LongAdder();
    private static final LongAdder SAMPLED_TOKENS = new LongAdder();

    /**
     * Wall nanoseconds spent in {@link #generate} and the tokens it produced, summed over this process: what
     * {@code workbench bench train --method grpo|ppo} reads to tell sampling apart from the rest of a rollout (two
     * additions per call; the trainer never reads them).
     */
    public record SamplingClock(long nanos, long tokens) {}

    public static SamplingClock samplingClock() {
        return new SamplingClock(SAMPLING_NANOS.sum(), SAMPLED_TOKENS.sum());
    }

    /** Runs {@code body} with the adapters in evaluation mode (no dropout), restoring the mode after. */
    public static <T> T inEvaluationMode(LoraModel lora, Supplier<T> body) {
        boolean training = lora.isTraining();
        lora.setTraining(false);
        try {
            return body.get();
        } finally {
            lora.setTraining(training);
        }
    }

    /** Every reward of every completion ({@code [N, K]}) and TRL's per-reward and completion metrics. */
    public record Scored(double[][] each, Map<String, Double> metrics) {
        /** The weighted sum of the rewards of completion {@code i}. */
        public double total(int i, double[] weights) {
            double sum = 0;
            for (int k = 0; k < weights.length; k++) {
                sum += weights[k] * each[i][k];
            }
            return sum;
        }
    }

    /** Scores completion {@code i} of {@code prompts.get(i)} with every rule; a failing rule names itself. */
    public static Scored score(RuleRewards rewards, Map<String, String> answers, List<TokenizedPrompt> prompts,
            List<BatchedGenerator.Completion> completions) {
        return score(rewards, null, answers, prompts, completions);
    }

    /**
     * Scores completion {@code i} of {@code prompts.get(i)} with every reward: the rules, and the reward models of
     * {@code models} (null: none); a failing rule names itself.
     */
    public static Scored score(RuleRewards rewards, RewardModels models, Map<String, String> answers,
            List<TokenizedPrompt> prompts, List<BatchedGenerator.Completion> completions) {
        int n = completions.size();
        double[][] byModel = models == null ? new double[n][0] : models.score(prompts, completions); // [N][M]
        double[][] each = new double[n][];
        long tokens = 0;
        int clipped = 0;
        for (int i = 0; i < n; i++) {
            BatchedGenerator.Completion c = completions.get(i);
            String id = prompts.get(i).id();
            each[i] = rewards.scoreEach(new RuleReward.Completion(id, c.text(), c.tokens().length, answers.get(id)),
                    byModel[i]);
            tokens += c.tokens().length;
            clipped += c.finish() == BatchedGenerator.Finish.LENGTH ? 1 : 0;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        List<String> names = rewards.names();
        for (int k = 0; k < names.size(); k++) {
            double sum = 0;
            for (double[] e : each) {
                sum += e[k];
            }
            m.put("rewards/" + names.get(k) + "/mean", sum / n);
        }
        m.put("completions/mean_length", (double) tokens / n);
        m.put("completions/clipped_ratio", (double) clipped / n);
        return new Scored(each, m);
    }

    /**
     * Rows of prompt ⧺ completion ({@code [N][T]}, right-padded), the mask of positions predicting completion tokens
     * ({@code [N·T]}), and each row's prompt length.
     */
    public record Rows(int[][] ids, float[] mask, long completionTokens, int[] promptLengths) {
        public int width() {
            return ids[0].length;
        }
    }

    public static Rows rows(List<TokenizedPrompt> prompts, List<BatchedGenerator.Completion> completions, int padId) {
        int n = prompts.size();
        int width = 0;
        for (int i = 0; i < n; i++) {
            width = Math.max(width, prompts.get(i).ids().length + completions.get(i).tokens().length);
        }
        int[][] ids = new int[n][width];
        float[] mask = new float[n * width];
        int[] promptLengths = new int[n];
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            int[] p = prompts.get(i).ids();
            int[] c = completions.get(i).tokens();
            Arrays.fill(ids[i], padId);
            System.arraycopy(p, 0, ids[i], 0, p.length);
            System.arraycopy(c, 0, ids[i], p.length, c.length);
            for (int t = 0; t < c.length; t++) {
                mask[i * width + p.length - 1 + t] = 1; // the position that predicts completion token t
            }
            promptLengths[i] = p.length;
            tokens += c.length;
        }
        return new Rows(ids, mask, tokens, promptLengths);
    }

    /**
     * {@code [N, T]}: at position {@code j} of row {@code i}, {@code log softmax(logits_ij / temperature)[ids[i][j+1]]}
     * (in the last column, of token 0: nothing follows it and nothing reads it). As TRL, the logits are divided by
     * the sampling temperature, so the ratio compares the distributions the completions were drawn from.
     *
     * @param grad whether autograd records (inside a gradient collector)
     */
    public static NDArray tokenLogprobs(Llama model, int[][] ids, double temperature, boolean grad, NDManager m) {
        return tokenLogprobs(model, ids, 0, temperature, grad, m);
    }

    /**
     * {@link #tokenLogprobs(Llama, int[][], double, boolean, NDManager)} of columns {@code from..T-1} only,
     * {@code [N, T - from]}: the whole sequence runs through the layers, but only the positions a loss reads go
     * through the LM head and the log-softmax, as TRL's {@code logits_to_keep} (with a 32k vocabulary the head is
     * most of a small model's work).
     */
    public static NDArray tokenLogprobs(Llama model, int[][] ids, int from, double temperature, boolean grad,
            NDManager m) {
        // [N, T] -> [N, T, d], the final normalised hidden states
        NDArray hidden = model.hidden(SequenceLogProbs.idsArray(ids, m), null, null, grad);
        return tokenLogprobs(model, hidden, ids, from, temperature, m);
    }

    /**
     * {@link #tokenLogprobs} from the final normalised hidden states {@code hidden: [N, T, d]} of a pass the caller ran
     * (a training step under a rematerialisation policy runs the blocks itself).
     */
    public static NDArray tokenLogprobs(Llama model, NDArray hidden, int[][] ids, double temperature, NDManager m) {
        return tokenLogprobs(model, hidden, ids, 0, temperature, m);
    }

    /**
     * {@link #tokenLogprobs(Llama, NDArray, int[][], double, NDManager)} of columns {@code from..T-1} only,
     * {@code [N, T - from]} (the LM head and the log-softmax see only those positions).
     */
    public static NDArray tokenLogprobs(Llama model, NDArray hidden, int[][] ids, int from, double temperature,
            NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        int kept = t - from;
        long[] next = new long[n * kept];
        for (int i = 0; i < n; i++) {
            for (int j = from; j < t; j++) {
                next[i * kept + j - from] = j + 1 < t ? ids[i][j + 1] : 0;
            }
        }
        if (from > 0) {
            hidden = hidden.get(new NDIndex(":, {}:", from)); // [N, T - from, d]
        }
        NDArray logits = model.logits(hidden); // [N, T - from, V]
        if (temperature != 1.0) {
            logits = logits.div(m.full(new Shape(), (float) temperature, DataType.FLOAT32)); // 0-d: see djl-notes
        }
        return logits.logSoftmax(-1).gather(m.create(next, new Shape(n, kept, 1)), -1).reshape(n, kept);
    }

    /**
     * The policy's log-probabilities of the masked tokens for a loss under autograd, without a {@code [N, T, V]}
     * log-softmax in the graph (TRL's {@code selective_log_softmax} does the same for memory): {@link #logprobs()} is a
     * leaf {@code [N, T - from]} the loss is built on (0 at unmasked positions); after the loss is back-propagated into
     * it, {@link #backward()} sends its gradient through the LM head into the pass ({@link SequenceLogProbs#backwardTokens}).
     */
    public static final class Selected {
        private final SequenceLogProbs head;
        private final NDArray leaf;
        /** Per masked position, its index in {@code [N, T - from]}, in {@link SequenceLogProbs#tokenLogProbs} order. */
        private final int[] cell;

        private Selected(SequenceLogProbs head, NDArray leaf, int[] cell) {
            this.head = head;
            this.leaf = leaf;
            this.cell = cell;
        }

        /** {@code [N, T - from]}: {@code log softmax(logits_ij / temperature)[ids[i][j+1]]} where masked, else 0. */
        public NDArray logprobs() {
            return leaf;
        }

        /** Sends the gradient the loss left on {@link #logprobs()} through the head into the pass; once. */
        public void backward() {
            float[] g = leaf.getGradient().toFloatArray();
            float[] tokenGrad = new float[cell.length];
            for (int k = 0; k < cell.length; k++) {
                tokenGrad[k] = g[cell[k]];
            }
            head.backwardTokens(tokenGrad);
        }
    }

    /**
     * {@link Selected} log-probabilities from {@code last: [N, T, d]}, the last decoder block's output of a pass under
     * autograd ({@code leaf}: a rematerialised step's leaf, see {@link SequenceLogProbs#ofLast}), of the positions
     * {@code j ≥ from} whose {@code mask: [N·T]} is non-zero (the position predicting token {@code j + 1}). Call inside
     * the pass's collector.
     */
    public static Selected selected(Llama model, NDArray last, boolean leaf, int[][] ids, float[] mask, int from,
            double temperature, NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        int kept = t - from;
        int[][] labels = new int[n][t];
        int masked = 0;
        for (int i = 0; i < n; i++) {
            Arrays.fill(labels[i], TokenizedExample.IGNORE);
            for (int j = from; j + 1 < t; j++) {
                if (mask[i * t + j] != 0) {
                    labels[i][j + 1] = ids[i][j + 1];
                    masked++;
                }
            }
        }
        SequenceLogProbs head = SequenceLogProbs.ofLast(model, last, labels, leaf, temperature, false, m);
        float[] tokens = head.tokenLogProbs();
        float[] dense = new float[n * kept];
        int[] cell = new int[masked];
        int k = 0;
        for (int i = 0; i < n; i++) {
            for (int j = from; j + 1 < t; j++) {
                if (labels[i][j + 1] != TokenizedExample.IGNORE) {
                    cell[k] = i * kept + j - from;
                    dense[cell[k]] = tokens[k++];
                }
            }
        }
        NDArray values = m.create(dense, new Shape(n, kept));
        values.setRequiresGradient(true);
        return new Selected(head, values, cell);
    }

    /** The first column of a flat {@code [N, T]} mask holding a 1 in any row ({@code T} when none does). */
    public static int firstMaskedColumn(float[] mask, int rows, int width) {
        int first = width;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < first; j++) {
                if (mask[i * width + j] != 0) {
                    first = j;
                    break;
                }
            }
        }
        return first;
    }

    /**
     * Tokens per chunk of rows of a pass without gradients ({@link #logprobs}): the pass holds {@code [rows, T, V]}
     * logits and their log-softmax, and in chunks those (and the heap the C allocator keeps of them after the pass,
     * just before the update builds its graph) stay small; rows are independent, so the result is the same up to
     * float rounding (the matrix products block differently: ~1e-6 apart).
     */
    static long tokensPerChunk = Long.getLong("workbench.rolloutChunkTokens", 512);

    /**
     * {@link #tokenLogprobs(Llama, int[][], double, boolean, NDManager)} without gradients, flat {@code [N·T]}, read off
     * the logits by the fused kernel ({@link Kernels#tokenLogProbs}: log-sum-exp and the label's logit) instead of a
     * {@code [N, T, V]} log-softmax and a gather: the same values to float rounding, less memory and work.
     */
    static float[] selectedNoGrad(Llama model, int[][] ids, double temperature, NDManager m) {
        int n = ids.length;
        int t = ids[0].length;
        long[] next = new long[n * t];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j + 1 < t; j++) {
                next[i * t + j] = ids[i][j + 1];
            }
        }
        NDArray hidden = model.hidden(SequenceLogProbs.idsArray(ids, m), null, null, false); // [N, T, d]
        NDArray logits = model.logits(hidden.reshape((long) n * t, hidden.getShape().get(2))); // [N·T, V]
        if (temperature != 1.0) {
            logits = logits.div(m.full(new Shape(), (float) temperature, DataType.FLOAT32));
        }
        // the last column reads token 0, as the gather of tokenLogprobs does: no token follows it, nothing uses it
        return Kernels.get().tokenLogProbs(logits, m.create(next))[0].toFloatArray();
    }

    /** Per-token log-probabilities ({@code [N·T]}) without gradients, of the policy or (adapters disabled) of the reference. */
    public static float[] logprobs(Llama model, LoraModel lora, int[][] ids, double temperature, boolean reference) {
        int t = ids[0].length;
        int rows = (int) Math.max(1, tokensPerChunk / t);
        float[] out = new float[ids.length * t];
        for (int from = 0; from < ids.length; from += rows) {
            int[][] chunk = Arrays.copyOfRange(ids, from, Math.min(ids.length, from + rows));
            int at = from * t;
            try (NDScope scope = new NDScope()) {
                Supplier<float[]> run = () -> selectedNoGrad(model, chunk, temperature, model.manager());
                float[] part = reference ? lora.withAdaptersDisabled(run) : run.get();
                System.arraycopy(part, 0, out, at, part.length);
            }
        }
        return out;
    }
}
