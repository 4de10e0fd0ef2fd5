package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.quant.FrozenStorage;

/**
 * The model a command names with {@code --model} (Hugging Face directory, llama2.c checkpoint, GGUF),
 * {@code --tokenizer} and {@code --attention}, opened as every command opens one ({@link LoadedModel}).
 */
final class ModelLoading {
    private ModelLoading() {}

    /** Model, tokenizer ({@code --tokenizer} overrides the one found beside the model) and generation defaults. */
    static LoadedModel open(Flags f, NDManager manager) {
        AttentionImplementation attention = attention(f.string("attention", "fused"));
        LoadedModel l = LoadedModel.open(f.existing("model"), f.has("tokenizer") ? f.existing("tokenizer") : null,
                "--tokenizer", manager);
        l.model().setAttentionImplementation(attention);
        return l;
    }

    /**
     * As {@link #open(Flags, NDManager)} for commands that only move weights around: a model without a
     * tokenizer opens with a null one, with a note on stderr.
     */
    static LoadedModel openWeights(Flags f, NDManager manager) {
        return openWeights(f, manager, FrozenStorage.FLOAT32);
    }

    /** As {@link #openWeights(Flags, NDManager)}, each tensor held as {@code storage} says as it is read. */
    static LoadedModel openWeights(Flags f, NDManager manager, FrozenStorage storage) {
        return LoadedModel.openWeights(f.existing("model"), f.has("tokenizer") ? f.existing("tokenizer") : null,
                "--tokenizer", manager, note -> System.err.println("note: " + note), storage);
    }

    static AttentionImplementation attention(String name) {
        return switch (name == null ? "fused" : name) {
            case "fused" -> AttentionImplementation.FUSED;
            case "explicit" -> AttentionImplementation.EXPLICIT;
            default -> throw new UsageException("--attention: expected fused or explicit, got '" + name + "'");
        };
    }
}
