package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.LoadedModel;
import org.apache.commons.cli.Options;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;

/**
 * The model a command names with {@code --model} (Hugging Face directory, llama2.c checkpoint, GGUF),
 * {@code --tokenizer} and {@code --attention}, opened as every command opens one ({@link LoadedModel}).
 */
final class ModelLoading {
    private ModelLoading() {}

    /** Model, tokenizer ({@code --tokenizer} overrides the one found beside the model) and generation defaults. */
    static LoadedModel open(Flags f, NDManager manager) {
        return open(f, manager, FrozenStorage.FLOAT32);
    }

    /** As {@link #open(Flags, NDManager)}, each tensor held as {@code storage} says as it is read. */
    static LoadedModel open(Flags f, NDManager manager, FrozenStorage storage) {
        AttentionImplementation attention = attention(f.string("attention", "fused"));
        LoadedModel l = LoadedModel.open(f.existing("model"), f.has("tokenizer") ? f.existing("tokenizer") : null,
                "--tokenizer", manager, storage);
        l.model().setAttentionImplementation(attention);
        return l;
    }

    /** {@code --quantize} and {@code --dtype} of a command that runs the model: {@link #storage(Flags)}'s flags. */
    static void storageOptions(Options o) {
        o.addOption(Flags.opt("quantize", "Q", "the decoder projections as none (default), nf4, int8 (quantised as they "
                + "are read) or keep (a GGUF file's Q8_0/Q4_0/Q4_1 blocks kept as stored), as model.quantize"));
        o.addOption(Flags.opt("dtype", "D", "the other weights in float32 (default), bf16 or fp16, as model.dtype"));
    }

    /** How {@code --quantize} and {@code --dtype} hold the weights, with the recipe keys' spellings. */
    static FrozenStorage storage(Flags f) {
        HalfWeight.Format dtype;
        try {
            dtype = HalfWeight.Format.parse(f.string("dtype", "float32"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
        String q = f.string("quantize", "none");
        return switch (q) {
            case "none" -> new FrozenStorage(dtype, null);
            case KEEP -> FrozenStorage.keepingGguf(dtype);
            default -> {
                try {
                    yield new FrozenStorage(dtype, QuantizedWeight.Kind.parse(q));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--quantize: expected none, nf4, int8 or keep, got '" + q + "'");
                }
            }
        };
    }

    /** {@code --quantize keep}: a GGUF file's quantised projections stay in their blocks. */
    static final String KEEP = "keep";

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
