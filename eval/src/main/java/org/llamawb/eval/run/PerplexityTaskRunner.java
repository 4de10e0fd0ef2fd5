package org.llamawb.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.perplexity.RollingWindows;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.score.EncodedRequest;
import org.llamawb.eval.score.Loglikelihood;
import org.llamawb.eval.score.LoglikelihoodScorer;
import org.llamawb.eval.score.Packing;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.model.BadInputException;
import org.llamawb.model.progress.Progress;

/**
 * Perplexity of raw text: the file is one document, or for {@code .jsonl} one document per line's
 * {@code text} field. Each document is tokenised without BOS and scored over lm-evaluation-harness' rolling
 * windows (first token predicted from BOS). Metrics over all documents:
 * <ul>
 *   <li>{@code loss}: mean negative log-likelihood per token (nats); {@code perplexity} = exp(loss);
 *   <li>{@code word_perplexity}, {@code byte_perplexity}, {@code bits_per_byte}: as lm-evaluation-harness'
 *       wikitext (words = whitespace-separated pieces, bytes = UTF-8 bytes).
 * </ul>
 */
public final class PerplexityTaskRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One document's totals, as written to the samples JSONL. */
    public record Document(int index, int tokens, int windows, long bytes, int words, double loglikelihood)
            implements Serializable {}

    private PerplexityTaskRunner() {}

    public static TaskRun run(Task task, EvalModel model, ScoringOptions options, int limit) {
        long start = System.nanoTime();
        ShardRun all = score(task, model, options, limit, Shard.ALL);
        return merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
    }

    /** Scores the documents of {@code shard}'s range of the first {@code limit}: one {@link Document} each. */
    public static ShardRun score(Task task, EvalModel model, ScoringOptions options, int limit, Shard shard) {
        List<String> docs = documents(task);
        int n = limit > 0 ? Math.min(limit, docs.size()) : docs.size();
        int from = shard.from(n);
        int to = shard.to(n);
        int maxLength = task.spec().maxLength() != null ? task.spec().maxLength() : model.maxLength();
        int prefix = model.encoder().prefixTokenId();
        List<EncodedRequest> windows = new ArrayList<>();
        int[] perDoc = new int[to - from];
        int[] tokens = new int[to - from];
        for (int d = from; d < to; d++) {
            int[] ids = model.tokenizer().encode(docs.get(d), false);
            tokens[d - from] = ids.length;
            List<EncodedRequest> w = RollingWindows.of(ids, prefix, maxLength);
            perDoc[d - from] = w.size();
            windows.addAll(w);
        }
        LoglikelihoodScorer scorer = new LoglikelihoodScorer(model.llama(),
                options.withMaxLength(maxLength).withPacking(Packing.NONE));
        List<Loglikelihood> scores;
        try (Progress progress = Progress.start(task.name(), windows.size(), "requests")) {
            scores = scorer.score(windows, progress::advance);
        }
        List<Document> records = new ArrayList<>();
        int k = 0;
        for (int d = from; d < to; d++) {
            double docLl = 0;
            for (int w = 0; w < perDoc[d - from]; w++) {
                docLl += scores.get(k++).logprob();
            }
            records.add(new Document(d, tokens[d - from], perDoc[d - from], docs.get(d).getBytes(StandardCharsets.UTF_8).length,
                    wordCount(docs.get(d)), docLl));
        }
        return new ShardRun(records, to - from, scorer.tokensThroughModel(), 0);
    }

    /** The task's metrics over the documents of its shards (in worker order, so summed in the file's order). */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        List<Document> records = ShardRun.records(shards, Document.class);
        double ll = 0;
        long tokenCount = 0;
        long bytes = 0;
        long words = 0;
        for (Document d : records) {
            ll += d.loglikelihood();
            tokenCount += d.tokens();
            bytes += d.bytes();
            words += d.words();
        }
        if (tokenCount == 0) {
            throw new BadInputException(task.data() + ": no text to score");
        }
        double loss = -ll / tokenCount;
        List<Metric> metrics = List.of(
                Metric.of("perplexity", Math.exp(loss)),
                Metric.of("loss", loss),
                Metric.of("word_perplexity", Math.exp(-ll / Math.max(1, words))),
                Metric.of("byte_perplexity", Math.exp(-ll / bytes)),
                Metric.of("bits_per_byte", -ll / bytes / Math.log(2)));
        return new TaskRun(new TaskResult(task.name(), task.spec().kind(), records.size(), 0, TaskResult.metricMap(metrics),
                seconds, ShardRun.tokenSlots(shards), Map.of()), records);
    }

    /** lm-evaluation-harness' word count: {@code len(re.split(r"\s+", doc))}. */
    static int wordCount(String doc) {
        return doc.split("(?U)\\s+", -1).length;
    }

    private static List<String> documents(Task task) {
        String text;
        try {
            text = Files.readString(task.requireData().data(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BadInputException(task.data() + ": cannot read as UTF-8 text (" + e.getMessage() + ")");
        }
        if (!task.data().toString().endsWith(".jsonl")) {
            return List.of(text);
        }
        List<String> docs = new ArrayList<>();
        int line = 0;
        for (String l : text.split("\n", -1)) {
            line++;
            if (l.isBlank()) {
                continue;
            }
            try {
                JsonNode node = JSON.readTree(l);
                JsonNode t = node.get("text");
                if (t == null || !t.isTextual()) {
                    throw new BadInputException(task.data() + ":" + line + ": field 'text' must be a string");
                }
                docs.add(t.asText());
            } catch (IOException e) {
                throw new BadInputException(task.data() + ":" + line + ": not valid JSON");
            }
        }
        return docs;
    }
}
