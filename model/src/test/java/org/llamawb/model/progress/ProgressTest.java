package org.llamawb.model.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bar on a terminal, plain lines elsewhere, rate and ETA from a controlled clock. */
class ProgressTest {
    static final long SECOND = 1_000_000_000L;

    /** A clock the test moves. */
    static final class Clock {
        long now;
    }

    @Test
    void barRedrawsInPlaceWithRateAndEta() {
        Clock clock = new Clock();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (Progress p = Progress.of("convert", 200, "tensors", out, Progress.Style.BAR, () -> clock.now)) {
            clock.now = 10 * SECOND;
            p.advance(50);
            assertEquals("convert [######..................]  25% 50/200 tensors  5.0 tensors/s  ETA 0:30", p.bar(clock.now));
            clock.now += SECOND / 20; // too soon to redraw
            p.advance(1);
            clock.now = 20 * SECOND;
            p.set(100);
        }
        String s = bytes.toString(StandardCharsets.UTF_8);
        List<String> frames = List.of(s.split("\r", -1));
        assertEquals("", frames.get(0));
        assertEquals(4, frames.size(), "two frames (the 51st unit came too soon), then the final line: " + s);
        assertTrue(frames.get(1).startsWith("convert [######"), frames.get(1));
        assertTrue(frames.get(2).contains(" 50% 100/200 tensors  5.0 tensors/s  ETA 0:20"), frames.get(2));
        assertTrue(frames.get(3).startsWith("convert: 100 of 200 tensors in 0:20  5.0 tensors/s"), frames.get(3));
        assertTrue(frames.get(3).endsWith("\n"));
        assertFalse(s.substring(0, s.length() - 1).contains("\n"), "one terminal line until the end");
    }

    @Test
    void plainLinesAtEachTenthAndEveryThirtySeconds() {
        Clock clock = new Clock();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (Progress p = Progress.of("eval arc_easy", 1000, "requests", out, Progress.Style.PLAIN, () -> clock.now)) {
            for (int i = 0; i < 1000; i++) {
                clock.now += SECOND / 100;
                p.advance(1);
            }
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        // Quiet for two seconds, then the first line at once, each tenth, and the final line.
        assertEquals(9, lines.size(), String.join("\n", lines));
        assertEquals("eval arc_easy: 20% (200 of 1000 requests)  100.0 requests/s, ETA 0:08", lines.get(0));
        assertEquals("eval arc_easy: 30% (300 of 1000 requests)  100.0 requests/s, ETA 0:07", lines.get(1));
        assertEquals("eval arc_easy: 1000 requests in 0:10  100.0 requests/s", lines.get(8));

        // Slow work with no known total: a line every 30 s.
        bytes.reset();
        clock.now = 0;
        try (Progress p = Progress.of("download", -1, "B", out, Progress.Style.PLAIN, () -> clock.now)) {
            for (int i = 1; i <= 90; i++) {
                clock.now = i * SECOND;
                p.set(i * 2_500_000L);
            }
        }
        lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(List.of("download: 5.0 MB  2.5 MB/s", "download: 80.0 MB  2.5 MB/s", "download: 155.0 MB  2.5 MB/s",
                "download: 225.0 MB in 1:30  2.5 MB/s"), lines);

        // A quick task logs its final line only.
        bytes.reset();
        clock.now = 0;
        try (Progress p = Progress.of("convert", 47, "tensors", out, Progress.Style.PLAIN, () -> clock.now)) {
            for (int i = 0; i < 47; i++) {
                clock.now += SECOND / 100;
                p.advance(1);
            }
        }
        assertEquals("convert: 47 tensors in 0:00  100.0 tensors/s\n", bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void offShowsNothingAndEtaNeedsATotal() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Clock clock = new Clock();
        try (Progress p = Progress.of("x", 10, "steps", new PrintStream(bytes), Progress.Style.OFF, () -> clock.now)) {
            p.advance(5);
            assertEquals(5, p.done());
        }
        assertEquals(0, bytes.size());
        Progress unknown = Progress.of("y", -1, "steps", new PrintStream(bytes), Progress.Style.OFF, () -> clock.now);
        clock.now = SECOND;
        unknown.advance(3);
        assertNull(unknown.eta(clock.now));
        assertEquals("1:01:01", Progress.duration(3661 * SECOND));
        assertEquals("1.5 GB", Progress.bytes(1.5e9));
    }
}
