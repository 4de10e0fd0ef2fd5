package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a data-parallel driver does with its workers' metrics: each micro-batch's sums and counts merged one by one in
 * the step's order give the means, bit for bit and in the same key order, of one accumulator that saw every
 * micro-batch, also when a key is missing from some micro-batches (KTO's {@code rewards/chosen} without a desirable
 * example) and when a held count is restored from a checkpoint first.
 */
class MetricMeansTest {
    @Test
    void mergingEachMicroBatchInOrderEqualsAddingThemInOneAccumulator() {
        List<Map<String, Double>> microBatches = List.of(
                Map.of("kl", 0.1, "rewards/rejected", -0.3),
                Map.of("kl", 0.7, "rewards/chosen", 0.2, "rewards/rejected", 0.1),
                Map.of("kl", 1e-9, "rewards/chosen", 1.0 / 3));
        MetricMeans one = new MetricMeans();
        one.restore(Map.of("kl", new double[] {0.25, 1}));
        MetricMeans merged = new MetricMeans();
        merged.restore(Map.of("kl", new double[] {0.25, 1}));
        for (Map<String, Double> m : microBatches) {
            one.add(m);
            MetricMeans worker = new MetricMeans(); // a worker's accumulator, emptied after each micro-batch
            worker.add(m);
            merged.merge(worker.pending());
        }
        Map<String, Double> expected = one.take();
        Map<String, Double> got = merged.take();
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(got.keySet()));
        assertEquals(expected, got);
        assertEquals((0.25 + 0.1 + 0.7 + 1e-9) / 4, got.get("kl"));
        assertEquals((0.2 + 1.0 / 3) / 2, got.get("rewards/chosen"));
    }
}
