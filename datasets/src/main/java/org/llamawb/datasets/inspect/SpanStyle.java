package org.llamawb.datasets.inspect;

/** How trained text is shown: ANSI colour on a terminal, brackets in files and pipes. */
public enum SpanStyle {
    /** Trained text between {@code [[} and {@code ]]}. */
    BRACKETS("[[", "]]"),
    /** Trained text in green. */
    COLOR("\u001b[32m", "\u001b[0m");

    private final String open;
    private final String close;

    SpanStyle(String open, String close) {
        this.open = open;
        this.close = close;
    }

    public String open() {
        return open;
    }

    public String close() {
        return close;
    }
}
