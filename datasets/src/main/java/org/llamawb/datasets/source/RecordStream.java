package org.llamawb.datasets.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.llamawb.datasets.example.Origin;

/**
 * The raw records of one file, one at a time, with the line each starts on.
 *
 * <p>Gzip is recognised by its magic bytes, not the file name. The first non-blank byte chooses the
 * layout: {@code [} a JSON array (read with Jackson's streaming parser, one element at a time), anything
 * else JSON lines (one record per line, each line checked as UTF-8 and parsed on its own, so a bad line
 * is skipped and the next one read). In an array invalid UTF-8 is repaired on the way in ({@link
 * Utf8Repair}) so the parser reads on and only the record holding it is bad; a syntax error leaves the
 * parser nowhere to resume, so it is a problem that ends the file ({@link Bad#endsFile()}: records may
 * follow that cannot be read, or counted).
 */
final class RecordStream implements RecordSource {

    /** One step of the stream: a record, or a problem (which may end the file). */
    sealed interface Item permits Record, Bad {}

    record Record(JsonNode node, Origin origin) implements Item {}

    record Bad(Problem problem, boolean endsFile) implements Item {}

    private final String name;
    private final InputStream in;
    private final int maxRecordBytes;
    private final ObjectMapper mapper;
    private final ObjectMapper elementMapper;
    private final boolean array;
    private final LineReader lines;
    private final JsonParser parser;
    private final Utf8Repair repair;
    private final long lineOffset;
    private boolean done;

    RecordStream(Path file, int maxRecordBytes) throws IOException {
        this.name = file.toString();
        this.maxRecordBytes = maxRecordBytes;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(maxRecordBytes).build())
                .build();
        // A JSONL line must hold exactly one value; an array element is followed by the rest of the array.
        this.mapper = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.elementMapper = new ObjectMapper(factory);
        InputStream raw = Files.newInputStream(file);
        InputStream buffered = new java.io.BufferedInputStream(raw, 1 << 16);
        buffered.mark(2);
        int b0 = buffered.read();
        int b1 = buffered.read();
        buffered.reset();
        this.in = (b0 == 0x1f && b1 == 0x8b) ? new java.io.BufferedInputStream(new GZIPInputStream(buffered, 1 << 16), 1 << 16) : buffered;
        this.lines = new LineReader(in, maxRecordBytes);
        // Peek the first meaningful byte (after a UTF-8 BOM and blank lines) to choose the layout.
        long blankLines = lines.skipBlank();
        int first = lines.peek();
        this.array = first == '[';
        this.lineOffset = blankLines;
        if (array) {
            this.repair = new Utf8Repair(lines.remainder());
            this.parser = factory.setCodec(elementMapper).createParser(repair);
            this.parser.nextToken(); // the '[' peeked above
            this.done = false;
        } else {
            this.parser = null;
            this.repair = null;
            this.done = first < 0;
        }
    }

    /** The next record or problem, or null at the end of the file. */
    @Override
    public Item next() throws IOException {
        if (done) {
            return null;
        }
        return array ? nextElement() : nextLine();
    }

    private Item nextElement() throws IOException {
        try {
            JsonToken t = parser.nextToken();
            if (t == null) {
                done = true;
                // nothing follows, so nothing is lost: a problem like any other
                return new Bad(new Problem(origin(parser.currentLocation().getLineNr()),
                        "malformed JSON: the array is not closed with ']'"), false);
            }
            if (t == JsonToken.END_ARRAY) {
                done = true;
                return null;
            }
            long line = parser.currentTokenLocation().getLineNr();
            JsonNode node = elementMapper.readTree(parser);
            long bad = repair.firstBadLine(line, parser.currentLocation().getLineNr());
            if (bad > 0) {
                return new Bad(new Problem(origin(bad), "invalid UTF-8 in the record starting at line "
                        + (line + lineOffset)), false);
            }
            return new Record(node, origin(line));
        } catch (JsonProcessingException e) {
            done = true;
            long line = e.getLocation() == null ? 1 : Math.max(1, e.getLocation().getLineNr());
            return new Bad(new Problem(origin(line), jsonReason(e.getOriginalMessage())
                    + "; the rest of this JSON array cannot be read"), true);
        }
    }

    private Item nextLine() throws IOException {
        while (true) {
            LineReader.Line line = lines.next();
            if (line == null) {
                done = true;
                return null;
            }
            Origin origin = origin(line.number());
            if (line.tooLong()) {
                return new Bad(new Problem(origin, "line longer than " + maxRecordBytes + " bytes (the limit on one record)"), false);
            }
            if (line.isBlank()) {
                continue;
            }
            String text;
            try {
                text = decodeUtf8(line.bytes(), line.length());
            } catch (BadRecord e) {
                return new Bad(new Problem(origin, e.getMessage()), false);
            }
            try {
                return new Record(mapper.readTree(text), origin);
            } catch (JsonProcessingException e) {
                return new Bad(new Problem(origin, jsonReason(e.getOriginalMessage())
                        + (e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr())), false);
            }
        }
    }

    private static String jsonReason(String jacksonMessage) {
        String first = jacksonMessage == null ? "" : jacksonMessage.lines().findFirst().orElse("");
        int detail = first.indexOf(" (start marker at");
        if (detail > 0) {
            first = first.substring(0, detail);
        }
        if (first.contains("UTF-8") || first.contains("UTF8")) {
            return "invalid UTF-8 (" + first + ")";
        }
        return "malformed JSON: " + first;
    }

    private static String decodeUtf8(byte[] bytes, int length) throws BadRecord {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer bb = ByteBuffer.wrap(bytes, 0, length);
        CharBuffer cb = CharBuffer.allocate(length);
        CoderResult r = dec.decode(bb, cb, true);
        if (r.isError()) {
            throw new BadRecord("invalid UTF-8 at byte " + (bb.position() + 1) + " of the line");
        }
        dec.flush(cb);
        cb.flip();
        return cb.toString();
    }

    private Origin origin(long line) {
        return new Origin(name, line + lineOffset);
    }

    @Override
    public void close() throws IOException {
        if (parser != null) {
            parser.close();
        }
        in.close();
    }
}
