package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.tokenizer.TinyBpe;

/**
 * {@code export --format gguf} of a model with a byte-level BPE tokenizer (SmolLM2/Qwen style) writes its
 * vocabulary as llama.cpp's {@code gpt2} model; the file brings its own tokenizer and is mode 0644.
 */
class ExportGgufByteLevelTest {
    @TempDir
    Path tmp;

    static String run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Workbench.standard().run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void exportedGgufCarriesTheByteLevelTokenizer() throws Exception {
        TinyBpe bpe = new TinyBpe(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        Path tok = Files.createDirectories(tmp.resolve("tok"));
        Files.writeString(tok.resolve("tokenizer.json"), bpe.tokenizerJson(null));
        Files.writeString(tok.resolve("tokenizer_config.json"), "{\"bos_token\": null, \"eos_token\": \"<|im_end|>\"}");
        Path model = tmp.resolve("model");
        run("model", "init", "--out", model.toString(), "--tokenizer", tok.toString(), "--dim", "16", "--layers", "1",
                "--heads", "2", "--hidden", "32", "--max-positions", "64");
        Path gguf = tmp.resolve("model.gguf");
        run("export", "--format", "gguf", "--model", model.toString(), "--dtype", "f32", "--out", gguf.toString());
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(gguf)));

        try (LlamaTokenizer original = LlamaTokenizer.load(tok); LlamaTokenizer fromGguf = LlamaTokenizer.load(gguf)) {
            for (String text : List.of("hello the world", "<|im_start|>user\nhi<|im_end|>", "café 12 🦙")) {
                assertArrayEquals(original.encode(text, false), fromGguf.encode(text, false), text);
            }
            assertEquals(-1, fromGguf.bosId());
            assertEquals(2, fromGguf.eosId());
        }
        // The GGUF file alone generates what the directory does (same weights, same tokenizer, no BOS added).
        String[] gen = {"generate", "--prompt", "hello the world", "--temperature", "0", "--max-new-tokens", "6", "--model"};
        String fromDir = run(concat(gen, model.toString()));
        String fromFile = run(concat(gen, gguf.toString()));
        assertEquals(fromDir, fromFile);
        assertTrue(fromDir.length() > 1, fromDir);
    }

    private static String[] concat(String[] a, String b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = b;
        return r;
    }
}
