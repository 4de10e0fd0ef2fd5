package org.llamawb.finetune.kto;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.datasets.tokenize.TokenizedUnpaired;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.BadInputException;

/**
 * KTO with LoRA ({@code method: kto}) on desirable/undesirable answers ({@code kto} data). As TRL does,
 * each example's mismatched answer for the KL estimate is the previous example's answer within
 * consecutive groups of {@code micro_batch_size} examples in dataset order (the first takes the last's),
 * fixed before training; batches are then drawn in a seeded order per epoch.
 */
public final class KtoMethod implements TrainingMethod<KtoBatch> {
    private final KtoObjective objective;
    private final PreparedData<List<TokenizedUnpaired>> data;
    private final List<Example> train;
    private final List<Example> validation;
    private final int batchSize;
    private final long seed;
    private final int padId;

    /** An example with the answer its prompt is mismatched with for the KL estimate. */
    record Example(int[] prompt, int[] completion, int[] klCompletion, boolean desirable) {}

    private KtoMethod(KtoObjective objective, PreparedData<List<TokenizedUnpaired>> data, int batchSize, long seed,
            int padId) {
        this.objective = objective;
        this.data = data;
        this.train = withKlAnswers(data.train(), batchSize);
        this.validation = withKlAnswers(data.validation(), batchSize);
        this.batchSize = batchSize;
        this.seed = seed;
        this.padId = padId;
    }

    /** Reads and encodes the recipe's KTO examples; refuses data without them. */
    public static KtoMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        PreparedData<List<TokenizedUnpaired>> data = DatasetBuilder.unpaired(r.data(), ctx.tokenizer(), ctx.template(),
                Path.of(""));
        data.report().lines().forEach(ctx.out()::println);
        if (data.train().isEmpty()) {
            throw new BadInputException("data: no desirable/undesirable example survived reading and encoding (method kto "
                    + "trains on kto data: messages plus a label; see the report above)");
        }
        return new KtoMethod(new KtoObjective(ctx.model(), ctx.lora(), KtoLoss.of(r.kto()), r.train().policy()), data,
                r.train().microBatchSize(), r.data().seed(), ctx.padId());
    }

    /** TRL's mismatched pairs: within each group of {@code size}, example i takes example i−1's answer. */
    static List<Example> withKlAnswers(List<TokenizedUnpaired> examples, int size) {
        Example[] out = new Example[examples.size()];
        for (int start = 0; start < examples.size(); start += size) {
            int end = Math.min(examples.size(), start + size);
            for (int i = start; i < end; i++) {
                TokenizedUnpaired e = examples.get(i);
                TokenizedUnpaired previous = examples.get(i == start ? end - 1 : i - 1);
                out[i] = new Example(e.prompt(), e.completion(), previous.completion(), e.desirable());
            }
        }
        return List.of(out);
    }

    /** The examples as a right-padded batch. */
    KtoBatch batch(List<Example> examples) {
        int n = examples.size();
        int[][] ids = new int[n][];
        int[][] labels = new int[n][];
        int[][] klIds = new int[n][];
        int[][] klLabels = new int[n][];
        boolean[] desirable = new boolean[n];
        int t = 0;
        int tk = 0;
        for (Example e : examples) {
            t = Math.max(t, e.prompt().length + e.completion().length);
            tk = Math.max(tk, e.prompt().length + e.klCompletion().length);
        }
        for (int i = 0; i < n; i++) {
            Example e = examples.get(i);
            ids[i] = new int[t];
            labels[i] = new int[t];
            klIds[i] = new int[tk];
            klLabels[i] = new int[tk];
            fill(ids[i], labels[i], e.prompt(), e.completion());
            fill(klIds[i], klLabels[i], e.prompt(), e.klCompletion());
            desirable[i] = e.desirable();
        }
        return new KtoBatch(ids, labels, klIds, klLabels, desirable);
    }

    private void fill(int[] ids, int[] labels, int[] prompt, int[] answer) {
        Arrays.fill(ids, padId);
        Arrays.fill(labels, TokenizedExample.IGNORE);
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(answer, 0, ids, prompt.length, answer.length);
        System.arraycopy(answer, 0, labels, prompt.length, answer.length);
    }

    /** The examples of batch {@code index} of {@code epoch}: a seeded permutation per epoch, cut in order. */
    private List<Example> trainBatch(int epoch, long index) {
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        int from = (int) (index * batchSize);
        return Arrays.stream(order, from, Math.min(order.length, from + batchSize)).mapToObj(train::get).toList();
    }

    @Override
    public TrainingStep.Loss<KtoBatch> loss() {
        return objective;
    }

    @Override
    public int batchesInEpoch(int epoch) {
        return (train.size() + batchSize - 1) / batchSize;
    }

    @Override
    public Iterator<LoadedBatch<KtoBatch>> batches(LoaderPosition start) {
        int perEpoch = batchesInEpoch(0);
        return new Iterator<>() {
            private LoaderPosition at = new LoaderPosition(start.epoch() + (int) (start.batch() / perEpoch),
                    start.batch() % perEpoch);

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public LoadedBatch<KtoBatch> next() {
                LoaderPosition here = at;
                KtoBatch b = batch(trainBatch(here.epoch(), here.batch()));
                at = here.batch() + 1 < perEpoch ? new LoaderPosition(here.epoch(), here.batch() + 1)
                        : new LoaderPosition(here.epoch() + 1, 0);
                return new LoadedBatch<>(b, here, at);
            }
        };
    }

    @Override
    public long trainExamples() {
        return train.size();
    }

    @Override
    public long validationExamples() {
        return validation.size();
    }

    @Override
    public Map<String, Double> takeMetrics() {
        return objective.takeMetrics();
    }

    @Override
    public MetricMeans metricMeans() {
        return objective.metricMeans();
    }

    /** Mean loss per example and TRL's metrics on the held-out examples, in dataset order. */
    @Override
    public Map<String, Double> evaluate(int maxBatches) {
        if (validation.isEmpty()) {
            return Map.of();
        }
        int n = (validation.size() + batchSize - 1) / batchSize;
        if (maxBatches > 0) {
            n = Math.min(n, maxBatches);
        }
        MetricMeans means = new MetricMeans();
        double lossSum = 0;
        long count = 0;
        for (int i = 0; i < n; i++) {
            List<Example> part = validation.subList(i * batchSize, Math.min(validation.size(), (i + 1) * batchSize));
            Map<String, Double> m = new LinkedHashMap<>(objective.evaluate(batch(part)));
            lossSum += m.remove("loss_sum");
            count += part.size();
            means.add(m);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("loss", lossSum / count);
        out.putAll(means.take());
        return out;
    }
}
