package org.llamawb.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.llamawb.model.TestData;

/**
 * The converted vocabularies against the real LLaMA tokenizer's published test vectors: llama2.c's
 * {@code test.c} (BOS included) and llama.cpp's {@code ggml-vocab-llama-spm} cases (no BOS).
 */
class TokenizerParityTest {
    private static LlamaTokenizer fromModel;
    private static LlamaTokenizer fromBin;

    @BeforeAll
    static void load() {
        Path dir = TestData.require("tokenizers/llama");
        fromModel = LlamaTokenizer.load(dir.resolve("tokenizer.model"));
        fromBin = LlamaTokenizer.load(dir.resolve("tokenizer.bin"));
    }

    @AfterAll
    static void close() {
        if (fromModel != null) {
            fromModel.close();
            fromBin.close();
        }
    }

    /** Prompt → expected ids from llama2.c's test.c, in file order. */
    static Map<String, int[]> llama2cCases(Path testC) throws IOException {
        String c = Files.readString(testC, StandardCharsets.UTF_8);
        Map<String, String> prompts = new LinkedHashMap<>();
        Matcher p = Pattern.compile("char\\s*\\*\\s*prompt(\\d*)\\s*=\\s*\"((?:[^\"\\\\]|\\\\.)*)\";").matcher(c);
        while (p.find()) {
            prompts.put(p.group(1), unescapeC(p.group(2)));
        }
        Map<String, int[]> cases = new LinkedHashMap<>();
        Matcher e = Pattern.compile("int\\s+expected_tokens(\\d*)\\[\\]\\s*=\\s*\\{([^}]*)\\};").matcher(c);
        while (e.find()) {
            int[] ids = Arrays.stream(e.group(2).split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
            cases.put(prompts.get(e.group(1)), ids);
        }
        return cases;
    }

    private static String unescapeC(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch != '\\') {
                b.append(ch);
                continue;
            }
            char n = s.charAt(++i);
            b.append(switch (n) {
                case 'n' -> '\n';
                case 't' -> '\t';
                default -> n;
            });
        }
        return b.toString();
    }

    @Test
    void llama2cTestVectorsFromTokenizerModelAndBin() throws IOException {
        Map<String, int[]> cases = llama2cCases(TestData.require("tokenizers/llama/llama2c-test.c.txt"));
        assertEquals(5, cases.size(), "test.c has five prompts");
        assertTrue(cases.containsKey("I believe the meaning of life is"));
        for (var e : cases.entrySet()) {
            assertArrayEquals(e.getValue(), fromModel.encode(e.getKey(), true), "tokenizer.model: " + e.getKey());
            assertArrayEquals(e.getValue(), fromBin.encode(e.getKey(), true), "tokenizer.bin: " + e.getKey());
        }
    }

    /** llama.cpp's cases: strings separated by "\n__ggml_vocab_test__\n" (each followed by it), ids one line each. */
    static List<Map.Entry<String, int[]>> llamaCppCases(Path inp, Path out) throws IOException {
        String text = Files.readString(inp, StandardCharsets.UTF_8);
        String sep = "\n__ggml_vocab_test__\n";
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        for (int next; (next = text.indexOf(sep, pos)) >= 0; pos = next + sep.length()) {
            inputs.add(text.substring(pos, next));
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(inputs.size(), lines.size(), "one .out line per .inp case");
        List<Map.Entry<String, int[]>> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String l = lines.get(i).trim();
            int[] ids = l.isEmpty() ? new int[0] : Arrays.stream(l.split("\\s+")).mapToInt(Integer::parseInt).toArray();
            cases.add(Map.entry(inputs.get(i), ids));
        }
        return cases;
    }

    @Test
    void llamaCppVocabCasesFromItsGguf() throws IOException {
        Path dir = TestData.require("tokenizers/llamacpp-vocab-llama-spm");
        List<Map.Entry<String, int[]>> cases = llamaCppCases(dir.resolve("ggml-vocab-llama-spm.gguf.inp"),
                dir.resolve("ggml-vocab-llama-spm.gguf.out"));
        assertEquals(46, cases.size());
        List<String> failures = new ArrayList<>();
        try (LlamaTokenizer gguf = LlamaTokenizer.load(dir.resolve("ggml-vocab-llama-spm.gguf"))) {
            for (var c : cases) {
                for (var t : List.of(Map.entry("gguf", gguf), Map.entry("model", fromModel), Map.entry("bin", fromBin))) {
                    int[] got = t.getValue().encode(c.getKey(), false);
                    if (!Arrays.equals(c.getValue(), got)) {
                        failures.add(t.getKey() + " " + quote(c.getKey()) + ": expected " + Arrays.toString(c.getValue())
                                + " got " + Arrays.toString(got));
                    }
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    static String quote(String s) {
        return '"' + s.replace("\n", "\\n").replace("\t", "\\t") + '"';
    }
}
