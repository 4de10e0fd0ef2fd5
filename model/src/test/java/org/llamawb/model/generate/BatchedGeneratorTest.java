package org.llamawb.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/** Batched, left-padded generation on the real stories260K equals generating each prompt alone. */
class BatchedGeneratorTest {
    private static NDManager manager;
    private static Checkpoint checkpoint;
    private static LlamaTokenizer tok;
    private static Llama model;
    private static Set<Integer> stopIds;
    private static List<int[]> prompts;

    @BeforeAll
    static void load() {
        Path dir = TestData.require("models/stories260K");
        manager = NDManager.newBaseManager();
        checkpoint = Checkpoint.open(dir.resolve("stories260K.bin"));
        tok = LlamaTokenizer.forCheckpoint(checkpoint, null);
        model = Llama.load(checkpoint, manager);
        stopIds = GenerationDefaults.of(checkpoint).stopIds();
        // different lengths, so rows carry from none to many pad columns
        prompts = List.of(tok.encode("Once upon a time, there was a little girl named Lily who", true),
                tok.encode("Tom", true), new int[] {tok.bosId()}, tok.encode("The big dog ran to the park and", true));
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
        checkpoint.close();
        tok.close();
        manager.close();
    }

    /** The completion without its stop token, to compare with {@link Generator} (which drops it). */
    private static int[] visible(BatchedGenerator.Completion c) {
        return c.finish() == BatchedGenerator.Finish.STOP_TOKEN ? Arrays.copyOf(c.tokens(), c.tokens().length - 1)
                : c.tokens();
    }

    @Test
    void batchedGreedyEqualsPerPromptGreedy() {
        Sampling greedy = Sampling.greedy(60, stopIds);
        List<BatchedGenerator.Completion> batch = new BatchedGenerator(model).generate(prompts, greedy, 0, List.of(),
                tok::decode);
        for (int i = 0; i < prompts.size(); i++) {
            int[] alone = new Generator(model).generate(prompts.get(i), greedy, id -> { });
            BatchedGenerator.Completion c = batch.get(i);
            assertArrayEquals(alone, visible(c), "prompt " + i);
            assertTrue(alone.length > 0, "prompt " + i + " generated something");
            assertEquals(tok.decode(alone), c.text());
            if (c.finish() == BatchedGenerator.Finish.STOP_TOKEN) {
                assertTrue(stopIds.contains(c.tokens()[c.tokens().length - 1]));
            } else {
                assertEquals(BatchedGenerator.Finish.LENGTH, c.finish());
                assertEquals(60, c.tokens().length);
            }
        }
    }

    @Test
    void batchedGreedyEqualsPerPromptGreedyWithExplicitAttention() {
        model.setAttentionImplementation(AttentionImplementation.EXPLICIT);
        try {
            batchedGreedyEqualsPerPromptGreedy();
        } finally {
            model.setAttentionImplementation(AttentionImplementation.FUSED);
        }
    }

    @Test
    void sampledRowsEqualPerPromptSamplingWithTheRowSeed() {
        Sampling s = new Sampling(0.9, 20, 0.95, 1234, 30, stopIds);
        List<BatchedGenerator.Completion> batch = new BatchedGenerator(model).generate(prompts, s, 0, List.of(), null);
        List<BatchedGenerator.Completion> again = new BatchedGenerator(model).generate(prompts, s, 0, List.of(), null);
        for (int i = 0; i < prompts.size(); i++) {
            Sampling row = new Sampling(0.9, 20, 0.95, BatchedGenerator.rowSeed(1234, i), 30, stopIds);
            int[] alone = new Generator(model).generate(prompts.get(i), row, id -> { });
            assertArrayEquals(alone, visible(batch.get(i)), "prompt " + i);
            assertArrayEquals(batch.get(i).tokens(), again.get(i).tokens(), "same seed, same rollout");
        }
        // two rows with the same prompt draw from different streams
        List<BatchedGenerator.Completion> twins = new BatchedGenerator(model).generate(
                List.of(prompts.get(2), prompts.get(2)), s, 0, List.of(), null);
        assertNotEquals(Arrays.toString(twins.get(0).tokens()), Arrays.toString(twins.get(1).tokens()));
    }

    @Test
    void zeroNewTokensGivesEmptyCompletions() {
        List<BatchedGenerator.Completion> out = new BatchedGenerator(model).generate(prompts,
                Sampling.greedy(0, stopIds), 0, List.of(), tok::decode);
        assertEquals(prompts.size(), out.size());
        for (BatchedGenerator.Completion c : out) {
            assertEquals(0, c.tokens().length);
            assertEquals("", c.text());
            assertEquals(BatchedGenerator.Finish.LENGTH, c.finish());
        }
    }

    @Test
    void stopStringEndsARowAndIsCutFromItsText() {
        Sampling greedy = Sampling.greedy(60, stopIds);
        String full = tok.decode(new Generator(model).generate(prompts.get(1), greedy, id -> { }));
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        String expected = full.substring(0, full.indexOf(stop));
        List<BatchedGenerator.Completion> out = new BatchedGenerator(model).generate(
                List.of(prompts.get(1), prompts.get(0)), greedy, 0, List.of(stop), tok::decode);
        BatchedGenerator.Completion c = out.get(0);
        assertEquals(BatchedGenerator.Finish.STOP_STRING, c.finish());
        assertEquals(expected, c.text());
        assertTrue(tok.decode(c.tokens()).contains(stop), "the token that completed the stop string is kept");
        assertFalse(tok.decode(Arrays.copyOf(c.tokens(), c.tokens().length - 1)).contains(stop),
                "and the row stopped right there");
    }
}
