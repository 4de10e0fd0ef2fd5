package org.llamawb.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.llamawb.tracking.compare.MetricPlot;
import org.llamawb.tracking.compare.RunComparison;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowServer;

/**
 * {@code workbench runs compare --experiment E [--tag K=V ...] [--metric M] [--plot out.png]}: the params that differ
 * between an experiment's runs (those with the tags, e.g. the stages of one SFT → reward → PPO chain), their final and
 * best metrics, and a plot of one metric over steps.
 */
final class RunsCompareCommand implements Command {

    private final PrintStream out;

    RunsCompareCommand() {
        this(System.out);
    }

    RunsCompareCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "runs compare";
    }

    @Override
    public String summary() {
        return "compare an experiment's runs: differing params, final/best metrics, a metric plot";
    }

    @Override
    public int run(List<String> args) throws IOException {
        Options options = new Options()
                .addOption(Option.builder().longOpt("experiment").hasArg().argName("NAME").required()
                        .desc("the MLflow experiment whose runs to compare").build())
                .addOption(Option.builder().longOpt("tag").hasArg().argName("KEY=VALUE")
                        .desc("only runs with this tag, e.g. --tag chain=stories260k (the recipe's tracking.tags; "
                                + "repeatable)").build())
                .addOption(Option.builder().longOpt("metric").hasArg().argName("NAME")
                        .desc("metric to rank and plot (default: eval_loss, else loss)").build())
                .addOption(Option.builder().longOpt("plot").hasArg().argName("PNG")
                        .desc("write a PNG line plot of the metric over steps, one line per run").build())
                .addOption(RunsFlags.TRACKING_URI);
        CommandLine line = RunsFlags.parse("runs compare --experiment E [--tag K=V ...] [--metric M] [--plot out.png]"
                + " [--tracking-uri URI]", options, args, out);
        if (line == null) {
            return 0;
        }
        Map<String, String> tags = tags(line.getOptionValues("tag"));
        try (MlflowServer server = RunsFlags.server(line)) {
            RunComparison c = RunComparison.load(server, line.getOptionValue("experiment"),
                    line.getOptionValue("metric"), tags);
            out.print(c.table());
            if (line.hasOption("plot")) {
                Path png = Path.of(line.getOptionValue("plot"));
                MetricPlot.write(c, png);
                out.println("plot of " + c.metric() + " written to " + png);
            }
            return 0;
        } catch (MlflowCallException e) {
            throw RunsFlags.userError(e);
        }
    }

    /** {@code --tag KEY=VALUE} flags as a map; a flag without {@code =} or with an empty side is a usage error. */
    static Map<String, String> tags(String[] flags) {
        Map<String, String> out = new LinkedHashMap<>();
        if (flags != null) {
            for (String f : flags) {
                int eq = f.indexOf('=');
                if (eq <= 0 || eq == f.length() - 1) {
                    throw new UsageException("--tag " + f + ": expected KEY=VALUE, e.g. --tag chain=stories260k");
                }
                out.put(f.substring(0, eq), f.substring(eq + 1));
            }
        }
        return out;
    }
}
