package org.llamawb.eval.score;

/** How requests become rows of a batch. */
public enum Packing {
    /**
     * One row per request, as lm-evaluation-harness batches them (right-padded, plain causal attention):
     * a context shared by several continuations is computed once per continuation.
     */
    NONE,
    /**
     * Requests whose model input starts with the same context share one row: the context once, then the
     * continuations side by side, each attending the context and itself only (a tree-shaped mask), with
     * the positions each would have alone. Same numbers, fewer tokens through the model.
     */
    TREE
}
