package org.llamawb.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.llamawb.model.BadInputException;

/**
 * A byte-level BPE vocabulary (GPT-2's scheme, used by Llama 3, Qwen and SmolLM): what a GGUF file with
 * {@code tokenizer.ggml.model = "gpt2"} stores, and its Hugging Face {@code tokenizer.json}, both ways.
 *
 * <p>The {@code tokenizer.json} is the one Hugging Face publishes for such models: a BPE model over the
 * byte symbols with the merges in rank order, no normaliser, the pre-tokeniser that {@code
 * tokenizer.ggml.pre} names ({@link PreTokenizer}), a ByteLevel decoder, control tokens as special added
 * tokens and user-defined ones as plain added tokens, and a post-processor that puts BOS first only when
 * {@code add_bos_token} says so (else ByteLevel's, which adds nothing).
 *
 * @param tokens every token by id, in GPT-2's byte-to-unicode spelling
 * @param types each token's type (control and user-defined tokens become added tokens)
 * @param merges merge rules {@code "left right"} in rank order
 * @param bosId begin-of-sequence id, -1 when none
 * @param eosId end-of-sequence id, -1 when none
 * @param addBos whether encoding puts BOS first by default
 * @param pre how text is split before the merges
 */
public record ByteLevelBpe(List<String> tokens, PieceType[] types, List<String> merges, int bosId, int eosId,
        boolean addBos, PreTokenizer pre) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ByteLevelBpe {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        if (types.length != tokens.size()) {
            throw new BadInputException(types.length + " token types for " + tokens.size() + " tokens");
        }
        for (int id : new int[] {bosId, eosId}) {
            if (id < -1 || id >= tokens.size()) {
                throw new BadInputException("special token id " + id + " is outside the vocabulary [0, " + tokens.size() + ")");
            }
        }
        if (addBos && bosId < 0) {
            throw new BadInputException("add_bos_token is set but there is no BOS token");
        }
    }

    /**
     * How text is split before the merges, by the name llama.cpp gives it in {@code tokenizer.ggml.pre};
     * each is written as the pre-tokeniser of the model family's published {@code tokenizer.json}.
     */
    public enum PreTokenizer {
        /** GPT-2's regex inside the ByteLevel pre-tokeniser ({@code gpt2}, also llama.cpp's {@code default}). */
        GPT2("gpt2", null, false, false),
        /** Every digit alone, then GPT-2's regex (SmolLM, SmolLM2; StarCoder's scheme). */
        SMOLLM("smollm", null, true, false),
        /** Llama 3's regex (numbers in groups of up to three), ignore_merges. */
        LLAMA3("llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", false, true),
        /** Qwen2's regex (every digit alone). */
        QWEN2("qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", false, false);

        private final String ggufName;
        private final String splitRegex;
        private final boolean digits;
        private final boolean ignoreMerges;

        PreTokenizer(String ggufName, String splitRegex, boolean digits, boolean ignoreMerges) {
            this.ggufName = ggufName;
            this.splitRegex = splitRegex;
            this.digits = digits;
            this.ignoreMerges = ignoreMerges;
        }

        public String ggufName() {
            return ggufName;
        }

        /** By {@code tokenizer.ggml.pre} ({@code default} is GPT-2's). */
        public static Optional<PreTokenizer> byGgufName(String name) {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.equals("default")) {
                return Optional.of(GPT2);
            }
            return Arrays.stream(values()).filter(p -> p.ggufName.equals(n)).findFirst();
        }

        public static String names() {
            return String.join(", ", Arrays.stream(values()).map(PreTokenizer::ggufName).toList());
        }

        JsonNode json() {
            ObjectNode byteLevel = JSON.createObjectNode();
            byteLevel.put("type", "ByteLevel");
            byteLevel.put("add_prefix_space", false);
            byteLevel.put("trim_offsets", true);
            byteLevel.put("use_regex", splitRegex == null);
            if (splitRegex == null && !digits) {
                return byteLevel;
            }
            ObjectNode seq = JSON.createObjectNode();
            seq.put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            if (digits) {
                list.addObject().put("type", "Digits").put("individual_digits", true);
            }
            if (splitRegex != null) {
                ObjectNode split = list.addObject();
                split.put("type", "Split");
                split.putObject("pattern").put("Regex", splitRegex);
                split.put("behavior", "Isolated");
                split.put("invert", false);
            }
            list.add(byteLevel);
            return seq;
        }

        /** The one whose splitting {@code pre} (a {@code tokenizer.json} pre-tokeniser) performs, if any. */
        static Optional<PreTokenizer> of(JsonNode pre) {
            List<String> sig = signature(pre);
            return Arrays.stream(values()).filter(p -> signature(p.json()).equals(sig)).findFirst();
        }

        /** The steps that decide where text is split, without fields that do not (offsets, prefix space off). */
        private static List<String> signature(JsonNode pre) {
            List<String> out = new ArrayList<>();
            if (pre.path("type").asText().equals("Sequence")) {
                for (JsonNode p : pre.path("pretokenizers")) {
                    out.addAll(signature(p));
                }
                return out;
            }
            switch (pre.path("type").asText()) {
                case "ByteLevel" -> out.add("ByteLevel(regex=" + pre.path("use_regex").asBoolean(true) + ", prefix="
                        + pre.path("add_prefix_space").asBoolean(false) + ")");
                case "Digits" -> out.add("Digits(" + pre.path("individual_digits").asBoolean(false) + ")");
                case "Split" -> out.add("Split(" + pre.path("pattern").path("Regex").asText() + ", "
                        + pre.path("behavior").asText() + ", " + pre.path("invert").asBoolean(false) + ")");
                default -> out.add(pre.toString());
            }
            return out;
        }
    }

    /** The equivalent {@code tokenizer.json} text. */
    public String tokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < tokens.size(); i++) {
            if (types[i] == PieceType.CONTROL || types[i] == PieceType.USER_DEFINED || types[i] == PieceType.UNKNOWN) {
                ObjectNode a = added.addObject();
                a.put("id", i);
                a.put("content", tokens.get(i));
                a.put("single_word", false);
                a.put("lstrip", false);
                a.put("rstrip", false);
                a.put("normalized", false);
                a.put("special", types[i] != PieceType.USER_DEFINED);
            }
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", pre.json());
        if (addBos) {
            String bos = tokens.get(bosId);
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode st = post.putObject("special_tokens").putObject(bos);
            st.put("id", bos);
            st.putArray("ids").add(bosId);
            st.putArray("tokens").add(bos);
        } else {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "ByteLevel");
            post.put("add_prefix_space", true);
            post.put("trim_offsets", false);
            post.put("use_regex", true);
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
        model.put("ignore_merges", pre.ignoreMerges);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
        }
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        return root.toString();
    }

    /** Whether a {@code tokenizer.json} is a byte-level BPE (its decoder is ByteLevel). */
    static boolean isByteLevel(JsonNode root) {
        return "BPE".equals(root.path("model").path("type").asText())
                && "ByteLevel".equals(root.path("decoder").path("type").asText());
    }

    /** The vocabulary of a byte-level {@code tokenizer.json} (e.g. to write it into a GGUF file). */
    static ByteLevelBpe of(JsonNode root, String source, int bosId, int eosId, boolean addBos) {
        JsonNode model = root.path("model");
        Map<Integer, String> byId = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> byId.put(e.getValue().asInt(), e.getKey()));
        Map<Integer, PieceType> addedTypes = new HashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            byId.put(id, t.path("content").asText());
            addedTypes.put(id, t.path("special").asBoolean(false) ? PieceType.CONTROL : PieceType.USER_DEFINED);
        }
        int n = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        if (n != byId.size()) {
            throw new BadInputException(source + ": token ids are not contiguous from 0 (" + byId.size()
                    + " tokens, largest id " + (n - 1) + ")");
        }
        List<String> tokens = new ArrayList<>(n);
        PieceType[] types = new PieceType[n];
        for (int i = 0; i < n; i++) {
            tokens.add(byId.get(i));
            types[i] = addedTypes.getOrDefault(i, PieceType.NORMAL);
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }
        PreTokenizer pre = PreTokenizer.of(root.path("pre_tokenizer")).orElseThrow(() -> new BadInputException(source
                + ": its pre_tokenizer is none that GGUF can name (tokenizer.ggml.pre: " + PreTokenizer.names() + "): "
                + root.path("pre_tokenizer")));
        return new ByteLevelBpe(tokens, types, merges, bosId, eosId, addBos, pre);
    }
}
