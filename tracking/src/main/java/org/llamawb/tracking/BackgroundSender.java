package org.llamawb.tracking;

import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.llamawb.tracking.mlflow.MlflowCallException;

/**
 * The thread that sends a live run's journal to the server: every {@code interval}, or sooner when
 * woken, it delivers everything pending. While the server is unreachable it backs off (up to 30 s) and
 * says so once; training never waits for it.
 */
final class BackgroundSender {

    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final JournalDelivery delivery;
    private final LongSupplier journaled;
    private final Duration interval;
    private final Consumer<String> notices;
    private final Thread thread;
    private final Object signal = new Object();
    private volatile boolean stopping;
    private boolean woken;
    private volatile boolean down;
    private volatile MlflowCallException lastFailure;

    BackgroundSender(JournalDelivery delivery, LongSupplier journaled, Duration interval, Consumer<String> notices,
            String name) {
        this.delivery = delivery;
        this.journaled = journaled;
        this.interval = interval;
        this.notices = notices;
        this.thread = new Thread(this::loop, "tracking-sender-" + name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Asks for a delivery round now rather than at the next interval. */
    void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    private void loop() {
        Duration wait = interval;
        while (!stopping) {
            try {
                if (delivery.acked() < journaled.getAsLong()) {
                    delivery.deliver(Long.MAX_VALUE);
                }
                if (down) {
                    notices.accept("tracking: MLflow at " + JournalDelivery.serverKey(delivery) + " is reachable"
                            + " again; sending the journal");
                    down = false;
                }
                wait = interval;
            } catch (MlflowCallException e) {
                lastFailure = e;
                if (!down) {
                    notices.accept("tracking: " + e.getMessage() + "; training goes on and the journal keeps"
                            + " every event; retrying in the background");
                    down = true;
                }
                wait = wait.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : wait.multipliedBy(2);
            } catch (IOException | RuntimeException e) {
                // A bug or a broken journal must not kill training; report and keep the journal as is.
                lastFailure = new MlflowCallException(MlflowCallException.Kind.UNCERTAIN, 0, "", e.toString(), e);
                notices.accept("tracking: sending the journal failed: " + e + "; it stays in the journal");
                wait = MAX_BACKOFF;
            }
            pause(wait);
        }
    }

    private void pause(Duration wait) {
        synchronized (signal) {
            long until = System.nanoTime() + wait.toNanos();
            while (!woken && !stopping) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    signal.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            woken = false;
        }
    }

    /** Stops the thread, waiting for a request in flight (at most {@code grace}). */
    void stop(Duration grace) {
        stopping = true;
        wake();
        try {
            thread.join(grace.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    /** Whether the last round failed to reach the server. */
    boolean serverDown() {
        return down;
    }

    MlflowCallException lastFailure() {
        return lastFailure;
    }
}
