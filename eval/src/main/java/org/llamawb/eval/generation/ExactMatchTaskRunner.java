package org.llamawb.eval.generation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.ExampleReader;
import org.llamawb.eval.task.Question;
import org.llamawb.eval.task.RequestBuilder;
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
    public record Sample(int index, int line, String generated, String extracted, List<String> answers, boolean correct) {}

    private ExactMatchTaskRunner() {}

    public static TaskRun run(Task task, EvalModel model, int limit) {
        long start = System.nanoTime();
        TaskSpec spec = task.spec();
        List<TaskExample> examples = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, examples.size()) : examples.size();
        RequestBuilder builder = new RequestBuilder(spec, task.data().toString(), examples);
        AnswerExtractor extractor = new AnswerExtractor(spec.extract());
        TextGenerator generator = new TextGenerator(model.llama(), model.tokenizer(), model.maxLength());
        Set<Integer> eos = model.stopIds();
        double[] correct = new double[n];
        List<Sample> samples = new ArrayList<>();
        try (Progress progress = Progress.start(task.name(), n, "examples")) {
            for (int i = 0; i < n; i++) {
                Question q = builder.question(i);
                String prompt = q.requests().get(0).context();
                Sampling sampling = new Sampling(spec.temperature(), 0, 1.0, spec.seed() + i, spec.maxNewTokens(), eos);
                TextGenerator.Generation g = generator.generate(model.encoder().encodeDefault(prompt), sampling, spec.stop());
                String got = extractor.extract(g.text());
                List<String> answers = ((TaskExample.Answer) examples.get(i)).answers();
                boolean ok = answers.stream().anyMatch(a -> a.strip().equals(got));
                correct[i] = ok ? 1 : 0;
                samples.add(new Sample(i, q.line(), g.text(), got, answers, ok));
                progress.advance(1);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new TaskRun(new TaskResult(task.name(), spec.kind(), n, spec.shots(),
                TaskResult.metricMap(List.of(Metric.mean("exact_match", correct))), seconds, 0, Map.of()), samples);
    }
}
