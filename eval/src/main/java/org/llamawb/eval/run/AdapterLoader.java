package org.llamawb.eval.run;

import java.nio.file.Path;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;

/**
 * Puts an adapter on a loaded model for evaluation: {@code --adapter} evaluates with it, {@code --compare-adapter}
 * evaluates the base, attaches the adapter, evaluates again, then closes the handle (which removes or disables
 * it). The PEFT-format reader lives in the adapters module; until it is wired in, {@link #UNAVAILABLE} says so.
 */
@FunctionalInterface
public interface AdapterLoader {
    AdapterLoader UNAVAILABLE = (model, adapter) -> {
        throw new BadInputException(adapter + ": cannot load adapters yet (the PEFT adapter reader of the adapters"
                + " module is not wired into eval)");
    };

    /** Attaches the adapter at {@code adapter}; closing the result restores the base model. */
    AutoCloseable attach(Llama model, Path adapter);
}
