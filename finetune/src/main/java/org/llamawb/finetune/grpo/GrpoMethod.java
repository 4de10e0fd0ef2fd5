package org.llamawb.finetune.grpo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.finetune.dpo.ReferenceModel;
import org.llamawb.finetune.online.RewardModels;
import org.llamawb.finetune.online.RolloutBatches;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.GrpoSection;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.rl.GroupAdvantages;
import org.llamawb.finetune.rl.KlEstimator;
import org.llamawb.finetune.rl.RuleRewards;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.BatchedGenerator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * GRPO with LoRA ({@code method: grpo}), TRL's GRPOTrainer on one device. Each optimiser step's completions
 * ({@code micro_batch_size · gradient_accumulation_steps}) form one generation batch: that many over
 * {@code num_generations} prompts, each sampled {@code num_generations} times from the current policy with the KV
 * cache, scored by the recipe's rule rewards, and given group-normalised advantages; the batch then serves
 * {@code num_iterations} optimiser steps. The reference is the base with the adapter disabled, or with
 * {@code grpo.reference: adapter} the frozen SFT adapter of {@code adapter.init_from}.
 *
 * <p>Resumable without saving rollouts: the prompts of a generation batch come from a seeded permutation per epoch and
 * its sampling stream from {@code train.seed} and the batch's index, both functions of the data position a checkpoint
 * holds; checkpoints fall between generation batches (the recipe checks {@code output.save_every_steps}), so a
 * resumed run samples, and trains on, exactly what the uninterrupted one did.
 */
public final class GrpoMethod implements TrainingMethod<GrpoBatch> {
    private final Llama model;
    private final LoraModel lora;
    private final LlamaTokenizer tokenizer;
    private final GrpoSection grpo;
    private final GrpoObjective objective;
    private final RuleRewards rewards;
    /** The reward models among the rewards, adapters on the shared base (none for rules alone). */
    private final RewardModels rewardModels;
    private final Map<String, String> answers;
    private final List<TokenizedPrompt> train;
    private final List<TokenizedPrompt> validation;
    private final Set<Integer> endTokens;
    private final int microBatch;
    private final int accumulation;
    private final int promptsPerGeneration;
    private final long trainSeed;
    private final long dataSeed;
    private final int padId;
    /** The generation batches' metrics and the loss's, by name (disjoint), since the last log. */
    private final MetricMeans metrics = new MetricMeans();
    /** The frozen SFT adapter the KL is measured against ({@code grpo.reference: adapter}), or null for the base. */
    private final ReferenceModel reference;

    private GrpoMethod(MethodContext ctx, PreparedData<List<TokenizedPrompt>> data, RuleRewards rewards,
            RewardModels rewardModels, Map<String, String> answers, ReferenceModel reference) {
        Recipe r = ctx.recipe();
        this.model = ctx.model();
        this.lora = ctx.lora();
        this.tokenizer = ctx.tokenizer();
        this.grpo = r.grpo();
        this.objective = new GrpoObjective(model, grpo.lossSettings(), grpo.temperature(), metrics, r.train().policy());
        this.rewards = rewards;
        this.rewardModels = rewardModels;
        this.answers = answers;
        this.train = data.train();
        this.validation = data.validation();
        this.endTokens = ctx.endTokens();
        this.microBatch = r.train().microBatchSize();
        this.accumulation = r.train().gradientAccumulationSteps();
        this.promptsPerGeneration = microBatch * accumulation / grpo.numGenerations();
        this.trainSeed = r.train().seed();
        this.dataSeed = r.data().seed();
        this.padId = ctx.padId();
        this.reference = reference;
    }

    /** Reads the prompts of the recipe's data and the reference answers its rewards need. */
    public static GrpoMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        RuleRewards rewards = RuleRewards.compile(r.rewards(), "rewards");
        PreparedData<List<TokenizedPrompt>> data = DatasetBuilder.prompts(r.data(), ctx.tokenizer(), ctx.template(),
                Path.of(""));
        data.report().lines().forEach(ctx.out()::println);
        int perGeneration = r.train().microBatchSize() * r.train().gradientAccumulationSteps() / r.grpo().numGenerations();
        if (data.train().size() < perGeneration) {
            throw new BadInputException("data: " + data.train().size() + " training prompts, but one generation batch "
                    + "takes " + perGeneration + " (train.micro_batch_size × train.gradient_accumulation_steps / "
                    + "grpo.num_generations); see the report above");
        }
        Map<String, String> answers = Rollouts.answers(r, r.grpo().answerField());
        ctx.out().printf("grpo: %d prompts × %d completions per step, %d steps per generation batch%n", perGeneration,
                r.grpo().numGenerations(), r.grpo().numIterations());
        // the frozen SFT adapter is loaded before the policy's copy of it exists (the trainer adds that next)
        ReferenceModel reference = null;
        if (r.grpo().referenceIsAdapter()) {
            reference = ReferenceModel.adapter(ctx.model(), ctx.lora(), Path.of(r.adapter().initFrom()),
                    "adapter.init_from");
            ctx.out().println("reference model: the base with the frozen adapter " + r.adapter().initFrom()
                    + " (grpo.reference: adapter)");
        }
        return new GrpoMethod(ctx, data, rewards, Rollouts.rewardModels(ctx, rewards), answers, reference);
    }

    @Override
    public TrainingStep.Loss<GrpoBatch> loss() {
        return objective;
    }

    private int generationsInEpoch() {
        return train.size() / promptsPerGeneration; // a partial last batch is dropped: every group is complete
    }

    /** Micro-batches of an epoch: per generation batch, {@code gradient_accumulation_steps} for each iteration. */
    @Override
    public int batchesInEpoch(int epoch) {
        return generationsInEpoch() * accumulation * grpo.numIterations();
    }

    @Override
    public Iterator<LoadedBatch<GrpoBatch>> batches(LoaderPosition start) {
        return new RolloutBatches<>(start, generationsInEpoch(), accumulation, grpo.numIterations(),
                new RolloutBatches.Names("GRPO", "generation batch", "grpo.num_iterations"),
                (generation, epoch, inEpoch) -> rollout(generation, prompts(epoch, inEpoch)), RolloutBatches.Order.AS_MADE);
    }

    /** The prompts of generation batch {@code index} of {@code epoch}: a seeded permutation per epoch, cut in order. */
    private List<TokenizedPrompt> prompts(int epoch, int index) {
        return Rollouts.prompts(train, dataSeed, epoch, index, promptsPerGeneration);
    }

    /**
     * One generation batch: {@code num_generations} completions of each prompt (consecutive), their rewards and
     * advantages, and per micro-batch the old and reference log-probabilities the loss needs. Sampled with the
     * adapter in evaluation mode (no dropout); the sampling seed is a function of {@code generation} only.
     */
    private List<GrpoBatch> rollout(long generation, List<TokenizedPrompt> prompts) {
        int g = grpo.numGenerations();
        List<TokenizedPrompt> rows = new ArrayList<>();
        for (TokenizedPrompt p : prompts) {
            for (int k = 0; k < g; k++) {
                rows.add(p);
            }
        }
        return Rollouts.inEvaluationMode(lora, () -> {
            List<BatchedGenerator.Completion> completions = new ArrayList<>();
            for (int start = 0; start < rows.size(); start += microBatch) {
                long seed = trainSeed * 0x9E3779B97F4A7C15L + generation * 1_000_003L + start; // per chunk, reproducible
                Sampling s = new Sampling(grpo.temperature(), grpo.topK(), grpo.topP(), seed, grpo.maxCompletionLength(),
                        endTokens);
                completions.addAll(generate(rows.subList(start, Math.min(rows.size(), start + microBatch)), s));
            }
            Rollouts.Scored scored = Rollouts.score(rewards, rewardModels, answers, rows, completions);
            GroupAdvantages adv = GroupAdvantages.of(scored.each(), rewards.weights(), g, grpo.rewardScaling());
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("reward", adv.reward());
            m.put("reward_std", adv.rewardStd());
            m.put("frac_reward_zero_std", adv.fracZeroStd());
            m.putAll(scored.metrics());
            metrics.add(m);
            long stepTokens = completions.stream().mapToLong(c -> c.tokens().length).sum();
            List<GrpoBatch> out = new ArrayList<>();
            for (int start = 0; start < rows.size(); start += microBatch) {
                int end = Math.min(rows.size(), start + microBatch);
                out.add(batch(rows.subList(start, end), completions.subList(start, end),
                        Arrays.copyOfRange(adv.advantages(), start, end), stepTokens));
            }
            return out;
        });
    }

    private List<BatchedGenerator.Completion> generate(List<TokenizedPrompt> prompts, Sampling s) {
        return Rollouts.generate(model, prompts, s, padId, grpo.stopStrings(), tokenizer);
    }

    /** Prompt ⧺ completion per row, right-padded, with the loss mask and the log-probabilities the loss compares. */
    private GrpoBatch batch(List<TokenizedPrompt> prompts, List<BatchedGenerator.Completion> completions,
            double[] advantages, long stepTokens) {
        Rollouts.Rows r = Rollouts.rows(prompts, completions, padId);
        float[] adv = new float[advantages.length];
        for (int i = 0; i < adv.length; i++) {
            adv[i] = (float) advantages[i];
        }
        float[] old = grpo.numIterations() > 1 ? logprobs(r.ids(), false) : null;
        float[] ref = grpo.beta() != 0 ? logprobs(r.ids(), true) : null;
        return new GrpoBatch(r.ids(), r.mask(), adv, old, ref, r.completionTokens(), stepTokens);
    }

    /**
     * Per-token log-probabilities without gradients, of the policy or of the reference (the base with the adapter
     * disabled, or the frozen SFT adapter).
     */
    private float[] logprobs(int[][] ids, boolean ofReference) {
        if (ofReference && reference != null) {
            return reference.during(() -> Rollouts.logprobs(model, lora, ids, grpo.temperature(), false));
        }
        return Rollouts.logprobs(model, lora, ids, grpo.temperature(), ofReference);
    }

    @Override
    public long trainExamples() {
        return train.size();
    }

    @Override
    public long validationExamples() {
        return validation.size();
    }

    /** Rewards and completion metrics of the generation batches, and the loss's metrics, since the last call. */
    @Override
    public Map<String, Double> takeMetrics() {
        return metrics.take();
    }

    /** Both kinds of metric in one accumulator, so a checkpoint between two logged steps keeps them. */
    @Override
    public MetricMeans metricMeans() {
        return metrics;
    }

    /**
     * The held-out prompts answered as in training ({@code num_generations} completions each, sampled with the
     * training settings from a stream that is the same at every evaluation, so that evaluations before and after
     * training draw alike): the mean reward and each reward's mean, completion lengths, and the mean per-token KL
     * (k3) of the policy to the reference on those completions. At most {@code maxBatches} generation batches'
     * worth of prompts (0 = all).
     */
    @Override
    public Map<String, Double> evaluate(int maxBatches) {
        if (validation.isEmpty()) {
            return Map.of();
        }
        int n = maxBatches > 0 ? Math.min(validation.size(), maxBatches * promptsPerGeneration) : validation.size();
        List<TokenizedPrompt> rows = new ArrayList<>();
        for (TokenizedPrompt p : validation.subList(0, n)) {
            for (int k = 0; k < grpo.numGenerations(); k++) {
                rows.add(p);
            }
        }
        List<BatchedGenerator.Completion> completions = new ArrayList<>();
        double klSum = 0;
        long klTokens = 0;
        for (int start = 0; start < rows.size(); start += microBatch) {
            List<TokenizedPrompt> part = rows.subList(start, Math.min(rows.size(), start + microBatch));
            Sampling s = new Sampling(grpo.temperature(), grpo.topK(), grpo.topP(), ~trainSeed * 31 + start,
                    grpo.maxCompletionLength(), endTokens);
            List<BatchedGenerator.Completion> done = generate(part, s);
            completions.addAll(done);
            Rollouts.Rows r = Rollouts.rows(part, done, padId);
            float[] policy = logprobs(r.ids(), false);
            float[] ref = logprobs(r.ids(), true);
            for (int i = 0; i < policy.length; i++) {
                if (r.mask()[i] != 0) {
                    klSum += KlEstimator.K3.of(policy[i], ref[i]);
                    klTokens++;
                }
            }
        }
        Rollouts.Scored scored = Rollouts.score(rewards, rewardModels, answers, rows, completions);
        double total = 0;
        for (int i = 0; i < rows.size(); i++) {
            total += scored.total(i, rewards.weights());
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("reward", total / rows.size());
        out.putAll(scored.metrics());
        out.put("kl", klTokens == 0 ? 0.0 : klSum / klTokens);
        return out;
    }
}
