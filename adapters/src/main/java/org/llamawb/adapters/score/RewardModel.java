package org.llamawb.adapters.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;

/**
 * A reward model: a frozen {@link Llama}, a LoRA adapter on it and a scalar head, laid out as Hugging Face's
 * {@code LlamaForSequenceClassification} with {@code num_labels=1}: the reward of a sequence is
 * {@code score.weight · h_last}, where {@code h_last} is the final-norm hidden state of its last token and
 * {@code score.weight} is {@code [1, hidden]} with no bias.
 *
 * <p>transformers finds the last token as the rightmost one that is not {@code pad_token_id}; here the caller
 * says where each sequence ends (its length in a right-padded row, or its end in a packed row), which is the
 * same token for right-padded data and does not depend on the pad id.
 *
 * <p>Saved as a PEFT {@code SEQ_CLS} adapter: the LoRA tensors plus the head as
 * {@code base_model.model.score.weight}, named in {@code modules_to_save}; PEFT loads that onto
 * {@code LlamaForSequenceClassification.from_pretrained(base, num_labels=1)}.
 */
public final class RewardModel implements AutoCloseable {
    /** The head's module name, as in {@code LlamaForSequenceClassification}. */
    public static final String HEAD = "score";
    /** The head's tensor under PEFT's saved name. */
    public static final String HEAD_KEY = LoraModel.PEFT_PREFIX + HEAD + ".weight";
    /** The adapter's name inside its {@link LoraModel}. */
    public static final String ADAPTER = "default";
    /** transformers' default {@code initializer_range}: a new head starts from N(0, 0.02²), as there. */
    private static final double HEAD_INIT_STD = 0.02;

    private final LoraModel lora;
    private final String adapter;
    private final NDArray score; // [1, d]
    /** False when the adapter belongs to someone else (the trainer's): {@link #close} frees the head only. */
    private final boolean ownsAdapter;

    private RewardModel(LoraModel lora, String adapter, NDArray score, boolean ownsAdapter) {
        this.lora = lora;
        this.adapter = adapter;
        this.score = score;
        this.ownsAdapter = ownsAdapter;
    }

    /**
     * A new reward model on {@code base}: a fresh LoRA adapter (PEFT's initialisation: B = 0) and a head drawn
     * from N(0, 0.02²) as transformers initialises one. Deterministic for a seed.
     */
    public static RewardModel create(Llama base, LoraConfig config, long seed) {
        if (!config.modulesToSave().isEmpty()) {
            throw new BadInputException("adapter.modules_to_save: a reward model trains only its adapter and the "
                    + "score head, got " + config.modulesToSave());
        }
        LoraModel lora = new LoraModel(base);
        try {
            lora.add(ADAPTER, config, seed);
            return new RewardModel(lora, ADAPTER, newHead(base, seed), true);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /**
     * A reward model around adapter {@code adapter} of {@code lora} (the trainer's, which may add or load it
     * later), with a new head as {@link #create} draws it. The adapter stays the caller's: {@link #close} frees
     * only the head.
     */
    public static RewardModel attach(LoraModel lora, String adapter, long seed) {
        return new RewardModel(lora, adapter, newHead(lora.model(), seed), false);
    }

    /** The head {@code [1, hidden]} drawn from N(0, 0.02²), deterministic for a seed. */
    private static NDArray newHead(Llama base, long seed) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5C0AEL);
        int d = base.config().hiddenSize();
        float[] w = new float[d];
        for (int i = 0; i < d; i++) {
            // Box-Muller; SplittableRandom has no nextGaussian on Java 17
            double u1 = rng.nextDouble();
            double u2 = rng.nextDouble();
            w[i] = (float) (HEAD_INIT_STD * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
        NDArray score = base.manager().create(w, new Shape(1, d));
        NDScope.unregister(score);
        return score;
    }

    /**
     * Loads a reward adapter saved by {@link #save} or by PEFT ({@code task_type: SEQ_CLS},
     * {@code modules_to_save} naming {@code score}) onto {@code base}.
     */
    public static RewardModel load(Llama base, Path dir) {
        LoraModel lora = new LoraModel(base);
        try {
            Map<String, NDArray> heads = PeftAdapterFormat.read(lora, ADAPTER, dir,
                    Map.of(HEAD, new long[] {1, base.config().hiddenSize()}));
            return new RewardModel(lora, ADAPTER, heads.get(HEAD), true);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /**
     * Loads a reward adapter as {@link #load} does, but onto {@code lora} beside its other adapters, as adapter
     * {@code adapter}: one base serves the reward model and the adapters already there. Frozen (nothing requires
     * gradients); the adapters active before stay the active ones, so the caller switches to {@code adapter} for its
     * own passes. {@link #close} frees the head only; the adapter goes with {@code lora}.
     */
    public static RewardModel loadInto(LoraModel lora, String adapter, Path dir) {
        String[] wasActive = lora.adapterNames().stream().filter(lora::isActive).toArray(String[]::new);
        Map<String, NDArray> heads = PeftAdapterFormat.read(lora, adapter, dir,
                Map.of(HEAD, new long[] {1, lora.model().config().hiddenSize()}));
        lora.activate(wasActive);
        return new RewardModel(lora, adapter, heads.get(HEAD), false);
    }

    /** Writes the adapter and the head as PEFT does ({@code adapter_config.json}, {@code adapter_model.safetensors}). */
    public void save(Path dir, String baseModel) {
        PeftAdapterFormat.write(lora, adapter, dir, baseModel, Map.of(HEAD, score));
    }

    /**
     * Rewards of the sequences of a right-padded batch.
     *
     * @param inputIds {@code [B, T]} int64 token ids
     * @param lengths number of real tokens of each row (1..T); the reward is read at {@code lengths[i] − 1}
     * @param grad whether autograd is recording
     * @return {@code [B]} rewards
     */
    public NDArray scores(NDArray inputIds, int[] lengths, boolean grad) {
        long b = inputIds.getShape().get(0);
        if (lengths.length != b) {
            throw new IllegalArgumentException("lengths has " + lengths.length + " entries for " + b + " rows");
        }
        int[] rows = new int[lengths.length];
        int[] ends = new int[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            rows[i] = i;
            ends[i] = lengths[i] - 1;
        }
        return scoresAt(inputIds, null, null, rows, ends, grad);
    }

    /**
     * Rewards read at chosen tokens of one forward pass: sequence {@code k} ends at token {@code ends[k]} of row
     * {@code rows[k]}. With packed rows ({@code segmentIds} set, positions restarting per sequence) each
     * sequence's reward is that of the same sequence alone.
     *
     * @param inputIds {@code [B, T]} int64 token ids
     * @param positionIds {@code [B, T]} positions, or null for 0..T−1
     * @param segmentIds {@code [B, T]} sequence index per token for packed rows, or null
     * @return {@code [N]} rewards, N = {@code rows.length}
     */
    public NDArray scoresAt(NDArray inputIds, NDArray positionIds, NDArray segmentIds, int[] rows, int[] ends, boolean grad) {
        if (ends.length != rows.length) {
            throw new IllegalArgumentException(rows.length + " rows but " + ends.length + " end positions");
        }
        return scoresFrom(lora.model().hidden(inputIds, positionIds, segmentIds, grad), rows, ends);
    }

    /**
     * {@link #scoresAt} on the final normalised hidden states {@code hidden: [B, T, d]} of a pass the caller ran (a
     * training step under a rematerialisation policy runs the blocks itself).
     *
     * @return {@code [N]} rewards, N = {@code rows.length}
     */
    public NDArray scoresFrom(NDArray hidden, int[] rows, int[] ends) {
        long b = hidden.getShape().get(0);
        long t = hidden.getShape().get(1);
        long d = hidden.getShape().get(2);
        int n = rows.length;
        if (ends.length != n) {
            throw new IllegalArgumentException(n + " rows but " + ends.length + " end positions");
        }
        // a one-hot selection: each output row picks one hidden state, and its gradient flows back to that token only
        float[] pick = new float[Math.toIntExact(n * b * t)];
        for (int k = 0; k < n; k++) {
            if (rows[k] < 0 || rows[k] >= b || ends[k] < 0 || ends[k] >= t) {
                throw new IllegalArgumentException("sequence " + k + " ends at (" + rows[k] + ", " + ends[k]
                        + "), outside the [" + b + ", " + t + "] batch");
            }
            pick[Math.toIntExact(k * b * t + rows[k] * t + ends[k])] = 1f;
        }
        NDArray select = hidden.getManager().create(pick, new Shape(n, b * t)); // [N, B·T]
        NDArray last = select.matMul(hidden.reshape(b * t, d)); // [N, d]
        return last.matMul(score.transpose()).reshape(n); // [N, 1] -> [N]
    }

    /**
     * The head read at every token of one forward pass ({@code score.weight · h_t}): a critic's per-token values,
     * as TRL's PPO reads its value model.
     *
     * @param inputIds {@code [B, T]} int64 token ids
     * @return {@code [B, T]}
     */
    public NDArray tokenScores(NDArray inputIds, boolean grad) {
        return tokenScoresFrom(lora.model().hidden(inputIds, null, null, grad)); // [B, T, d] -> [B, T]
    }

    /**
     * {@link #tokenScores} on the final normalised hidden states {@code hidden: [B, T, d]} of a pass the caller ran.
     *
     * @return {@code [B, T]}
     */
    public NDArray tokenScoresFrom(NDArray hidden) {
        long b = hidden.getShape().get(0);
        long t = hidden.getShape().get(1);
        return hidden.matMul(score.transpose()).reshape(b, t); // [B, T, 1] -> [B, T]
    }

    /**
     * The trainable tensors under PEFT's saved names: the adapter's LoRA factors and {@link #HEAD_KEY}
     * ({@code [1, hidden]}).
     */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>(lora.parameters(adapter));
        p.put(HEAD_KEY, score);
        return p;
    }

    /** {@link #parameters()}, marked as requiring gradients (the base stays frozen). */
    public Map<String, NDArray> trainableParameters() {
        Map<String, NDArray> p = parameters();
        p.values().forEach(a -> a.setRequiresGradient(true));
        return p;
    }

    /** The head's weight {@code [1, hidden]}. */
    public NDArray score() {
        return score;
    }

    /** The adapter (for training mode, or to disable it). */
    public LoraModel lora() {
        return lora;
    }

    public LoraConfig config() {
        return lora.config(adapter);
    }

    /**
     * Frees the head and, unless the adapter was {@linkplain #attach attached}, detaches the adapter from the
     * base and frees it; the base model stays open.
     */
    @Override
    public void close() {
        score.close();
        if (ownsAdapter) {
            lora.close();
        }
    }
}
