package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * DPO loss, TRL's metrics, the sequence log-probabilities and the gradient of every LoRA tensor equal TRL
 * 1.16's {@code DPOTrainer} with PEFT on the same batch (fixtures by
 * scripts/reference/make_alignment_fixtures.py, documented in src/test/resources/trl/README.md).
 */
class DpoTrlParityTest {

    static Path trl(String relative) {
        try {
            return Path.of(DpoTrlParityTest.class.getResource("/trl/" + relative).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** TRL's concatenated batch as a pair batch: rows 0-2 chosen, 3-5 rejected; completion tokens labelled. */
    static PairBatch pairBatch(JsonNode batch) {
        int[][] ids = Fixtures.intMatrix(batch.get("input_ids"));
        int[][] completion = Fixtures.intMatrix(batch.get("completion_mask"));
        int[][] labels = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            labels[i] = new int[ids[i].length];
            for (int j = 0; j < ids[i].length; j++) {
                labels[i][j] = completion[i][j] == 1 ? ids[i][j] : TokenizedExample.IGNORE;
            }
        }
        int b = ids.length / 2;
        return new PairBatch(new Batch(Arrays.copyOfRange(ids, 0, b), Arrays.copyOfRange(labels, 0, b), null, null, b, 0),
                new Batch(Arrays.copyOfRange(ids, b, 2 * b), Arrays.copyOfRange(labels, b, 2 * b), null, null, b, 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sigmoid", "sigmoid_beta05", "ipo", "hinge", "robust", "sigmoid_ls"})
    void lossMetricsAndEveryLoraGradientMatchTrl(String c) {
        JsonNode batch = Fixtures.json(trl("dpo/batch.json"));
        JsonNode result = Fixtures.json(trl("dpo/results.json")).get(c);
        JsonNode settings = result.get("settings");
        String type = c.equals("sigmoid_ls") ? "sigmoid" : settings.get("loss_type").asText();
        DpoLoss loss = new DpoLoss(type, settings.get("beta").asDouble(), settings.get("label_smoothing").asDouble());
        PairBatch pb = pairBatch(batch);
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(trl("base")), m);
                LoraModel lora = new LoraModel(model);
                Safetensors grads = Safetensors.open(trl("dpo/grads_" + c + ".safetensors"))) {
            PeftAdapterFormat.read(lora, "default", trl("policy"));
            Map<String, NDArray> params = lora.trainableParameters("default");
            DpoObjective objective = new DpoObjective(model, lora, loss);
            double mean;
            try (NDScope s = new NDScope()) {
                mean = objective.lossAndBackward(pb, 1.0 / 3, 0) / 3;
            }
            assertEquals(result.get("loss").asDouble(), mean, 1e-5, c + " loss");
            Map<String, Double> metrics = objective.takeMetrics();
            result.get("metrics").fields().forEachRemaining(e -> {
                double tolerance = e.getKey().startsWith("logps/") ? 1e-4 : 1e-5;
                assertEquals(e.getValue().asDouble(), metrics.get(e.getKey()), tolerance, c + " " + e.getKey());
            });
            assertEquals(28, params.size());
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient(); NDArray expected = grads.load(e.getKey(), m)) {
                    float max = expected.abs().max().getFloat();
                    float d = g.sub(expected).abs().max().getFloat();
                    float tolerance = type.equals("ipo") ? 1e-5f * Math.max(1, max) : 1e-5f;
                    assertTrue(d <= tolerance, c + ": gradient of " + e.getKey() + " differs by " + d + " (max |g| " + max + ")");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void sequenceLogProbsOfPolicyAndAdapterDisabledReferenceMatchTrl(boolean precomputed) {
        JsonNode batch = Fixtures.json(trl("dpo/batch.json"));
        PairBatch pb = pairBatch(batch);
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(trl("base")), m);
                LoraModel lora = new LoraModel(model);
                Safetensors logps = Safetensors.open(trl("dpo/logps.safetensors"))) {
            DpoObjective objective = new DpoObjective(model, lora, new DpoLoss("sigmoid", 1, 0));
            if (precomputed) {
                objective.precompute(pb); // before the adapter exists, as the trainer does
            }
            PeftAdapterFormat.read(lora, "default", trl("policy"));
            Map<String, Double> eval = objective.evaluate(pb); // β = 1: rewards are the log-ratios
            float[] pc = logps.load("policy_chosen_logps", m).toFloatArray();
            float[] pr = logps.load("policy_rejected_logps", m).toFloatArray();
            float[] rc = logps.load("ref_chosen_logps", m).toFloatArray();
            float[] rr = logps.load("ref_rejected_logps", m).toFloatArray();
            double lc = 0;
            double lr = 0;
            double rewardC = 0;
            double rewardR = 0;
            for (int i = 0; i < 3; i++) {
                lc += pc[i] / 3;
                lr += pr[i] / 3;
                rewardC += (pc[i] - rc[i]) / 3;
                rewardR += (pr[i] - rr[i]) / 3;
            }
            assertEquals(lc, eval.get("logps/chosen"), 1e-4);
            assertEquals(lr, eval.get("logps/rejected"), 1e-4);
            assertEquals(rewardC, eval.get("rewards/chosen"), 1e-4);
            assertEquals(rewardR, eval.get("rewards/rejected"), 1e-4);
            // and row by row, through the same log-probability code the loss reads
            try (NDScope s = new NDScope()) {
                int[][] ids = DpoObjective.concat(pb.chosen().inputIds(), pb.rejected().inputIds());
                int[][] labels = DpoObjective.concat(pb.chosen().labels(), pb.rejected().labels());
                double[] policy = SequenceLogProbs.of(model, ids, labels, false, m).values();
                double[] ref = lora.withAdaptersDisabled(() -> SequenceLogProbs.of(model, ids, labels, false, m).values());
                for (int i = 0; i < 3; i++) {
                    for (double[] pair : List.of(new double[] {pc[i], policy[i]}, new double[] {pr[i], policy[3 + i]},
                            new double[] {rc[i], ref[i]}, new double[] {rr[i], ref[3 + i]})) {
                        assertEquals(pair[0], pair[1], 1e-4, "pair " + i);
                    }
                }
            }
        }
    }
}
