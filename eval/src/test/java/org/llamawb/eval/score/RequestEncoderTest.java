package org.llamawb.eval.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Stories260K;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** Token ids of every fixture request equal those lm-evaluation-harness' HFLM produced. */
class RequestEncoderTest {

    @Test
    void encodesEveryRequestAsHflm() {
        try (LlamaTokenizer tok = Stories260K.tokenizer()) {
            RequestEncoder enc = new RequestEncoder(tok, true);
            int n = 0;
            for (LmEvalFixture.Request r : LmEvalFixture.allRequests()) {
                EncodedRequest e = enc.encode(r.context(), r.continuation());
                String what = "'" + r.context().substring(Math.max(0, r.context().length() - 40)) + "' + '" + r.continuation() + "'";
                assertArrayEquals(r.contextIds(), e.context(), what);
                assertArrayEquals(r.continuationIds(), e.continuation(), what);
                n++;
            }
            assertEquals(74, n);
        }
    }

    @Test
    void llamaTokenizersAddBosByDefaultAsHuggingFace() {
        try (LlamaTokenizer tok = Stories260K.tokenizer()) {
            assertTrue(RequestEncoder.tokenizerAddsBos(tok));
            assertEquals(1, new RequestEncoder(tok, true).prefixTokenId());
        }
    }

    @Test
    void pythonWhitespaceIsMovedToTheContinuation() {
        assertTrue(RequestEncoder.isPythonSpace(' '));
        assertTrue(RequestEncoder.isPythonSpace('\n'));
        assertTrue(RequestEncoder.isPythonSpace('\u00a0')); // str.isspace, not Character.isWhitespace
        assertTrue(RequestEncoder.isPythonSpace('\u0085'));
        assertTrue(RequestEncoder.isPythonSpace('\u3000'));
        assertFalse(RequestEncoder.isPythonSpace('\u200b'));
        assertFalse(RequestEncoder.isPythonSpace('x'));
    }

    @Test
    void windowTruncatesFromTheLeftAsLmEval() {
        EncodedRequest r = new EncodedRequest(new int[] {1, 2, 3, 4, 5, 6}, new int[] {7, 8});
        // (ctx + cont)[-(L+1):][:-1] with L = 4: [4,5,6,7,8][:-1]
        assertArrayEquals(new int[] {4, 5, 6, 7}, r.window(4));
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6, 7}, r.window(512));
    }
}
