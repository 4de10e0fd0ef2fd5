package org.llamawb.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny byte-level BPE vocabulary in the GPT-2 / SmolLM2 / Qwen style, written by hand for tests: the special
 * tokens first, then the 256 byte symbols of GPT-2's byte-to-unicode table, then a few merges.
 */
public final class TinyBpe {
    /** Merges, in rank order; each joins two existing tokens. */
    public static final List<String> MERGES = List.of("Ġ t", "h e", "Ġt he", "l l", "he ll", "hell o", "Ġ w", "o r",
            "Ġw or", "Ġwor l", "Ġworl d", "i n", "Ġ a");

    public final List<String> specials;
    /** Every token by id: specials, byte symbols, merge results. */
    public final List<String> tokens = new ArrayList<>();

    public TinyBpe(List<String> specials) {
        this.specials = List.copyOf(specials);
        tokens.addAll(specials);
        for (int b = 0; b < 256; b++) {
            tokens.add(byteSymbol(b));
        }
        for (String m : MERGES) {
            tokens.add(m.replace(" ", ""));
        }
    }

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the rest map to 256+n. */
    public static String byteSymbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int c = 0; c < b; c++) {
            if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) {
                n++;
            }
        }
        return String.valueOf((char) (256 + n));
    }

    public int id(String token) {
        int i = tokens.indexOf(token);
        if (i < 0) {
            throw new IllegalArgumentException(token);
        }
        return i;
    }

    /**
     * The {@code tokenizer.json} as Hugging Face writes one for such a model: ByteLevel pre-tokenizer
     * and decoder; {@code bosFirst} non-null gives a TemplateProcessing post-processor that puts that token
     * first (as Llama 3's does), null gives the ByteLevel post-processor (SmolLM2, Qwen: no BOS).
     */
    public String tokenizerJson(String bosFirst) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", specials.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        if (bosFirst == null) {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "ByteLevel");
            post.put("add_prefix_space", true);
            post.put("trim_offsets", false);
            post.put("use_regex", true);
        } else {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bosFirst).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bosFirst).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode st = post.putObject("special_tokens").putObject(bosFirst);
            st.put("id", bosFirst);
            st.putArray("ids").add(id(bosFirst));
            st.putArray("tokens").add(bosFirst);
        }
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", true);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        MERGES.forEach(merges::add);
        return root.toString();
    }
}
