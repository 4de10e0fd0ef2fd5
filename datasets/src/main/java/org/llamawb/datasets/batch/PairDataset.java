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

    /** The longer of the pair's two sequences. */
    public int length(int i) {
        return pairs.get(i).length();
    }
}
