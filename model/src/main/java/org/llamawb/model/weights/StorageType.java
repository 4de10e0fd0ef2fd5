package org.llamawb.model.weights;

/** Element types a checkpoint may store. Computation is always float32; others are widened on load. */
public enum StorageType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    /** Quantised GGUF blocks; the byte size depends on the block layout, see the GGUF reader. */
    QUANTIZED(0, "Q");

    private final int bytes;
    private final String safetensorsName;

    StorageType(int bytes, String safetensorsName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element, 0 for block-quantised types. */
    public int bytes() {
        return bytes;
    }

    /** The {@code dtype} string of the safetensors header. */
    public String safetensorsName() {
        return safetensorsName;
    }
}
