package org.llamawb.eval.report;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What a runner computed on one {@link org.llamawb.eval.task.Shard} of a task, before any metric: the
 * per-example records (the samples or answers JSONL lines, which hold everything the task's metrics are
 * computed from) and the counts that are not per example. The shards of a task, concatenated in worker order,
 * are what the whole task in one process computes; the runner's {@code merge} turns them into a {@link TaskRun}.
 * Serializable, so that a worker of a cluster can send it back.
 *
 * @param records per-example records in the file's order, each serializable
 * @param examples how many of the task's examples the shard covered (including any a runner skips)
 * @param tokenSlots token positions run through the model (padding included), 0 when not counted
 * @param generatedTokens tokens generated (generation tasks), else 0
 */
public record ShardRun(List<?> records, int examples, long tokenSlots, long generatedTokens) implements Serializable {

    public ShardRun {
        records = List.copyOf(records);
    }

    /** The shards' records, one shard after another. */
    public static <T> List<T> records(List<ShardRun> shards, Class<T> type) {
        List<T> all = new ArrayList<>();
        for (ShardRun s : shards) {
            for (Object o : s.records()) {
                all.add(type.cast(o));
            }
        }
        return all;
    }

    public static int examples(List<ShardRun> shards) {
        return shards.stream().mapToInt(ShardRun::examples).sum();
    }

    public static long tokenSlots(List<ShardRun> shards) {
        return shards.stream().mapToLong(ShardRun::tokenSlots).sum();
    }

    public static long generatedTokens(List<ShardRun> shards) {
        return shards.stream().mapToLong(ShardRun::generatedTokens).sum();
    }
}
