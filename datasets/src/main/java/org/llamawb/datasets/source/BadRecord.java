package org.llamawb.datasets.source;

/** Thrown inside decoders for a record that cannot be used; the reader turns it into a {@link Problem}. */
final class BadRecord extends Exception {
    private static final long serialVersionUID = 1L;

    BadRecord(String reason) {
        super(reason, null, false, false);
    }
}
