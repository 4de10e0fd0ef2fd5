package org.llamawb.datasets.source;

import java.io.IOException;
import java.io.InputStream;

/**
 * Splits a byte stream into lines without decoding it, so invalid UTF-8 can be reported per line and a
 * line over the limit is skipped without being held in memory.
 */
final class LineReader {

    /** One line's bytes (without the newline and a trailing CR) and its 1-based number. */
    record Line(byte[] bytes, int length, long number, boolean tooLong) {
        boolean isBlank() {
            for (int i = 0; i < length; i++) {
                byte b = bytes[i];
                if (b != ' ' && b != '\t' && b != '\r') {
                    return false;
                }
            }
            return true;
        }
    }

    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int limit;
    private long lineNumber;
    private byte[] line = new byte[1024];

    LineReader(InputStream in, int maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    private boolean fill() throws IOException {
        if (pos < limit) {
            return true;
        }
        int n = in.read(buf, 0, buf.length);
        if (n <= 0) {
            return false;
        }
        pos = 0;
        limit = n;
        return true;
    }

    /** The next byte without consuming it, or -1 at the end. */
    int peek() throws IOException {
        return fill() ? buf[pos] & 0xff : -1;
    }

    /** Skips a UTF-8 byte-order mark and whitespace; returns the number of newlines skipped. */
    long skipBlank() throws IOException {
        if (fill() && limit - pos >= 3 && (buf[pos] & 0xff) == 0xEF && (buf[pos + 1] & 0xff) == 0xBB
                && (buf[pos + 2] & 0xff) == 0xBF) {
            pos += 3;
        }
        long newlines = 0;
        while (fill()) {
            byte b = buf[pos];
            if (b == '\n') {
                newlines++;
            } else if (b != ' ' && b != '\t' && b != '\r') {
                break;
            }
            pos++;
        }
        lineNumber = newlines;
        return newlines;
    }

    /** The next line, or null at the end of the stream. */
    Line next() throws IOException {
        if (!fill()) {
            return null;
        }
        int len = 0;
        boolean tooLong = false;
        while (fill()) {
            int start = pos;
            int end = start;
            while (end < limit && buf[end] != '\n') {
                end++;
            }
            int chunk = end - start;
            if (!tooLong) {
                if ((long) len + chunk > maxLineBytes) {
                    tooLong = true;
                } else {
                    ensure(len + chunk);
                    System.arraycopy(buf, start, line, len, chunk);
                    len += chunk;
                }
            }
            pos = end;
            if (end < limit) {
                pos++; // the newline
                break;
            }
        }
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        lineNumber++;
        return new Line(line, tooLong ? 0 : len, lineNumber, tooLong);
    }

    /** The unread bytes as a stream (for handing a JSON array to Jackson). */
    InputStream remainder() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                return fill() ? buf[pos++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int n) throws IOException {
                if (n == 0) {
                    return 0;
                }
                if (!fill()) {
                    return -1;
                }
                int k = Math.min(n, limit - pos);
                System.arraycopy(buf, pos, b, off, k);
                pos += k;
                return k;
            }
        };
    }

    private void ensure(int n) {
        if (n > line.length) {
            line = java.util.Arrays.copyOf(line, Math.max(n, Math.min(maxLineBytes, line.length * 2)));
        }
    }
}
