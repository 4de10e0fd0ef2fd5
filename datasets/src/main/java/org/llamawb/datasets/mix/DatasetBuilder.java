package org.llamawb.datasets.mix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.llamawb.datasets.batch.DataLoader;
import org.llamawb.datasets.batch.LoaderOptions;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Role;
import org.llamawb.datasets.example.UnpairedPreference;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ExampleStream;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.tokenize.DropReason;
import org.llamawb.datasets.tokenize.EncodeStats;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedPair;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.datasets.tokenize.TokenizedUnpaired;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Builds the training and validation data a recipe's {@code data:} section describes: each source is
 * streamed, exact duplicates (across all sources) are dropped, each example goes to the validation split
 * when its {@link ContentHash} falls under {@code validation_fraction}, is encoded with the chat template
 * (truncation and length filter applied), and the training examples of each source are repeated or
 * sampled by its weight ({@link Mixture}). Every skipped record and dropped example is counted in the
 * {@link DataReport}.
 */
public final class DatasetBuilder {
    private DatasetBuilder() {}

    /** Supervised fine-tuning data (conversations, and the conversations of KTO examples). */
    public static PreparedData<TokenizedDataset> sft(DataOptions o, LlamaTokenizer tokenizer, ChatTemplate template,
            Path baseDir) {
        TokenizedDataset all = new TokenizedDataset();
        TokenizedDataset validation = new TokenizedDataset();
        List<int[]> weighted = new ArrayList<>();
        DataReport report = build(o, tokenizer, template, baseDir, (enc, ex, val, counts) -> {
            Optional<org.llamawb.datasets.tokenize.TokenizedExample> t = enc.encode(ex);
            if (t.isEmpty()) {
                return -1;
            }
            return val ? validation.add(t.get()) : all.add(t.get());
        }, weighted);
        int total = weighted.stream().mapToInt(a -> a.length).sum();
        int[] select = new int[total];
        int at = 0;
        for (int[] w : weighted) {
            System.arraycopy(w, 0, select, at, w.length);
            at += w.length;
        }
        return new PreparedData<>(all.select(select), validation, report);
    }

    /** Preference pairs (reward modelling, DPO). */
    public static PreparedData<PairDataset> preference(DataOptions o, LlamaTokenizer tokenizer, ChatTemplate template,
            Path baseDir) {
        PairDataset all = new PairDataset();
        PairDataset validation = new PairDataset();
        List<int[]> weighted = new ArrayList<>();
        DataReport report = build(o, tokenizer, template, baseDir, (enc, ex, val, counts) -> {
            if (!(ex instanceof PreferencePair p)) {
                counts.dropped(DropReason.NOT_TRAINABLE, ex.origin(), "not a preference pair");
                return -1;
            }
            Optional<TokenizedPair> t = enc.encode(p);
            if (t.isEmpty()) {
                return -1;
            }
            return val ? validation.add(t.get()) : all.add(t.get());
        }, weighted);
        List<Integer> select = new ArrayList<>();
        for (int[] w : weighted) {
            for (int i : w) {
                select.add(i);
            }
        }
        return new PreparedData<>(all.select(select.stream().mapToInt(Integer::intValue).toArray()), validation, report);
    }

    /**
     * KTO examples (a conversation whose last answer is labelled desirable or undesirable): the prompt and
     * that answer, tokenised as a preference pair's prompt and answer are.
     */
    public static PreparedData<List<TokenizedUnpaired>> unpaired(DataOptions o, LlamaTokenizer tokenizer,
            ChatTemplate template, Path baseDir) {
        List<TokenizedUnpaired> all = new ArrayList<>();
        List<TokenizedUnpaired> validation = new ArrayList<>();
        List<int[]> weighted = new ArrayList<>();
        DataReport report = build(o, tokenizer, template, baseDir, (enc, ex, val, counts) -> {
            List<Message> messages = ex instanceof UnpairedPreference u ? u.conversation().messages() : List.of();
            if (messages.size() < 2 || messages.get(messages.size() - 1).role() != Role.ASSISTANT) {
                counts.dropped(DropReason.NOT_TRAINABLE, ex.origin(), "not a desirable/undesirable (kto) example");
                return -1;
            }
            Message answer = messages.get(messages.size() - 1);
            Optional<TokenizedPair> t = enc.encode(new PreferencePair(ex.id(), ex.origin(),
                    messages.subList(0, messages.size() - 1), answer, answer));
            if (t.isEmpty()) {
                return -1;
            }
            TokenizedPair p = t.get();
            TokenizedUnpaired e = new TokenizedUnpaired(p.id(), p.origin(), p.prompt(), p.chosen(),
                    ((UnpairedPreference) ex).desirable(), p.truncated());
            List<TokenizedUnpaired> split = val ? validation : all;
            split.add(e);
            return split.size() - 1;
        }, weighted);
        List<TokenizedUnpaired> train = new ArrayList<>();
        for (int[] w : weighted) {
            for (int i : w) {
                train.add(all.get(i));
            }
        }
        return new PreparedData<>(train, validation, report);
    }

    /**
     * Prompts for generation (GRPO and PPO rollouts): the context of every prompt, conversation, pair or KTO
     * example, rendered by the chat template up to the answer ({@link ExampleEncoder#encodePrompt}). Split,
     * deduplicated and mixed by weight as the other kinds are.
     */
    public static PreparedData<List<TokenizedPrompt>> prompts(DataOptions o, LlamaTokenizer tokenizer,
            ChatTemplate template, Path baseDir) {
        List<TokenizedPrompt> all = new ArrayList<>();
        List<TokenizedPrompt> validation = new ArrayList<>();
        List<int[]> weighted = new ArrayList<>();
        DataReport report = build(o, tokenizer, template, baseDir, (enc, ex, val, counts) -> {
            Optional<TokenizedPrompt> t = enc.encodePrompt(ex);
            if (t.isEmpty()) {
                return -1;
            }
            List<TokenizedPrompt> split = val ? validation : all;
            split.add(t.get());
            return split.size() - 1;
        }, weighted);
        List<TokenizedPrompt> train = new ArrayList<>();
        for (int[] w : weighted) {
            for (int i : w) {
                train.add(all.get(i));
            }
        }
        return new PreparedData<>(train, validation, report);
    }

    /** The training loader: seeded shuffling, packing or length grouping as the options say. */
    public static DataLoader trainLoader(PreparedData<TokenizedDataset> d, DataOptions o, int batchSize, int padId) {
        return new DataLoader(d.train(), new LoaderOptions(batchSize, o.maxLength(), o.packing(), o.groupByLength(),
                true, o.seed(), padId));
    }

    /** The validation loader: dataset order, one pass per evaluation. */
    public static DataLoader validationLoader(PreparedData<TokenizedDataset> d, DataOptions o, int batchSize, int padId) {
        return new DataLoader(d.validation(), new LoaderOptions(batchSize, o.maxLength(), o.packing(), false, false,
                o.seed(), padId));
    }

    public static PairLoader trainPairLoader(PreparedData<PairDataset> d, DataOptions o, int batchSize, int padId) {
        return new PairLoader(d.train(), new LoaderOptions(batchSize, o.maxLength(), false, o.groupByLength(), true,
                o.seed(), padId));
    }

    public static PairLoader validationPairLoader(PreparedData<PairDataset> d, DataOptions o, int batchSize, int padId) {
        return new PairLoader(d.validation(), new LoaderOptions(batchSize, o.maxLength(), false, false, false, o.seed(), padId));
    }

    /** Encodes one example into the right split; returns its index there, or -1 when dropped. */
    private interface Sink {
        int accept(ExampleEncoder encoder, Example example, boolean validation, EncodeStats counts);
    }

    private static DataReport build(DataOptions o, LlamaTokenizer tokenizer, ChatTemplate template, Path baseDir,
            Sink sink, List<int[]> weightedOut) {
        Set<ContentHash> seen = new HashSet<>();
        List<SourceReport> reports = new ArrayList<>();
        EncodeStats total = new EncodeStats();
        long trainTotal = 0;
        long validationTotal = 0;
        for (int si = 0; si < o.sources().size(); si++) {
            DataSource src = o.sources().get(si);
            Path file = src.file(baseDir);
            ReadOptions read = ReadOptions.skipping().withOnError(o.onErrorPolicy()).withFormat(src.dataFormat())
                    .withColumns(src.columnMapping());
            List<Integer> trainIdx = new ArrayList<>();
            long val = 0;
            try (ExampleEncoder enc = new ExampleEncoder(tokenizer, template, o.encodeOptions());
                    ExampleStream stream = DatasetReader.open(file, read)) {
                EncodeStats extra = new EncodeStats();
                while (stream.hasNext()) {
                    Example ex = stream.next();
                    ContentHash h = ContentHash.of(ex);
                    if (o.dedup() && !seen.add(h)) {
                        extra.dropped(DropReason.DUPLICATE, ex.origin(), "");
                        continue;
                    }
                    boolean isVal = h.inValidation(o.validationFraction());
                    int idx = sink.accept(enc, ex, isVal, extra);
                    if (idx >= 0) {
                        if (isVal) {
                            val++;
                        } else {
                            trainIdx.add(idx);
                        }
                    }
                }
                EncodeStats stats = new EncodeStats();
                stats.add(enc.stats());
                stats.add(extra);
                int[] local = Mixture.weighted(trainIdx.size(), src.weight(), o.seed() + si);
                int[] global = new int[local.length];
                for (int k = 0; k < local.length; k++) {
                    global[k] = trainIdx.get(local[k]);
                }
                weightedOut.add(global);
                reports.add(new SourceReport(src, file, stream.format(), stream.counts(), stats, trainIdx.size(), val,
                        global.length));
                total.add(stats);
                trainTotal += global.length;
                validationTotal += val;
            }
        }
        return new DataReport(reports, total, trainTotal, validationTotal);
    }
}
