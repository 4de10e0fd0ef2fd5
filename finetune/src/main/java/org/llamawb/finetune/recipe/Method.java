package org.llamawb.finetune.recipe;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/** The training methods a recipe can name ({@code method:}). */
public enum Method {
    /** Supervised fine-tuning on conversations. */
    SFT,
    /** Direct preference optimisation on preference pairs. */
    DPO,
    /** Kahneman-Tversky optimisation on answers labelled desirable or undesirable. */
    KTO,
    /** A reward model (adapter + scalar score head) on preference pairs. */
    REWARD,
    /** Group relative policy optimisation: online, on prompts, with the recipe's rule rewards. */
    GRPO,
    /** Proximal policy optimisation with a critic (InstructGPT): online, on prompts, with the recipe's rule rewards. */
    PPO;

    /** The recipe's spelling. */
    public String recipeName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Method parse(String name) {
        for (Method m : values()) {
            if (m.recipeName().equals(name)) {
                return m;
            }
        }
        throw new BadInputException("method: '" + name + "' is not available (expected one of "
                + Arrays.stream(values()).map(Method::recipeName).collect(Collectors.joining(", ")) + ")");
    }
}
