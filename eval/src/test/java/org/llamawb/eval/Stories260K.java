package org.llamawb.eval;

import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The real stories260K model (llama2.c checkpoint, loaded through the weights package once per JVM) and its
 * tokenizer converted from {@code tok512.model} by the model module.
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
        return LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"));
    }

    /** The evaluation model with the tokenizer's own BOS default (which must be "add BOS", as Hugging Face's). */
    public static EvalModel evalModel() {
        return EvalModel.of(model(), tokenizer(), "stories260K");
    }
}
