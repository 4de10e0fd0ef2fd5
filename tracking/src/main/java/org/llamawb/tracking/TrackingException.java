package org.llamawb.tracking;

/**
 * A tracking problem the user can fix (a malformed tracking URI, an unknown experiment, an unreachable
 * server for a command that needs one). The message is one line; the CLI prints it and exits with code 2.
 */
public class TrackingException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TrackingException(String message) {
        super(message);
    }

    public TrackingException(String message, Throwable cause) {
        super(message, cause);
    }
}
