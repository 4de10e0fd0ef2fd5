package org.llamawb.eval.run;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.perplexity.LabelledSequence;
import org.llamawb.eval.perplexity.MaskedLoss;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.BadInputException;

/**
 * Loss on a dialogue set, assistant tokens only: the datasets module reads the file (any of its formats),
 * renders each conversation with the chat template and marks the trained (assistant) tokens, exactly as
 * SFT trains on them; {@link MaskedLoss} averages the cross-entropy over those tokens. Metrics:
 * {@code eval_loss} (nats per assistant token, transformers' name), {@code perplexity} = exp(eval_loss),
 * {@code scored_tokens}. Examples that are not conversations, or keep no assistant token, are skipped.
 */
public final class DialogueLossTaskRunner {

    /**
     * One encoded conversation, as written to the samples JSONL: its sizes and its share of the loss.
     *
     * @param nll summed negative log-likelihood of its scored (assistant) tokens, nats
     * @param scoredTokens how many of its tokens were scored
     */
    public record Sample(String id, String origin, int tokens, int trainedTokens, boolean truncated, double nll,
            int scoredTokens) implements Serializable {}

    private DialogueLossTaskRunner() {}

    /** Evaluates the first {@code limit} examples of the file (all when {@code limit <= 0}). */
    public static TaskRun run(Task task, EvalModel model, ScoringOptions options, int limit) {
        long start = System.nanoTime();
        ShardRun all = score(task, model, options, limit, Shard.ALL);
        return merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
    }

    /** Encodes and scores the conversations of {@code shard}'s range of the first {@code limit} examples. */
    public static ShardRun score(Task task, EvalModel model, ScoringOptions options, int limit, Shard shard) {
        TaskSpec spec = task.spec();
        ReadOptions read = ReadOptions.failing();
        if (spec.format() != null) {
            read = read.withFormat(DataFormat.parse(spec.format()));
        }
        List<Example> examples = DatasetReader.readAll(task.requireData().data(), read);
        int n = limit > 0 ? Math.min(limit, examples.size()) : examples.size();
        int maxLength = spec.maxLength() != null ? spec.maxLength() : model.maxLength();
        List<LabelledSequence> sequences = new ArrayList<>();
        List<TokenizedExample> encoded = new ArrayList<>();
        try (ExampleEncoder encoder = new ExampleEncoder(model.tokenizer(), model.chatTemplate(spec.template()),
                EncodeOptions.of(maxLength))) {
            for (int i = shard.from(n); i < shard.to(n); i++) {
                Optional<TokenizedExample> t = encoder.encode(examples.get(i));
                if (t.isEmpty()) {
                    continue;
                }
                TokenizedExample e = t.get();
                sequences.add(new LabelledSequence(e.inputIds(), e.labels()));
                encoded.add(e);
            }
        }
        List<MaskedLoss.SequenceLoss> losses = MaskedLoss.perSequence(model.llama(), sequences, maxLength,
                options.batchTokens());
        List<Sample> samples = new ArrayList<>(encoded.size());
        for (int i = 0; i < encoded.size(); i++) {
            TokenizedExample e = encoded.get(i);
            MaskedLoss.SequenceLoss l = losses.get(i);
            samples.add(new Sample(e.id(), e.origin().toString(), e.length(), e.trainedTokens(), e.truncated(), l.nll(),
                    l.scoredTokens()));
        }
        return new ShardRun(samples, shard.to(n) - shard.from(n), 0, 0);
    }

    /** The loss over the conversations of the shards (their sums added in the file's order). */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        List<Sample> samples = ShardRun.records(shards, Sample.class);
        if (samples.isEmpty()) {
            throw new BadInputException(task.data() + ": none of the first " + ShardRun.examples(shards) + " examples is a "
                    + "conversation with an assistant token to score");
        }
        MaskedLoss.Result r = MaskedLoss.total(samples.stream()
                .map(s -> new MaskedLoss.SequenceLoss(s.nll(), s.scoredTokens(), s.truncated())).toList());
        List<Metric> metrics = List.of(
                Metric.of("eval_loss", r.loss()),
                Metric.of("perplexity", r.perplexity()),
                Metric.of("scored_tokens", r.scoredTokens()));
        return new TaskRun(new TaskResult(task.name(), task.spec().kind(), samples.size(), 0, TaskResult.metricMap(metrics),
                seconds, 0, Map.of()), samples);
    }
}
