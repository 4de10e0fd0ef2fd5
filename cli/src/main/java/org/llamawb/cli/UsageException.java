package org.llamawb.cli;

/** Wrong flags or arguments on the command line: printed as one line with exit code 2. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
