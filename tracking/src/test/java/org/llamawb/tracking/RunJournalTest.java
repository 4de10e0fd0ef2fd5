package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunJournalTest {

    @TempDir
    Path dir;

    @Test
    void eventsRoundTripIncludingNonFiniteValues() throws Exception {
        Path file = dir.resolve("journal.jsonl");
        try (RunJournal j = RunJournal.open(file)) {
            j.append(seq -> new JournalEvent.Started(seq, 5L, "id-1", "exp", "run", Map.of("method", "sft")));
            j.append(seq -> new JournalEvent.Metric(seq, "loss", Double.NaN, 3, 7L));
            j.append(seq -> new JournalEvent.Metric(seq, "grad_norm", Double.POSITIVE_INFINITY, 3, 7L));
            j.append(seq -> new JournalEvent.Param(seq, "train.lr", "0.001"));
        }
        List<JournalEvent> events = new RunJournal.Cursor(file, 0).next(100);
        assertEquals(4, events.size());
        assertEquals(new JournalEvent.Started(1, 5L, "id-1", "exp", "run", Map.of("method", "sft")), events.get(0));
        JournalEvent.Metric nan = assertInstanceOf(JournalEvent.Metric.class, events.get(1));
        assertTrue(Double.isNaN(nan.value()));
        assertEquals(Double.POSITIVE_INFINITY, ((JournalEvent.Metric) events.get(2)).value());
        assertEquals(new JournalEvent.Param(4, "train.lr", "0.001"), events.get(3));
        assertEquals(4, Files.readAllLines(file).size());
    }

    @Test
    void readerLeavesAHalfWrittenLineForLater() throws Exception {
        Path file = dir.resolve("journal.jsonl");
        try (RunJournal j = RunJournal.open(file)) {
            j.append(seq -> new JournalEvent.Tag(seq, "a", "1"));
        }
        Files.writeString(file, "{\"type\":\"tag\",\"seq\":2,\"key\":\"b\"", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        RunJournal.Cursor c = new RunJournal.Cursor(file, 0);
        assertEquals(1, c.next(10).size());
        assertEquals(0, c.next(10).size());
        Files.writeString(file, ",\"value\":\"2\"}\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertEquals(List.of(new JournalEvent.Tag(2, "b", "2")), c.next(10));
    }

    @Test
    void reopeningCutsATornLastLineAndContinuesTheSequence() throws Exception {
        Path file = dir.resolve("journal.jsonl");
        try (RunJournal j = RunJournal.open(file)) {
            j.append(seq -> new JournalEvent.Tag(seq, "a", "1"));
            j.append(seq -> new JournalEvent.Tag(seq, "b", "2"));
        }
        Files.writeString(file, "{\"type\":\"metric\",\"se", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (RunJournal j = RunJournal.open(file)) {
            assertEquals(2, j.lastSeq());
            j.append(seq -> new JournalEvent.Tag(seq, "c", "3"));
        }
        assertEquals(List.of(new JournalEvent.Tag(1, "a", "1"), new JournalEvent.Tag(2, "b", "2"),
                new JournalEvent.Tag(3, "c", "3")), new RunJournal.Cursor(file, 0).next(10));
    }
}
