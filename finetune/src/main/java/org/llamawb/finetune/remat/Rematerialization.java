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
    HYBRID,
    /**
     * As {@link #HYBRID}, but the two feed-forward projections {@code g, u} are recomputed too (two GEMMs per
     * block): with LoRA on a frozen base, autograd keeps so little per block that the paper's set is about
     * 77% of it, and a deep model needs this to stay near a third of {@code none}'s activations.
     */
    HYBRID_LEAN;

    /** The recipe spelling: {@code none}, {@code full}, {@code hybrid}, {@code hybrid-lean}. */
    public String recipeName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Rematerialization parse(String s) {
        for (Rematerialization r : values()) {
            if (r.recipeName().equals(s)) {
                return r;
            }
        }
        throw new BadInputException("train.rematerialization: unknown policy '" + s + "' (expected none, full, hybrid or hybrid-lean)");
    }
}
