package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;

/** Corrupt, truncated and hostile GGUF files are one-line errors naming the file, never a crash or OOM. */
class GgufCorruptFileTest {
    @TempDir
    Path tmp;

    private Path write(String name, byte[] b) throws IOException {
        return Files.write(tmp.resolve(name), b);
    }

    private BadInputException bad(Path p, String fragment) {
        BadInputException e = assertThrows(BadInputException.class, () -> GgufFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' in: " + e.getMessage());
        return e;
    }

    /** A header: magic, version, counts; then whatever {@code body} adds. */
    private static ByteBuffer header(int version, long tensors, long kvs) {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(version).putLong(tensors).putLong(kvs);
        return b;
    }

    private static void string(ByteBuffer b, String s) {
        byte[] x = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(x.length).put(x);
    }

    private static byte[] bytes(ByteBuffer b) {
        return Arrays.copyOf(b.array(), b.position());
    }

    @Test
    void truncatedRealFileAnywhere() throws IOException {
        byte[] good = Files.readAllBytes(TestData.require("models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf"));
        bad(write("cut-header.gguf", Arrays.copyOf(good, 10)), "truncated");
        bad(write("cut-vocab.gguf", Arrays.copyOf(good, 300_000)), "truncated");
        bad(write("cut-data.gguf", Arrays.copyOf(good, good.length - 100)), "extends past the end of the file");
        bad(write("empty.gguf", new byte[0]), "truncated");
    }

    @Test
    void badMagicVersionAndEndianness() throws IOException {
        bad(write("magic.gguf", "GGML and more bytes here".getBytes(StandardCharsets.US_ASCII)), "not a GGUF file");
        bad(write("v1.gguf", bytes(header(1, 0, 0))), "version 1 is not supported");
        bad(write("v9.gguf", bytes(header(9, 0, 0))), "unsupported GGUF version 9");
        bad(write("be.gguf", bytes(header(Integer.reverseBytes(3), 0, 0))), "big-endian");
    }

    @Test
    void hostileCountsAndLengthsAreRefusedBeforeAllocating() throws IOException {
        bad(write("kv.gguf", bytes(header(3, 0, Long.MAX_VALUE))), "metadata count");
        bad(write("tensors.gguf", bytes(header(3, -1, 0))), "tensor count");

        ByteBuffer s = header(3, 0, 1);
        s.putLong(1L << 40).put(new byte[64]); // key length 1 TiB
        bad(write("keylen.gguf", bytes(s)), "runs past the end of the file");

        ByteBuffer a = header(3, 0, 1);
        string(a, "big.array");
        a.putInt(GgufValueType.ARRAY.id()).putInt(GgufValueType.UINT32.id()).putLong(1L << 35);
        bad(write("array.gguf", bytes(a)), "'big.array': array length 34359738368 does not fit");

        ByteBuffer t = header(3, 0, 1);
        string(t, "weird");
        t.putInt(99);
        bad(write("type.gguf", bytes(t)), "'weird' has unknown value type 99");

        ByteBuffer nb = header(3, 0, 1);
        string(nb, "flag");
        nb.putInt(GgufValueType.BOOL.id()).put((byte) 7);
        bad(write("bool.gguf", bytes(nb)), "boolean byte is 7");

        ByteBuffer u = header(3, 0, 1);
        string(u, "utf");
        u.putInt(GgufValueType.STRING.id()).putLong(2).put((byte) 0xC3).put((byte) 0x28);
        bad(write("utf8.gguf", bytes(u)), "not valid UTF-8");
    }

    private static ByteBuffer oneTensor(long[] dims, int type, long offset) {
        ByteBuffer b = header(3, 1, 0);
        string(b, "w");
        b.putInt(dims.length);
        for (long d : dims) {
            b.putLong(d);
        }
        b.putInt(type).putLong(offset);
        return b;
    }

    @Test
    void badTensorInfos() throws IOException {
        bad(write("dims.gguf", bytes(oneTensor(new long[] {1, 1, 1, 1, 1}, 0, 0))), "has 5 dimensions");
        bad(write("zero.gguf", bytes(oneTensor(new long[] {0}, 0, 0))), "impossible dimension 0");
        bad(write("huge.gguf", bytes(oneTensor(new long[] {1L << 40, 1L << 40}, 0, 0))), "impossible dimension");
        bad(write("ttype.gguf", bytes(oneTensor(new long[] {4}, 77, 0))), "unknown ggml type id 77");
        bad(write("block.gguf", bytes(oneTensor(new long[] {33}, GgmlType.Q8_0.id(), 0))),
                "row length 33 is not a multiple of the Q8_0 block size 32");
        bad(write("align.gguf", bytes(oneTensor(new long[] {4}, 0, 3))), "not a multiple of the alignment 32");
        bad(write("past.gguf", bytes(oneTensor(new long[] {4}, 0, 1L << 40))), "extends past the end of the file");
    }

    @Test
    void unsupportedTypesNameTheTypeAndTensor() throws IOException {
        Path p = tmp.resolve("q5.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addRawTensor("blk.0.attn_q.weight", new long[] {32, 2}, GgmlType.Q5_0, new byte[2 * 22])
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> f.readFloats(f.tensor("blk.0.attn_q.weight").orElseThrow()));
            assertTrue(e.getMessage().contains("'blk.0.attn_q.weight' has type Q5_0, which cannot be loaded"),
                    e.getMessage());
        }
    }

    @Test
    void nonLlamaFilesAreRefusedByGgufWeights() throws IOException {
        Path p = tmp.resolve("other.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("blk.0.ffn_gate_exps.weight", new long[] {4}, GgmlType.F32, () -> new float[4])
                .write(p);
        BadInputException e = assertThrows(BadInputException.class, () -> GgufWeights.open(p).close());
        assertTrue(e.getMessage().contains("'blk.0.ffn_gate_exps.weight' is not a LLaMA tensor"), e.getMessage());
        Path q = tmp.resolve("gpt2.gguf");
        new GgufWriter().putString("general.architecture", "gpt2").write(q);
        e = assertThrows(BadInputException.class, () -> GgufWeights.open(q).close());
        assertTrue(e.getMessage().contains("general.architecture is 'gpt2'"), e.getMessage());
    }

    /** A tensor beyond 2 GiB into a (sparse) file is read through long offsets. */
    @Test
    void tensorBeyondTwoGibibytes() throws IOException {
        long offset = 3L << 30;
        ByteBuffer h = oneTensor(new long[] {64}, GgmlType.Q8_0.id(), offset);
        Path p = tmp.resolve("sparse.gguf");
        long dataStart = (h.position() + 31) / 32 * 32;
        ByteBuffer block = ByteBuffer.allocate(2 * 34).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < 2; b++) {
            block.putShort(Float16.fromFloat(0.5f));
            for (int j = 0; j < 32; j++) {
                block.put((byte) (j - 16 + b));
            }
        }
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.wrap(bytes(h)), 0);
            ch.write(block.flip(), dataStart + offset);
        }
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensor("w").orElseThrow();
            float[] v = f.readFloats(t);
            assertEquals(-8f, v[0]);
            assertEquals(7.5f, v[31]);
            assertEquals(-7.5f, v[32]);
            assertArrayEquals(v, f.readFloats(t, 34), 0f);
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
