package org.llamawb.finetune.grpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.rl.GrpoLoss;
import org.llamawb.finetune.rl.LossAggregation;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * A generation batch split into micro-batches (gradient accumulation) gives the loss and gradients of the same
 * completions as one micro-batch, for TRL's default aggregation (dapo: normalised by the generation batch's tokens)
 * and the per-sequence mean (grpo), with old log-probabilities that make some ratios clip and a reference that
 * differs from the policy. Rows differ in prompt and completion length, so the micro-batches differ in width.
 */
class GrpoObjectiveTest {
    NDManager manager;
    Llama model;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        model = Llama.random(c, 13, 0.3, manager);
        model.parameters().values().forEach(p -> p.setRequiresGradient(true));
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    /** One completion: prompt and completion ids, and per completion token the old and reference log-probs. */
    record Row(int[] prompt, int[] completion, float[] old, float[] ref, float advantage) {}

    static List<Row> rows() {
        SplittableRandom r = new SplittableRandom(17);
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int[] p = r.ints(3 + i % 2 * 2, 3, 41).toArray();
            int[] c = r.ints(2 + (3 * i) % 5, 3, 41).toArray();
            float[] old = new float[c.length];
            float[] ref = new float[c.length];
            for (int t = 0; t < c.length; t++) {
                old[t] = (float) (-3.7 + r.nextDouble(-0.6, 0.6)); // about log(1/41), off enough to clip some ratios
                ref[t] = (float) (-3.7 + r.nextDouble(-0.3, 0.3));
            }
            out.add(new Row(p, c, old, ref, (float) (i % 2 == 0 ? 1.2 - 0.3 * i : -0.9 + 0.2 * i)));
        }
        return out;
    }

    static GrpoBatch batch(List<Row> rows, long stepTokens) {
        int width = rows.stream().mapToInt(x -> x.prompt().length + x.completion().length).max().orElseThrow();
        int n = rows.size();
        int[][] ids = new int[n][width];
        float[] mask = new float[n * width];
        float[] old = new float[n * width];
        float[] ref = new float[n * width];
        float[] adv = new float[n];
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            Row x = rows.get(i);
            System.arraycopy(x.prompt(), 0, ids[i], 0, x.prompt().length);
            System.arraycopy(x.completion(), 0, ids[i], x.prompt().length, x.completion().length);
            for (int t = 0; t < x.completion().length; t++) {
                int at = i * width + x.prompt().length - 1 + t;
                mask[at] = 1;
                old[at] = x.old()[t];
                ref[at] = x.ref()[t];
            }
            adv[i] = x.advantage();
            tokens += x.completion().length;
        }
        return new GrpoBatch(ids, mask, adv, old, ref, tokens, stepTokens);
    }

    /**
     * Float rounding between two ways of summing the same terms, for a tensor whose largest gradient is
     * {@code largest}: the objective reads each token's log-probability and writes its gradient with fused
     * log-sum-exp kernels (no log-softmax), whose reductions block by the rows they see; the backward adds up many
     * such terms, so an element differs by a few parts in a million of the tensor's largest gradient (1-2e-6 at ~2).
     */
    static double close(float[] expected) {
        double largest = 0;
        for (float x : expected) {
            largest = Math.max(largest, Math.abs(x));
        }
        return 1e-6 + 2e-6 * largest;
    }

    /** Σ of the returned losses / rows (what TrainingStep reports) and every gradient, after {@code micro}. */
    double run(GrpoObjective objective, List<GrpoBatch> micro, Map<String, float[]> gradients) {
        Map<String, NDArray> params = model.parameters();
        params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
        long units = micro.stream().mapToLong(objective::units).sum();
        double sum = 0;
        for (GrpoBatch b : micro) {
            try (NDScope scope = new NDScope()) {
                sum += objective.lossAndBackward(b, 1.0 / units, 0);
            }
        }
        params.forEach((k, v) -> {
            try (NDArray g = v.getGradient()) {
                gradients.put(k, g.toFloatArray());
            }
        });
        return sum / units;
    }

    @ParameterizedTest
    @CsvSource({"DAPO", "GRPO"})
    void microBatchesEqualOneBatch(LossAggregation aggregation) {
        List<Row> rows = rows();
        long tokens = rows.stream().mapToLong(x -> x.completion().length).sum();
        MetricMeans metrics = new MetricMeans();
        GrpoObjective objective = new GrpoObjective(model, new GrpoLoss.Settings(0.2, 0.28, 0.1, aggregation, 8), 0.9,
                metrics);
        Map<String, float[]> whole = new LinkedHashMap<>();
        double one = run(objective, List.of(batch(rows, tokens)), whole);
        Map<String, double[]> metricsWhole = new LinkedHashMap<>();
        metrics.take().forEach((k, v) -> metricsWhole.put(k, new double[] {v}));
        Map<String, float[]> split = new LinkedHashMap<>();
        double two = run(objective, List.of(batch(rows.subList(0, 2), tokens), batch(rows.subList(2, 4), tokens)), split);
        assertEquals(one, two, 1e-6, "loss");
        assertTrue(metricsWhole.get("clip_ratio/region_mean")[0] > 0, "some ratios clip: " + metricsWhole.keySet());
        assertTrue(metricsWhole.get("kl")[0] > 0, "the reference differs");
        double largest = 0;
        for (String k : whole.keySet()) {
            float[] a = whole.get(k);
            float[] b = split.get(k);
            double close = close(a);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], close, k + "[" + i + "]");
                largest = Math.max(largest, Math.abs(a[i]));
            }
        }
        assertTrue(largest > 1e-3, "the loss has gradients");
    }

    /**
     * The objective sends only the columns from the first completion token on through the LM head; the loss and
     * every gradient equal the loss over every column (the log-probabilities of the whole rows), whose extra columns
     * the mask zeroes.
     */
    @ParameterizedTest
    @CsvSource({"DAPO", "BNPO"})
    void theHeadOnCompletionColumnsGivesTheFullRowsLoss(LossAggregation aggregation) {
        List<Row> rows = rows();
        long tokens = rows.stream().mapToLong(x -> x.completion().length).sum();
        GrpoLoss.Settings settings = new GrpoLoss.Settings(0.2, 0.28, 0.1, aggregation, 8);
        GrpoBatch b = batch(rows, tokens);
        assertTrue(Rollouts.firstMaskedColumn(b.mask(), b.rows(), b.width()) > 0, "the rows start with prompts");
        Map<String, float[]> restricted = new LinkedHashMap<>();
        double loss = run(new GrpoObjective(model, settings, 0.9, new MetricMeans()), List.of(b), restricted);

        Map<String, NDArray> params = model.parameters();
        params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
        Shape shape = new Shape(b.rows(), b.width());
        double full;
        try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logprobs = Rollouts.tokenLogprobs(model, b.ids(), 0.9, true, manager); // [N, T], every column
            GrpoLoss l = GrpoLoss.compute(logprobs, manager.create(b.oldLogprobs(), shape),
                    manager.create(b.refLogprobs(), shape), manager.create(b.advantages()), manager.create(b.mask(), shape),
                    tokens, settings);
            gc.backward(l.loss()); // the objective's weight × scale is 1 for one micro-batch of the whole step
            full = l.loss().getFloat();
        }
        assertEquals(full, loss, 1e-6, "loss");
        params.forEach((k, v) -> {
            try (NDArray g = v.getGradient()) {
                float[] expected = g.toFloatArray();
                float[] got = restricted.get(k);
                double close = close(expected);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], got[i], close, k + "[" + i + "]");
                }
            }
        });
    }
}
