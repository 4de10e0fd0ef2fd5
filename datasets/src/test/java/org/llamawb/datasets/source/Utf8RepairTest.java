package org.llamawb.datasets.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8RepairTest {
    static byte[] repaired(Utf8Repair r) throws IOException {
        return r.readAllBytes();
    }

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    @Test
    void validTextPassesUnchangedAndNoLineIsBad() throws IOException {
        byte[] text = "a\ncaf\u00e9 \u20ac \uD83D\uDE00\n".getBytes(StandardCharsets.UTF_8);
        Utf8Repair r = new Utf8Repair(new ByteArrayInputStream(text));
        assertArrayEquals(text, repaired(r));
        assertEquals(-1, r.firstBadLine(1, 3));
    }

    @Test
    void eachInvalidSequenceBecomesOneReplacementAndItsLineIsRemembered() throws IOException {
        // line 1 fine; line 2: a lone continuation, a truncated 3-byte sequence before 'x', an overlong 'A',
        // a surrogate half; line 3: a 4-byte lead above U+10FFFF
        byte[] in = bytes('o', 'k', '\n', 0x80, 0xE2, 0x82, 'x', 0xC1, 0x81, 0xED, 0xA0, 0x80, '\n', 0xF5, 'z', '\n');
        Utf8Repair r = new Utf8Repair(new ByteArrayInputStream(in));
        String out = new String(repaired(r), StandardCharsets.UTF_8);
        // maximal subparts, as WHATWG's decoder: the truncated E2 82 is one replacement and 'x' survives; C1
        // and F5 never start a character, and after ED only 80..9F may follow, so C1 81 ED A0 80 is five
        String f = "\uFFFD";
        assertEquals("ok\n" + f + f + "x" + f.repeat(5) + "\n" + f + "z\n", out);
        assertEquals(2, r.firstBadLine(1, 3));
        assertEquals(3, r.firstBadLine(3, 3));
        assertEquals(-1, r.firstBadLine(1, 1));
    }
}
