package org.llamawb.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * A SentencePiece BPE vocabulary as an equivalent Hugging Face {@code tokenizer.json}, in the form
 * transformers' {@code LlamaConverter} gives Llama 2 (the "legacy" tokenizer published with it):
 *
 * <ul>
 *   <li>model: BPE over every piece, {@code byte_fallback}, unknown token {@code <unk>}, {@code fuse_unk};
 *       merges derived from the vocabulary: every split of a normal piece into two normal pieces, ranked
 *       by the piece's score (highest first; ties by id, then by the ids of the two halves). That is
 *       SentencePiece's own rule: of all adjacent pairs, merge the one whose joined piece scores highest.
 *       Only normal pieces take part, as in SentencePiece (byte, control and unknown pieces are never
 *       produced by merging: a literal {@code <0x0A>} in the text stays six characters).</li>
 *   <li>normaliser: prepend {@code ▁} (when {@code add_dummy_prefix}; Hugging Face skips empty text),
 *       then every space becomes {@code ▁}. No pre-tokeniser. Text between special tokens is normalised
 *       piece by piece, so each gets its own {@code ▁}, as in Llama 2's published tokenizer.json.</li>
 *   <li>decoder: {@code ▁} to space, byte fallback, fuse, strip one leading space.</li>
 *   <li>added tokens: unknown and control pieces as special tokens, user-defined pieces as plain added
 *       tokens, none normalised. A post-processor that prepends {@code <s>} (transformers' default).</li>
 * </ul>
 */
public final class LlamaTokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SPACE = "\u2581";

    private LlamaTokenizerJson() {}

    /** The {@code tokenizer.json} text for {@code v}. */
    public static String of(SpmVocabulary v) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < v.size(); i++) {
            PieceType t = v.types()[i];
            if (t == PieceType.UNKNOWN || t == PieceType.CONTROL || t == PieceType.USER_DEFINED) {
                ObjectNode a = added.addObject();
                a.put("id", i);
                a.put("content", v.pieces().get(i));
                a.put("single_word", false);
                a.put("lstrip", false);
                a.put("rstrip", false);
                a.put("normalized", false);
                a.put("special", t != PieceType.USER_DEFINED);
            }
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode norms = norm.putArray("normalizers");
        if (v.addDummyPrefix()) {
            norms.addObject().put("type", "Prepend").put("prepend", SPACE);
        }
        ObjectNode replace = norms.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");
        if (v.bosId() >= 0) {
            String bos = v.pieces().get(v.bosId());
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
            st.putArray("ids").add(v.bosId());
            st.putArray("tokens").add(bos);
        } else {
            root.putNull("post_processor");
        }
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode decs = dec.putArray("decoders");
        ObjectNode r = decs.addObject().put("type", "Replace");
        r.putObject("pattern").put("String", SPACE);
        r.put("content", " ");
        decs.addObject().put("type", "ByteFallback");
        decs.addObject().put("type", "Fuse");
        if (v.addDummyPrefix()) {
            decs.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        }
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", v.pieces().get(v.unkId()));
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < v.size(); i++) {
            vocab.put(v.pieces().get(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        for (int[] m : merges(v)) {
            merges.addArray().add(v.pieces().get(m[0])).add(v.pieces().get(m[1]));
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** BPE merges as {left id, right id}, in rank order (see the class comment). */
    static List<int[]> merges(SpmVocabulary v) {
        Map<String, Integer> normal = new HashMap<>();
        for (int i = 0; i < v.size(); i++) {
            if (v.types()[i] == PieceType.NORMAL) {
                normal.put(v.pieces().get(i), i);
            }
        }
        // {piece id, left id, right id}
        List<int[]> found = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (v.types()[i] != PieceType.NORMAL) {
                continue;
            }
            String p = v.pieces().get(i);
            for (int k = p.offsetByCodePoints(0, 1); k < p.length(); k = p.offsetByCodePoints(k, 1)) {
                Integer l = normal.get(p.substring(0, k));
                Integer r = normal.get(p.substring(k));
                if (l != null && r != null) {
                    found.add(new int[] {i, l, r});
                }
            }
        }
        float[] scores = v.scores();
        found.sort(Comparator.<int[]>comparingDouble(m -> -scores[m[0]])
                .thenComparingInt(m -> m[0]).thenComparingInt(m -> m[1]).thenComparingInt(m -> m[2]));
        List<int[]> out = new ArrayList<>(found.size());
        for (int[] m : found) {
            out.add(new int[] {m[1], m[2]});
        }
        return out;
    }

    /**
     * Recovers the SentencePiece view of a Llama-style {@code tokenizer.json} (e.g. to write it into a
     * GGUF file): types from the added tokens and byte-piece spelling, scores from the merge ranks (a
     * piece scores minus the rank of the first merge producing it; pieces no merge produces score below
     * every merge, by id), which orders merges exactly as the file does.
     */
    static SpmVocabulary vocabularyOf(JsonNode root, String source) {
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText()) || !model.path("byte_fallback").asBoolean(false)) {
            throw new BadInputException(source + ": not a SentencePiece-style vocabulary (a BPE model with"
                    + " byte_fallback, as LLaMA and Llama 2 use)");
        }
        Map<Integer, String> byId = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> byId.put(e.getValue().asInt(), e.getKey()));
        Map<Integer, PieceType> addedTypes = new HashMap<>();
        String unk = model.path("unk_token").asText("<unk>");
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            String content = t.path("content").asText();
            byId.put(id, content);
            addedTypes.put(id, !t.path("special").asBoolean(false) ? PieceType.USER_DEFINED
                    : content.equals(unk) ? PieceType.UNKNOWN : PieceType.CONTROL);
        }
        int n = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        if (n != byId.size()) {
            throw new BadInputException(source + ": token ids are not contiguous from 0 (" + byId.size()
                    + " tokens, largest id " + (n - 1) + ")");
        }
        List<String> pieces = new ArrayList<>(n);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < n; i++) {
            pieces.add(byId.get(i));
            ids.put(byId.get(i), i);
        }
        PieceType[] types = new PieceType[n];
        for (int i = 0; i < n; i++) {
            types[i] = addedTypes.containsKey(i) ? addedTypes.get(i)
                    : SpmVocabulary.isBytePiece(pieces.get(i)) ? PieceType.BYTE : PieceType.NORMAL;
        }
        float[] scores = new float[n];
        Arrays.fill(scores, Float.NaN);
        JsonNode merges = model.path("merges");
        int rank = 0;
        for (JsonNode m : merges) {
            String joined;
            if (m.isArray() && m.size() == 2) {
                joined = m.get(0).asText() + m.get(1).asText();
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ');
                if (sp < 0) {
                    throw new BadInputException(source + ": merge '" + s + "' is not two pieces");
                }
                joined = s.substring(0, sp) + s.substring(sp + 1);
            }
            Integer id = ids.get(joined);
            if (id != null && Float.isNaN(scores[id])) {
                scores[id] = -rank;
            }
            rank++;
        }
        Set<PieceType> zero = new HashSet<>(List.of(PieceType.UNKNOWN, PieceType.CONTROL, PieceType.BYTE));
        for (int i = 0; i < n; i++) {
            if (Float.isNaN(scores[i])) {
                scores[i] = zero.contains(types[i]) ? 0 : -(rank + i);
            }
        }
        int unkId = ids.getOrDefault(unk, 0);
        JsonNode norm = root.path("normalizer");
        boolean prefix = norm.toString().contains("\"Prepend\"") || root.path("pre_tokenizer").toString()
                .contains("Metaspace");
        return new SpmVocabulary(pieces, scores, types, unkId, ids.getOrDefault("<s>", -1),
                ids.getOrDefault("</s>", -1), prefix);
    }
}
