package org.llamawb.datasets.bench;

import java.util.Locale;
import org.llamawb.datasets.batch.BatchEfficiency;

/**
 * One throughput measurement: the best of the timed repeats.
 *
 * @param examples examples encoded (and packed)
 * @param tokens tokens of the encoded examples
 * @param encodeSeconds read + parse + template + tokenise + label, the whole file
 * @param packSeconds plan the packed epoch and build every batch's arrays
 * @param efficiency the packed epoch's fill
 */
public record ThroughputResult(String file, String template, int maxLength, long examples, long tokens,
        double encodeSeconds, double packSeconds, BatchEfficiency efficiency) {

    public double encodeExamplesPerSecond() {
        return examples / encodeSeconds;
    }

    public double encodeTokensPerSecond() {
        return tokens / encodeSeconds;
    }

    public double packTokensPerSecond() {
        return tokens / packSeconds;
    }

    /** One JSON line (field names in the style of the other bench harnesses). */
    public String toJson() {
        return String.format(Locale.ROOT, "{\"bench\": \"data\", \"impl\": \"java-djl\", \"file\": \"%s\", \"template\": \"%s\","
                        + " \"max_length\": %d, \"examples\": %d, \"tokens\": %d, \"encode_s\": %.4f,"
                        + " \"encode_examples_per_s\": %.1f, \"encode_tokens_per_s\": %.1f, \"pack_s\": %.4f,"
                        + " \"pack_tokens_per_s\": %.1f, \"rows\": %d, \"examples_per_row\": %.3f, \"fill\": %.4f}",
                file.replace("\\", "\\\\").replace("\"", "\\\""), template, maxLength, examples, tokens, encodeSeconds,
                encodeExamplesPerSecond(), encodeTokensPerSecond(), packSeconds, packTokensPerSecond(), efficiency.rows(),
                efficiency.examplesPerRow(), efficiency.fill());
    }
}
