package org.llamawb.datasets.mix;

import java.util.List;
import org.llamawb.datasets.source.OnError;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.Truncation;
import org.llamawb.model.BadInputException;

/**
 * A recipe's {@code data:} section (bound from YAML with snake_case keys; absent keys take the defaults).
 *
 * <pre>
 * data:
 *   sources:                      # one or more files, mixed by weight
 *     - {path: sharegpt.json, weight: 1.0}
 *     - {path: oasst.jsonl, format: oasst, weight: 0.5}
 *     - {path: train.parquet}     # Parquet too (recognised by its bytes)
 *     - path: pku.jsonl           # fields under other names: columns maps them
 *       columns: {prompt: prompt, answer_a: response_0, answer_b: response_1, preferred: better_response_id}
 *   template: vicuna_v1.1         # a built-in, "model" (the model's chat_template) or a .jinja file
 *   max_length: 2048              # tokens per sequence
 *   truncation: right             # right (keep the start) | drop (drop longer examples)
 *   min_length: 0                 # drop shorter examples
 *   packing: false                # several examples per row (position/segment ids)
 *   group_by_length: false        # without packing: similar lengths per batch
 *   validation_fraction: 0.0      # held out by a stable hash of each example's content
 *   on_error: skip                # skip (counted, logged) | fail
 *   dedup: true                   # drop exact duplicates (same turns, same text)
 *   seed: 42                      # mixture sampling and shuffling
 * </pre>
 */
public record DataOptions(
        List<DataSource> sources,
        String template,
        Integer maxLength,
        String truncation,
        Integer minLength,
        Boolean packing,
        Boolean groupByLength,
        Double validationFraction,
        String onError,
        Boolean dedup,
        Long seed) {

    public DataOptions {
        if (sources == null || sources.isEmpty()) {
            throw new BadInputException("data.sources must list at least one file");
        }
        sources = List.copyOf(sources);
        template = template == null ? "vicuna_v1.1" : template;
        maxLength = maxLength == null ? 2048 : maxLength;
        truncation = truncation == null ? Truncation.RIGHT.wireName() : truncation;
        minLength = minLength == null ? 0 : minLength;
        packing = packing == null ? Boolean.FALSE : packing;
        groupByLength = groupByLength == null ? Boolean.FALSE : groupByLength;
        validationFraction = validationFraction == null ? 0.0 : validationFraction;
        onError = onError == null ? "skip" : onError;
        dedup = dedup == null ? Boolean.TRUE : dedup;
        seed = seed == null ? 42L : seed;
        if (maxLength < 2) {
            throw new BadInputException("data.max_length must be >= 2, got " + maxLength);
        }
        if (minLength < 0 || minLength > maxLength) {
            throw new BadInputException("data.min_length must be within [0, data.max_length], got " + minLength);
        }
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new BadInputException("data.validation_fraction must be within [0, 1), got " + validationFraction);
        }
        if (packing && groupByLength) {
            throw new BadInputException("data.packing and data.group_by_length are alternatives; set one of them");
        }
        Truncation.parse(truncation);
        OnError.parse(onError);
    }

    /** One source, everything else default. */
    public static DataOptions of(String path) {
        return new DataOptions(List.of(DataSource.of(path)), null, null, null, null, null, null, null, null, null, null);
    }

    public Truncation truncationPolicy() {
        return Truncation.parse(truncation);
    }

    public OnError onErrorPolicy() {
        return OnError.parse(onError);
    }

    public EncodeOptions encodeOptions() {
        return new EncodeOptions(maxLength, truncationPolicy(), minLength);
    }

    public DataOptions withTemplate(String t) {
        return new DataOptions(sources, t, maxLength, truncation, minLength, packing, groupByLength,
                validationFraction, onError, dedup, seed);
    }

    public DataOptions withPacking(boolean p) {
        return new DataOptions(sources, template, maxLength, truncation, minLength, p, groupByLength && !p,
                validationFraction, onError, dedup, seed);
    }
}
