package org.llamawb.datasets.source;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * A byte stream with each invalid UTF-8 sequence replaced by U+FFFD, remembering the lines where that
 * happened. A JSON array is parsed as one stream, so a single bad byte would otherwise stop Jackson's
 * parser with no way to resume and lose every record after it; repaired, the parser reads on and the
 * record that spans a remembered line is skipped as bad on its own.
 *
 * <p>Validity follows RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF); a lead byte whose
 * continuation is missing is one replaced sequence and the byte that broke it starts the next character.
 * Lines are counted at {@code \n}, as in JSON lines.
 */
final class Utf8Repair extends InputStream {
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private final InputStream in;
    private final byte[] pending = new byte[4];
    private int pendingPos;
    private int pendingLen;
    private long line = 1;
    private final NavigableSet<Long> badLines = new TreeSet<>();

    Utf8Repair(InputStream in) {
        this.in = in.markSupported() ? in : new BufferedInputStream(in, 1 << 16);
    }

    /** The first line in {@code [from, to]} (1-based, inclusive) that held invalid UTF-8, or -1. */
    long firstBadLine(long from, long to) {
        Long l = badLines.ceiling(from);
        return l != null && l <= to ? l : -1;
    }

    @Override
    public int read() throws IOException {
        if (pendingPos == pendingLen && !decodeNext()) {
            return -1;
        }
        return pending[pendingPos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = 0;
        while (n < len) {
            if (pendingPos == pendingLen) {
                if ((n > 0 && in.available() == 0) || !decodeNext()) {
                    break;
                }
            }
            int k = Math.min(len - n, pendingLen - pendingPos);
            System.arraycopy(pending, pendingPos, b, off + n, k);
            pendingPos += k;
            n += k;
        }
        return n == 0 && len > 0 ? -1 : n;
    }

    /** Decodes one character (or one invalid sequence) into {@code pending}; false at the end. */
    private boolean decodeNext() throws IOException {
        pendingPos = 0;
        pendingLen = 0;
        int b0 = in.read();
        if (b0 < 0) {
            return false;
        }
        if (b0 < 0x80) {
            if (b0 == '\n') {
                line++;
            }
            pending[pendingLen++] = (byte) b0;
            return true;
        }
        int need;
        int lo = 0x80;
        int hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 1;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            lo = b0 == 0xE0 ? 0xA0 : 0x80; // no overlong 3-byte forms
            hi = b0 == 0xED ? 0x9F : 0xBF; // no surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            lo = b0 == 0xF0 ? 0x90 : 0x80; // no overlong 4-byte forms
            hi = b0 == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
        } else {
            return replaced();
        }
        pending[pendingLen++] = (byte) b0;
        for (int i = 0; i < need; i++) {
            in.mark(1);
            int c = in.read();
            if (c < (i == 0 ? lo : 0x80) || c > (i == 0 ? hi : 0xBF)) {
                if (c >= 0) {
                    in.reset(); // not a continuation: it begins the next character
                }
                return replaced();
            }
            pending[pendingLen++] = (byte) c;
        }
        return true;
    }

    private boolean replaced() {
        System.arraycopy(REPLACEMENT, 0, pending, 0, REPLACEMENT.length);
        pendingPos = 0;
        pendingLen = REPLACEMENT.length;
        badLines.add(line);
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
