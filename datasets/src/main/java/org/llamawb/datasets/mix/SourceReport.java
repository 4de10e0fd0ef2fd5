package org.llamawb.datasets.mix;

import java.nio.file.Path;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.ReadCounts;
import org.llamawb.datasets.tokenize.EncodeStats;

/**
 * What became of one source: records read and skipped ({@code reads}), examples encoded, truncated and
 * dropped by reason ({@code encoding}, duplicates included), and how many went to each split.
 *
 * @param train training examples before the weight
 * @param validation held-out examples
 * @param weightedTrain training examples per epoch after the weight
 */
public record SourceReport(DataSource source, Path file, DataFormat format, ReadCounts reads, EncodeStats encoding,
        long train, long validation, long weightedTrain) {}
