package org.llamawb.eval.run;

import java.nio.file.Path;
import org.llamawb.model.Llama;

/**
 * Puts an adapter on a loaded model for evaluation: {@code --adapter} evaluates with it, {@code --compare-adapter}
 * evaluates the base, attaches the adapter, evaluates again, then closes the handle (which removes it and
 * restores the base). The CLI passes the adapters module's PEFT reader; tests may pass any weight change.
 */
@FunctionalInterface
public interface AdapterLoader {

    /** Attaches the adapter at {@code adapter}; closing the result restores the base model. */
    AutoCloseable attach(Llama model, Path adapter);
}
