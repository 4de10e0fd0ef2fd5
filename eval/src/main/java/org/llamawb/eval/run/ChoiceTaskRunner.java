package org.llamawb.eval.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Aggregates;
import org.llamawb.eval.metrics.Metric;
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
    public record Sample(int index, int line, int gold, int pred, int predNorm, double[] loglikelihoods, boolean[] greedy) {}

    private ChoiceTaskRunner() {}

    /** Evaluates the first {@code limit} examples (all when {@code limit <= 0}). */
    public static TaskRun run(Task task, EvalModel model, ScoringOptions options, int limit) {
        long start = System.nanoTime();
        List<TaskExample> examples = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, examples.size()) : examples.size();
        RequestBuilder builder = new RequestBuilder(task.spec(), task.data().toString(), examples);
        RequestEncoder encoder = model.encoder();
        List<Question> questions = new ArrayList<>(n);
        List<EncodedRequest> encoded = new ArrayList<>();
        for (int i = 0; i < n; i++) {
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
        TaskKind kind = task.spec().kind();
        List<Sample> samples = new ArrayList<>(n);
        double[] acc = new double[n];
        double[] accNorm = new double[n];
        double[] lls = new double[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            Question q = questions.get(i);
            int m = q.requests().size();
            double[] ll = new double[m];
            boolean[] greedy = new boolean[m];
            for (int j = 0; j < m; j++) {
                ll[j] = scores.get(k).logprob();
                greedy[j] = scores.get(k).greedy();
                k++;
            }
            if (kind == TaskKind.COMPLETION) {
                acc[i] = greedy[0] ? 1 : 0;
                lls[i] = ll[0];
                samples.add(new Sample(q.index(), q.line(), -1, -1, -1, ll, greedy));
            } else {
                int pred = Aggregates.argmax(ll);
                int predNorm = Aggregates.argmaxNormalised(ll, q.normTexts());
                acc[i] = pred == q.gold() ? 1 : 0;
                accNorm[i] = predNorm == q.gold() ? 1 : 0;
                samples.add(new Sample(q.index(), q.line(), q.gold(), pred, predNorm, ll, greedy));
            }
        }
        List<Metric> metrics = new ArrayList<>();
        metrics.add(Metric.mean("acc", acc));
        if (kind == TaskKind.MULTIPLE_CHOICE) {
            metrics.add(Metric.mean("acc_norm", accNorm));
        } else if (kind == TaskKind.COMPLETION) {
            metrics.add(Metric.of("perplexity", Aggregates.perplexity(lls)));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        TaskResult result = new TaskResult(task.name(), kind, n, task.spec().shots(), TaskResult.metricMap(metrics),
                seconds, scorer.tokensThroughModel(), Map.of());
        return new TaskRun(result, samples);
    }
}
