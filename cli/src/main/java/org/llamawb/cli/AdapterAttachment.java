package org.llamawb.cli;

import java.nio.file.Path;
import org.llamawb.adapters.LoraModel;
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.model.Llama;

/** A PEFT adapter put on a loaded model for the duration of a command (nothing when none is named). */
final class AdapterAttachment implements AutoCloseable {
    private final LoraModel lora;

    private AdapterAttachment(LoraModel lora) {
        this.lora = lora;
    }

    static AdapterAttachment attach(Llama model, Path adapterDir) {
        if (adapterDir == null) {
            return new AdapterAttachment(null);
        }
        return new AdapterAttachment(AdapterLoader.peft(model, adapterDir));
    }

    /** The adapters, or null when none was attached. */
    LoraModel lora() {
        return lora;
    }

    @Override
    public void close() {
        if (lora != null) {
            lora.close();
        }
    }
}
