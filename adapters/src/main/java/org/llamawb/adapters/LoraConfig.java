package org.llamawb.adapters;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * Where LoRA adapters go and how large they are; field names follow PEFT's {@code adapter_config.json}.
 *
 * @param r rank of the update
 * @param alpha {@code lora_alpha}: the update is scaled by {@code alpha / r} ({@code alpha / √r} with rsLoRA)
 * @param dropout {@code lora_dropout} on the adapter's input during training
 * @param useRslora {@code use_rslora}: rank-stabilised scaling (Kalajdzievski, 2023)
 * @param targetModules {@code target_modules}
 * @param layersToTransform {@code layers_to_transform}: only these decoder layers (empty = all)
 * @param rankPattern {@code rank_pattern}: per-module rank overrides, keys matched as PEFT does
 * @param alphaPattern {@code alpha_pattern}: per-module alpha overrides
 * @param modulesToSave {@code modules_to_save}: modules trained fully beside the adapter ({@code embed_tokens}, {@code lm_head})
 * @param trainableTokenIndices {@code trainable_token_indices}: token ids whose rows of a vocabulary matrix
 *     ({@code embed_tokens}, which a tied LM head shares, or {@code lm_head}) are trained beside the adapter,
 *     by module; empty when none
 * @param useDora {@code use_dora}: weight-decomposed LoRA (DoRA, Liu et al., 2024): each targeted projection also
 *     trains a magnitude per output row, {@code W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖} row by row
 */
public record LoraConfig(
        int r,
        double alpha,
        double dropout,
        boolean useRslora,
        TargetModules targetModules,
        List<Integer> layersToTransform,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<String> modulesToSave,
        Map<String, List<Integer>> trainableTokenIndices,
        boolean useDora) {

    public LoraConfig {
        if (r <= 0) {
            throw new BadInputException("adapter.r must be > 0, got " + r);
        }
        if (!(alpha > 0)) {
            throw new BadInputException("adapter.alpha must be > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new BadInputException("adapter.dropout must be within [0, 1), got " + dropout);
        }
        layersToTransform = List.copyOf(layersToTransform);
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
        modulesToSave = List.copyOf(modulesToSave);
        for (String m : modulesToSave) {
            if (!m.equals("embed_tokens") && !m.equals("lm_head")) {
                throw new BadInputException("adapter.modules_to_save: unsupported module '" + m
                        + "' (expected embed_tokens or lm_head)");
            }
        }
        Map<String, List<Integer>> tokens = new LinkedHashMap<>();
        List<String> wholeModules = modulesToSave;
        trainableTokenIndices.forEach((module, ids) -> {
            if (!module.equals("embed_tokens") && !module.equals("lm_head")) {
                throw new BadInputException("adapter.trainable_tokens: unsupported module '" + module
                        + "' (expected embed_tokens or lm_head)");
            }
            if (ids.isEmpty() || ids.stream().anyMatch(i -> i < 0) || ids.stream().distinct().count() != ids.size()) {
                throw new BadInputException("adapter.trainable_tokens: " + module + " needs distinct token ids >= 0, got "
                        + ids);
            }
            if (wholeModules.contains(module)) {
                throw new BadInputException("adapter.trainable_tokens: " + module + " is already trained whole "
                        + "(modules_to_save); name it in one of the two");
            }
            tokens.put(module, List.copyOf(ids));
        });
        trainableTokenIndices = Collections.unmodifiableMap(tokens);
        rankPattern.forEach((k, v) -> {
            if (v <= 0) {
                throw new BadInputException("rank_pattern." + k + " must be > 0, got " + v);
            }
        });
    }

    /** Plain LoRA (no DoRA). */
    public LoraConfig(int r, double alpha, double dropout, boolean useRslora, TargetModules targetModules,
            List<Integer> layersToTransform, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
            List<String> modulesToSave, Map<String, List<Integer>> trainableTokenIndices) {
        this(r, alpha, dropout, useRslora, targetModules, layersToTransform, rankPattern, alphaPattern, modulesToSave,
                trainableTokenIndices, false);
    }

    /** Without trainable tokens. */
    public LoraConfig(int r, double alpha, double dropout, boolean useRslora, TargetModules targetModules,
            List<Integer> layersToTransform, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
            List<String> modulesToSave) {
        this(r, alpha, dropout, useRslora, targetModules, layersToTransform, rankPattern, alphaPattern, modulesToSave,
                Map.of());
    }

    /** The common case: rank, alpha and target names, no dropout. */
    public static LoraConfig of(int r, double alpha, TargetModules targets) {
        return new LoraConfig(r, alpha, 0, false, targets, List.of(), Map.of(), Map.of(), List.of());
    }

    /** This configuration with {@code trainable_token_indices} replaced. */
    public LoraConfig withTrainableTokens(Map<String, List<Integer>> indices) {
        return new LoraConfig(r, alpha, dropout, useRslora, targetModules, layersToTransform, rankPattern, alphaPattern,
                modulesToSave, indices, useDora);
    }

    /** This configuration with {@code use_dora} set to {@code dora}. */
    public LoraConfig withDora(boolean dora) {
        return new LoraConfig(r, alpha, dropout, useRslora, targetModules, layersToTransform, rankPattern, alphaPattern,
                modulesToSave, trainableTokenIndices, dora);
    }

    /** Whether the projection at {@code path} in decoder layer {@code layer} gets an adapter. */
    public boolean targets(String path, int layer) {
        return targetModules.matches(path) && (layersToTransform.isEmpty() || layersToTransform.contains(layer));
    }

    /** The rank for the module at {@code path}, after {@code rank_pattern}. */
    public int rankFor(String path) {
        String key = patternKey(rankPattern.keySet(), path);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha for the module at {@code path}, after {@code alpha_pattern}. */
    public double alphaFor(String path) {
        String key = patternKey(alphaPattern.keySet(), path);
        return key == null ? alpha : alphaPattern.get(key);
    }

    /** {@code alpha / r}, or {@code alpha / √r} with rsLoRA, for the module at {@code path}. */
    public double scalingFor(String path) {
        int rank = rankFor(path);
        double a = alphaFor(path);
        return useRslora ? a / Math.sqrt(rank) : a / rank;
    }

    /**
     * PEFT's pattern lookup: the first key that, as a regular expression, matches the end of the
     * module path at a dot boundary ({@code (.*\.)?key$}).
     */
    static String patternKey(Iterable<String> keys, String path) {
        for (String k : keys) {
            if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(path).matches()) {
                return k;
            }
        }
        return null;
    }
}
