package org.llamawb.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.llamawb.tracking.JournalSync;
import org.llamawb.tracking.TrackingException;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowServer;

/**
 * {@code workbench runs sync [--dir RUNS_DIR]}: sends run journals that have not fully reached the
 * server (runs made without a server, or during an outage). Safe to repeat: nothing is sent twice.
 */
final class RunsSyncCommand implements Command {

    private final PrintStream out;

    RunsSyncCommand() {
        this(System.out);
    }

    RunsSyncCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "runs sync";
    }

    @Override
    public String summary() {
        return "send local run journals to the MLflow server (idempotent)";
    }

    @Override
    public int run(List<String> args) throws IOException {
        Options options = new Options()
                .addOption(Option.builder().longOpt("dir").hasArg().argName("DIR")
                        .desc("a run's output directory, or a directory of runs (default: runs)").build())
                .addOption(RunsFlags.TRACKING_URI);
        CommandLine line = RunsFlags.parse("runs sync [--dir RUNS_DIR] [--tracking-uri URI]", options, args, out);
        if (line == null) {
            return 0;
        }
        Path dir = Path.of(line.getOptionValue("dir", "runs"));
        List<Path> runs = JournalSync.findRuns(dir);
        if (runs.isEmpty()) {
            throw new TrackingException(dir + ": no run journals (tracking/journal.jsonl) in or under it");
        }
        int incomplete = 0;
        try (MlflowServer server = RunsFlags.server(line)) {
            server.experiments(); // fail fast, in one line, when the server is not there
            for (Path run : runs) {
                JournalSync.Report r = JournalSync.sync(run, server, Long.MAX_VALUE);
                String head = r.outputDir() + " (" + r.runName() + ")";
                if (r.complete()) {
                    out.println(head + ": " + (r.sent() == 0 ? "already synced" : "sent " + r.sent() + " events")
                            + ", MLflow run " + r.runId() + (r.rejected() > 0 ? "; " + r.rejected()
                            + " events rejected by the server (see warnings)" : ""));
                } else {
                    incomplete++;
                    out.println(head + ": sent " + r.sent() + ", not complete: " + r.problem());
                }
            }
        } catch (MlflowCallException e) {
            throw RunsFlags.userError(e);
        }
        if (incomplete > 0) {
            out.println(incomplete + " of " + runs.size() + " runs not fully synced; run this again later");
            return 1;
        }
        return 0;
    }
}
