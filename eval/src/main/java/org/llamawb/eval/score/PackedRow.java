package org.llamawb.eval.score;

import java.util.ArrayList;
import java.util.List;

/**
 * One row of a batch: a shared prefix followed by the continuation tails of the requests that share it.
 *
 * <pre>
 *   tokens    c0 c1 c2 c3 | a0 a1 | b0 b1 b2        (prefix, then tail of request a, tail of request b)
 *   positions  0  1  2  3 |  4  5 |  4  5  6        (each tail continues the prefix as if alone)
 *   segment    0  0  0  0 |  1  1 |  2  2  2        (a token sees the prefix and its own segment, causally)
 * </pre>
 * The prefix's last token predicts every request's first continuation token; tail token t of a request
 * predicts its continuation token t + 1.
 */
final class PackedRow {
    final int[] prefix;
    final List<Member> members = new ArrayList<>();
    private int length;

    /** A request in this row: its index in the caller's list, its continuation, where its tail starts. */
    record Member(int request, EncodedRequest encoded, int tailStart) {}

    PackedRow(int[] prefix) {
        this.prefix = prefix;
        this.length = prefix.length;
    }

    void add(int requestIndex, EncodedRequest r) {
        members.add(new Member(requestIndex, r, length));
        length += r.continuationLength() - 1;
    }

    int length() {
        return length;
    }

    /** Fills row {@code row} of the [B, T] token, position and segment arrays (padding is left as set). */
    void fill(int row, int width, long[] tokens, long[] positions, long[] segments) {
        int base = row * width;
        for (int i = 0; i < prefix.length; i++) {
            tokens[base + i] = prefix[i];
            positions[base + i] = i;
            segments[base + i] = 0;
        }
        int seg = 1;
        for (Member m : members) {
            int n = m.encoded.continuationLength() - 1;
            for (int t = 0; t < n; t++) {
                tokens[base + m.tailStart + t] = m.encoded.continuationAt(t);
                positions[base + m.tailStart + t] = prefix.length + t;
                segments[base + m.tailStart + t] = seg;
            }
            seg++;
        }
    }

    /** The slot whose logits predict continuation token {@code t} of a member. */
    int predictingSlot(Member m, int t) {
        return t == 0 ? prefix.length - 1 : m.tailStart + t - 1;
    }
}
