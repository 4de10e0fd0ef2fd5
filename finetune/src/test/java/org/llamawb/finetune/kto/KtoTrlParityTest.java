package org.llamawb.finetune.kto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.datasets.tokenize.TokenizedUnpaired;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * KTO loss, KL estimate, TRL's metrics and the gradient of every LoRA tensor equal TRL 1.16's
 * {@code KTOTrainer} with PEFT on the same batch; the mismatched KL answers are TRL's (fixtures by
 * scripts/reference/make_alignment_fixtures.py, documented in src/test/resources/trl/README.md).
 */
class KtoTrlParityTest {

    static Path trl(String relative) {
        try {
            return Path.of(KtoTrlParityTest.class.getResource("/trl/" + relative).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static int[][] labels(int[][] ids, int[][] mask) {
        int[][] out = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            out[i] = new int[ids[i].length];
            for (int j = 0; j < ids[i].length; j++) {
                out[i][j] = mask[i][j] == 1 ? ids[i][j] : TokenizedExample.IGNORE;
            }
        }
        return out;
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    @Test
    void lossKlMetricsAndEveryLoraGradientMatchTrl() {
        JsonNode batch = Fixtures.json(trl("kto/batch.json"));
        JsonNode result = Fixtures.json(trl("kto/results.json"));
        JsonNode settings = result.get("settings");
        int[][] ids = Fixtures.intMatrix(batch.get("input_ids"));
        int[][] klIds = Fixtures.intMatrix(batch.get("KL_input_ids"));
        boolean[] desirable = new boolean[ids.length];
        for (int i = 0; i < desirable.length; i++) {
            desirable[i] = batch.get("label").get(i).asBoolean();
        }
        KtoBatch kb = new KtoBatch(ids, labels(ids, Fixtures.intMatrix(batch.get("completion_mask"))), klIds,
                labels(klIds, Fixtures.intMatrix(batch.get("KL_completion_mask"))), desirable);
        KtoLoss loss = new KtoLoss(settings.get("beta").asDouble(), settings.get("desirable_weight").asDouble(),
                settings.get("undesirable_weight").asDouble());
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(trl("base")), m);
                LoraModel lora = new LoraModel(model);
                Safetensors grads = Safetensors.open(trl("kto/grads.safetensors"))) {
            PeftAdapterFormat.read(lora, "default", trl("policy"));
            Map<String, NDArray> params = lora.trainableParameters("default");
            KtoObjective objective = new KtoObjective(model, lora, loss);
            double mean;
            try (NDScope s = new NDScope()) {
                mean = objective.lossAndBackward(kb, 1.0 / 4, 0) / 4;
            }
            assertEquals(result.get("loss").asDouble(), mean, 1e-5, "loss");
            Map<String, Double> metrics = objective.takeMetrics();
            result.get("metrics").fields().forEachRemaining(e -> {
                double tolerance = e.getKey().startsWith("logps/") ? 1e-4 : 1e-5;
                assertEquals(e.getValue().asDouble(), metrics.get(e.getKey()), tolerance, e.getKey());
            });
            assertEquals(28, params.size());
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient(); NDArray expected = grads.load(e.getKey(), m)) {
                    float d = g.sub(expected).abs().max().getFloat();
                    assertTrue(d <= 1e-5, "gradient of " + e.getKey() + " differs by " + d);
                }
            }
        }
    }

    @Test
    void mismatchedAnswersAreTrlsPreviousExampleWithinEachGroup() {
        JsonNode examples = Fixtures.json(trl("kto/batch.json")).get("examples");
        List<TokenizedUnpaired> in = new ArrayList<>();
        for (JsonNode e : examples) {
            in.add(new TokenizedUnpaired("x", new Origin("kto.json", in.size() + 1), ints(e.get("prompt_ids")),
                    ints(e.get("completion_ids")), e.get("label").asBoolean(), false));
        }
        List<KtoMethod.Example> out = KtoMethod.withKlAnswers(in, examples.size());
        for (int i = 0; i < out.size(); i++) {
            assertArrayEquals(ints(examples.get(i).get("KL_completion_ids")), out.get(i).klCompletion(), "example " + i);
            assertEquals(examples.get(i).get("label").asBoolean(), out.get(i).desirable());
        }
        // groups of 3 over 4 examples: {0,1,2} rotate among themselves, 3 alone takes its own answer
        List<KtoMethod.Example> threes = KtoMethod.withKlAnswers(in, 3);
        assertArrayEquals(in.get(2).completion(), threes.get(0).klCompletion());
        assertArrayEquals(in.get(3).completion(), threes.get(3).klCompletion());
    }

    @Test
    void lossFormulaByHand() {
        KtoLoss l = new KtoLoss(0.1, 1.0, 1.5);
        // desirable, Δ = 3, kl = 1: 1 − σ(0.2) = 0.450166; undesirable: 1.5·(1 − σ(−0.2)) = 1.5·0.549834
        assertEquals(0.45016600268752205, l.loss(3, 1, true), 1e-12);
        assertEquals(1.5 * 0.5498339973124778, l.loss(3, 1, false), 1e-12);
        assertEquals(0.0, KtoLoss.kl(new double[] {-5, -6}, new double[] {-4, -5}), 0); // negative mean clamps to 0
        assertEquals(0.5, KtoLoss.kl(new double[] {-5, -6}, new double[] {-6, -6}), 1e-12);
        double h = 1e-6;
        for (boolean d : new boolean[] {true, false}) {
            for (double z : new double[] {-7, 0.3, 12}) {
                double numeric = (l.loss(z + h, 0.4, d) - l.loss(z - h, 0.4, d)) / (2 * h);
                assertEquals(numeric, l.derivative(z, 0.4, d), 1e-8);
            }
        }
    }
}
