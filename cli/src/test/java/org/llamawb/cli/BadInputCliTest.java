package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.Fixtures;
import org.llamawb.model.TestData;

/** Bad files given to the CLI: one line naming the file, key or tensor, exit code 2, never a stack trace. */
class BadInputCliTest {
    @TempDir
    Path tmp;

    record Outcome(int code, String err) {}

    static Outcome run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, err.toString(StandardCharsets.UTF_8).trim());
    }

    static void assertOneLine(Outcome o, String... mustContain) {
        assertEquals(2, o.code(), o.err());
        assertEquals(1, o.err().lines().count(), "one line: " + o.err());
        assertTrue(o.err().startsWith("error: "), o.err());
        for (String s : mustContain) {
            assertTrue(o.err().contains(s), "'" + s + "' missing in: " + o.err());
        }
    }

    /** A copy of the gqa fixture model that a test may break. */
    Path modelCopy(String name) throws Exception {
        Path src = Fixtures.path("hf/gqa");
        Path dst = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(src.resolve(f), dst.resolve(f));
        }
        return dst;
    }

    /** File flags take Hub sources (resolved in Flags.existing); a malformed one shows the syntax. */
    @Test
    void malformedHubSource() {
        assertOneLine(run("generate", "--model", "hf:stories260K.bin"), "'hf:stories260K.bin': expected hf:ORG/NAME[@REVISION][/PATH]");
        assertOneLine(run("data", "inspect", "--data", "hf:datasets/o/n#no split", "--tokenizer", "x"),
                "hf:datasets/o/n#no split: expected a split name after '#'");
    }

    @Test
    void truncatedSafetensors() throws Exception {
        Path m = modelCopy("truncated");
        byte[] all = Files.readAllBytes(m.resolve("model.safetensors"));
        Files.write(m.resolve("model.safetensors"), Arrays.copyOf(all, all.length / 2));
        assertOneLine(run("model", "inspect", m.toString()), "model.safetensors");
    }

    @Test
    void wrongShapeAndMissingTensorAndMissingConfigKey() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Path shape = modelCopy("shape");
        ObjectNode c = (ObjectNode) json.readTree(shape.resolve("config.json").toFile());
        c.put("intermediate_size", 65);
        json.writeValue(shape.resolve("config.json").toFile(), c);
        assertOneLine(run("model", "inspect", shape.toString()), "gate_proj.weight", "expected shape", "[65, 32]");

        Path missing = modelCopy("missing");
        c = (ObjectNode) json.readTree(missing.resolve("config.json").toFile());
        c.put("num_hidden_layers", 3);
        json.writeValue(missing.resolve("config.json").toFile(), c);
        assertOneLine(run("model", "inspect", missing.toString()), "missing tensor", "model.layers.2");

        Path key = modelCopy("key");
        c = (ObjectNode) json.readTree(key.resolve("config.json").toFile());
        c.remove("hidden_size");
        json.writeValue(key.resolve("config.json").toFile(), c);
        assertOneLine(run("model", "inspect", key.toString()), "config.json", "hidden_size");
    }

    @Test
    void unknownLlama2cVersion() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x616b3432).putInt(7); // "ak42", version 7
        Path f = Files.write(tmp.resolve("model.bin"), b.array());
        assertOneLine(run("model", "inspect", f.toString()), "model.bin", "unsupported llama2.c version 7");
    }

    @Test
    void corruptTokenizerFile() throws Exception {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        Path tok = Files.write(tmp.resolve("tokenizer.model"), new byte[] {10, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2});
        assertOneLine(run("generate", "--model", stories.toString(), "--tokenizer", tok.toString(), "--max-new-tokens", "2"),
                "tokenizer.model");
        Path json = Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"vocab\": ");
        assertOneLine(run("generate", "--model", stories.toString(), "--tokenizer", json.toString(), "--max-new-tokens", "2"),
                "tokenizer.json");
    }

    @Test
    void usageErrorsNameTheFlag() {
        assertOneLine(run("generate", "--model"), "--model");
        assertOneLine(run("generate", "--model", "nowhere"), "--model", "nowhere");
        assertOneLine(run("frobnicate"), "unknown command 'frobnicate'");
    }
}
