package org.llamawb.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.llamawb.tracking.TrackingException;
import org.llamawb.tracking.TrackingSettings;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;

/** Flags shared by the {@code runs} commands: parsing with one-line errors, and the server to talk to. */
final class RunsFlags {
    private RunsFlags() {}

    static final Option TRACKING_URI = Option.builder().longOpt("tracking-uri").hasArg().argName("URI")
            .desc("MLflow server, e.g. http://127.0.0.1:5000 (default: $MLFLOW_TRACKING_URI)").build();

    /** Parses the flags; prints help and returns null for {@code --help}. */
    static CommandLine parse(String usage, Options options, List<String> args, PrintStream out) {
        options.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        String[] words = usage.split(" ");
        String command = words[0] + " " + words[1];
        // Before parsing, so that help works without the required flags.
        if (args.contains("--help") || args.contains("-h")) {
            PrintWriter w = new PrintWriter(out, true);
            new HelpFormatter().printHelp(w, 100, "workbench " + usage, null, options, 2, 4, null);
            return null;
        }
        try {
            CommandLine line = new DefaultParser().parse(options, args.toArray(String[]::new));
            if (!line.getArgList().isEmpty()) {
                throw new UsageException("unexpected argument '" + line.getArgList().get(0) + "' (workbench " + command
                        + " --help)");
            }
            return line;
        } catch (ParseException e) {
            throw new UsageException(e.getMessage() + " (workbench " + command + " --help)");
        }
    }

    /** The server named by {@code --tracking-uri} or MLFLOW_TRACKING_URI; a usage error when neither is set. */
    static MlflowServer server(CommandLine line) {
        TrackingSettings s = TrackingSettings.resolve(line.getOptionValue("tracking-uri"), null, null);
        if (s.trackingUri().isEmpty()) {
            throw new UsageException("no MLflow server: pass --tracking-uri http://HOST:PORT or set "
                    + TrackingSettings.ENV_URI + " (start one with: mlflow server --host 127.0.0.1 --port 5000)");
        }
        return MlflowServer.connect(s.trackingUri().get(), MlflowTimeouts.DEFAULT);
    }

    /** Server failures are the user's environment, not a bug: one line, exit code 2. */
    static TrackingException userError(RuntimeException e) {
        return new TrackingException(e.getMessage(), e);
    }
}
