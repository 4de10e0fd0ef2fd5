package org.llamawb.finetune.recipe;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.TargetModules;
import org.llamawb.adapters.UntrainedTokens;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.tokenizer.LlamaTokenizer;

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
 * @param trainableTokens token rows trained beside a LoRA adapter (PEFT's {@code trainable_token_indices}):
 *     {@code auto} (the default: the tokens that end the training answers, when their output rows were never
 *     trained; see {@link UntrainedTokens}), {@code none}, or a list of token strings or ids
 * @param initFrom a PEFT LoRA adapter directory (an SFT adapter) the trained adapter starts from instead of
 *     PEFT's fresh initialisation; its {@code adapter_config.json} then gives the adapter's shape (rank, alpha,
 *     target modules, dropout, trained token rows), as PEFT's {@code is_trainable=True} load does, and the
 *     shape keys above are not used. With {@code method: dpo} it is also the frozen reference
 *     ({@code dpo.reference})
 * @param useDora DoRA (PEFT's {@code use_dora}): a trained magnitude per output row of each adapted projection
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
        String name,
        Object trainableTokens,
        @JsonInclude(JsonInclude.Include.NON_NULL) String initFrom,
        Boolean useDora) {

    static final AdapterSection NONE = new AdapterSection("none", null, null, null, null, null, null, null, null, null, null,
            null, null, null);

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
        trainableTokens = trainableTokens == null ? "auto" : trainableTokens;
        useDora = useDora != null && useDora;
        if (trainableTokens instanceof List<?> l) {
            for (Object t : l) {
                if (!(t instanceof String) && !(t instanceof Integer)) {
                    throw new BadInputException("adapter.trainable_tokens: expected token strings or ids, got '" + t + "'");
                }
            }
            trainableTokens = List.copyOf(l);
        } else if (!"auto".equals(trainableTokens) && !"none".equals(trainableTokens)) {
            throw new BadInputException("adapter.trainable_tokens: expected auto, none or a list of tokens, got '"
                    + trainableTokens + "'");
        }
        if (initFrom != null && !type.equals("lora")) {
            throw new BadInputException("adapter.init_from: starting from an adapter needs adapter.type: lora (got " + type + ")");
        }
        if (initFrom != null && initFrom.isBlank()) {
            throw new BadInputException("adapter.init_from: empty path (name a PEFT adapter directory, or leave the key out)");
        }
        if (type.equals("lora")) {
            // the fields are assigned only after this constructor body: validate from the parameters
            config(r, alpha, dropout, useRslora, targetModules, layersToTransform, modulesToSave, rankPattern, alphaPattern,
                    useDora);
        }
    }

    public boolean isLora() {
        return type.equals("lora");
    }

    /** The adapter as the adapters module takes it. */
    public LoraConfig loraConfig() {
        return config(r, alpha, dropout, useRslora, targetModules, layersToTransform, modulesToSave, rankPattern, alphaPattern,
                useDora);
    }

    /**
     * The adapter with its trainable token rows resolved against the model: for {@code auto}, those of
     * {@code endTokens} (the ids that close the training answers) whose output rows were never trained, with a
     * line to {@code note} saying why; for a list, those tokens.
     */
    public LoraConfig loraConfigFor(Llama model, LlamaTokenizer tokenizer, Collection<Integer> endTokens,
            Consumer<String> note) {
        LoraConfig c = loraConfig();
        List<Integer> ids = new ArrayList<>();
        if (trainableTokens instanceof List<?> l) {
            for (Object t : l) {
                ids.add(t instanceof Integer i ? i : tokenizer.id((String) t).orElseThrow(() -> new BadInputException(
                        "adapter.trainable_tokens: '" + t + "' is not a token of the tokenizer")));
            }
        } else if ("auto".equals(trainableTokens)) {
            for (UntrainedTokens.Finding f : UntrainedTokens.find(model, endTokens)) {
                note.accept("adapter: " + f.describe(tokenizer.piece(f.id())) + " (never trained), so adapters on the "
                        + "linear layers cannot make the model end its answers; training that row too "
                        + "(adapter.trainable_tokens: none turns this off)");
                ids.add(f.id());
            }
        }
        try {
            return c.withTrainableTokens(UntrainedTokens.indices(model, ids));
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage().startsWith("adapter.") ? e.getMessage() : "adapter." + e.getMessage(), e);
        }
    }

    private static LoraConfig config(int r, double alpha, double dropout, boolean useRslora, Object targetModules,
            List<Integer> layersToTransform, List<String> modulesToSave, Map<String, Integer> rankPattern,
            Map<String, Double> alphaPattern, boolean useDora) {
        try {
            return new LoraConfig(r, alpha, dropout, useRslora, TargetModules.parse(targetModules), layersToTransform,
                    rankPattern, alphaPattern, modulesToSave, Map.of(), useDora);
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage().startsWith("adapter.") ? e.getMessage() : "adapter." + e.getMessage(), e);
        }
    }
}
