package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.llamawb.model.progress.Progress.Style;

/** The trainer's step line: the plain format logs and docs read, the bar on a terminal, nothing when off. */
class ProgressTest {
    private static final long SECOND = 1_000_000_000L;

    private final long[] now = {0};
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private Progress progress(Style style) {
        // Resumed at step 100 of 400; 2,000 tokens per step below.
        return new Progress(out, 100, 400, "hybrid", style, () -> now[0]);
    }

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void plainLinesKeepTheirFormat() {
        Progress p = progress(Style.PLAIN);
        p.addTokens(40_000);
        now[0] = 20 * SECOND; // 20 steps in 20 s: 280 steps left take 280 s; 40,000 tokens in 20 s
        p.line(120, 1.87344, 1.86e-4, 0.5121);
        assertEquals("step 120/400 | loss 1.8734 | lr 1.86e-04 | grad_norm 0.512 | 2,000 tok/s | remat hybrid | ETA 4m40s\n",
                text());
    }

    @Test
    void barRedrawsInPlaceAndEndsTheLineAtTheLastStep() {
        Progress p = progress(Style.BAR);
        p.addTokens(40_000);
        now[0] = 20 * SECOND;
        p.line(120, 1.87344, 1.86e-4, 0.5121);
        String first = text();
        // 120 of 400 steps: 30 %, 7 of 24 cells.
        assertEquals("\rstep 120/400 [#######.................]  30% | loss 1.8734 | lr 1.86e-04 | grad_norm 0.512"
                + " | 2,000 tok/s | remat hybrid | ETA 4m40s", first);
        assertFalse(first.contains("\n"), "no newline while redrawing in place");

        now[0] = 300 * SECOND;
        p.line(400, 1.5, 0, 0.25);
        String last = text().substring(first.length());
        assertTrue(last.startsWith("\rstep 400/400 [########################] 100% | loss 1.5000"), last);
        assertTrue(last.endsWith("\n") && last.stripTrailing().endsWith("ETA 0m00s"), last);
    }

    @Test
    void aMessageClearsTheBarAndTakesALineOfItsOwn() {
        Progress p = progress(Style.BAR);
        p.line(120, 1.87344, 1.86e-4, 0.5121);
        int width = text().length() - 1; // after the leading \r
        p.println("step 120: eval_loss 1.9000 (best 1.9000)");
        assertEquals("\r" + " ".repeat(width) + "\rstep 120: eval_loss 1.9000 (best 1.9000)\n",
                text().substring(width + 1));
        p.line(121, 1.8, 1.86e-4, 0.5);
        assertTrue(text().endsWith("(best 1.9000)\n\rstep 121/400 [#######.................]  30% | loss 1.8000"
                + text().substring(text().lastIndexOf(" | lr"))), "the bar is drawn again below the message");

        bytes.reset();
        Progress plain = progress(Style.PLAIN);
        plain.println("step 1: eval_loss 2.0000 (best 2.0000)");
        assertEquals("step 1: eval_loss 2.0000 (best 2.0000)\n", text());
    }

    @Test
    void barPadsOverALongerPreviousDraw() {
        Progress p = progress(Style.BAR);
        now[0] = SECOND;
        p.line(101, 12.5, 1e-4, 1234.5);
        int firstWidth = text().length() - 1; // without the leading \r
        p.line(102, 1.5, 1e-4, 0.5); // a shorter grad_norm: the new text is shorter
        String second = text().substring(firstWidth + 1);
        assertEquals(firstWidth + 1, second.length(), "the redraw covers the whole previous line");
        assertTrue(second.endsWith(" "), second);
    }

    @Test
    void offPrintsNothing() {
        Progress p = progress(Style.OFF);
        now[0] = SECOND;
        p.line(400, 1.5, 0, 0.25);
        assertEquals("", text());
    }
}
