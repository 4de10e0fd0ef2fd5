package org.llamawb.eval.perplexity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.run.PerplexityTaskRunner;
import org.llamawb.eval.score.EncodedRequest;
import org.llamawb.eval.score.Loglikelihood;
import org.llamawb.eval.score.LoglikelihoodScorer;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskKind;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.TestData;

/** Rolling-window perplexity and the masked (assistant-only) loss equal the Python references. */
class PerplexityParityTest {

    private static final JsonNode PPL = LmEvalFixture.root().path("perplexity");

    @Test
    void rollingWindowsScoreAsLmEval() {
        int[] tokens = LmEvalFixture.ints(PPL.path("token_ids"));
        assertEquals(256, tokens.length);
        for (JsonNode run : PPL.path("runs")) {
            int maxLength = run.path("max_length").asInt();
            List<EncodedRequest> windows = RollingWindows.of(tokens, 1, maxLength);
            assertEquals(run.path("windows").asInt(), windows.size());
            int predicted = windows.stream().mapToInt(w -> w.continuation().length).sum();
            assertEquals(tokens.length, predicted, "every token is predicted once");
            List<Loglikelihood> got = new LoglikelihoodScorer(Stories260K.model(), ScoringOptions.defaults(maxLength)).score(windows);
            JsonNode expected = run.path("window_loglikelihoods");
            double total = 0;
            for (int i = 0; i < windows.size(); i++) {
                assertEquals(expected.get(i).asDouble(), got.get(i).logprob(), 1e-4, "window " + i + " of L=" + maxLength);
                total += got.get(i).logprob();
            }
            assertEquals(run.path("loglikelihood").asDouble(), total, 2e-4);
        }
    }

    @Test
    void windowsAreDisjointAndConditionedOnThePreviousTokens() {
        int[] t = {10, 11, 12, 13, 14, 15, 16};
        List<EncodedRequest> w = RollingWindows.of(t, 1, 3);
        assertEquals(3, w.size());
        assertArrayEquals(new int[] {1}, w.get(0).context());
        assertArrayEquals(new int[] {10, 11, 12}, w.get(0).continuation());
        assertArrayEquals(new int[] {12}, w.get(1).context()); // input [12,13,14] minus the predicted tail
        assertArrayEquals(new int[] {13, 14, 15}, w.get(1).continuation());
        assertArrayEquals(new int[] {13, 14, 15}, w.get(2).context()); // lm_eval.utils on the same input
        assertArrayEquals(new int[] {16}, w.get(2).continuation());
    }

    @Test
    void assistantOnlyLossEqualsTransformers() {
        JsonNode f = LmEvalFixture.root().path("masked_loss");
        LabelledSequence s = new LabelledSequence(LmEvalFixture.ints(f.path("input_ids")), LmEvalFixture.ints(f.path("labels")));
        MaskedLoss.Result r = MaskedLoss.compute(Stories260K.model(), List.of(s, s), 512, 8192);
        assertEquals(f.path("loss").asDouble(), r.loss(), 1e-5);
        assertEquals(2L * f.path("scored_tokens").asLong(), r.scoredTokens());
        assertEquals(0, r.truncated());
    }

    @Test
    void perplexityTaskOnARawTextFile() {
        EvalModel model = Stories260K.evalModel();
        var file = TestData.require(PPL.path("file").asText()).toString();
        JsonNode run = PPL.path("runs").get(0);
        TaskSpec spec = new TaskSpec("story", TaskKind.PERPLEXITY, file, null, null, null, null, null, null, null, null,
                null, null, null, null, null, run.path("max_length").asInt(), null);
        TaskResult r = PerplexityTaskRunner.run(Task.of(spec, "test", java.nio.file.Path.of("")), model,
                ScoringOptions.defaults(512), 0).result();
        double ll = run.path("loglikelihood").asDouble();
        assertEquals(Math.exp(-ll / 256), r.metrics().get("perplexity").value(), 1e-4 * Math.exp(-ll / 256));
        assertEquals(-ll / run.path("bytes").asDouble() / Math.log(2), r.metrics().get("bits_per_byte").value(), 1e-6);
        assertEquals(Math.exp(-ll / PPL.path("words").asDouble()), r.metrics().get("word_perplexity").value(),
                1e-4 * r.metrics().get("word_perplexity").value());
    }
}
