package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;

/** Opens the model a command names (Hugging Face directory, llama2.c checkpoint, GGUF). */
final class ModelLoading {
    private ModelLoading() {}

    static Llama load(Path path, NDManager manager) {
        throw new BadInputException(path + ": checkpoint loading is not wired yet");
    }
}
