package org.llamawb.finetune.recipe;

import java.util.Arrays;
import java.util.List;
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

    /**
     * Whether a data-parallel run ({@code finetune --spark}) can share this method's steps: the offline methods,
     * whose micro-batches are fixed by the data order alone. The online ones sample their batches from the policy
     * (rollouts) first, which the workers would have to share too.
     */
    public boolean runsDataParallel() {
        return switch (this) {
            case SFT, DPO, KTO, REWARD -> true;
            case GRPO, PPO -> false;
        };
    }

    /** The methods that run data-parallel as a sentence's list: {@code "sft, dpo, kto and reward"}. */
    public static String dataParallelNames() {
        List<String> names = Arrays.stream(values()).filter(Method::runsDataParallel).map(Method::recipeName).toList();
        return names.size() == 1 ? names.get(0)
                : String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.get(names.size() - 1);
    }

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
