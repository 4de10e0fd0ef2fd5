package org.llamawb.model;

/** How attention scores are computed; both give the same result to float rounding. */
public enum AttentionImplementation {
    /**
     * libtorch's fused {@code scaled_dot_product_attention} (flash-style CPU kernel): the
     * {@code [T, S]} score matrix is never stored and masked blocks are skipped.
     */
    FUSED,
    /** {@code softmax(q·kᵀ/√d + mask)·v} written out with an additive mask, as transformers' eager path. */
    EXPLICIT
}
