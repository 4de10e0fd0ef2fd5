package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Kernels;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.quant.Int8Rowwise;
import org.llamawb.model.quant.Nf4;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * A LoRA step on a quantised frozen base ({@code model.quantize: nf4 | int8}): each projection, dequantised on the
 * fly, is exactly bitsandbytes' dequantised weight (the array quantisers, equal to bitsandbytes in QuantCodesTest),
 * and the logits, loss and every LoRA gradient are those of the same adapter on a float32 base holding the
 * dequantised weights, and within 1e-5 of PEFT's on bitsandbytes' dequantised base (fixture {@code peft/qlora} by
 * scripts/reference/make_qlora_fixtures.py).
 */
class QuantizedBaseLoraTest {

    @ParameterizedTest
    @EnumSource(QuantizedWeight.Kind.class)
    void aLoraStepOnAQuantisedBaseIsTheStepOnItsDequantisedWeights(QuantizedWeight.Kind kind) throws Exception {
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        long[][] labels = Fixtures.longMatrix(batch.get("labels"));
        try (NDManager m = NDManager.newBaseManager();
                Llama quantised = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                Llama dense = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                Safetensors peft = Safetensors.open(Fixtures.path("peft/qlora/" + kind.name().toLowerCase(java.util.Locale.ROOT))
                        .resolve("grads.safetensors"))) {
            java.nio.file.Path qlora = Fixtures.path("peft/qlora/" + kind.name().toLowerCase(java.util.Locale.ROOT));
            long fp32Bytes = 0;
            for (Linear lin : dense.linears()) {
                fp32Bytes += 4 * lin.inFeatures() * lin.outFeatures();
                float[] w = lin.weight().toFloatArray();
                float[] dq = kind == QuantizedWeight.Kind.NF4
                        ? Nf4.quantize(w, lin.weight().getShape().getShape(), Nf4.BLOCK, false).dequantize()
                        : Int8Rowwise.quantize(w, Math.toIntExact(lin.inFeatures())).dequantize();
                dense.replace(lin.name() + ".weight", m.create(dq, lin.weight().getShape()));
            }
            long bytes = quantised.quantize(kind);
            // codes plus a float32 scale per 64 values (nf4) or per row of 32 (int8)
            assertTrue(bytes <= fp32Bytes * (kind == QuantizedWeight.Kind.NF4 ? 0.15 : 0.29), bytes + " of " + fp32Bytes);
            for (Linear lin : quantised.linears()) {
                assertNotNull(lin.quantized(), lin.name());
                try (NDScope scope = new NDScope()) {
                    float[] want = dense.parameters().get(lin.name() + ".weight").toFloatArray();
                    assertArrayEquals(want, lin.weight().toFloatArray(), lin.name()); // bit for bit
                }
            }

            Map<String, float[]> grads = new LinkedHashMap<>();
            float[][] logits = new float[2][];
            double[] losses = new double[2];
            int i = 0;
            for (Llama model : new Llama[] {dense, quantised}) {
                try (LoraModel lora = new LoraModel(model)) {
                    PeftAdapterFormat.read(lora, "default", Fixtures.path("peft/lora"));
                    Map<String, NDArray> params = lora.trainableParameters("default");
                    NDArray ids = PeftFixtureTest.ids(m, batch);
                    int t = labels[0].length;
                    long[] shifted = new long[labels.length * t];
                    for (int r = 0; r < labels.length; r++) {
                        for (int j = 0; j < t; j++) {
                            shifted[r * t + j] = j + 1 < t ? labels[r][j + 1] : -100;
                        }
                    }
                    NDArray perToken = m.full(new Shape(), 0.1f, DataType.FLOAT32); // 10 target tokens
                    try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = model.forward(ids, null, null, true);
                        NDArray loss = Kernels.get().crossEntropySum(out.reshape(-1, out.getShape().get(2)),
                                m.create(shifted), true).mul(perToken);
                        logits[i] = out.toFloatArray();
                        losses[i] = loss.getFloat();
                        gc.backward(loss);
                    }
                    for (Map.Entry<String, NDArray> e : params.entrySet()) {
                        try (NDArray g = e.getValue().getGradient()) {
                            if (i == 0) {
                                grads.put(e.getKey(), g.toFloatArray());
                            } else {
                                assertArrayEquals(grads.get(e.getKey()), g.toFloatArray(), 1e-7f, kind + " " + e.getKey());
                                NDArray want = peft.load(e.getKey(), m);
                                float d = g.sub(want).abs().max().getFloat();
                                assertTrue(d <= 1e-5, kind + " gradient of " + e.getKey() + " differs from PEFT's by " + d);
                            }
                        }
                    }
                }
                i++;
            }
            assertArrayEquals(logits[0], logits[1], 1e-6f, kind + " logits");
            assertEquals(losses[0], losses[1], 1e-7, kind + " loss");
            assertEquals(28, grads.size());
            assertEquals(Fixtures.json(qlora.resolve("results.json")).get("loss").asDouble(), losses[1], 1e-5,
                    kind + " loss against PEFT on bitsandbytes' dequantised base");
        }
    }
}
