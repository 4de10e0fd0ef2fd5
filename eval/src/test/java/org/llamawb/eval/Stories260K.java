package org.llamawb.eval;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The real stories260K model and tokenizer for tests, loaded once per JVM through the weights package.
 *
 * <p>The tokenizer is converted from {@code tok512.model} by the model module. Where that converter is not
 * available, {@code LLAMAWB_REF_TOKENIZER} may name the {@code tokenizer.json} that
 * scripts/reference/eval/make_eval_fixtures.py writes (/tmp/llamawb-eval-ref/stories260K-hf); without
 * either, tokenizer tests are skipped with a message.
 */
public final class Stories260K {
    private static Llama model;

    private Stories260K() {}

    public static synchronized Llama model() {
        if (model == null) {
            model = EvalModel.loadLlama(TestData.require("models/stories260K/stories260K.bin"));
        }
        return model;
    }

    public static LlamaTokenizer tokenizer() {
        Path spm = TestData.require("models/stories260K/tok512.model");
        try {
            return LlamaTokenizer.load(spm);
        } catch (BadInputException notYet) {
            String ref = System.getenv("LLAMAWB_REF_TOKENIZER");
            assumeTrue(ref != null && Files.isRegularFile(Path.of(ref)),
                    "LlamaTokenizer cannot load tok512.model on this branch (" + notYet.getMessage()
                            + ") and LLAMAWB_REF_TOKENIZER is not set: tokenizer parity skipped");
            return LlamaTokenizer.load(Path.of(ref));
        }
    }

    /** The evaluation model (network + tokenizer), BOS as Hugging Face's LLaMA tokenizer adds it. */
    public static EvalModel evalModel() {
        LlamaTokenizer tok = tokenizer();
        Llama m = model();
        return new EvalModel(m, tok, "stories260K", true, m.config().maxPositionEmbeddings());
    }
}
