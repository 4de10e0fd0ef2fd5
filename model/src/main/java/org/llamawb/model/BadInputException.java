package org.llamawb.model;

/**
 * A problem with what the user gave us (a file, a key, a flag), as opposed to a bug.
 *
 * <p>The message is one line that names the file, line, key or tensor at fault and says what was
 * expected; the CLI prints it without a stack trace and exits with code 2.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
