package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the dispatcher turns a command's failure into an exit code and what it prints. */
class WorkbenchErrorsTest {

    /** A command that fails with {@code error}: the seam a writer's exception travels through. */
    static Command failing(RuntimeException error) {
        return new Command() {
            @Override
            public String name() {
                return "write";
            }

            @Override
            public String summary() {
                return "fails";
            }

            @Override
            public int run(List<String> args) {
                throw error;
            }
        };
    }

    static String[] run(RuntimeException error) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Workbench(List.of(failing(error))).run(new String[] {"write"}, new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(code), err.toString(StandardCharsets.UTF_8).strip()};
    }

    @Test
    void aFullDiskIsOneLineNotATrace() {
        // what the adapter writer throws when the disk fills: before, an "internal error" and a trace, exit 1
        String[] r = run(new UncheckedIOException("cannot write adapter runs/a/adapter: No space left on device",
                new FileSystemException("runs/a/.adapter.tmp-1/adapter_model.safetensors", null, "No space left on device")));
        assertEquals("2", r[0], r[1]);
        assertEquals("error: no space left on device while writing runs/a/.adapter.tmp-1/adapter_model.safetensors"
                + " (cannot write adapter runs/a/adapter: No space left on device)", r[1]);
        r = run(new UncheckedIOException("cannot write report.md", new IOException("No space left on device")));
        assertEquals("2", r[0]);
        assertEquals("error: no space left on device (cannot write report.md)", r[1]);
    }

    @Test
    void anyOtherIoFailureIsStillABugWithItsTrace() {
        String[] r = run(new UncheckedIOException("cannot write x", new IOException("Input/output error")));
        assertEquals("1", r[0]);
        assertTrue(r[1].startsWith("internal error") && r[1].contains("Input/output error"), r[1]);
    }
}
