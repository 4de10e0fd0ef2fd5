package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train.precision}: parsing, the CPU check and its fallback message, and what bf16 changes in a forward pass. */
class ComputePrecisionTest {

    @Test
    void parsesTheRecipeSpellingsAndNamesTheKeyOtherwise() {
        for (ComputePrecision p : ComputePrecision.values()) {
            assertEquals(p, ComputePrecision.parse(p.recipeName(), "train.precision"));
        }
        var e = assertThrows(BadInputException.class, () -> ComputePrecision.parse("fp16", "--precision"));
        assertEquals("--precision: unknown precision 'fp16' (expected fp32 or bf16)", e.getMessage());
    }

    @Test
    void readsTheBf16FlagsOfX86AndArmCpuinfo(@TempDir Path tmp) throws Exception {
        CpuFeatures sapphireRapids = CpuFeatures.parse("x", List.of("processor\t: 0", "vendor_id\t: GenuineIntel",
                "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile", "bogomips\t: 4000", "processor\t: 1",
                "flags\t\t: fpu"));
        assertEquals(Optional.of("amx_bf16,avx512_bf16"), sapphireRapids.bf16Instructions());
        CpuFeatures graviton3 = CpuFeatures.parse("y", List.of("processor\t: 0", "Features\t: fp asimd sve bf16 i8mm"));
        assertEquals(Optional.of("bf16"), graviton3.bf16Instructions());
        CpuFeatures zen3 = CpuFeatures.parse("z", List.of("flags\t\t: fpu avx avx2 fma f16c"));
        assertEquals(Optional.empty(), zen3.bf16Instructions());
        assertEquals(Set.of(), CpuFeatures.read(tmp.resolve("absent")).flags());
        // this machine's own listing parses (whatever it holds)
        assertTrue(CpuFeatures.probe().source().startsWith("/proc/cpuinfo"));
    }

    @Test
    void bf16FallsBackToFp32WithAMessageWhereTheCpuLacksBf16() {
        List<String> notes = new ArrayList<>();
        CpuFeatures avx2 = new CpuFeatures("/proc/cpuinfo", Set.of("avx", "avx2"));
        CpuFeatures amx = new CpuFeatures("/proc/cpuinfo", Set.of("avx512f", "amx_bf16"));
        String forced = System.getProperty(ComputePrecision.FORCE_PROPERTY);
        System.clearProperty(ComputePrecision.FORCE_PROPERTY);
        try {
            assertEquals(ComputePrecision.FP32, ComputePrecision.BF16.resolve(avx2, notes::add));
            assertEquals(List.of("precision bf16 needs bfloat16 instructions (avx512_bf16 or amx_bf16 on x86-64, bf16 on "
                    + "arm64), which /proc/cpuinfo does not list: computing in fp32"), notes);
            notes.clear();
            assertEquals(ComputePrecision.BF16, ComputePrecision.BF16.resolve(amx, notes::add));
            assertEquals(ComputePrecision.FP32, ComputePrecision.FP32.resolve(amx, notes::add));
            assertEquals(List.of(), notes);
            System.setProperty(ComputePrecision.FORCE_PROPERTY, "force");
            assertEquals(ComputePrecision.BF16, ComputePrecision.BF16.resolve(avx2, notes::add));
            assertTrue(notes.get(0).startsWith("precision bf16 forced (-Dworkbench.bf16=force)"), notes.get(0));
        } finally {
            if (forced == null) {
                System.clearProperty(ComputePrecision.FORCE_PROPERTY);
            } else {
                System.setProperty(ComputePrecision.FORCE_PROPERTY, forced);
            }
        }
    }

    /**
     * With fused and with explicit attention, bf16 logits come back as float32, differ from fp32's (the GEMMs did
     * round) and stay within 2% of their range; the model reports what was set. Nothing here hands a bfloat16
     * tensor to Java (that would abort the JVM).
     */
    @Test
    void bf16ForwardStaysCloseToFp32AndDiffersFromIt() {
        LlamaConfig c = new LlamaConfig(61, 48, 96, 2, 6, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, true, 1, List.of(2),
                true, false, 64);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(c, 3, 0.1, m)) {
            NDArray ids = m.arange(0, 2 * 16, 1, DataType.INT64).mod(61).reshape(2, 16);
            for (AttentionImplementation impl : AttentionImplementation.values()) {
                model.setAttentionImplementation(impl);
                try (NDScope s = new NDScope()) {
                    model.setComputePrecision(ComputePrecision.FP32);
                    NDArray fp32 = model.forward(ids, null, null, false);
                    model.setComputePrecision(ComputePrecision.BF16);
                    assertEquals(ComputePrecision.BF16, model.computePrecision());
                    NDArray bf16 = model.forward(ids, null, null, false);
                    assertEquals(DataType.FLOAT32, bf16.getDataType());
                    assertEquals(new Shape(2, 16, 61), bf16.getShape());
                    double diff = bf16.sub(fp32).abs().max().getFloat();
                    double scale = fp32.abs().max().getFloat();
                    // two blocks of bf16 GEMMs: the logits move by a fraction of a percent of their range, not more
                    assertTrue(diff <= 2e-2 * scale, impl + ": " + diff + " of " + scale);
                    assertTrue(diff > 1e-5 * scale, impl + ": bf16 changed nothing");
                }
            }
            model.setComputePrecision(ComputePrecision.FP32);
            assertEquals(ComputePrecision.FP32, model.computePrecision());
        }
    }
}
