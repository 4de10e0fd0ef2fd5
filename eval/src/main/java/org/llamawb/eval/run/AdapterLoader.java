package org.llamawb.eval.run;

import java.nio.file.Path;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.model.Llama;

/**
 * Puts an adapter on a loaded model for evaluation: {@code --adapter} evaluates with it, {@code --compare-adapter}
 * evaluates the base, attaches the adapter, evaluates again, then closes the handle (which removes it and
 * restores the base). The CLI passes the adapters module's PEFT reader; tests may pass any weight change.
 */
@FunctionalInterface
public interface AdapterLoader {

    /**
     * A PEFT LoRA folder ({@code adapter_config.json} + {@code adapter_model.safetensors}) through the adapters
     * module, as the workers of a {@link ShardedScoring} cluster attach it.
     */
    AdapterLoader PEFT = AdapterLoader::peft;

    /** The PEFT LoRA folder {@code adapter} read onto {@code model} as adapter {@code default}; closing it restores the base. */
    static LoraModel peft(Llama model, Path adapter) {
        LoraModel lora = new LoraModel(model);
        try {
            PeftAdapterFormat.read(lora, "default", adapter);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
        return lora;
    }

    /** Attaches the adapter at {@code adapter}; closing the result restores the base model. */
    AutoCloseable attach(Llama model, Path adapter);
}
