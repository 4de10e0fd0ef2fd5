package org.llamawb.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.MissingArgumentException;
import org.apache.commons.cli.MissingOptionException;
import org.apache.commons.cli.UnrecognizedOptionException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** Parsed flags of one command, with one-line errors that name the flag. */
final class Flags {
    private final CommandLine line;

    private Flags(CommandLine line) {
        this.line = line;
    }

    /**
     * Parses {@code args}; prints help and returns null for {@code --help}. Unknown or malformed flags
     * become a {@link UsageException}.
     */
    static Flags parse(String usage, Options options, List<String> args) {
        options.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        // Before parsing: the parser reports a missing required flag before it would see --help.
        if (args.contains("--help") || args.contains("-h")) {
            HelpFormatter f = new HelpFormatter();
            PrintWriter w = new PrintWriter(System.out, true);
            f.printHelp(w, 100, "workbench " + usage, null, options, 2, 4, null);
            return null;
        }
        try {
            return new Flags(new DefaultParser().parse(options, args.toArray(String[]::new)));
        } catch (ParseException e) {
            String help = " (workbench " + usage.split(" --")[0].replaceAll(" [A-Z][A-Z.]*$", "") + " --help)";
            if (e instanceof MissingArgumentException m) {
                throw new UsageException("--" + m.getOption().getLongOpt() + " needs a value" + help);
            }
            if (e instanceof MissingOptionException m) {
                throw new UsageException("missing required flag " + m.getMissingOptions().stream()
                        .map(o -> "--" + o).reduce((a, b) -> a + ", " + b).orElse("") + help);
            }
            if (e instanceof UnrecognizedOptionException u) {
                throw new UsageException("unknown flag " + u.getOption() + help);
            }
            throw new UsageException(e.getMessage() + help);
        }
    }

    static Option opt(String longName, String arg, String description) {
        return Option.builder().longOpt(longName).hasArg(arg != null).argName(arg).desc(description).build();
    }

    static Option required(String longName, String arg, String description) {
        return Option.builder().longOpt(longName).hasArg().argName(arg).required().desc(description).build();
    }

    boolean has(String name) {
        return line.hasOption(name);
    }

    String string(String name, String dflt) {
        return line.getOptionValue(name, dflt);
    }

    String string(String name) {
        String v = line.getOptionValue(name);
        if (v == null) {
            throw new UsageException("--" + name + " is required");
        }
        return v;
    }

    List<String> strings(String name) {
        String[] v = line.getOptionValues(name);
        return v == null ? List.of() : List.of(v);
    }

    int integer(String name, int dflt) {
        String v = line.getOptionValue(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    long longValue(String name, long dflt) {
        String v = line.getOptionValue(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects an integer, got '" + v + "'");
        }
    }

    double number(String name, double dflt) {
        String v = line.getOptionValue(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects a number, got '" + v + "'");
        }
    }

    /** A path that must exist; an {@code hf:} or {@code https://} source is downloaded to one first. */
    Path existing(String name) {
        Path p = org.llamawb.model.hub.Sources.resolve(string(name));
        if (!Files.exists(p)) {
            throw new UsageException("--" + name + ": " + p + " does not exist");
        }
        return p;
    }

    List<String> positional() {
        return line.getArgList();
    }
}
