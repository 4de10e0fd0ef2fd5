package org.llamawb.finetune.recipe;

import java.util.List;
import java.util.Map;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.BadInputException;

/**
 * The adapter to train; {@code type: none} trains every parameter of the model (full fine-tuning).
 *
 * @param type {@code lora} or {@code none}
 * @param r LoRA rank
 * @param alpha LoRA alpha
 * @param dropout dropout on the adapter input
 * @param useRslora rank-stabilised scaling {@code alpha/√r}
 * @param targetModules a list of projection names, {@code all-linear}, or a regex string
 * @param layersToTransform only these decoder layers (empty: all)
 * @param modulesToSave modules trained fully beside the adapter ({@code embed_tokens}, {@code lm_head})
 * @param rankPattern per-module rank overrides, as PEFT
 * @param alphaPattern per-module alpha overrides, as PEFT
 * @param name the adapter's name
 */
public record AdapterSection(
        String type,
        Integer r,
        Double alpha,
        Double dropout,
        Boolean useRslora,
        Object targetModules,
        List<Integer> layersToTransform,
        List<String> modulesToSave,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        String name) {

    static final AdapterSection NONE = new AdapterSection("none", null, null, null, null, null, null, null, null, null, null);

    public AdapterSection {
        type = type == null ? "lora" : type;
        if (!type.equals("lora") && !type.equals("none")) {
            throw new BadInputException("adapter.type: expected lora or none, got '" + type + "'");
        }
        r = r == null ? 8 : r;
        alpha = alpha == null ? 16.0 : alpha;
        dropout = dropout == null ? 0.0 : dropout;
        useRslora = useRslora != null && useRslora;
        targetModules = targetModules == null ? List.of("q_proj", "v_proj") : targetModules;
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        rankPattern = rankPattern == null ? Map.of() : Map.copyOf(rankPattern);
        alphaPattern = alphaPattern == null ? Map.of() : Map.copyOf(alphaPattern);
        name = name == null ? "default" : name;
        if (type.equals("lora")) {
            // the fields are assigned only after this constructor body: validate from the parameters
            config(r, alpha, dropout, useRslora, targetModules, layersToTransform, modulesToSave, rankPattern, alphaPattern);
        }
    }

    public boolean isLora() {
        return type.equals("lora");
    }

    /** The adapter as the adapters module takes it. */
    public LoraConfig loraConfig() {
        return config(r, alpha, dropout, useRslora, targetModules, layersToTransform, modulesToSave, rankPattern, alphaPattern);
    }

    private static LoraConfig config(int r, double alpha, double dropout, boolean useRslora, Object targetModules,
            List<Integer> layersToTransform, List<String> modulesToSave, Map<String, Integer> rankPattern,
            Map<String, Double> alphaPattern) {
        try {
            return new LoraConfig(r, alpha, dropout, useRslora, TargetModules.parse(targetModules), layersToTransform,
                    rankPattern, alphaPattern, modulesToSave);
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage().startsWith("adapter.") ? e.getMessage() : "adapter." + e.getMessage(), e);
        }
    }
}
