package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * How a frozen base is held ({@code model.dtype}, {@code model.quantize}). The decoder projections are quantised when
 * {@code quantize} is set (QLoRA's NF4 or int8), else kept in {@code dtype}; the embedding and LM head are kept in
 * {@code dtype} (bitsandbytes leaves them in the model's dtype, bfloat16 in QLoRA's recipe); norms and biases stay
 * float32 (they are small and feed statistics).
 *
 * <p>{@code keepGguf} ({@code model.quantize: keep}) instead keeps the decoder projections of a GGUF file as the file
 * stores them: Q8_0/Q4_0/Q4_1 blocks as {@link GgufBlockWeight}, F16/BF16 as {@link HalfWeight}; projections of other
 * types (F32, k-quants) and every other tensor are dequantised and held in {@code dtype}.
 *
 * @param dtype bfloat16 or float16, or null for float32
 * @param quantize NF4 or int8 for the decoder projections, or null
 * @param keepGguf whether a GGUF file's quantised projections are kept in their blocks (never with {@code quantize})
 */
public record FrozenStorage(HalfWeight.Format dtype, QuantizedWeight.Kind quantize, boolean keepGguf) {
    /** Everything float32, as loaded. */
    public static final FrozenStorage FLOAT32 = new FrozenStorage(null, null);

    public FrozenStorage {
        if (keepGguf && quantize != null) {
            throw new IllegalArgumentException("keeping a GGUF file's blocks and quantising as " + quantize
                    + " exclude each other");
        }
    }

    /** Decoder projections quantised as {@code quantize} (or not), the rest in {@code dtype}. */
    public FrozenStorage(HalfWeight.Format dtype, QuantizedWeight.Kind quantize) {
        this(dtype, quantize, false);
    }

    /** A GGUF file's quantised projections kept in their blocks, the rest in {@code dtype} (null for float32). */
    public static FrozenStorage keepingGguf(HalfWeight.Format dtype) {
        return new FrozenStorage(dtype, null, true);
    }

    /** Whether any tensor is held in less than float32. */
    public boolean compact() {
        return dtype != null || quantize != null || keepGguf;
    }

    /**
     * A decoder projection's weight {@code [out, in]} as this storage holds it, or null to keep it float32 (with
     * {@code keepGguf}, a float32 weight is one the file does not keep in blocks: it is held in {@code dtype}).
     */
    public FrozenWeight projection(NDArray weight, NDManager manager) {
        if (quantize != null) {
            return QuantizedWeight.of(quantize, weight, manager);
        }
        return table(weight, manager);
    }

    /** The embedding or LM head {@code [V, d]} as this storage holds it, or null to keep it float32. */
    public HalfWeight table(NDArray weight, NDManager manager) {
        return dtype == null ? null : HalfWeight.of(dtype, weight, manager);
    }

    /** For messages: {@code nf4 (others bf16)}, {@code bf16}, {@code float32}, {@code GGUF blocks (others float32)}. */
    public String describe() {
        String d = dtype == null ? "float32" : dtype.recipeName();
        if (keepGguf) {
            return "GGUF blocks (others " + d + ")";
        }
        return quantize == null ? d : quantize.name().toLowerCase(java.util.Locale.ROOT) + " (others " + d + ")";
    }
}
