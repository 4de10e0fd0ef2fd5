package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * How a frozen base is held ({@code model.dtype}, {@code model.quantize}). The decoder projections are quantised when
 * {@code quantize} is set (QLoRA's NF4 or int8), else kept in {@code dtype}; the embedding and LM head are kept in
 * {@code dtype} (bitsandbytes leaves them in the model's dtype, bfloat16 in QLoRA's recipe); norms and biases stay
 * float32 (they are small and feed statistics).
 *
 * @param dtype bfloat16 or float16, or null for float32
 * @param quantize NF4 or int8 for the decoder projections, or null
 */
public record FrozenStorage(HalfWeight.Format dtype, QuantizedWeight.Kind quantize) {
    /** Everything float32, as loaded. */
    public static final FrozenStorage FLOAT32 = new FrozenStorage(null, null);

    /** Whether any tensor is held in less than float32. */
    public boolean compact() {
        return dtype != null || quantize != null;
    }

    /** A decoder projection's weight {@code [out, in]} as this storage holds it, or null to keep it float32. */
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

    /** For messages: {@code nf4 on bf16}, {@code bf16}, {@code float32}. */
    public String describe() {
        String d = dtype == null ? "float32" : dtype.recipeName();
        return quantize == null ? d : quantize.name().toLowerCase(java.util.Locale.ROOT) + " (others " + d + ")";
    }
}
