package org.llamawb.eval.run;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Aggregates;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.score.EncodedRequest;
import org.llamawb.eval.score.Loglikelihood;
import org.llamawb.eval.score.LoglikelihoodScorer;
import org.llamawb.eval.score.RequestEncoder;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.ExampleReader;
import org.llamawb.eval.task.Question;
import org.llamawb.eval.task.Request;
import org.llamawb.eval.task.RequestBuilder;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskExample;
import org.llamawb.eval.task.TaskKind;
import org.llamawb.model.BadInputException;
import org.llamawb.model.progress.Progress;

/**
 * Runs a log-likelihood task (multiple_choice, partial_choice, completion): builds every example's
 * requests, tokenises them, scores them all in one batched pass and aggregates as lm-evaluation-harness:
 * <ul>
 *   <li>multiple_choice: acc (argmax of log-likelihoods is gold) and acc_norm (argmax of log-likelihood per
 *       character of the choice), each with the standard error of the mean;
 *   <li>partial_choice: acc;
 *   <li>completion: acc (the continuation is the greedy one) and perplexity {@code exp(-mean ll)}.
 * </ul>
 */
public final class ChoiceTaskRunner {

    /** One scored example, as written to the samples JSONL. */
    public record Sample(int index, int line, int gold, int pred, int predNorm, double[] loglikelihoods, boolean[] greedy)
            implements Serializable {}

    private ChoiceTaskRunner() {}

    /** Evaluates the first {@code limit} examples (all when {@code limit <= 0}). */
    public static TaskRun run(Task task, EvalModel model, ScoringOptions options, int limit) {
        long start = System.nanoTime();
        ShardRun all = score(task, model, options, limit, Shard.ALL);
        return merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
    }

    /**
     * Scores {@code shard}'s range of the first {@code limit} examples: builds their requests, tokenises them,
     * scores them all in one batched pass; one {@link Sample} per example.
     */
    public static ShardRun score(Task task, EvalModel model, ScoringOptions options, int limit, Shard shard) {
        List<TaskExample> examples = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, examples.size()) : examples.size();
        int from = shard.from(n);
        int to = shard.to(n);
        RequestBuilder builder = new RequestBuilder(task.spec(), task.data().toString(), examples);
        RequestEncoder encoder = model.encoder();
        List<Question> questions = new ArrayList<>(to - from);
        List<EncodedRequest> encoded = new ArrayList<>();
        for (int i = from; i < to; i++) {
            Question q = builder.question(i);
            questions.add(q);
            for (Request r : q.requests()) {
                try {
                    encoded.add(encoder.encode(r.context(), r.continuation()));
                } catch (BadInputException e) {
                    throw new BadInputException(task.data() + ":" + q.line() + ": " + e.getMessage());
                }
            }
        }
        LoglikelihoodScorer scorer = new LoglikelihoodScorer(model.llama(), options.withMaxLength(model.maxLength()));
        List<Loglikelihood> scores;
        try (Progress progress = Progress.start(task.name(), encoded.size(), "requests")) {
            scores = scorer.score(encoded, progress::advance);
        }
        boolean completion = task.spec().kind() == TaskKind.COMPLETION;
        List<Sample> samples = new ArrayList<>(questions.size());
        int k = 0;
        for (Question q : questions) {
            int m = q.requests().size();
            double[] ll = new double[m];
            boolean[] greedy = new boolean[m];
            for (int j = 0; j < m; j++) {
                ll[j] = scores.get(k).logprob();
                greedy[j] = scores.get(k).greedy();
                k++;
            }
            if (completion) {
                samples.add(new Sample(q.index(), q.line(), -1, -1, -1, ll, greedy));
            } else {
                samples.add(new Sample(q.index(), q.line(), q.gold(), Aggregates.argmax(ll),
                        Aggregates.argmaxNormalised(ll, q.normTexts()), ll, greedy));
            }
        }
        return new ShardRun(samples, to - from, scorer.tokensThroughModel(), 0);
    }

    /**
     * The task's result from its shards' samples (in worker order):
     * acc, acc_norm (multiple_choice) or perplexity (completion) over every example.
     *
     * @param seconds the task's wall time
     */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        List<Sample> samples = ShardRun.records(shards, Sample.class);
        TaskKind kind = task.spec().kind();
        int n = samples.size();
        double[] acc = new double[n];
        double[] accNorm = new double[n];
        double[] lls = new double[n];
        for (int i = 0; i < n; i++) {
            Sample s = samples.get(i);
            if (kind == TaskKind.COMPLETION) {
                acc[i] = s.greedy()[0] ? 1 : 0;
                lls[i] = s.loglikelihoods()[0];
            } else {
                acc[i] = s.pred() == s.gold() ? 1 : 0;
                accNorm[i] = s.predNorm() == s.gold() ? 1 : 0;
            }
        }
        List<Metric> metrics = new ArrayList<>();
        metrics.add(Metric.mean("acc", acc));
        if (kind == TaskKind.MULTIPLE_CHOICE) {
            metrics.add(Metric.mean("acc_norm", accNorm));
        } else if (kind == TaskKind.COMPLETION) {
            metrics.add(Metric.of("perplexity", Aggregates.perplexity(lls)));
        }
        TaskResult result = new TaskResult(task.name(), kind, n, task.spec().shots(), TaskResult.metricMap(metrics),
                seconds, ShardRun.tokenSlots(shards), Map.of());
        return new TaskRun(result, samples);
    }
}
