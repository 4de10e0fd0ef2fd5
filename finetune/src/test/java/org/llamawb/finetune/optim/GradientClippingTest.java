package org.llamawb.finetune.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Global-norm clipping equals {@code torch.nn.utils.clip_grad_norm_} on fixed gradients: the returned
 * norm and every clipped gradient (fixtures by scripts/reference/make_schedule_fixtures.py).
 */
class GradientClippingTest {
    static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    @Test
    void normAndClippedGradientsEqualTorch() throws Exception {
        JsonNode f = LrScheduleTest.fixture("clipping.json");
        for (JsonNode c : f.get("cases")) {
            try (NDManager m = NDManager.newBaseManager()) {
                List<NDArray> params = new ArrayList<>();
                // parameters whose gradients are the fixture's: d/dp sum(p * g) = g
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = null;
                    for (int i = 0; i < f.get("shapes").size(); i++) {
                        long[] dims = new long[f.get("shapes").get(i).size()];
                        for (int d = 0; d < dims.length; d++) {
                            dims[d] = f.get("shapes").get(i).get(d).asLong();
                        }
                        NDArray p = m.zeros(new Shape(dims));
                        p.setRequiresGradient(true);
                        params.add(p);
                        NDArray term = p.mul(m.create(floats(f.get("grads").get(i)), new Shape(dims))).sum();
                        loss = loss == null ? term : loss.add(term);
                    }
                    gc.backward(loss);
                }
                double max = c.get("max_norm").asDouble();
                double norm = GradientClipping.clip(params, max);
                assertEquals(c.get("total_norm").asDouble(), norm, 1e-6 * norm, "norm, max_norm=" + max);
                for (int i = 0; i < params.size(); i++) {
                    float[] expected = floats(c.get("clipped").get(i));
                    try (NDArray g = params.get(i).getGradient()) {
                        float[] actual = g.toFloatArray();
                        for (int k = 0; k < expected.length; k++) {
                            assertEquals(expected[k], actual[k], 1e-6 * Math.abs(expected[k]) + 1e-9,
                                    "max_norm=" + max + " tensor " + i + " [" + k + "]");
                        }
                    }
                }
            }
        }
    }
}
