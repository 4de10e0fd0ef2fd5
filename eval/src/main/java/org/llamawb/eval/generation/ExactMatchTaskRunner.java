package org.llamawb.eval.generation;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.ExampleReader;
import org.llamawb.eval.task.Question;
import org.llamawb.eval.task.RequestBuilder;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskExample;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.progress.Progress;

/**
 * Exact match: the prompt (with shots) is continued until a stop string, EOS or {@code max_new_tokens}; the
 * answer is extracted with the task's regex and counts when it equals one of the accepted answers
 * (after trimming). Metric {@code exact_match} with its standard error.
 */
public final class ExactMatchTaskRunner {

    /** One example, as written to the samples JSONL. */
    public record Sample(int index, int line, String generated, String extracted, List<String> answers, boolean correct)
            implements Serializable {}

    private ExactMatchTaskRunner() {}

    public static TaskRun run(Task task, EvalModel model, int limit) {
        long start = System.nanoTime();
        ShardRun all = score(task, model, limit, Shard.ALL);
        return merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
    }

    /** Generates and checks the answers of {@code shard}'s range of the first {@code limit} examples. */
    public static ShardRun score(Task task, EvalModel model, int limit, Shard shard) {
        TaskSpec spec = task.spec();
        List<TaskExample> examples = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, examples.size()) : examples.size();
        RequestBuilder builder = new RequestBuilder(spec, task.data().toString(), examples);
        AnswerExtractor extractor = new AnswerExtractor(spec.extract());
        TextGenerator generator = new TextGenerator(model.llama(), model.tokenizer(), model.maxLength());
        Set<Integer> eos = model.stopIds();
        List<Sample> samples = new ArrayList<>();
        long generated = 0;
        try (Progress progress = Progress.start(task.name(), shard.to(n) - shard.from(n), "examples")) {
            for (int i = shard.from(n); i < shard.to(n); i++) {
                Question q = builder.question(i);
                String prompt = q.requests().get(0).context();
                // seeded by the example's index, so a shard samples what the whole task in one process does
                Sampling sampling = new Sampling(spec.temperature(), 0, 1.0, spec.seed() + i, spec.maxNewTokens(), eos);
                TextGenerator.Generation g = generator.generate(model.encoder().encodeDefault(prompt), sampling, spec.stop());
                String got = extractor.extract(g.text());
                List<String> answers = ((TaskExample.Answer) examples.get(i)).answers();
                boolean ok = answers.stream().anyMatch(a -> a.strip().equals(got));
                samples.add(new Sample(i, q.line(), g.text(), got, answers, ok));
                generated += g.tokens().length;
                progress.advance(1);
            }
        }
        return new ShardRun(samples, shard.to(n) - shard.from(n), 0, generated);
    }

    /** exact_match over the shards' samples. */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        List<Sample> samples = ShardRun.records(shards, Sample.class);
        double[] correct = new double[samples.size()];
        for (int i = 0; i < correct.length; i++) {
            correct[i] = samples.get(i).correct() ? 1 : 0;
        }
        return new TaskRun(new TaskResult(task.name(), task.spec().kind(), samples.size(), task.spec().shots(),
                TaskResult.metricMap(List.of(Metric.mean("exact_match", correct))), seconds, 0, Map.of()), samples);
    }
}
