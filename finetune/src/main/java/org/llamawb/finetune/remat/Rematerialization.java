package org.llamawb.finetune.remat;

import java.util.Locale;
import org.llamawb.model.BadInputException;

/** What a training step keeps for its backward pass ({@code train.rematerialization}). */
public enum Rematerialization {
    /** Autograd keeps every activation. */
    NONE,
    /** Only each block's input is kept; the block is recomputed inside the backward pass. */
    FULL,
    /**
     * The linear layers' outputs are kept; norms, rotary embeddings, SiLU·gate and the attention
     * softmax statistics are recomputed, with a hand-written backward for the block.
     */
    HYBRID;

    public String recipeName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Rematerialization parse(String s) {
        for (Rematerialization r : values()) {
            if (r.recipeName().equals(s)) {
                return r;
            }
        }
        throw new BadInputException("train.rematerialization: unknown policy '" + s + "' (expected none, full or hybrid)");
    }
}
