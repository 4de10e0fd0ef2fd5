package org.llamawb.eval.task;

import java.io.Serializable;
import org.llamawb.model.BadInputException;

/**
 * The examples one of {@code workers} workers scores: a contiguous range of a task's first {@code n}, worker 0
 * the first range. Contiguous, so that the workers' per-example records put one after another in worker order
 * are the single process's records in the file's order; every worker computes the same ranges from {@code n}
 * (it reads the same file), so nothing but the worker's number is shipped.
 *
 * @param worker this worker's number, from 0
 * @param workers how many workers share the task
 */
public record Shard(int worker, int workers) implements Serializable {
    /** The whole task in one process. */
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (workers < 1) {
            throw new BadInputException("--workers must be >= 1, got " + workers);
        }
        if (worker < 0 || worker >= workers) {
            throw new IllegalArgumentException("worker " + worker + " of " + workers);
        }
    }

    /** The first example of this worker's range among {@code n} (inclusive). */
    public int from(int n) {
        return (int) ((long) n * worker / workers);
    }

    /** The end of this worker's range among {@code n} (exclusive). */
    public int to(int n) {
        return (int) ((long) n * (worker + 1) / workers);
    }
}
