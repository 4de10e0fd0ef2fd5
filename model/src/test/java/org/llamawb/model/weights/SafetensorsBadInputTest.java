package org.llamawb.model.weights;

import static org.llamawb.model.weights.Fixtures.assertBad;
import static org.llamawb.model.weights.Fixtures.rawSafetensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt safetensors files: each is one line naming the file (and tensor), never a crash. */
class SafetensorsBadInputTest {
    @TempDir
    Path tmp;

    private static final String TWO = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";

    @Test
    void aWellFormedRawFileOpens() throws Exception {
        Path f = rawSafetensors(tmp.resolve("ok.safetensors"), TWO, new byte[12]);
        try (Safetensors st = Safetensors.open(f)) {
            org.junit.jupiter.api.Assertions.assertEquals(java.util.Set.of("a", "b"), st.names());
        }
    }

    @Test
    void truncatedFileNamesTheCutTensor() throws Exception {
        Path good = tmp.resolve("good.safetensors");
        new SafetensorsWriter(StorageType.F32).add("x.weight", new float[64], 8, 8).add("y", new float[4], 4).writeFile(good);
        byte[] all = Files.readAllBytes(good);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 10));
        assertBad(() -> Safetensors.open(cut), "cut.safetensors", "tensor 'y'", "truncated");
    }

    @Test
    void fileCutInsideTheHeader() throws Exception {
        Path good = tmp.resolve("good.safetensors");
        new SafetensorsWriter(StorageType.F32).add("x", new float[4], 4).writeFile(good);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(good), 20));
        assertBad(() -> Safetensors.open(cut), "cut.safetensors", "points past the end of the file (20 bytes)");
    }

    @Test
    void headerLengthPastEndOfFile() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Path f = Files.write(tmp.resolve("huge.safetensors"), b.array());
        assertBad(() -> Safetensors.open(f), "huge.safetensors", "header length 1099511627776 points past the end");
        ByteBuffer neg = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN).putLong(-5);
        Path g = Files.write(tmp.resolve("neg.safetensors"), neg.array());
        assertBad(() -> Safetensors.open(g), "neg.safetensors", "header length 18446744073709551611");
    }

    @Test
    void tooShortAndNotJson() throws Exception {
        Path tiny = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
        assertBad(() -> Safetensors.open(tiny), "tiny.safetensors", "3 bytes is too short");
        Path notJson = rawSafetensors(tmp.resolve("text.safetensors"), "hello world", new byte[0]);
        assertBad(() -> Safetensors.open(notJson), "text.safetensors", "does not start with '{'");
        Path broken = rawSafetensors(tmp.resolve("broken.safetensors"), "{\"a\": {\"dtype\": ", new byte[0]);
        assertBad(() -> Safetensors.open(broken), "broken.safetensors", "not valid JSON");
        Path trailing = rawSafetensors(tmp.resolve("trailing.safetensors"), "{} xyz", new byte[0]);
        assertBad(() -> Safetensors.open(trailing), "trailing.safetensors", "not valid JSON");
        Path dup = rawSafetensors(tmp.resolve("dup.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertBad(() -> Safetensors.open(dup), "dup.safetensors", "Duplicate field 'a'");
    }

    @Test
    void offsetsInconsistentWithDtypeAndShape() throws Exception {
        Path f = rawSafetensors(tmp.resolve("shape.safetensors"),
                "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", new byte[24]);
        assertBad(() -> Safetensors.open(f), "shape.safetensors", "tensor 'w'", "hold 24 bytes but F16 [2, 3] needs 12");
        Path back = rawSafetensors(tmp.resolve("back.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", new byte[8]);
        assertBad(() -> Safetensors.open(back), "tensor 'w'", "end before they begin");
        Path negative = rawSafetensors(tmp.resolve("negative.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertBad(() -> Safetensors.open(negative), "tensor 'w'", "'shape' must hold non-negative integers");
        Path overflow = rawSafetensors(tmp.resolve("overflow.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", new byte[4]);
        assertBad(() -> Safetensors.open(overflow), "tensor 'w'", "too large");
        Path missing = rawSafetensors(tmp.resolve("missing.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}",
                new byte[4]);
        assertBad(() -> Safetensors.open(missing), "tensor 'w'", "'data_offsets' must be an array of 2");
    }

    @Test
    void overlappingGappedAndTrailingData() throws Exception {
        Path overlap = rawSafetensors(tmp.resolve("overlap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        assertBad(() -> Safetensors.open(overlap), "overlap.safetensors", "tensor 'b' starts at byte 4", "overlap");
        Path gap = rawSafetensors(tmp.resolve("gap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]);
        assertBad(() -> Safetensors.open(gap), "gap.safetensors", "tensor 'b'", "leave a gap");
        Path trailing = rawSafetensors(tmp.resolve("extra.safetensors"), TWO, new byte[16]);
        assertBad(() -> Safetensors.open(trailing), "extra.safetensors", "4 bytes follow the last tensor 'b'");
    }

    @Test
    void unsupportedDtypesAreNamed() throws Exception {
        for (String dtype : new String[] {"I8", "F64", "I64", "BOOL", "F8_E4M3"}) {
            Path f = rawSafetensors(tmp.resolve(dtype + ".safetensors"),
                    "{\"ids\":{\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
            assertBad(() -> Safetensors.open(f), dtype + ".safetensors", "tensor 'ids'", "dtype " + dtype
                    + " is not supported (supported: F32, F16, BF16)");
        }
    }

    @Test
    void badMetadataAndUnknownTensor() throws Exception {
        Path meta = rawSafetensors(tmp.resolve("meta.safetensors"), "{\"__metadata__\":{\"format\":3}}", new byte[0]);
        assertBad(() -> Safetensors.open(meta), "meta.safetensors", "__metadata__.format must be a string");
        Path f = rawSafetensors(tmp.resolve("ok.safetensors"), TWO, new byte[12]);
        try (Safetensors st = Safetensors.open(f)) {
            assertBad(() -> st.info("c"), "ok.safetensors", "no tensor named 'c'");
        }
    }
}
