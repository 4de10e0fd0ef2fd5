package org.llamawb.tracking.mlflow;

/**
 * A call to the MLflow server that did not succeed, with what the caller may assume about its effect.
 */
public final class MlflowCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What a failed call may have done on the server; decides whether and how to retry. */
    public enum Kind {
        /** No connection was made: the request never reached the server, so a retry cannot duplicate. */
        UNREACHABLE,
        /** The request may or may not have been applied (timeout, reset, 5xx): check before resending. */
        UNCERTAIN,
        /** The server answered with a 4xx error: resending the same request will fail the same way. */
        REJECTED
    }

    private final Kind kind;
    private final int status;
    private final String errorCode;

    public MlflowCallException(Kind kind, int status, String errorCode, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.status = status;
        this.errorCode = errorCode == null ? "" : errorCode;
    }

    public Kind kind() {
        return kind;
    }

    /** The HTTP status, or 0 when no response came back. */
    public int status() {
        return status;
    }

    /** MLflow's {@code error_code} (e.g. {@code RESOURCE_DOES_NOT_EXIST}), or empty. */
    public String errorCode() {
        return errorCode;
    }
}
