package org.llamawb.finetune.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.model.BadInputException;

/**
 * PPO's critic on the shared base: adapter {@value #ADAPTER} of the trainer's {@link LoraModel} with a value head laid
 * out as a reward model's {@code score} ({@code [1, hidden]}), read at every token. Only one of policy and critic is
 * active at a time: the critic is switched on for its own forward passes and the policy back on after, so sampling,
 * evaluation and the saved adapter see the policy alone. Saved in a checkpoint under {@value #DIR}/ as a PEFT
 * {@code SEQ_CLS} adapter (loadable as a reward model).
 */
final class Critic {
    static final String ADAPTER = "critic";
    static final String DIR = "critic";
    /** The critic's tensors among the optimiser's parameters: its PEFT names under this prefix. */
    static final String PREFIX = "critic/";

    private final LoraModel lora;
    private final String policy;
    private final RewardModel model;

    private Critic(LoraModel lora, String policy, RewardModel model) {
        this.lora = lora;
        this.policy = policy;
        this.model = model;
    }

    /**
     * A fresh critic (LoRA B = 0, head from N(0, 0.02²)). Leaves no adapter active: the trainer adds or loads the
     * policy next, which makes it the one active adapter.
     */
    static Critic create(LoraModel lora, LoraConfig config, String policy, long seed) {
        if (policy.equals(ADAPTER)) {
            throw new BadInputException("adapter.name: '" + ADAPTER + "' is the name of PPO's critic adapter; choose another");
        }
        lora.add(ADAPTER, config, seed);
        lora.activate();
        return new Critic(lora, policy, RewardModel.attach(lora, ADAPTER, seed));
    }

    /** Per-token values {@code [N, T]} of rows of token ids: position {@code j} has seen tokens 0..j. */
    NDArray values(int[][] ids, boolean grad) {
        int n = ids.length;
        int t = ids[0].length;
        long[] flat = new long[n * t];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t; j++) {
                flat[i * t + j] = ids[i][j];
            }
        }
        lora.activate(ADAPTER);
        try {
            return model.tokenScores(lora.model().manager().create(flat, new Shape(n, t)), grad); // [N, T]
        } finally {
            lora.activate(policy);
        }
    }

    /** Per-token values {@code [N, T]} from the final normalised hidden states {@code [N, T, d]} of a pass run {@link #active}. */
    NDArray valuesFrom(NDArray hidden) {
        return model.tokenScoresFrom(hidden);
    }

    /**
     * Runs {@code pass} with the critic's adapter the active one (a training pass under a rematerialisation policy
     * recomputes blocks during its backward, so the critic stays switched on until the pass is done).
     */
    <T> T active(Supplier<T> pass) {
        lora.activate(ADAPTER);
        try {
            return pass.get();
        } finally {
            lora.activate(policy);
        }
    }

    /** {@link #values} without gradients, flat {@code [N·T]}. */
    float[] valuesNoGrad(int[][] ids) {
        try (NDScope scope = new NDScope()) {
            return values(ids, false).toFloatArray();
        }
    }

    /** The critic's adapter and head under {@link #PREFIX} + their PEFT names. */
    Map<String, NDArray> parameters() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        model.parameters().forEach((k, v) -> out.put(PREFIX + k, v));
        return out;
    }

    void save(Path checkpoint, String baseModel) {
        model.save(checkpoint.resolve(DIR), baseModel);
    }

    /** Sets the critic's tensors to those {@link #save} wrote into {@code checkpoint}. */
    void restore(Path checkpoint) {
        Path file = checkpoint.resolve(DIR).resolve(PeftAdapterFormat.WEIGHTS_FILE);
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new BadInputException(checkpoint + ": has no " + DIR + "/" + PeftAdapterFormat.WEIGHTS_FILE
                    + " (PPO's critic); it was not written by a PPO run");
        }
        Map<String, float[]> saved = CheckpointStore.readTensors(file);
        model.parameters().forEach((k, v) -> {
            float[] value = saved.get(k);
            if (value == null || value.length != v.getShape().size()) {
                throw new BadInputException(file + ": " + (value == null ? "lacks" : "has the wrong size for")
                        + " tensor '" + k + "'");
            }
            v.set(value);
        });
    }
}
