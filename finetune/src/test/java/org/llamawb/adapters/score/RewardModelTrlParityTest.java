package org.llamawb.adapters.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * The reward model reproduces transformers' {@code LlamaForSequenceClassification} + PEFT scores, and TRL's
 * {@code RewardTrainer} loss, metrics and every LoRA and head gradient, padded and packed (fixtures by
 * scripts/reference/make_alignment_fixtures.py, documented in src/test/resources/trl/README.md).
 */
class RewardModelTrlParityTest {
    @TempDir
    Path tmp;

    static Path trl(String relative) {
        try {
            return Path.of(RewardModelTrlParityTest.class.getResource("/trl/" + relative).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode batch() {
        return Fixtures.json(trl("reward/batch.json"));
    }

    static NDArray ids(NDManager m, int[][] ids) {
        long[] flat = new long[ids.length * ids[0].length];
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < ids[0].length; j++) {
                flat[i * ids[0].length + j] = ids[i][j];
            }
        }
        return m.create(flat, new Shape(ids.length, ids[0].length));
    }

    static int[] lengths(int[][] mask) {
        int[] out = new int[mask.length];
        for (int i = 0; i < mask.length; i++) {
            for (int v : mask[i]) {
                out[i] += v;
            }
        }
        return out;
    }

    static float maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    /** The six sequences of the batch, unpadded, in row order. */
    static List<long[]> sequences(JsonNode batch) {
        int[][] ids = Fixtures.intMatrix(batch.get("input_ids"));
        int[] len = lengths(Fixtures.intMatrix(batch.get("attention_mask")));
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            long[] s = new long[len[i]];
            for (int j = 0; j < len[i]; j++) {
                s[j] = ids[i][j];
            }
            out.add(s);
        }
        return out;
    }

    @Test
    void peftRewardAdapterScoresLikeTransformers() {
        JsonNode batch = batch();
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m);
                RewardModel rm = RewardModel.load(base, trl("reward/adapter"));
                Safetensors expected = Safetensors.open(trl("reward/scores.safetensors"))) {
            assertEquals(List.of(), rm.config().modulesToSave(), "the head is not a LLaMA module");
            NDArray scores = rm.scores(ids(m, Fixtures.intMatrix(batch.get("input_ids"))),
                    lengths(Fixtures.intMatrix(batch.get("attention_mask"))), false);
            float d = maxDiff(scores, expected.load("scores", m));
            assertTrue(d <= 1e-5, "scores differ from transformers + PEFT by " + d);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"margin", "no_margin"})
    void lossMetricsAndEveryGradientMatchTrlRewardTrainer(String c) {
        JsonNode batch = batch();
        JsonNode results = Fixtures.json(trl("reward/results.json")).get(c);
        int[][] idRows = Fixtures.intMatrix(batch.get("input_ids"));
        int[] len = lengths(Fixtures.intMatrix(batch.get("attention_mask")));
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m);
                RewardModel rm = RewardModel.load(base, trl("reward/adapter"));
                Safetensors grads = Safetensors.open(trl("reward/grads_" + c + ".safetensors"))) {
            Map<String, NDArray> params = rm.trainableParameters();
            assertEquals(new TreeSet<>(grads.names()), new TreeSet<>(params.keySet()));
            float[] margin = toFloats(batch.get("margin"));
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray s = rm.scores(ids(m, idRows), len, true); // [6]: chosen rows, then rejected rows
                int n = len.length / 2;
                NDArray chosen = s.get(new NDIndex("0:{}", n));
                NDArray rejected = s.get(new NDIndex("{}:", n));
                NDArray loss = RewardLoss.loss(chosen, rejected, c.equals("margin") ? m.create(margin) : null);
                gc.backward(loss);
                assertEquals(results.get("loss").asDouble(), loss.getFloat(), 1e-5, "loss");
                RewardLoss.Metrics metrics = RewardLoss.Metrics.of(chosen.toFloatArray(), rejected.toFloatArray());
                assertEquals(results.get("metrics").get("accuracy").asDouble(), metrics.accuracy(), 1e-6);
                assertEquals(results.get("metrics").get("margin").asDouble(), metrics.margin(), 1e-5);
                assertEquals(results.get("metrics").get("mean_reward").asDouble(),
                        (metrics.rewardsChosen() + metrics.rewardsRejected()) / 2, 1e-5);
            }
            assertGradients(params, grads, m, c);
        }
    }

    @Test
    void packedRowGivesTheSameScoresAndGradientsAsPadded() {
        JsonNode batch = batch();
        List<long[]> seqs = sequences(batch);
        int total = seqs.stream().mapToInt(s -> s.length).sum();
        long[] ids = new long[total];
        long[] pos = new long[total];
        long[] seg = new long[total];
        int[] rows = new int[seqs.size()];
        int[] ends = new int[seqs.size()];
        int o = 0;
        for (int k = 0; k < seqs.size(); k++) {
            for (int j = 0; j < seqs.get(k).length; j++, o++) {
                ids[o] = seqs.get(k)[j];
                pos[o] = j;
                seg[o] = k;
            }
            ends[k] = o - 1;
        }
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m);
                RewardModel rm = RewardModel.load(base, trl("reward/adapter"));
                Safetensors expected = Safetensors.open(trl("reward/scores.safetensors"));
                Safetensors grads = Safetensors.open(trl("reward/grads_margin.safetensors"))) {
            Map<String, NDArray> params = rm.trainableParameters();
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray s = rm.scoresAt(m.create(ids, new Shape(1, total)), m.create(pos, new Shape(1, total)),
                        m.create(seg, new Shape(1, total)), rows, ends, true); // [6]
                float d = maxDiff(s, expected.load("scores", m));
                assertTrue(d <= 1e-5, "packed scores differ by " + d);
                NDArray loss = RewardLoss.loss(s.get(new NDIndex("0:3")), s.get(new NDIndex("3:")),
                        m.create(toFloats(batch.get("margin"))));
                gc.backward(loss);
            }
            assertGradients(params, grads, m, "packed");
        }
    }

    @Test
    void savedAdapterHasPeftsLayoutAndReloadsToTheSameScores() throws Exception {
        JsonNode batch = batch();
        Path out = tmp.resolve("reward");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m);
                Safetensors peft = Safetensors.open(trl("reward/adapter/adapter_model.safetensors"))) {
            NDArray ids = ids(m, Fixtures.intMatrix(batch.get("input_ids")));
            int[] len = lengths(Fixtures.intMatrix(batch.get("attention_mask")));
            float[] before;
            try (RewardModel rm = RewardModel.load(base, trl("reward/adapter"))) {
                before = rm.scores(ids, len, false).toFloatArray();
                rm.save(out, "finetune/src/test/resources/trl/base");
            }
            JsonNode config = Fixtures.json(out.resolve(PeftAdapterFormat.CONFIG_FILE));
            assertEquals("SEQ_CLS", config.get("task_type").asText());
            assertTrue(config.get("modules_to_save").toString().contains("\"score\""), config.toString());
            try (Safetensors mine = Safetensors.open(out.resolve(PeftAdapterFormat.WEIGHTS_FILE))) {
                assertEquals(new TreeSet<>(peft.names()), new TreeSet<>(mine.names()), "the keys PEFT writes");
                for (String k : peft.names()) {
                    assertEquals(0f, maxDiff(mine.load(k, m), peft.load(k, m)), k);
                }
            }
            try (RewardModel again = RewardModel.load(base, out)) {
                assertEquals(0f, maxDiff(again.scores(ids, len, false), m.create(before)));
            }
        }
    }

    /**
     * One plain gradient step in Java on the reward batch, then save: the reloaded model scores as before. The
     * saved adapter and Java's scores go to {@code -Dllamawb.rewardExport=DIR} when set, where
     * scripts/reference/check_reward_export.py has Python PEFT score the same pairs (its record is asserted by
     * {@link #pythonScoresTheJavaTrainedRewardAdapterLikeJava}).
     */
    @Test
    void javaTrainedAdapterSavesAndReloads() throws Exception {
        JsonNode batch = batch();
        String exportTo = System.getProperty("llamawb.rewardExport");
        Path out = exportTo != null ? Path.of(exportTo) : tmp.resolve("java-step");
        int[][] idRows = Fixtures.intMatrix(batch.get("input_ids"));
        int[] len = lengths(Fixtures.intMatrix(batch.get("attention_mask")));
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m);
                RewardModel rm = RewardModel.load(base, trl("reward/adapter"))) {
            NDArray ids = ids(m, idRows);
            float[] before = rm.scores(ids, len, false).toFloatArray();
            Map<String, NDArray> params = rm.trainableParameters();
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray s = rm.scores(ids, len, true);
                gc.backward(RewardLoss.loss(s.get(new NDIndex("0:3")), s.get(new NDIndex("3:")), null));
            }
            for (NDArray p : params.values()) {
                try (NDArray g = p.getGradient()) {
                    p.subi(g.mul(0.5f)); // outside the collector: no graph is recorded
                }
            }
            float[] after = rm.scores(ids, len, false).toFloatArray();
            assertTrue(maxDiff(m.create(after), m.create(before)) > 1e-2, "the step changes the scores");
            rm.save(out, "finetune/src/test/resources/trl/base");
            if (exportTo != null) {
                Files.writeString(out.resolve("java_scores.json"), new com.fasterxml.jackson.databind.ObjectMapper()
                        .writeValueAsString(Map.of("scores", after, "scores_before_step", before)));
            }
            try (RewardModel again = RewardModel.load(base, out)) {
                assertEquals(0f, maxDiff(again.scores(ids, len, false), m.create(after)));
            }
        }
    }

    @Test
    void pythonScoresTheJavaTrainedRewardAdapterLikeJava() {
        JsonNode r = Fixtures.json(trl("java-export/results.json"));
        assertTrue(r.get("python_vs_java_scores_max_abs_diff").asDouble() <= 1e-5, r.toString());
        assertTrue(r.get("java_step_changed_scores_max_abs").asDouble() > 1e-2, "the Java-trained adapter must matter: " + r);
        assertEquals("SEQ_CLS", r.get("peft_task_type").asText());
    }

    @Test
    void newRewardModelSavesAndReloads() {
        JsonNode batch = batch();
        Path out = tmp.resolve("new");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m)) {
            NDArray ids = ids(m, Fixtures.intMatrix(batch.get("input_ids")));
            int[] len = lengths(Fixtures.intMatrix(batch.get("attention_mask")));
            LoraConfig config = LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj")));
            float[] before;
            try (RewardModel rm = RewardModel.create(base, config, 7)) {
                float[] head = rm.score().toFloatArray();
                assertEquals(32, head.length);
                assertTrue(maxAbs(head) > 0 && maxAbs(head) < 0.2, "head drawn from N(0, 0.02²)");
                before = rm.scores(ids, len, false).toFloatArray();
                rm.save(out, "base");
            }
            try (RewardModel again = RewardModel.load(base, out)) {
                assertEquals(0f, maxDiff(again.scores(ids, len, false), m.create(before)));
                assertEquals(2 * 2 * 2 + 1, again.parameters().size(), "q, v × 2 layers × A, B, and the head");
            }
        }
    }

    @Test
    void adaptersOfTheWrongKindAreRefusedInOneLine() {
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(trl("base")), m)) {
            BadInputException notReward = assertThrows(BadInputException.class, () -> RewardModel.load(base, trl("policy")));
            assertTrue(notReward.getMessage().contains("modules_to_save does not name 'score'"), notReward.getMessage());
            assertTrue(notReward.getMessage().contains("policy"), "names the file: " + notReward.getMessage());
            try (LoraModel lora = new LoraModel(base)) {
                BadInputException notLm = assertThrows(BadInputException.class,
                        () -> PeftAdapterFormat.read(lora, "default", trl("reward/adapter")));
                assertTrue(notLm.getMessage().contains("SEQ_CLS") && notLm.getMessage().contains("--reward-model"),
                        notLm.getMessage());
            }
            assertTrue(base.linears().stream().allMatch(l -> l.adapter() == null), "a refused adapter leaves the base bare");
        }
    }

    private static void assertGradients(Map<String, NDArray> params, Safetensors grads, NDManager m, String what) {
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            try (NDArray g = e.getValue().getGradient()) {
                float d = maxDiff(g, grads.load(e.getKey(), m));
                assertTrue(d <= 1e-5, what + ": gradient of " + e.getKey() + " differs by " + d);
            }
        }
    }

    private static float[] toFloats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    private static float maxAbs(float[] v) {
        float w = 0;
        for (float x : v) {
            w = Math.max(w, Math.abs(x));
        }
        return w;
    }
}
