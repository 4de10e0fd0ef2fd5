package org.llamawb.finetune.train;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.llamawb.finetune.recipe.ModelSection;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.hub.Sources;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The model a run starts from: a pretrained checkpoint ({@code model.path}), opened as every command opens one
 * ({@link LoadedModel#open}), or a random initialisation of a given shape ({@code model.init}, training from
 * scratch) over {@code model.tokenizer}.
 *
 * @param loaded the model, its tokenizer, where its chat template is read and its generation defaults
 * @param name what adapters record as {@code base_model_name_or_path}
 */
record BaseModel(LoadedModel loaded, String name) implements AutoCloseable {

    static BaseModel open(ModelSection s, long seed, NDManager m) {
        AttentionImplementation attention = AttentionImplementation.valueOf(s.attention().toUpperCase(Locale.ROOT));
        // a compact base (model.dtype, model.quantize) is converted tensor by tensor as it is read or drawn: the
        // float32 model never exists whole
        LoadedModel loaded = s.path() != null
                ? LoadedModel.open(Sources.resolve(s.path()), s.tokenizer() == null ? null : Sources.resolve(s.tokenizer()),
                        "model.tokenizer", m, s.storage())
                : scratch(s, seed, m);
        loaded.model().setAttentionImplementation(attention);
        NativeHeap.releaseLoadingMemory();
        return new BaseModel(loaded, s.path() != null ? s.path() : "scratch");
    }

    /** A new model of {@code model.init}'s shape; its vocabulary and special tokens default to the tokenizer's. */
    private static LoadedModel scratch(ModelSection s, long seed, NDManager m) {
        Path tokenizer = Sources.resolve(s.tokenizer());
        LlamaTokenizer tok = LlamaTokenizer.load(tokenizer);
        ObjectNode c = new ObjectMapper().valueToTree(s.init());
        if (!c.has("vocab_size")) {
            c.put("vocab_size", tok.vocabSize());
        }
        if (!c.has("bos_token_id")) {
            c.put("bos_token_id", tok.bosId());
        }
        if (!c.has("eos_token_id")) {
            c.put("eos_token_id", tok.eosId());
        }
        LlamaConfig config;
        try {
            config = LlamaConfig.fromJson(c, "model.init");
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
        if (tok.vocabSize() > config.vocabSize()) {
            tok.close();
            throw new BadInputException("model.init.vocab_size (" + config.vocabSize() + ") is smaller than the tokenizer's "
                    + tok.vocabSize() + " tokens");
        }
        double std = c.path("initializer_range").asDouble(0.02);
        Llama model = Llama.random(config, seed, std, m, s.storage());
        // the chat template is read where the tokenizer is, as for a named tokenizer of a pretrained model
        return new LoadedModel(model, tok, tokenizer, new GenerationDefaults(Set.copyOf(config.eosTokenIds()), 0, 1, 0));
    }

    Llama model() {
        return loaded.model();
    }

    LlamaTokenizer tokenizer() {
        return loaded.tokenizer();
    }

    /** The generation defaults (stop ids with EOS) that samples use and a full fine-tune writes. */
    GenerationDefaults generation() {
        return loaded.generation();
    }

    /** Where {@code template: model} reads the chat template ({@link LoadedModel#templateSource}). */
    Path location() {
        return loaded.templateSource();
    }

    @Override
    public void close() {
        loaded.close();
    }
}
