package org.llamawb.datasets.tokenize;

/**
 * Token ids of a text with the characters each token covers: token {@code i} stands for
 * {@code text[starts[i], ends[i])} in Java string indices. A SentencePiece token that carries the space
 * before a word ({@code ▁word}) covers that space; the dummy-prefix space a tokenizer adds covers nothing
 * of its own and is attached to the character it precedes.
 */
public record TokenSpans(int[] ids, int[] starts, int[] ends) {
    public TokenSpans {
        if (starts.length != ids.length || ends.length != ids.length) {
            throw new IllegalArgumentException("ids, starts and ends must have the same length");
        }
    }

    public int size() {
        return ids.length;
    }
}
