package org.llamawb.datasets.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** The real tokenizers the tests use (loaded once per JVM). */
public final class Tokenizers {
    private static LlamaTokenizer llama;
    private static LlamaTokenizer stories;

    private Tokenizers() {}

    /** The LLaMA / Llama-2 SentencePiece tokenizer.model (32,000 pieces). */
    public static synchronized LlamaTokenizer llama() {
        if (llama == null) {
            llama = LlamaTokenizer.load(TestData.require("tokenizers/llama/tokenizer.model"));
        }
        return llama;
    }

    /** stories260K's tok512.model (512 pieces). */
    public static synchronized LlamaTokenizer stories() {
        if (stories == null) {
            stories = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"));
        }
        return stories;
    }

    /**
     * The LLaMA vocabulary with extra special tokens appended after its 32,000 pieces and a
     * {@code tokenizer_config.json} naming BOS and EOS, as fine-tuned models ship it (OpenHermes adds
     * {@code <|im_start|>}/{@code <|im_end|>}; a Llama-3-style vocabulary has {@code <|begin_of_text|>}
     * ...). Written to {@code dir}, loaded from there.
     */
    public static LlamaTokenizer llamaWithSpecials(Path dir, String bos, String eos, String... specials) {
        try {
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = (ObjectNode) json.readTree(llama().tokenizerJson());
            ArrayNode added = (ArrayNode) root.get("added_tokens");
            int id = llama().vocabSize();
            for (String s : specials) {
                ObjectNode t = added.addObject();
                t.put("id", id++);
                t.put("content", s);
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", false);
                t.put("special", true);
            }
            Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
            ObjectNode config = json.createObjectNode();
            config.put("bos_token", bos);
            config.put("eos_token", eos);
            Files.writeString(dir.resolve("tokenizer_config.json"), json.writeValueAsString(config));
            return LlamaTokenizer.load(dir.resolve("tokenizer.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
