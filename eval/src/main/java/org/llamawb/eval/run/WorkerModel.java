package org.llamawb.eval.run;

import java.io.Serializable;
import java.nio.file.Path;
import org.llamawb.eval.EvalModel;

/**
 * The model a worker of a {@link ShardedScoring} cluster opens, as the driver resolved it: local paths absolute
 * (a worker runs in a working directory of its own), the overrides of {@code --max-length} and {@code --add-bos},
 * and the name the single process would report (answers and reports carry it), so that a worker's model is the
 * driver's to the bit.
 *
 * @param name the model's name in reports (the single process's {@link EvalModel#name()})
 * @param path checkpoint (Hugging Face directory, llama2.c file or GGUF), absolute
 * @param tokenizer tokenizer file, absolute, or null for the one beside the weights
 * @param maxLength {@code --max-length}, or null for the model's
 * @param addBos {@code --add-bos}, or null for what the tokenizer does
 */
public record WorkerModel(String name, String path, String tokenizer, Integer maxLength, Boolean addBos)
        implements Serializable {

    /** Loads the model as {@code workbench eval} does in one process. */
    public EvalModel open() {
        EvalModel m = EvalModel.load(Path.of(path), tokenizer == null ? null : Path.of(tokenizer));
        m = new EvalModel(m.llama(), m.tokenizer(), name, m.addBos(), m.maxLength(), m.stopIds(), m.templateSource());
        if (maxLength != null) {
            m = m.withMaxLength(maxLength);
        }
        if (addBos != null) {
            m = m.withAddBos(addBos);
        }
        return m;
    }
}
