package org.llamawb.finetune.dpo;

import ai.djl.ndarray.NDScope;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.finetune.recipe.DpoSection;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;

/**
 * The model DPO measures the policy against, on the one base in memory: the base itself (every adapter off),
 * or a frozen adapter beside the policy's (the SFT adapter the policy started from, as TRL's
 * {@code ref_adapter_name}). A reference pass switches the adapters to the reference's alone, without dropout,
 * and puts back the active set and training mode it found.
 */
public final class ReferenceModel {
    /** The name the frozen reference adapter is loaded under. */
    public static final String ADAPTER = DpoSection.REFERENCE_ADAPTER;

    private final Llama model;
    private final LoraModel lora;
    private final String adapter;

    private ReferenceModel(Llama model, LoraModel lora, String adapter) {
        this.model = model;
        this.lora = lora;
        this.adapter = adapter;
    }

    /** The base model: the policy's adapters switched off. */
    public static ReferenceModel base(Llama model, LoraModel lora) {
        return new ReferenceModel(model, lora, null);
    }

    /**
     * Loads the PEFT adapter in {@code dir} onto {@code lora} as {@link #ADAPTER}, frozen (its tensors never
     * require gradients) and inactive outside reference passes.
     *
     * @param key the recipe key that names {@code dir}, put in front of a one-line error
     */
    public static ReferenceModel adapter(Llama model, LoraModel lora, Path dir, String key) {
        List<String> wasActive = active(lora);
        try {
            PeftAdapterFormat.read(lora, ADAPTER, dir);
        } catch (BadInputException e) {
            throw new BadInputException(key + ": " + e.getMessage(), e);
        }
        lora.activate(wasActive.toArray(String[]::new));
        return new ReferenceModel(model, lora, ADAPTER);
    }

    /** The summed log-probability of every row's labelled tokens under the reference, without gradients. */
    public double[] logProbs(int[][] ids, int[][] labels) {
        try (NDScope scope = new NDScope()) {
            if (adapter == null) {
                return lora.withAdaptersDisabled(() -> SequenceLogProbs.values(model, ids, labels, model.manager()));
            }
            List<String> wasActive = active(lora);
            boolean wasTraining = lora.isTraining();
            lora.activate(adapter);
            lora.setTraining(false); // the reference is a fixed function: no adapter dropout
            try {
                return SequenceLogProbs.values(model, ids, labels, model.manager());
            } finally {
                lora.setTraining(wasTraining);
                lora.activate(wasActive.toArray(String[]::new));
            }
        }
    }

    /**
     * Runs {@code pass} as the reference: with every adapter off (the base), or with the frozen adapter alone active and
     * without dropout; the active set and training mode found are put back after. PPO and GRPO compute their
     * per-token reference log-probabilities inside it.
     */
    public <T> T during(Supplier<T> pass) {
        if (adapter == null) {
            return lora.withAdaptersDisabled(pass);
        }
        List<String> wasActive = active(lora);
        boolean wasTraining = lora.isTraining();
        lora.activate(adapter);
        lora.setTraining(false);
        try {
            return pass.get();
        } finally {
            lora.setTraining(wasTraining);
            lora.activate(wasActive.toArray(String[]::new));
        }
    }

    /** The frozen adapter's name, or null when the reference is the base. */
    public String adapterName() {
        return adapter;
    }

    private static List<String> active(LoraModel lora) {
        return lora.adapterNames().stream().filter(lora::isActive).toList();
    }
}
