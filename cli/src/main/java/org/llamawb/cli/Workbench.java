package org.llamawb.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.BadInputException;
import org.llamawb.tracking.TrackingException;

/**
 * The {@code workbench} command: dispatches to a sub-command and turns user errors into one line and
 * exit code 2. A stack trace is printed only for bugs.
 */
public final class Workbench {

    private final Map<String, Command> commands = new LinkedHashMap<>();

    Workbench(List<Command> all) {
        for (Command c : all) {
            commands.put(c.name(), c);
        }
    }

    static Workbench standard() {
        return new Workbench(Commands.all());
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        int code = standard().run(args, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line; returns the exit code. */
    int run(String[] args, PrintStream err) {
        if (args.length > 1 && args[0].equals("help")) {
            // "workbench help data inspect" is "workbench data inspect --help".
            List<String> asked = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
            asked.add("--help");
            return run(asked.toArray(String[]::new), err);
        }
        if (args.length == 0 || isHelp(args[0]) || args[0].equals("help")) {
            printUsage(args.length == 0 ? err : System.out);
            return args.length == 0 ? 2 : 0;
        }
        Command command = null;
        int consumed = 0;
        // Longest match first: "model inspect" before "model".
        for (int n = Math.min(2, args.length); n >= 1 && command == null; n--) {
            String key = String.join(" ", Arrays.asList(args).subList(0, n));
            command = commands.get(key);
            consumed = n;
        }
        if (command == null) {
            List<Command> group = commands.values().stream().filter(c -> c.name().startsWith(args[0] + " ")).toList();
            if (!group.isEmpty() && (args.length == 1 || isHelp(args[1]))) {
                // A command group named alone or with --help: its sub-commands.
                printGroup(args[0], group, args.length == 1 ? err : System.out);
                return args.length == 1 ? 2 : 0;
            }
            if (!group.isEmpty()) {
                err.println("error: unknown command '" + args[0] + " " + args[1] + "'; run 'workbench " + args[0]
                        + " --help' for its sub-commands");
                return 2;
            }
            err.println("error: unknown command '" + args[0] + (args.length > 1 ? " " + args[1] : "")
                    + "'; run 'workbench --help' for the list");
            return 2;
        }
        List<String> rest = new ArrayList<>(Arrays.asList(args).subList(consumed, args.length));
        try {
            return command.run(rest);
        } catch (UsageException | BadInputException | TrackingException e) {
            err.println("error: " + e.getMessage());
            return 2;
        } catch (Exception | OutOfMemoryError e) {
            BadInputException bad = findBadInput(e);
            if (bad != null) {
                err.println("error: " + bad.getMessage());
                return 2;
            }
            String full = diskFull(e);
            if (full != null) {
                err.println("error: " + full);
                return 2;
            }
            String oom = outOfMemory(e);
            if (oom != null) {
                err.println("error: out of memory: " + oom + "; lower the batch size or sequence length, or train with"
                        + " train.rematerialization: hybrid (or full)");
                return 1;
            }
            err.println("internal error (a bug; please report it with this trace):");
            e.printStackTrace(err);
            return 1;
        }
    }

    /** libtorch's or the JVM's allocation failure, as one line, or null. */
    static String outOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (c instanceof OutOfMemoryError) {
                return "the Java heap is full (" + m + "); raise -Xmx through WORKBENCH_JAVA_OPTS";
            }
            int at = m.indexOf("can't allocate memory");
            if (at >= 0) {
                return "libtorch " + m.substring(at).lines().findFirst().orElse("").replaceAll("\\s+", " ");
            }
        }
        return null;
    }

    /**
     * A full disk met by a writer that does not say so itself, as one line (the outermost message names what
     * was being written), or null. Not a bug: no trace.
     */
    static String diskFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.io.IOException && String.valueOf(c.getMessage()).contains("No space left on device")) {
                String where = c instanceof java.nio.file.FileSystemException f && f.getFile() != null
                        ? " while writing " + f.getFile() : "";
                return "no space left on device" + where + " ("
                        + String.valueOf(t.getMessage()).lines().findFirst().orElse("") + ")";
            }
        }
        return null;
    }

    private static BadInputException findBadInput(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BadInputException b) {
                return b;
            }
        }
        return null;
    }

    private static boolean isHelp(String arg) {
        return arg.equals("--help") || arg.equals("-h");
    }

    private static void printGroup(String group, List<Command> members, PrintStream out) {
        out.println("usage: workbench " + group + " <sub-command> [options]   (workbench " + group
                + " <sub-command> --help for its options)");
        out.println();
        for (Command c : members) {
            out.printf("  %-18s %s%n", c.name(), c.summary());
        }
    }

    private void printUsage(PrintStream out) {
        out.println("usage: workbench <command> [options]   (workbench <command> --help for its options)");
        out.println();
        for (Command c : commands.values()) {
            out.printf("  %-18s %s%n", c.name(), c.summary());
        }
    }
}
