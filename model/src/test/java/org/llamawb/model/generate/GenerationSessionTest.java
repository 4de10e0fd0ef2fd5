package org.llamawb.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/** A session reuses the cached common prefix, feeds only the rest, and generates what a fresh start would. */
class GenerationSessionTest {

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    @Test
    void laterPromptsFeedOnlyTheirNewTokensAndMatchAFreshGeneration() {
        var dir = TestData.require("models/stories260K");
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(dir.resolve("stories260K.bin")), m);
                LlamaTokenizer tok = LlamaTokenizer.load(dir.resolve("tok512.bin"));
                GenerationSession session = new GenerationSession(model, 24)) {
            Sampling greedy = Sampling.greedy(12, Set.of(tok.eosId()));
            Generator fresh = new Generator(model);

            int[] p1 = tok.encode("Once upon a time, Lily", true);
            int[] r1 = session.generate(p1, greedy, t -> { });
            assertEquals(p1.length, session.lastPrefilled());
            assertArrayEquals(fresh.generate(p1, greedy, t -> { }), r1);
            int held = session.cachedLength();
            assertEquals(p1.length + r1.length - (r1.length == 12 ? 1 : 0), held,
                    "the prompt and every reply token but one that ended at the limit are cached");

            // The next turn extends prompt and reply: only its new tokens are fed. It outgrows the first capacity
            // of 24 positions, so the cache grows once (and is refilled), then is reused again.
            int[] p2 = concat(p1, r1, tok.encode(" Then the dog said", false));
            int[] r2 = session.generate(p2, greedy, t -> { });
            assertArrayEquals(fresh.generate(p2, greedy, t -> { }), r2);
            int[] p3 = concat(p2, r2, tok.encode(" The end", false));
            held = session.cachedLength();
            int[] r3 = session.generate(p3, greedy, t -> { });
            assertEquals(p3.length - held, session.lastPrefilled());
            assertArrayEquals(fresh.generate(p3, greedy, t -> { }), r3);

            // A prompt that differs at position 3 keeps three cached positions.
            int[] p4 = p3.clone();
            p4[3] = p4[3] == 100 ? 101 : 100;
            int[] r4 = session.generate(p4, greedy, t -> { });
            assertEquals(p4.length - 3, session.lastPrefilled());
            assertArrayEquals(fresh.generate(p4, greedy, t -> { }), r4);

            // The same prompt again: everything but its last token comes from the cache.
            int[] again = session.generate(p4, greedy, t -> { });
            assertEquals(1, session.lastPrefilled());
            assertArrayEquals(r4, again);
        }
    }
}
