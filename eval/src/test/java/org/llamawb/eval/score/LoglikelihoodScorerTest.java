package org.llamawb.eval.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Stories260K;
import org.llamawb.model.Llama;

/** Java scoring of lm-evaluation-harness' own token ids on stories260K equals its log-likelihoods. */
class LoglikelihoodScorerTest {

    private static void assertMatches(Packing packing, int batchTokens) {
        Llama model = Stories260K.model();
        List<LmEvalFixture.Request> reqs = LmEvalFixture.allRequests();
        ScoringOptions opts = new ScoringOptions(512, batchTokens, 64, packing);
        LoglikelihoodScorer scorer = new LoglikelihoodScorer(model, opts);
        List<Loglikelihood> got = scorer.score(reqs.stream().map(LmEvalFixture.Request::encoded).collect(Collectors.toList()));
        int greedyCount = 0;
        for (int i = 0; i < reqs.size(); i++) {
            LmEvalFixture.Request r = reqs.get(i);
            assertEquals(r.loglikelihood(), got.get(i).logprob(), 1e-4, "request " + i + " " + r.continuation());
            assertEquals(r.greedy(), got.get(i).greedy(), "is_greedy of request " + i);
            greedyCount += r.greedy() ? 1 : 0;
        }
        assertTrue(greedyCount > 0, "the fixture must contain greedy continuations");
    }

    @Test
    void treePackingMatchesLmEval() {
        assertMatches(Packing.TREE, 8192);
    }

    @Test
    void oneRowPerRequestMatchesLmEval() {
        assertMatches(Packing.NONE, 8192);
    }

    @Test
    void tinyBatchesGiveTheSameNumbers() {
        assertMatches(Packing.TREE, 1);
    }

    @Test
    void treePackingRunsASharedContextOnce() {
        Llama model = Stories260K.model();
        int[] ctx = new int[100];
        java.util.Arrays.fill(ctx, 261);
        ctx[0] = 1;
        List<EncodedRequest> reqs = List.of(new EncodedRequest(ctx, new int[] {300, 301, 302}),
                new EncodedRequest(ctx, new int[] {310, 311}), new EncodedRequest(ctx, new int[] {320}));
        LoglikelihoodScorer tree = new LoglikelihoodScorer(model, new ScoringOptions(512, 8192, 64, Packing.TREE));
        LoglikelihoodScorer flat = new LoglikelihoodScorer(model, new ScoringOptions(512, 8192, 64, Packing.NONE));
        List<Loglikelihood> a = tree.score(reqs);
        List<Loglikelihood> b = flat.score(reqs);
        for (int i = 0; i < reqs.size(); i++) {
            assertEquals(b.get(i).logprob(), a.get(i).logprob(), 1e-4);
            assertEquals(b.get(i).greedy(), a.get(i).greedy());
        }
        assertEquals(100 + 2 + 1, tree.tokensThroughModel()); // one row: context + tails of 2, 1 and 0 tokens
        assertEquals(3 * 102, flat.tokensThroughModel()); // three rows padded to the longest (102)
    }
}
