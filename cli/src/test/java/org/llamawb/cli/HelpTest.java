package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code --help} on every command, sub-command and command group: exit 0 and a usage line, never an error. */
class HelpTest {

    record Outcome(int code, String out, String err) {}

    /** Runs with System.out captured (commands print help there; some bind it when constructed). */
    static Outcome run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Workbench.standard().run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }

    static String[] words(String command, String... more) {
        List<String> w = new ArrayList<>(Arrays.asList(command.split(" ")));
        w.addAll(Arrays.asList(more));
        return w.toArray(String[]::new);
    }

    @Test
    void everyCommandPrintsItsUsageWithoutItsRequiredFlags() {
        for (Command c : Commands.all()) {
            for (String flag : new String[] {"--help", "-h"}) {
                Outcome o = run(words(c.name(), flag));
                assertEquals(0, o.code(), c.name() + " " + flag + ": " + o.err());
                assertEquals("", o.err(), c.name() + " " + flag);
                assertTrue(o.out().startsWith("usage: workbench " + c.name()), c.name() + " " + flag + ": " + o.out());
                assertTrue(o.out().contains("--help"), c.name() + ": the options are listed: " + o.out());
            }
            // --help wins even after other flags, some of them incomplete.
            Outcome o = run(words(c.name(), "--out", "x", "--help"));
            assertEquals(0, o.code(), c.name() + ": " + o.err());
            assertTrue(o.out().startsWith("usage: workbench " + c.name()), o.out());

            Outcome viaHelp = run(words("help " + c.name()));
            assertEquals(0, viaHelp.code(), viaHelp.err());
            assertEquals(run(words(c.name(), "--help")).out(), viaHelp.out(), "help " + c.name());
        }
    }

    @Test
    void everyGroupListsItsSubCommands() {
        Set<String> groups = new LinkedHashSet<>();
        for (Command c : Commands.all()) {
            if (c.name().contains(" ")) {
                groups.add(c.name().split(" ")[0]);
            }
        }
        assertEquals(Set.of("model", "runs", "data"), groups);
        for (String g : groups) {
            Outcome o = run(g, "--help");
            assertEquals(0, o.code(), g + ": " + o.err());
            assertTrue(o.out().startsWith("usage: workbench " + g + " <sub-command>"), o.out());
            for (Command c : Commands.all()) {
                assertEquals(c.name().startsWith(g + " "), o.out().lines().anyMatch(l -> l.startsWith("  " + c.name() + " ")),
                        g + " lists " + c.name());
            }
            Outcome bare = run(g);
            assertEquals(2, bare.code());
            assertTrue(bare.err().contains("workbench " + g + " <sub-command>"), bare.err());

            Outcome unknown = run(g, "frobnicate");
            assertEquals(2, unknown.code());
            assertEquals("error: unknown command '" + g + " frobnicate'; run 'workbench " + g
                    + " --help' for its sub-commands", unknown.err().trim());
        }
    }

    @Test
    void topLevelHelpListsEveryCommand() {
        Outcome o = run("--help");
        assertEquals(0, o.code());
        for (Command c : Commands.all()) {
            assertTrue(o.out().lines().anyMatch(l -> l.startsWith("  " + c.name() + " ")), c.name());
        }
    }
}
