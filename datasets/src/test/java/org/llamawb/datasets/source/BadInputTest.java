package org.llamawb.datasets.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.model.BadInputException;

/** Each kind of bad record is reported as file:line: reason, skipped and counted or failing the read. */
class BadInputTest {
    @TempDir
    Path dir;

    private static final String GOOD = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}";

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private Path jsonl(String name, String... lines) throws IOException {
        return write(name, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> problems(Path file, ReadOptions options) {
        try (ExampleStream s = DatasetReader.open(file, options)) {
            s.forEachRemaining(e -> {});
            return s.counts().firstProblems().stream().map(Problem::toString).toList();
        }
    }

    @Test
    void everyKindOfBadLineIsReportedWithFileAndLineAndTheGoodOnesAreKept() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String[] lines = {
            GOOD,                                                                                   // 1
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}",                            // 2 malformed
            "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}", // 3
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"  \"}]}", // 4
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",                          // 5 missing assistant
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}, {\"role\": \"user\", \"content\": \"c\"}]}", // 6
            "",                                                                                     // 7 blank: not a record
            GOOD,                                                                                   // 8
        };
        for (String l : lines) {
            bytes.write(l.getBytes(StandardCharsets.UTF_8));
            bytes.write('\n');
        }
        bytes.write("{\"messages\": [{\"role\": \"user\", \"content\": \"caf".getBytes(StandardCharsets.UTF_8)); // 9 invalid UTF-8
        bytes.write(new byte[] {(byte) 0xC3, (byte) 0x28});
        bytes.write("\"}, {\"role\": \"assistant\", \"content\": \"ok\"}]}\n".getBytes(StandardCharsets.UTF_8));
        bytes.write(("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(5000) + "\"}]}\n").getBytes(StandardCharsets.UTF_8)); // 10 long
        bytes.write((GOOD + "\n").getBytes(StandardCharsets.UTF_8)); // 11
        Path file = write("bad.jsonl", bytes.toByteArray());
        String f = file.toString();

        ReadOptions options = ReadOptions.skipping().withFormat(DataFormat.OPENAI).withMaxRecordBytes(4096);
        try (ExampleStream s = DatasetReader.open(file, options)) {
            List<Example> examples = new java.util.ArrayList<>();
            s.forEachRemaining(examples::add);
            assertEquals(List.of(1L, 8L, 11L), examples.stream().map(e -> e.origin().line()).toList());
            assertEquals(10, s.counts().records());
            assertEquals(7, s.counts().problems());
            List<String> p = s.counts().firstProblems().stream().map(Problem::toString).toList();
            assertEquals(f + ":2: malformed JSON: Unexpected end-of-input: expected close marker for Array at column 48", p.get(0));
            assertEquals(f + ":3: unknown role 'tool' in 'messages[0].role' (expected system, user or assistant)", p.get(1));
            assertEquals(f + ":4: empty assistant turn (turn 2)", p.get(2));
            assertEquals(f + ":5: missing assistant turn", p.get(3));
            assertEquals(f + ":6: conversation does not end with an assistant turn (last turn is user)", p.get(4));
            assertEquals(f + ":9: invalid UTF-8 at byte 47 of the line", p.get(5));
            assertEquals(f + ":10: line longer than 4096 bytes (the limit on one record)", p.get(6));
        }
    }

    @Test
    void failModeStopsAtTheFirstBadRecordWithItsLocation() throws IOException {
        Path file = jsonl("fail.jsonl", GOOD, GOOD, "{\"messages\": []}");
        BadInputException e = assertThrows(BadInputException.class,
                () -> DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.OPENAI)));
        assertEquals(file + ":3: no turns", e.getMessage());
    }

    @Test
    void aBrokenJsonArrayIsRefusedAtTheLineOfTheError() throws IOException {
        String json = "[\n {\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"gpt\", \"value\": \"b\"}]},\n"
                + " {\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"gpt\" \"value\": \"b\"}]},\n"
                + " {\"conversations\": []}\n]\n";
        Path file = write("broken.json", json.getBytes(StandardCharsets.UTF_8));
        // what follows a syntax error cannot be read or counted: the file is refused, even when skipping
        BadInputException e = assertThrows(BadInputException.class, () -> DatasetReader.readAll(file, ReadOptions.skipping()));
        assertEquals(file + ":3: malformed JSON: Unexpected character ('\"' (code 34)): was expecting comma to separate"
                + " Object entries; the rest of this JSON array cannot be read; the file is refused rather than cut short"
                + " (fix it, or write it as JSON lines, where a bad line is skipped alone)", e.getMessage());
    }

    @Test
    void invalidUtf8InsideAJsonArrayIsNamed() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write("[\n{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"gpt\", \"value\": \"b\"}]},\n{\"conversations\": [{\"from\": \"human\", \"value\": \"".getBytes(StandardCharsets.UTF_8));
        b.write(new byte[] {(byte) 0xFF, 'x'});
        b.write("\"}]}\n]".getBytes(StandardCharsets.UTF_8));
        Path file = write("utf8.json", b.toByteArray());
        List<String> p = problems(file, ReadOptions.skipping());
        assertEquals(List.of(file + ":3: invalid UTF-8 in the record starting at line 3"), p);
    }

    @Test
    void oneInvalidByteInAJsonArraySkipsOnlyItsRecord() throws IOException {
        // 41 records, one per line after '['; record 21 (line 22) holds a lone continuation byte. Before: "1 skipped"
        // and records 22-41 lost without a word.
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write("[\n".getBytes(StandardCharsets.UTF_8));
        for (int i = 1; i <= 41; i++) {
            b.write(("{\"conversations\": [{\"from\": \"human\", \"value\": \"q" + i).getBytes(StandardCharsets.UTF_8));
            if (i == 21) {
                b.write(0x80);
            }
            b.write(("\"}, {\"from\": \"gpt\", \"value\": \"caf\u00e9 " + i + "\"}]}" + (i < 41 ? "," : "") + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        b.write("]\n".getBytes(StandardCharsets.UTF_8));
        Path file = write("41.json", b.toByteArray());
        try (ExampleStream s = DatasetReader.open(file, ReadOptions.skipping())) {
            List<Example> ex = new java.util.ArrayList<>();
            s.forEachRemaining(ex::add);
            assertEquals(40, ex.size());
            assertEquals(41, s.counts().records());
            assertEquals(1, s.counts().problems());
            assertEquals(file + ":22: invalid UTF-8 in the record starting at line 22", s.counts().firstProblems().get(0).toString());
            List<Long> lines = ex.stream().map(e -> e.origin().line()).toList();
            assertEquals(java.util.stream.LongStream.rangeClosed(2, 42).filter(l -> l != 22).boxed().toList(), lines);
            // valid multi-byte text around the bad byte is untouched
            assertEquals("caf\u00e9 41", ((Conversation) ex.get(39)).messages().get(1).content());
        }
        BadInputException e = assertThrows(BadInputException.class, () -> DatasetReader.readAll(file, ReadOptions.failing()));
        assertEquals(file + ":22: invalid UTF-8 in the record starting at line 22", e.getMessage());
    }

    @Test
    void shareGptUnknownSpeakerAndMissingKeys() throws IOException {
        Path file = jsonl("sg.jsonl",
                "{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"robot\", \"value\": \"b\"}]}",
                "{\"conversations\": [{\"from\": \"human\"}, {\"from\": \"gpt\", \"value\": \"b\"}]}",
                "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"b\"}]}",
                "[1, 2]");
        List<String> p = problems(file, ReadOptions.skipping().withFormat(DataFormat.SHAREGPT));
        assertEquals(List.of(
                file + ":1: unknown role 'robot' in 'conversations[1].from' (expected human, gpt or system)",
                file + ":2: missing key 'conversations[0].value'",
                file + ":3: turn 1 is assistant, expected user (turns must alternate user/assistant after an optional system message)",
                file + ":4: record is a JSON array, expected an object for format sharegpt"), p);
    }

    @Test
    void gzipIsRecognisedByContentAndAlpacaWithoutOutputIsReported() throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(raw)) {
            gz.write(("{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}\n"
                    + "{\"instruction\": \"Add\", \"input\": \"1 2\"}\n").getBytes(StandardCharsets.UTF_8));
        }
        Path file = write("alpaca.data", raw.toByteArray());
        try (ExampleStream s = DatasetReader.open(file, ReadOptions.skipping())) {
            Conversation c = (Conversation) s.next();
            assertEquals("Add\n1 2", c.messages().get(0).content());
            assertEquals(false, s.hasNext());
            assertEquals(DataFormat.ALPACA, s.format());
            assertEquals(file + ":2: missing assistant turn: key 'output' is absent", s.counts().firstProblems().get(0).toString());
        }
    }

    @Test
    void undetectableFormatNamesTheKeysAndTheFlag() throws IOException {
        Path file = jsonl("odd.jsonl", "{\"q\": \"q\", \"a\": \"a\"}");
        BadInputException e = assertThrows(BadInputException.class, () -> DatasetReader.readAll(file, ReadOptions.skipping()));
        assertEquals(file + ":1: cannot detect the data format from this record's keys {q, a}; name it with"
                + " --format (one of " + DataFormat.names() + "), and map differently named fields with --columns"
                + " (recipe: format: and columns: on the data source)", e.getMessage());
    }

    @Test
    void unknownFormatNameListsTheKnownOnes() {
        BadInputException e = assertThrows(BadInputException.class, () -> DataFormat.parse("csv"));
        assertEquals("unknown data format 'csv'; expected one of sharegpt, openai, alpaca, oasst, oasst-pairs, preference,"
                + " hh, sharegpt-pairs, kto, prompts", e.getMessage());
    }

    @Test
    void preferenceShapesStringsListsAndImplicitPrompt() throws IOException {
        Path file = jsonl("pref.jsonl",
                "{\"prompt\": \"Q?\", \"chosen\": \"good\", \"rejected\": \"bad\"}",
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q?\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"good\"}],"
                        + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"bad\"}]}",
                "{\"chosen\": [{\"role\": \"user\", \"content\": \"Q?\"}, {\"role\": \"assistant\", \"content\": \"good\"}],"
                        + " \"rejected\": [{\"role\": \"user\", \"content\": \"Q?\"}, {\"role\": \"assistant\", \"content\": \"bad\"}]}",
                "{\"prompt\": \"Q?\", \"chosen\": \"good\", \"rejected\": \"\"}");
        try (ExampleStream s = DatasetReader.open(file, ReadOptions.skipping())) {
            List<Example> ex = new java.util.ArrayList<>();
            s.forEachRemaining(ex::add);
            assertEquals(DataFormat.PREFERENCE, s.format());
            assertEquals(3, ex.size());
            assertEquals(ex.get(0).getClass(), ex.get(2).getClass());
            var a = (org.llamawb.datasets.example.PreferencePair) ex.get(0);
            var c = (org.llamawb.datasets.example.PreferencePair) ex.get(2);
            assertEquals(a.prompt(), c.prompt());
            assertEquals(a.chosen(), c.chosen());
            assertEquals(file + ":4: empty assistant turn in rejected", s.counts().firstProblems().get(0).toString());
        }
    }
}
