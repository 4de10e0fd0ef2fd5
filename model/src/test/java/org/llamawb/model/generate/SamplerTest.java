package org.llamawb.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The sampler's primitive-key ordering is the stable descending sort of the scaled logits it replaced, ties and
 * signed zeros included, so every seeded stream with top-k or top-p draws exactly the tokens it drew before; without
 * them it draws by walking the ids in order (no sort), from the same distribution, and reports each drawn token's
 * log-probability.
 */
class SamplerTest {

    /** The order as the sampler used to compute it: boxed indices, stable sort by Double.compare of logits / T. */
    private static int[] boxedOrder(float[] logits, double temperature) {
        double[] scaled = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            scaled[i] = logits[i] / temperature;
        }
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scaled[b], scaled[a]));
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** The previous sampler, whole: temperature, top-k, top-p, then a draw walking the boxed order. */
    private static int boxedNext(float[] logits, Sampling s, SplittableRandom random) {
        int n = logits.length;
        int[] order = boxedOrder(logits, s.temperature());
        int keep = s.topK() > 0 ? Math.min(s.topK(), n) : n;
        double max = logits[order[0]] / s.temperature();
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / s.temperature() - max);
            sum += p[i];
        }
        if (s.topP() < 1) {
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= s.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += p[i];
            }
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /** The unfiltered draw: the softmax of logits / T walked in id order, one uniform per draw. */
    private static int idOrderNext(float[] logits, double temperature, SplittableRandom random) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / temperature);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] / temperature - max);
            sum += p[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < logits.length; i++) {
            u -= p[i];
            if (u < 0) {
                return i;
            }
        }
        throw new AssertionError("rounding left u ≥ 0 in this test's draws");
    }

    private static float[] logits(SplittableRandom r, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            // a few distinct values, so that many ties occur, and a spread of magnitudes and signs
            l[i] = switch (r.nextInt(6)) {
                case 0 -> 0.0f;
                case 1 -> -0.0f;
                case 2 -> (float) r.nextInt(-3, 4);
                case 3 -> (float) (r.nextGaussian() * 1e-3);
                default -> (float) (r.nextGaussian() * 4);
            };
        }
        return l;
    }

    @Test
    void descendingIsTheStableSortByValue() {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 50; trial++) {
            float[] l = logits(r, 1 + r.nextInt(3000));
            l[r.nextInt(l.length)] = Float.NEGATIVE_INFINITY;
            l[r.nextInt(l.length)] = Float.POSITIVE_INFINITY;
            for (double t : new double[] {1.0, 0.7, 1.3}) {
                assertArrayEquals(boxedOrder(l, t), Sampler.descending(l), "trial " + trial + ", temperature " + t);
            }
        }
    }

    @Test
    void seededDrawsAreTheSameAsBefore() {
        SplittableRandom r = new SplittableRandom(9);
        Sampling[] settings = {new Sampling(0.7, 40, 1.0, 12, 8, Set.of()), new Sampling(1.2, 0, 0.9, 13, 8, Set.of()),
            new Sampling(0.9, 5, 0.5, 14, 8, Set.of())};
        for (Sampling s : settings) {
            Sampler sampler = new Sampler(s);
            SplittableRandom reference = new SplittableRandom(s.seed());
            for (int draw = 0; draw < 200; draw++) {
                float[] l = logits(r, 500);
                assertEquals(boxedNext(l, s, reference), sampler.next(l), "draw " + draw + " with " + s);
            }
        }
    }

    @Test
    void unfilteredDrawsWalkTheIdsInOrder() {
        SplittableRandom r = new SplittableRandom(9);
        for (Sampling s : new Sampling[] {new Sampling(1.0, 0, 1.0, 11, 8, Set.of()),
            new Sampling(0.8, 600, 1.0, 15, 8, Set.of())}) { // top-k above the vocabulary keeps everything
            Sampler sampler = new Sampler(s);
            SplittableRandom reference = new SplittableRandom(s.seed());
            for (int draw = 0; draw < 200; draw++) {
                float[] l = logits(r, 500);
                assertEquals(idOrderNext(l, s.temperature(), reference), sampler.next(l), "draw " + draw + " with " + s);
            }
        }
    }

    /** Over many draws from one vector, each token's frequency is its softmax probability (a χ² bound). */
    @Test
    void unfilteredDrawsFollowTheSoftmax() {
        float[] l = {2.0f, 0.5f, -1.0f, 1.5f, 0.0f, -3.0f, 1.0f, 0.25f};
        double t = 0.9;
        double[] p = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            p[i] = Math.exp(l[i] / t);
            sum += p[i];
        }
        Sampler sampler = new Sampler(new Sampling(t, 0, 1.0, 3, 8, Set.of()));
        int draws = 40_000;
        int[] counts = new int[l.length];
        for (int d = 0; d < draws; d++) {
            counts[sampler.next(l)]++;
        }
        double chi2 = 0;
        for (int i = 0; i < l.length; i++) {
            double expected = draws * p[i] / sum;
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        assertTrue(chi2 < 24.3, "χ² " + chi2 + " over 7 degrees of freedom (p = 0.001 bound 24.3): " + Arrays.toString(counts));
    }

    /** The reported log-probability is log softmax(logits / T) of the drawn token over the whole vocabulary. */
    @Test
    void lastLogprobIsTheDrawnTokensLogSoftmax() {
        SplittableRandom r = new SplittableRandom(4);
        for (Sampling s : new Sampling[] {new Sampling(0.7, 0, 1.0, 1, 8, Set.of()), new Sampling(1.3, 7, 0.8, 2, 8, Set.of())}) {
            Sampler sampler = new Sampler(s);
            for (int draw = 0; draw < 50; draw++) {
                float[] l = logits(r, 300);
                int token = sampler.next(l);
                double max = Double.NEGATIVE_INFINITY;
                for (float x : l) {
                    max = Math.max(max, x / s.temperature());
                }
                double sum = 0;
                for (float x : l) {
                    sum += Math.exp(x / s.temperature() - max);
                }
                assertEquals(l[token] / s.temperature() - max - Math.log(sum), sampler.lastLogprob(), 1e-12,
                        "draw " + draw + " with " + s);
            }
        }
        assertTrue(Double.isNaN(new Sampler(Sampling.greedy(4, Set.of())).lastLogprob()), "greedy has none");
    }
}
