package org.llamawb.datasets.batch;

import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.tokenize.TokenizedPair;

/** Tokenised preference pairs in input order (pairs are small beside SFT corpora: plain arrays). */
public final class PairDataset {
    private final List<TokenizedPair> pairs = new ArrayList<>();

    public int add(TokenizedPair p) {
        pairs.add(p);
        return pairs.size() - 1;
    }

    public int size() {
        return pairs.size();
    }

    public TokenizedPair get(int i) {
        return pairs.get(i);
    }

    /** The pairs {@code select} names, in that order (repeats allowed; the pairs themselves are shared). */
    public PairDataset select(int[] select) {
        PairDataset out = new PairDataset();
        for (int i : select) {
            out.add(pairs.get(i));
        }
        return out;
    }

    /** The longer of the pair's two sequences. */
    public int length(int i) {
        return pairs.get(i).length();
    }
}
