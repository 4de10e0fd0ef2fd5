package org.llamawb.finetune.ppo;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
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
import java.util.Set;
import java.util.SplittableRandom;
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
import org.llamawb.finetune.recipe.PpoSection;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.rl.AdaptiveKlController;
import org.llamawb.finetune.rl.PpoTargets;
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
 * PPO with LoRA ({@code method: ppo}), TRL's PPOTrainer on one device with every role on one frozen base. Per rollout
 * batch ({@code micro_batch_size · gradient_accumulation_steps · num_mini_batches} prompts, one completion each,
 * sampled from the policy with the KV cache): rule-reward scores (less {@code missing_eos_penalty} for a completion
 * that never ended), the policy's, the reference's (adapters disabled, or the frozen SFT adapter of
 * {@code adapter.init_from} with {@code ppo.reference: adapter}) and the critic's per-token numbers, then
 * {@link PpoTargets} (per-token KL penalty, GAE, whitened advantages); the batch then serves
 * {@code num_ppo_epochs} passes of {@code num_mini_batches} optimiser steps, its micro-batches in a new seeded order
 * each pass. With {@code kl_target} the KL coefficient adapts after each rollout batch.
 *
 * <p>Resumable without saving rollouts: prompts, sampling streams and micro-batch orders are functions of the data
 * position and {@code train.seed}; checkpoints fall between rollout batches (the recipe checks
 * {@code output.save_every_steps}) and hold the critic and the KL coefficient ({@link #saveState}).
 */
public final class PpoMethod implements TrainingMethod<PpoBatch> {
    /** The KL coefficient's file in a checkpoint's critic directory. */
    static final String STATE_FILE = "ppo_state.json";

    private final Llama model;
    private final LoraModel lora;
    private final LlamaTokenizer tokenizer;
    private final PpoSection ppo;
    private final Critic critic;
    private final PpoObjective objective;
    private final RuleRewards rewards;
    /** The reward models among the rewards, adapters on the shared base (none for rules alone). */
    private final RewardModels rewardModels;
    private final Map<String, String> answers;
    private final List<TokenizedPrompt> train;
    private final List<TokenizedPrompt> validation;
    private final Set<Integer> endTokens;
    private final int microBatch;
    private final int accumulation;
    private final int promptsPerRollout;
    private final long trainSeed;
    private final long dataSeed;
    private final int padId;
    private final String baseModel;
    /** The rollout batches' metrics and the loss's, by name (disjoint), since the last log. */
    private final MetricMeans metrics = new MetricMeans();
    /** The adaptive controller, or null for a fixed {@code kl_coef}. */
    private AdaptiveKlController controller;
    /** The frozen SFT adapter the KL is measured against ({@code ppo.reference: adapter}), or null for the base. */
    private final ReferenceModel reference;

    private PpoMethod(MethodContext ctx, PreparedData<List<TokenizedPrompt>> data, RuleRewards rewards,
            RewardModels rewardModels, Map<String, String> answers, Critic critic, ReferenceModel reference) {
        Recipe r = ctx.recipe();
        this.model = ctx.model();
        this.lora = ctx.lora();
        this.tokenizer = ctx.tokenizer();
        this.ppo = r.ppo();
        this.critic = critic;
        this.objective = new PpoObjective(model, critic, ppo, metrics, r.train().policy());
        this.rewards = rewards;
        this.rewardModels = rewardModels;
        this.answers = answers;
        this.train = data.train();
        this.validation = data.validation();
        this.endTokens = ctx.endTokens();
        this.microBatch = r.train().microBatchSize();
        this.accumulation = r.train().gradientAccumulationSteps();
        this.promptsPerRollout = microBatch * accumulation * ppo.numMiniBatches();
        this.trainSeed = r.train().seed();
        this.dataSeed = r.data().seed();
        this.padId = ctx.padId();
        this.baseModel = r.model().path() != null ? r.model().path() : "model.init";
        this.controller = ppo.initialController();
        this.reference = reference;
    }

    /** Reads the prompts and reference answers, and adds the critic adapter beside the (coming) policy adapter. */
    public static PpoMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        RuleRewards rewards = RuleRewards.compile(r.rewards(), "rewards");
        PreparedData<List<TokenizedPrompt>> data = DatasetBuilder.prompts(r.data(), ctx.tokenizer(), ctx.template(),
                Path.of(""));
        data.report().lines().forEach(ctx.out()::println);
        int perRollout = r.train().microBatchSize() * r.train().gradientAccumulationSteps() * r.ppo().numMiniBatches();
        if (data.train().size() < perRollout) {
            throw new BadInputException("data: " + data.train().size() + " training prompts, but one rollout batch "
                    + "takes " + perRollout + " (train.micro_batch_size × train.gradient_accumulation_steps × "
                    + "ppo.num_mini_batches); see the report above");
        }
        Map<String, String> answers = Rollouts.answers(r, r.ppo().answerField());
        Critic critic = Critic.create(ctx.lora(), r.adapter().loraConfigFor(ctx.model(), ctx.tokenizer(), ctx.endTokens(),
                line -> { }), ctx.adapterName(), r.train().seed() ^ 0xC817CL);
        ctx.out().printf("ppo: %d prompts per rollout batch, %d steps per rollout batch, critic adapter '%s' + value "
                + "head%n", perRollout, r.ppo().stepsPerRollout(), Critic.ADAPTER);
        // the frozen SFT adapter is loaded before the policy's copy of it exists (the trainer adds that next)
        ReferenceModel reference = null;
        if (r.ppo().referenceIsAdapter()) {
            reference = ReferenceModel.adapter(ctx.model(), ctx.lora(), Path.of(r.adapter().initFrom()),
                    "adapter.init_from");
            ctx.out().println("reference model: the base with the frozen adapter " + r.adapter().initFrom()
                    + " (ppo.reference: adapter)");
        }
        return new PpoMethod(ctx, data, rewards, Rollouts.rewardModels(ctx, rewards), answers, critic, reference);
    }

    @Override
    public TrainingStep.Loss<PpoBatch> loss() {
        return objective;
    }

    @Override
    public Map<String, NDArray> companions() {
        return critic.parameters();
    }

    /** The critic under {@code critic/}, and beside it the KL coefficient an adaptive controller has reached. */
    @Override
    public void saveState(Path checkpoint) {
        critic.save(checkpoint, baseModel);
        if (controller != null) {
            try {
                Files.writeString(checkpoint.resolve(Critic.DIR).resolve(STATE_FILE),
                        String.format(Locale.ROOT, "{\"kl_coef\": %s}%n", Double.toString(controller.value())),
                        StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void restoreState(Path checkpoint) {
        critic.restore(checkpoint);
        if (controller != null) {
            Path file = checkpoint.resolve(Critic.DIR).resolve(STATE_FILE);
            try {
                var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
                if (json == null || !json.path("kl_coef").isNumber()) {
                    throw new BadInputException(file + ": expected {\"kl_coef\": number}");
                }
                controller = new AdaptiveKlController(json.get("kl_coef").asDouble(), controller.target(),
                        controller.horizon());
            } catch (IOException e) {
                throw new BadInputException(file + ": cannot read the KL coefficient of an adaptive ppo.kl_target run ("
                        + e.getMessage() + ")");
            }
        }
    }

    private int rolloutsInEpoch() {
        return train.size() / promptsPerRollout; // a partial last batch is dropped
    }

    private int microPerRollout() {
        return accumulation * ppo.numMiniBatches();
    }

    /** Micro-batches of an epoch: per rollout batch, {@code num_ppo_epochs} passes over its micro-batches. */
    @Override
    public int batchesInEpoch(int epoch) {
        return rolloutsInEpoch() * microPerRollout() * ppo.numPpoEpochs();
    }

    @Override
    public Iterator<LoadedBatch<PpoBatch>> batches(LoaderPosition start) {
        return new RolloutBatches<>(start, rolloutsInEpoch(), microPerRollout(), ppo.numPpoEpochs(),
                new RolloutBatches.Names("PPO", "rollout batch", "ppo.num_ppo_epochs × ppo.num_mini_batches"),
                (index, epoch, inEpoch) -> rollout(index, Rollouts.prompts(train, dataSeed, epoch, inEpoch, promptsPerRollout)),
                (index, pass, slot) -> order(index, pass)[slot]);
    }

    /**
     * The order of the rollout batch's micro-batches in pass {@code pass}, seeded by the batch and pass (TRL shuffles
     * rows each PPO epoch; here whole micro-batches move, so each keeps its padding).
     */
    private int[] order(long rollout, int pass) {
        int[] order = new int[microPerRollout()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(trainSeed * 0x9E3779B97F4A7C15L + rollout * 1_000_003L + pass);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        return order;
    }

    private Sampling sampling(long seed) {
        return new Sampling(ppo.temperature(), 0, 1.0, seed, ppo.responseLength(), endTokens);
    }

    /** Completions of {@code prompts}, sampled a micro-batch at a time from streams that depend on {@code seed} only. */
    private List<BatchedGenerator.Completion> sample(List<TokenizedPrompt> prompts, long seed) {
        List<BatchedGenerator.Completion> out = new ArrayList<>();
        for (int start = 0; start < prompts.size(); start += microBatch) {
            out.addAll(Rollouts.generate(model, prompts.subList(start, Math.min(prompts.size(), start + microBatch)),
                    sampling(seed + start), padId, ppo.stopStrings(), tokenizer));
        }
        return out;
    }

    /** A completion's rollout numbers in response order: index {@code t} is the position predicting token {@code t}. */
    private record Slices(double[][] logprobs, double[][] refLogprobs, double[][] values, int[] lengths) {}

    /**
     * One rollout batch: completions sampled with the adapters in evaluation mode, their scores, log-probabilities,
     * reference log-probabilities and values, the PPO targets over the whole batch, and the micro-batches.
     */
    private List<PpoBatch> rollout(long index, List<TokenizedPrompt> prompts) {
        return Rollouts.inEvaluationMode(lora, () -> {
            List<BatchedGenerator.Completion> completions = sample(prompts,
                    trainSeed * 0x9E3779B97F4A7C15L + index * 1_000_003L);
            int n = completions.size();
            Rollouts.Scored scored = Rollouts.score(rewards, rewardModels, answers, prompts, completions);
            double[] scores = new double[n];
            int eos = 0;
            for (int i = 0; i < n; i++) {
                BatchedGenerator.Finish f = completions.get(i).finish();
                scores[i] = scored.total(i, rewards.weights());
                if (f == BatchedGenerator.Finish.LENGTH && ppo.missingEosPenalty() != null) {
                    scores[i] -= ppo.missingEosPenalty();
                }
                eos += f == BatchedGenerator.Finish.STOP_TOKEN ? 1 : 0;
            }
            List<Rollouts.Rows> rows = new ArrayList<>();
            Slices s = new Slices(new double[n][], new double[n][], new double[n][], new int[n]);
            for (int start = 0; start < n; start += microBatch) {
                int end = Math.min(n, start + microBatch);
                Rollouts.Rows r = Rollouts.rows(prompts.subList(start, end), completions.subList(start, end), padId);
                // the rollout policy's log-probabilities come from the sampler (TRL reads them off generate's
                // logits), so no pass of the policy over the rows; RolloutsTest: equal to such a pass
                float[] ref = referenceLogprobs(r.ids());
                float[] values = critic.valuesNoGrad(r.ids());
                int w = r.width();
                for (int i = start; i < end; i++) {
                    int row = i - start;
                    int from = row * w + r.promptLengths()[row] - 1; // the position predicting completion token 0
                    int width = w - r.promptLengths()[row] + 1; // the completion's positions and the one after it
                    // past the completion: 0 (every use of these is masked by the response length)
                    s.logprobs()[i] = widen(completions.get(i).logprobs(), 0, width);
                    s.refLogprobs()[i] = widen(ref, from, width);
                    s.values()[i] = widen(values, from, width);
                    s.lengths()[i] = completions.get(i).tokens().length;
                }
                rows.add(r);
            }
            double beta = controller == null ? ppo.klCoef() : controller.value();
            PpoTargets t = PpoTargets.compute(s.logprobs(), s.refLogprobs(), s.values(), scores, s.lengths(), beta,
                    ppo.estimator(), ppo.whitenRewards(), ppo.gamma(), ppo.lam());
            if (controller != null) {
                controller = controller.updated(t.meanKl(), n);
            }
            double entropy = 0;
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < s.lengths()[i]; k++) {
                    entropy -= s.logprobs()[i][k];
                }
            }
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("objective/kl", t.meanKl());
            m.put("objective/entropy", entropy / n);
            m.put("objective/non_score_reward", t.meanNonScoreReward());
            m.put("objective/rlhf_reward", t.rlhfReward());
            m.put("objective/scores", t.meanScore());
            m.put("objective/kl_coef", beta);
            m.put("val/num_eos_tokens", (double) eos);
            m.putAll(scored.metrics());
            metrics.add(m);
            List<PpoBatch> out = new ArrayList<>();
            int start = 0;
            for (Rollouts.Rows r : rows) {
                out.add(batch(r, t, s, start));
                start += r.ids().length;
            }
            return out;
        });
    }

    /** Per-token log-probabilities ({@code [N·T]}) of the reference, without gradients: the base or the frozen SFT adapter. */
    float[] referenceLogprobs(int[][] ids) {
        return reference == null ? Rollouts.logprobs(model, lora, ids, ppo.temperature(), true)
                : reference.during(() -> Rollouts.logprobs(model, lora, ids, ppo.temperature(), false));
    }

    /** Per-token log-probabilities ({@code [N·T]}) of the policy, without gradients and without dropout. */
    float[] policyLogprobs(int[][] ids) {
        return Rollouts.inEvaluationMode(lora, () -> Rollouts.logprobs(model, lora, ids, ppo.temperature(), false));
    }

    /** {@code flat[from..from + width)} as doubles, 0 past the end of {@code flat}. */
    private static double[] widen(float[] flat, int from, int width) {
        double[] out = new double[width];
        for (int k = 0; k < width && from + k < flat.length; k++) {
            out[k] = flat[from + k];
        }
        return out;
    }

    /** The micro-batch of rows {@code first..} of the rollout batch, its targets laid back into row layout. */
    private static PpoBatch batch(Rollouts.Rows r, PpoTargets t, Slices s, int first) {
        int n = r.ids().length;
        int w = r.width();
        float[] valueMask = new float[n * w];
        float[] oldLogprobs = new float[n * w];
        float[] oldValues = new float[n * w];
        float[] advantages = new float[n * w];
        float[] returns = new float[n * w];
        for (int row = 0; row < n; row++) {
            int i = first + row;
            int from = row * w + r.promptLengths()[row] - 1;
            for (int k = 0; k < t.values()[i].length; k++) {
                valueMask[from + k] = t.valueMask()[i][k] ? 1 : 0;
                oldLogprobs[from + k] = (float) s.logprobs()[i][k];
                oldValues[from + k] = (float) t.values()[i][k];
                advantages[from + k] = (float) t.advantages()[i][k];
                returns[from + k] = (float) t.returns()[i][k];
            }
        }
        return new PpoBatch(r.ids(), r.mask(), valueMask, oldLogprobs, oldValues, advantages, returns,
                r.completionTokens());
    }

    @Override
    public long trainExamples() {
        return train.size();
    }

    @Override
    public long validationExamples() {
        return validation.size();
    }

    /** The rollout batches' objective and completion metrics, and the loss's metrics, since the last call. */
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
     * The held-out prompts answered {@code ppo.eval_completions} times each, sampled with the training settings
     * from a stream that is the same at every evaluation (so evaluations before and after training draw alike): the
     * mean reward (the rules' weighted sum, no EOS penalty), each reward's mean, completion lengths, and {@code kl},
     * the policy's KL to the reference summed over each completion with {@code ppo.kl_estimator} and averaged (the
     * units of {@code objective/kl} and {@code ppo.kl_target}). At most {@code maxBatches} rollout batches' worth of
     * prompts (0 = all).
     */
    @Override
    public Map<String, Double> evaluate(int maxBatches) {
        if (validation.isEmpty()) {
            return Map.of();
        }
        int held = maxBatches > 0 ? Math.min(validation.size(), maxBatches * promptsPerRollout) : validation.size();
        List<TokenizedPrompt> prompts = new ArrayList<>();
        for (TokenizedPrompt p : validation.subList(0, held)) {
            for (int k = 0; k < ppo.evalCompletions(); k++) {
                prompts.add(p);
            }
        }
        int n = prompts.size();
        List<BatchedGenerator.Completion> completions = sample(prompts, ~trainSeed * 31);
        double kl = 0;
        for (int start = 0; start < n; start += microBatch) {
            int end = Math.min(n, start + microBatch);
            Rollouts.Rows r = Rollouts.rows(prompts.subList(start, end), completions.subList(start, end), padId);
            float[] policy = Rollouts.logprobs(model, lora, r.ids(), ppo.temperature(), false);
            float[] ref = referenceLogprobs(r.ids());
            for (int i = 0; i < policy.length; i++) {
                if (r.mask()[i] != 0) {
                    kl += ppo.estimator().of(policy[i], ref[i]);
                }
            }
        }
        Rollouts.Scored scored = Rollouts.score(rewards, rewardModels, answers, prompts, completions);
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += scored.total(i, rewards.weights());
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("reward", total / n);
        out.putAll(scored.metrics());
        out.put("kl", kl / n);
        return out;
    }
}
