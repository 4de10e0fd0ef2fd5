package org.llamawb.model;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * The number format of the model's GEMMs ({@code train.precision}): the projections, the LM head and attention's
 * two products. Everything else stays float32 whatever this says: activations between operations, RMSNorm's
 * statistics, softmax's sums, the loss, LoRA's factors, gradients as they accumulate, and the optimiser's state.
 */
public enum ComputePrecision {
    /** Every GEMM in float32. */
    FP32,
    /**
     * bfloat16 GEMMs, forward and backward: each operand is rounded to bfloat16 (8 significant bits) just before
     * the product and the product is returned in float32 (the GEMM accumulates in float32). Fast only where the
     * CPU has bfloat16 instructions ({@link CpuFeatures#bf16Instructions}); elsewhere libtorch emulates them.
     */
    BF16;

    /** The system property that skips the CPU check ({@code -Dworkbench.bf16=force}): for measuring the emulation. */
    public static final String FORCE_PROPERTY = "workbench.bf16";

    /** The recipe spelling: {@code fp32}, {@code bf16}. */
    public String recipeName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code fp32} or {@code bf16}; {@code key} (a YAML key or CLI flag) names the setting in the error. */
    public static ComputePrecision parse(String s, String key) {
        for (ComputePrecision p : values()) {
            if (p.recipeName().equals(s)) {
                return p;
            }
        }
        throw new BadInputException(key + ": unknown precision '" + s + "' (expected fp32 or bf16)");
    }

    /**
     * The precision to compute in on {@code cpu}: bf16 only where the CPU has bfloat16 instructions (or
     * {@code -Dworkbench.bf16=force}); otherwise float32, with one line to {@code notice} saying why.
     */
    public ComputePrecision resolve(CpuFeatures cpu, Consumer<String> notice) {
        if (this == FP32) {
            return FP32;
        }
        if ("force".equals(System.getProperty(FORCE_PROPERTY))) {
            if (cpu.bf16Instructions().isEmpty()) {
                notice.accept("precision bf16 forced (-D" + FORCE_PROPERTY + "=force) on a CPU without bfloat16 "
                        + "instructions: libtorch emulates them, expect it slower than fp32");
            }
            return BF16;
        }
        if (cpu.bf16Instructions().isPresent()) {
            return BF16;
        }
        notice.accept("precision bf16 needs bfloat16 instructions (avx512_bf16 or amx_bf16 on x86-64, bf16 on "
                + "arm64), which " + cpu.source() + " does not list: computing in fp32");
        return FP32;
    }
}
