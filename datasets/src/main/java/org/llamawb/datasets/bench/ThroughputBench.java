package org.llamawb.datasets.bench;

import java.nio.file.Path;
import org.llamawb.datasets.batch.DataLoader;
import org.llamawb.datasets.batch.LoaderOptions;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ExampleStream;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Tokenisation and packing throughput on one file (behind {@code workbench data bench}): the file is
 * read, rendered, tokenised and labelled from scratch in each repeat, then packed into rows of
 * {@code max_length} and every batch of the epoch is built. One untimed warm-up, then the best of
 * {@code repeats}. Single-threaded, as the loader runs.
 */
public final class ThroughputBench {
    private ThroughputBench() {}

    public static ThroughputResult run(Path file, DataFormat format, LlamaTokenizer tokenizer, ChatTemplate template,
            int maxLength, int batchRows, int repeats) {
        return run(file, ReadOptions.skipping().withFormat(format), tokenizer, template, maxLength, batchRows, repeats);
    }

    /** As above, reading with {@code read} (format, columns). */
    public static ThroughputResult run(Path file, ReadOptions read, LlamaTokenizer tokenizer, ChatTemplate template,
            int maxLength, int batchRows, int repeats) {
        double bestEncode = Double.MAX_VALUE;
        double bestPack = Double.MAX_VALUE;
        TokenizedDataset data = null;
        org.llamawb.datasets.batch.BatchEfficiency efficiency = null;
        for (int r = 0; r <= repeats; r++) {
            long t0 = System.nanoTime();
            TokenizedDataset d = new TokenizedDataset();
            try (ExampleEncoder enc = new ExampleEncoder(tokenizer, template, EncodeOptions.of(maxLength));
                    ExampleStream s = DatasetReader.open(file, read)) {
                while (s.hasNext()) {
                    Example e = s.next();
                    enc.encode(e).ifPresent(d::add);
                }
            }
            long t1 = System.nanoTime();
            DataLoader loader = new DataLoader(d, new LoaderOptions(batchRows, maxLength, true, false, true, r, 0));
            long checksum = 0;
            for (int b = 0; b < loader.batchesInEpoch(0); b++) {
                checksum += loader.batch(0, b).realTokens();
            }
            long t2 = System.nanoTime();
            if (checksum != d.totalTokens()) {
                throw new IllegalStateException("packing lost tokens: " + checksum + " of " + d.totalTokens());
            }
            if (r > 0) {
                bestEncode = Math.min(bestEncode, (t1 - t0) / 1e9);
                bestPack = Math.min(bestPack, (t2 - t1) / 1e9);
            }
            data = d;
            efficiency = loader.efficiency(0);
        }
        if (repeats == 0) {
            throw new IllegalArgumentException("repeats must be >= 1");
        }
        return new ThroughputResult(file.toString(), template.name(), maxLength, data.size(), data.totalTokens(),
                bestEncode, bestPack, efficiency);
    }
}
