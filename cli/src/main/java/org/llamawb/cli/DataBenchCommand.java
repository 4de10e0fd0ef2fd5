package org.llamawb.cli;

import java.io.PrintStream;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.bench.ThroughputBench;
import org.llamawb.datasets.bench.ThroughputResult;

/**
 * {@code workbench data bench}: tokenisation and packing throughput on a data file, one JSON line
 * (examples/s and tokens/s for read + template + tokenise + labels; tokens/s for packing and building
 * batches; the packed fill).
 */
final class DataBenchCommand implements Command {
    private final PrintStream out;

    DataBenchCommand() {
        this(System.out);
    }

    DataBenchCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "data bench";
    }

    @Override
    public String summary() {
        return "measure tokenisation and packing throughput on a data file";
    }

    @Override
    public int run(List<String> args) {
        Options o = new Options();
        DataInput.addOptions(o);
        o.addOption(Flags.opt("repeats", "N", "timed repeats after one warm-up; the best is reported (default 3)"));
        o.addOption(Flags.opt("rows", "B", "packed rows per batch (default 8)"));
        Flags f = Flags.parse("data bench --data FILE [--format F] [--columns K=F,...] [--template NAME] --tokenizer M [options]", o, args);
        if (f == null) {
            return 0;
        }
        DataInput in = DataInput.of(f);
        int repeats = f.integer("repeats", 3);
        int rows = f.integer("rows", 8);
        if (repeats < 1 || rows < 1) {
            throw new UsageException("--repeats and --rows must be >= 1");
        }
        try (DataInput.Encoding enc = in.open()) {
            ThroughputResult r = ThroughputBench.run(in.data(), in.benchReadOptions(), enc.tokenizer(), enc.encoder().template(),
                    in.maxLength(), rows, repeats);
            out.println(r.toJson());
        }
        return 0;
    }
}
