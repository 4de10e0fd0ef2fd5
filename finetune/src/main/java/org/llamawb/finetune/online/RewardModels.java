package org.llamawb.finetune.online;

import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.finetune.rl.RuleRewards;
import org.llamawb.model.BadInputException;
import org.llamawb.model.generate.BatchedGenerator;

/**
 * The reward models among a recipe's rewards ({@code type: reward_model}), each the adapter and {@code score} head a
 * {@code method: reward} run wrote, loaded as a frozen adapter onto the trainer's {@link LoraModel}: the one base in
 * memory serves policy, reference, critic and reward models alike. A completion's reward is the head read at the last
 * token of prompt ⧺ completion (its end token when it stopped on one), as TRL's {@code get_reward} reads the first
 * position before padding; scored a few rows at a time with that adapter alone active and no dropout, after which the
 * adapters active before are put back.
 */
public final class RewardModels {
    /** Names of the reward adapters on the shared base: this prefix and the reward's place among the models. */
    public static final String ADAPTER_PREFIX = "reward_model_";

    private final LoraModel lora;
    private final List<RewardModel> models;
    private final List<String> adapters;
    private final int padId;
    private final int rowsPerPass;

    private RewardModels(LoraModel lora, List<RewardModel> models, List<String> adapters, int padId, int rowsPerPass) {
        this.lora = lora;
        this.models = models;
        this.adapters = adapters;
        this.padId = padId;
        this.rowsPerPass = rowsPerPass;
    }

    /**
     * Loads every {@code reward_model} of {@code rewards} onto {@code lora} (none: nothing is loaded); relative paths
     * are relative to the working directory.
     *
     * @param policy the run's adapter name, which a reward adapter's name must not take
     * @param rowsPerPass rows per forward pass when scoring
     * @throws BadInputException naming {@code rewards[i].path} when an adapter cannot be read or does not fit
     */
    public static RewardModels load(LoraModel lora, String policy, RuleRewards rewards, int padId, int rowsPerPass) {
        List<RewardModel> models = new ArrayList<>();
        List<String> adapters = new ArrayList<>();
        for (int m = 0; m < rewards.models().size(); m++) {
            RuleRewards.ModelReward spec = rewards.models().get(m);
            if (lora == null) {
                throw new BadInputException(spec.key() + ": a reward model is an adapter on the frozen base; it needs "
                        + "adapter.type: lora");
            }
            String name = ADAPTER_PREFIX + m;
            if (name.equals(policy)) {
                throw new BadInputException("adapter.name: '" + policy + "' is the name of a reward model's adapter; "
                        + "choose another");
            }
            try {
                models.add(RewardModel.loadInto(lora, name, Path.of(spec.path())));
            } catch (BadInputException e) {
                throw new BadInputException(spec.key() + ".path: " + e.getMessage(), e);
            }
            adapters.add(name);
        }
        return new RewardModels(lora, models, adapters, padId, rowsPerPass);
    }

    /** How many reward models there are (0: the rewards are rules alone). */
    public int size() {
        return models.size();
    }

    /**
     * Each reward model's score of each completion of {@code prompts.get(i)}, {@code [N][M]} in {@link
     * RuleRewards#models()} order, without gradients.
     */
    public double[][] score(List<TokenizedPrompt> prompts, List<BatchedGenerator.Completion> completions) {
        int n = completions.size();
        double[][] out = new double[n][models.size()];
        if (models.isEmpty()) {
            return out;
        }
        String[] wasActive = lora.adapterNames().stream().filter(lora::isActive).toArray(String[]::new);
        boolean wasTraining = lora.isTraining();
        lora.setTraining(false); // a reward is a fixed function: no adapter dropout
        try {
            for (int start = 0; start < n; start += rowsPerPass) {
                int end = Math.min(n, start + rowsPerPass);
                Rollouts.Rows r = Rollouts.rows(prompts.subList(start, end), completions.subList(start, end), padId);
                int rows = end - start;
                int[] lengths = new int[rows];
                long[] flat = new long[rows * r.width()];
                for (int i = 0; i < rows; i++) {
                    lengths[i] = r.promptLengths()[i] + completions.get(start + i).tokens().length;
                    for (int j = 0; j < r.width(); j++) {
                        flat[i * r.width() + j] = r.ids()[i][j];
                    }
                }
                for (int m = 0; m < models.size(); m++) {
                    lora.activate(adapters.get(m));
                    try (NDScope scope = new NDScope()) {
                        float[] s = models.get(m).scores(lora.model().manager().create(flat, new Shape(rows, r.width())),
                                lengths, false).toFloatArray(); // [rows]
                        for (int i = 0; i < rows; i++) {
                            out[start + i][m] = s[i];
                        }
                    }
                }
            }
        } finally {
            lora.setTraining(wasTraining);
            lora.activate(wasActive);
        }
        return out;
    }
}
