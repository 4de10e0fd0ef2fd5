package org.llamawb.finetune.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * One GRPO loss and backward on the tiny Llama + PEFT LoRA of {@code trl/} from fixed completions gives TRL's
 * loss and every LoRA gradient (fixture: {@code rl/grpo_step}, by make_rl_fixtures.py). The reference is the
 * same base with the adapter disabled; old log-probabilities are the current ones, detached.
 */
class GrpoStepPeftParityTest {

    static Path resource(String relative) {
        try {
            return Path.of(GrpoStepPeftParityTest.class.getResource("/" + relative).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** log π(completion token) at the positions that predict it: {@code [N, C]}. */
    static NDArray completionLogprobs(Llama model, NDArray inputIds, int promptLength, long[][] completion,
            boolean grad) {
        int n = completion.length;
        int width = completion[0].length;
        NDArray logits = model.forward(inputIds, null, null, grad); // [N, P + C, V]
        NDArray predicting = logits.get(new NDIndex(":, {}:{}", promptLength - 1, promptLength - 1 + width)); // [N, C, V]
        int vocab = (int) logits.getShape().get(2);
        float[] oneHot = new float[n * width * vocab];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < width; t++) {
                oneHot[(i * width + t) * vocab + (int) completion[i][t]] = 1f;
            }
        }
        NDArray pick = inputIds.getManager().create(oneHot, new Shape(n, width, vocab));
        return predicting.logSoftmax(-1).mul(pick).sum(new int[] {-1}); // [N, C]
    }

    @Test
    void lossKlAndEveryLoraGradientMatchTrl() {
        JsonNode b = Fixtures.json(resource("rl/grpo_step/batch.json"));
        long[][] prompt = Fixtures.longMatrix(b.get("prompt_ids"));
        long[][] completion = Fixtures.longMatrix(b.get("completion_ids"));
        int n = prompt.length;
        int p = prompt[0].length;
        int c = completion[0].length;
        long[] ids = new long[n * (p + c)];
        for (int i = 0; i < n; i++) {
            System.arraycopy(prompt[i], 0, ids, i * (p + c), p);
            System.arraycopy(completion[i], 0, ids, i * (p + c) + p, c);
        }
        float[] mask = new float[n * c];
        double tokens = 0;
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < c; t++) {
                mask[i * c + t] = b.get("completion_mask").get(i).get(t).asInt();
                tokens += mask[i * c + t];
            }
        }
        double[] rewards = new double[n];
        for (int i = 0; i < n; i++) {
            rewards[i] = b.get("rewards").get(i).asDouble();
        }
        GroupAdvantages adv = GroupAdvantages.of(rewards, b.get("num_generations").asInt(), RewardScaling.GROUP);
        for (int i = 0; i < n; i++) {
            assertEquals(b.get("advantages").get(i).asDouble(), adv.advantages()[i], 1e-6, "advantage " + i);
        }
        var settings = new GrpoLoss.Settings(b.get("epsilon_low").asDouble(), b.get("epsilon_high").asDouble(),
                b.get("beta").asDouble(), LossAggregation.DAPO, c);
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(resource("trl/base")), m);
                LoraModel lora = new LoraModel(base);
                Safetensors grads = Safetensors.open(resource("rl/grpo_step/grads.safetensors"))) {
            PeftAdapterFormat.read(lora, "default", resource("trl/policy"));
            Map<String, NDArray> params = lora.trainableParameters("default");
            assertEquals(new TreeSet<>(grads.names()), new TreeSet<>(params.keySet()));
            NDArray inputIds = m.create(ids, new Shape(n, p + c));
            NDArray ref = lora.withAdaptersDisabled(() -> completionLogprobs(base, inputIds, p, completion, false));
            float[] advantages = new float[n];
            for (int i = 0; i < n; i++) {
                advantages[i] = (float) adv.advantages()[i];
            }
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logprobs = completionLogprobs(base, inputIds, p, completion, true);
                NDArray old = logprobs.stopGradient();
                GrpoLoss l = GrpoLoss.compute(logprobs, old, ref, m.create(advantages), m.create(mask, new Shape(n, c)),
                        tokens, settings);
                gc.backward(l.loss());
                assertEquals(b.get("loss").asDouble(), l.loss().getFloat(), 1e-6, "loss");
                assertEquals(b.get("metrics").get("kl").asDouble(), l.kl(), 1e-6, "kl");
                assertEquals(0.0, l.clipRatioRegion(), "ratio 1: nothing clipped");
            }
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    float d = g.sub(grads.load(e.getKey(), m)).abs().max().getFloat();
                    assertTrue(d <= 1e-5, "gradient of " + e.getKey() + " differs by " + d);
                    assertTrue(g.abs().max().getFloat() > 0, e.getKey() + " gets a gradient");
                }
            }
        }
    }
}
