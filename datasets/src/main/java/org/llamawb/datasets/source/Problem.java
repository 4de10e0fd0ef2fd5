package org.llamawb.datasets.source;

import java.util.Objects;
import org.llamawb.datasets.example.Origin;

/** A record that could not be used, as {@code file:line: reason}. */
public record Problem(Origin origin, String reason) {
    public Problem {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String toString() {
        return origin + ": " + reason;
    }
}
