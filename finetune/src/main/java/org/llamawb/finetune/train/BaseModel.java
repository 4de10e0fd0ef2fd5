package org.llamawb.finetune.train;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Set;
import org.llamawb.finetune.recipe.ModelSection;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.hub.Sources;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * The model a run starts from: a pretrained checkpoint ({@code model.path}) or a random initialisation of
 * a given shape ({@code model.init}, training from scratch), with its tokenizer and generation defaults.
 *
 * @param location where the model's tokenizer files live (for the template {@code model})
 * @param name what adapters record as {@code base_model_name_or_path}
 */
record BaseModel(Llama model, LlamaTokenizer tokenizer, GenerationDefaults generation, Path location, String name)
        implements AutoCloseable {

    static BaseModel open(ModelSection s, long seed, NDManager m) {
        AttentionImplementation attention = AttentionImplementation.valueOf(s.attention().toUpperCase(java.util.Locale.ROOT));
        if (s.path() != null) {
            Checkpoint ck = Checkpoint.open(Sources.resolve(s.path()));
            LlamaTokenizer tok;
            try {
                tok = LlamaTokenizer.forCheckpoint(ck, s.tokenizer() == null ? null : Sources.resolve(s.tokenizer()));
            } catch (RuntimeException e) {
                ck.close();
                throw e;
            }
            Llama model = Llama.load(ck, m);
            model.setAttentionImplementation(attention);
            if (s.quantization() != null) {
                model.quantize(s.quantization());
            }
            Path location = ck.format() == Checkpoint.Format.GGUF ? ck.location() : ck.directory();
            return new BaseModel(model, tok, GenerationDefaults.of(ck), location, s.path());
        }
        LlamaTokenizer tok = LlamaTokenizer.load(Path.of(s.tokenizer()));
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
        LlamaConfig config = LlamaConfig.fromJson(c, "model.init");
        if (tok.vocabSize() > config.vocabSize()) {
            tok.close();
            throw new BadInputException("model.init.vocab_size (" + config.vocabSize() + ") is smaller than the tokenizer's "
                    + tok.vocabSize() + " tokens");
        }
        double std = c.path("initializer_range").asDouble(0.02);
        Llama model = Llama.random(config, seed, std, m);
        model.setAttentionImplementation(attention);
        if (s.quantization() != null) {
            model.quantize(s.quantization());
        }
        Path tokLocation = Path.of(s.tokenizer()).toAbsolutePath();
        return new BaseModel(model, tok, new GenerationDefaults(Set.copyOf(config.eosTokenIds()), 0, 1, 0),
                java.nio.file.Files.isDirectory(tokLocation) ? tokLocation : tokLocation.getParent(), "scratch");
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
