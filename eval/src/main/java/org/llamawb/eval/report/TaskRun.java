package org.llamawb.eval.report;

import java.util.List;

/**
 * A runner's output: the aggregate result and one record per example (written as JSONL beside the report).
 *
 * @param result metrics, counts, timing
 * @param records per-example records, serialisable by Jackson
 */
public record TaskRun(TaskResult result, List<?> records) {}
