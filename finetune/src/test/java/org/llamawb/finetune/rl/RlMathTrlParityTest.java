package org.llamawb.finetune.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every PPO / GRPO formula against the numbers of {@code scripts/reference/make_rl_fixtures.py} (TRL 1.16's
 * GRPOTrainer and the last PPOTrainer's code), within 1e-6.
 */
class RlMathTrlParityTest {
    private static final double TOL = 1e-6;
    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @Test
    void whiteningMatchesMaskedWhiten() throws IOException {
        JsonNode f = fixture("whiten.json");
        double[][] values = matrix(f.get("values"));
        boolean[][] mask = boolMatrix(f.get("mask"));
        assertEquals(f.get("mean").asDouble(), Whitening.maskedMean(values, mask), TOL);
        assertEquals(f.get("var").asDouble(), Whitening.maskedVariance(values, mask), TOL);
        assertClose("whitened", matrix(f.get("whitened")), Whitening.whiten(values, mask, true));
        assertClose("whitened_keep_mean", matrix(f.get("whitened_keep_mean")), Whitening.whiten(values, mask, false));
    }

    @Test
    void adaptiveKlControllerFollowsTrl() throws IOException {
        JsonNode f = fixture("kl_controller.json");
        var ctl = new AdaptiveKlController(f.get("init_kl_coef").asDouble(), f.get("target").asDouble(),
                f.get("horizon").asDouble());
        for (int i = 0; i < f.get("updates").size(); i++) {
            JsonNode u = f.get("updates").get(i);
            ctl = ctl.updated(u.get(0).asDouble(), u.get(1).asLong());
            assertEquals(f.get("values").get(i).asDouble(), ctl.value(), 1e-12, "after update " + i);
        }
    }

    @Test
    void ppoTargetsAndLossesMatchTrl() throws IOException {
        JsonNode all = fixture("ppo.json");
        for (String name : List.of("k1", "k3", "k1_whiten_rewards", "k3_gamma_lam")) {
            JsonNode c = all.get(name);
            JsonNode in = c.get("inputs");
            int[] lengths = new int[in.get("sequence_lengths").size()];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = in.get("sequence_lengths").get(i).asInt() + 1; // TRL's index of the last token
            }
            KlEstimator est = KlEstimator.valueOf(in.get("kl_estimator").asText().toUpperCase(Locale.ROOT));
            PpoTargets t = PpoTargets.compute(matrix(in.get("logprobs")), matrix(in.get("ref_logprobs")),
                    matrix(in.get("values")), vector(in.get("scores")), lengths, in.get("kl_coef").asDouble(), est,
                    in.get("whiten_rewards").asBoolean(), in.get("gamma").asDouble(), in.get("lam").asDouble());
            assertClose(name + " kl", matrix(c.get("kl")), t.kl());
            assertClose(name + " rewards", matrix(c.get("rewards")), t.rewards());
            assertClose(name + " returns", matrix(c.get("returns")), t.returns());
            assertClose(name + " raw_advantages", matrix(c.get("raw_advantages")),
                    Gae.compute(t.rewards(), t.values(), in.get("gamma").asDouble(), in.get("lam").asDouble())
                            .advantages());
            assertClose(name + " advantages", matrix(c.get("advantages")), t.advantages());
            assertClose(name + " response_mask", matrix(c.get("response_mask")), toDouble(t.responseMask()));
            assertClose(name + " value_mask", matrix(c.get("value_mask")), toDouble(t.valueMask()));
            JsonNode m = c.get("metrics");
            assertEquals(m.get("objective/kl").asDouble(), t.meanKl(), TOL, name);
            assertEquals(m.get("objective/non_score_reward").asDouble(), t.meanNonScoreReward(), TOL, name);
            assertEquals(m.get("objective/rlhf_reward").asDouble(), t.rlhfReward(), TOL, name);
            assertEquals(m.get("objective/scores").asDouble(), t.meanScore(), TOL, name);

            NDArray responseMask = array(toDouble(t.responseMask()));
            NDArray valueMask = array(toDouble(t.valueMask()));
            PpoLoss.Policy p = PpoLoss.policy(array(matrix(in.get("new_logprobs"))), array(matrix(in.get("logprobs"))),
                    array(t.advantages()), responseMask, in.get("cliprange").asDouble());
            assertEquals(m.get("loss/policy_avg").asDouble(), p.loss().getFloat(), TOL, name);
            assertEquals(m.get("policy/clipfrac_avg").asDouble(), p.clipFraction(), TOL, name);
            assertEquals(m.get("policy/approxkl_avg").asDouble(), p.approxKl(), TOL, name);
            assertEquals(m.get("val/ratio").asDouble(), p.ratioMean(), TOL, name);
            PpoLoss.Value v = PpoLoss.value(array(matrix(in.get("vpred"))), array(t.values()), array(t.returns()),
                    valueMask, in.get("cliprange_value").asDouble());
            assertEquals(m.get("loss/value_avg").asDouble(), v.loss().getFloat(), TOL, name);
            assertEquals(m.get("val/clipfrac_avg").asDouble(), v.clipFraction(), TOL, name);
            assertTrue(p.clipFraction() > 0 && v.clipFraction() > 0, name + ": the fixture exercises clipping");

            NDArray newLogprobs = array(matrix(in.get("new_logprobs")));
            NDArray oldLogprobs = array(matrix(in.get("logprobs")));
            NDArray adv = array(t.advantages());
            assertClose(name + " d loss/policy_avg / d logprobs", matrix(c.get("grad_policy_loss")), gradient(newLogprobs,
                    () -> PpoLoss.policy(newLogprobs, oldLogprobs, adv, responseMask, in.get("cliprange").asDouble())
                            .loss()));
            NDArray vpred = array(matrix(in.get("vpred")));
            NDArray oldValues = array(t.values());
            NDArray returns = array(t.returns());
            assertClose(name + " d loss/value_avg / d values", matrix(c.get("grad_value_loss")), gradient(vpred,
                    () -> PpoLoss.value(vpred, oldValues, returns, valueMask, in.get("cliprange_value").asDouble())
                            .loss()));
        }
    }

    @Test
    void groupAdvantagesMatchGrpoTrainer() throws IOException {
        JsonNode all = fixture("grpo_advantages.json");
        for (String name : List.of("group", "none", "batch")) {
            JsonNode c = all.get(name);
            GroupAdvantages g = GroupAdvantages.of(matrix(c.get("rewards_per_func")), vector(c.get("reward_weights")),
                    c.get("num_generations").asInt(), RewardScaling.valueOf(name.toUpperCase(Locale.ROOT)));
            assertClose(name + " rewards", new double[][] {vector(c.get("rewards"))}, new double[][] {g.rewards()});
            assertClose(name + " advantages", new double[][] {vector(c.get("advantages"))},
                    new double[][] {g.advantages()});
            JsonNode m = c.get("metrics");
            assertEquals(m.get("reward").asDouble(), g.reward(), TOL, name);
            assertEquals(m.get("reward_std").asDouble(), g.rewardStd(), TOL, name);
            assertEquals(m.get("frac_reward_zero_std").asDouble(), g.fracZeroStd(), TOL, name);
        }
    }

    @Test
    void grpoLossMatchesGrpoTrainerForEveryAggregation() throws IOException {
        JsonNode all = fixture("grpo_loss.json");
        Map<String, LossAggregation> cases = Map.of("dapo", LossAggregation.DAPO, "dapo_beta0", LossAggregation.DAPO,
                "grpo", LossAggregation.GRPO, "bnpo", LossAggregation.BNPO, "dr_grpo", LossAggregation.DR_GRPO);
        for (var e : cases.entrySet()) {
            JsonNode c = all.get(e.getKey());
            var s = new GrpoLoss.Settings(c.get("epsilon_low").asDouble(), c.get("epsilon_high").asDouble(),
                    c.get("beta").asDouble(), e.getValue(), c.get("max_completion_length").asInt());
            double[][] mask = matrix(c.get("completion_mask"));
            double tokens = 0;
            for (double[] row : mask) {
                for (double v : row) {
                    tokens += v;
                }
            }
            GrpoLoss l = GrpoLoss.compute(array(matrix(c.get("per_token_logps"))),
                    array(matrix(c.get("old_per_token_logps"))), array(matrix(c.get("ref_per_token_logps"))),
                    array(new double[][] {vector(c.get("advantages"))}).reshape(-1), array(mask), tokens, s);
            JsonNode m = c.get("metrics");
            String name = e.getKey();
            assertEquals(c.get("loss").asDouble(), l.loss().getFloat(), TOL, name);
            assertEquals(m.get("clip_ratio/region_mean").asDouble(), l.clipRatioRegion(), TOL, name);
            assertEquals(m.get("clip_ratio/low_mean").asDouble(), l.clipRatioLow(), TOL, name);
            assertEquals(m.get("clip_ratio/high_mean").asDouble(), l.clipRatioHigh(), TOL, name);
            NDArray logprobs = array(matrix(c.get("per_token_logps")));
            NDArray old = array(matrix(c.get("old_per_token_logps")));
            NDArray ref = array(matrix(c.get("ref_per_token_logps")));
            NDArray adv = array(new double[][] {vector(c.get("advantages"))}).reshape(-1);
            NDArray maskArray = array(mask);
            double activeTokens = tokens;
            assertClose(name + " d loss / d logprobs", matrix(c.get("grad_per_token_logps")),
                    gradient(logprobs, () -> GrpoLoss.compute(logprobs, old, ref, adv, maskArray, activeTokens, s).loss()));
            if (m.has("kl")) {
                assertEquals(m.get("kl").asDouble(), l.kl(), TOL, name);
                NDArray perTokenKl = KlEstimator.K3.of(array(matrix(c.get("per_token_logps"))),
                        array(matrix(c.get("ref_per_token_logps"))));
                assertClose(name + " per_token_kl", matrix(c.get("per_token_kl")), toMatrix(perTokenKl));
            } else {
                assertTrue(Double.isNaN(l.kl()), "no kl is reported at beta 0");
            }
        }
    }

    @Test
    void completionStatsMatchGrpoTrainer() throws IOException {
        JsonNode c = fixture("grpo_completions.json");
        List<int[]> ids = new ArrayList<>();
        for (JsonNode row : c.get("completion_ids")) {
            int[] r = new int[row.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = row.get(i).asInt();
            }
            ids.add(r);
        }
        CompletionStats s = CompletionStats.of(ids, Set.of(c.get("eos").asInt(), c.get("pad").asInt()));
        assertEquals(c.get("metrics").get("completions/mean_length").asDouble(), s.meanLength(), TOL);
        assertEquals(c.get("metrics").get("completions/clipped_ratio").asDouble(), s.clippedRatio(), TOL);
    }

    @Test
    void hostAndDeviceKlEstimatorsAgree() {
        double[][] lp = {{-1.2, -0.3, -2.5}};
        double[][] ref = {{-0.9, -0.8, -2.5}};
        for (KlEstimator e : KlEstimator.values()) {
            assertClose(e.name(), e.of(lp, ref), toMatrix(e.of(array(lp), array(ref))));
        }
        assertEquals(0.0, KlEstimator.K3.of(-2.5, -2.5), 0.0);
        assertTrue(KlEstimator.K3.of(-1.2, -0.9) > 0 && KlEstimator.K1.of(-1.2, -0.9) < 0);
    }

    // ---- helpers ----

    /** d loss / d leaf, through DJL's autograd (a fresh collector; the leaf's gradient starts at zero). */
    private static double[][] gradient(NDArray leaf, java.util.function.Supplier<NDArray> loss) {
        leaf.setRequiresGradient(true);
        try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
            gc.backward(loss.get());
        }
        try (NDArray g = leaf.getGradient()) {
            return toMatrix(g);
        }
    }

    private static JsonNode fixture(String name) throws IOException {
        try (InputStream in = RlMathTrlParityTest.class.getResourceAsStream("/rl/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource rl/" + name);
            }
            return new ObjectMapper().readTree(in);
        }
    }

    private static double[] vector(JsonNode n) {
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asDouble();
        }
        return out;
    }

    private static double[][] matrix(JsonNode n) {
        double[][] out = new double[n.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = vector(n.get(i));
        }
        return out;
    }

    private static boolean[][] boolMatrix(JsonNode n) {
        boolean[][] out = new boolean[n.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new boolean[n.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = n.get(i).get(j).asInt() != 0;
            }
        }
        return out;
    }

    private static double[][] toDouble(boolean[][] b) {
        double[][] out = new double[b.length][];
        for (int i = 0; i < b.length; i++) {
            out[i] = new double[b[i].length];
            for (int j = 0; j < b[i].length; j++) {
                out[i][j] = b[i][j] ? 1 : 0;
            }
        }
        return out;
    }

    private static NDArray array(double[][] x) {
        float[] flat = new float[x.length * x[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                flat[i * x[0].length + j] = (float) x[i][j];
            }
        }
        return manager.create(flat, new Shape(x.length, x[0].length));
    }

    private static double[][] toMatrix(NDArray a) {
        float[] flat = a.toType(DataType.FLOAT32, false).toFloatArray();
        int rows = (int) a.getShape().get(0);
        int cols = (int) a.getShape().get(1);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = flat[i * cols + j];
            }
        }
        return out;
    }

    private static void assertClose(String what, double[][] expected, double[][] actual) {
        assertEquals(expected.length, actual.length, what + " rows");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length, what + " row " + i);
            for (int j = 0; j < expected[i].length; j++) {
                assertEquals(expected[i][j], actual[i][j], TOL, what + " [" + i + ", " + j + "]");
            }
        }
    }
}
