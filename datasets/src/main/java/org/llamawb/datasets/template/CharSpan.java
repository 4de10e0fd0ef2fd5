package org.llamawb.datasets.template;

/** Characters {@code [start, end)} of a rendered text (Java string indices). */
public record CharSpan(int start, int end) {
    public CharSpan {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad span [" + start + ", " + end + ")");
        }
    }

    public int length() {
        return end - start;
    }
}
