package org.llamawb.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.score.RewardLoss;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.source.ColumnMapping;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ExampleStream;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedPair;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.Llama;

/**
 * {@code workbench eval --reward-model DIR --data FILE}: scores both answers of every preference pair with a
 * reward model (base + reward adapter + {@code score} head) and reports pairwise accuracy (chosen scored
 * strictly above rejected) and the mean scores; with {@code --out} also one JSON line per pair.
 */
final class RewardModelEval {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RewardModelEval() {}

    static int run(Flags cl, PrintStream out, PrintStream err) {
        Path dir = cl.existing("reward-model");
        if (!Files.isDirectory(dir)) {
            throw new UsageException("--reward-model: " + dir + " is not a directory (expected a PEFT SEQ_CLS adapter: "
                    + "adapter_config.json + adapter_model.safetensors)");
        }
        if (!cl.has("data")) {
            throw new UsageException("--reward-model needs --data FILE (preference pairs: chosen and rejected answers)");
        }
        Path model = cl.has("model") ? cl.existing("model") : baseOf(dir);
        int maxLength = cl.integer("max-length", 2048);
        if (maxLength < 2) {
            throw new UsageException("--max-length must be >= 2, got " + maxLength);
        }
        int limit = cl.integer("limit", 0);
        int batchTokens = cl.integer("batch-tokens", 8192);
        if (batchTokens < 1) {
            throw new UsageException("--batch-tokens must be >= 1, got " + batchTokens);
        }
        Path data = cl.existing("data");
        DataFormat format = cl.has("format") ? DataFormat.parse(cl.string("format")) : null;
        Path tokenizer = cl.has("tokenizer") ? cl.existing("tokenizer") : null;
        DataInput input;
        List<TokenizedPair> pairs = new ArrayList<>();
        float[] chosen;
        float[] rejected;
        // opened as training opened it: the same tokenizer (its vocabulary checked) and chat template
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel base = LoadedModel.open(model, tokenizer, "--tokenizer", m);
                RewardModel rm = load(base.model(), dir, model)) {
            input = new DataInput(data, format, ColumnMapping.NONE, cl.string("template", null), base.templateSource(), maxLength);
            long others = 0;
            try (ExampleEncoder enc = input.encoder(base.tokenizer(), base.templateSource());
                    ExampleStream s = DatasetReader.open(input.data(), input.readOptions())) {
                while (s.hasNext() && (limit <= 0 || pairs.size() < limit)) {
                    Example e = s.next();
                    if (e instanceof PreferencePair p) {
                        enc.encode(p).ifPresent(pairs::add);
                    } else {
                        others++;
                    }
                }
                if (s.counts().problems() > 0) {
                    err.println("note: " + s.counts().problems() + " unreadable records skipped " + s.counts().skippedByReason());
                }
            }
            if (pairs.isEmpty()) {
                throw new BadInputException(input.data() + ": no usable preference pairs (" + others
                        + " records of another kind); --reward-model needs records with chosen and rejected answers");
            }
            chosen = new float[pairs.size()];
            rejected = new float[pairs.size()];
            for (int from = 0; from < pairs.size(); ) {
                int to = from + 1; // at least one pair per pass; more while the padded batch fits batch-tokens
                int longest = pairs.get(from).length();
                while (to < pairs.size() && 2L * (to + 1 - from) * Math.max(longest, pairs.get(to).length()) <= batchTokens) {
                    longest = Math.max(longest, pairs.get(to).length());
                    to++;
                }
                score(rm, m, pairs.subList(from, to), chosen, rejected, from);
                from = to;
            }
        }
        RewardLoss.Metrics metrics = RewardLoss.Metrics.of(chosen, rejected);
        out.printf(Locale.ROOT, "reward model %s on %s: %d pairs%n", dir, input.data(), pairs.size());
        out.printf(Locale.ROOT, "accuracy %.4f  mean chosen %.4f  mean rejected %.4f  mean margin %.4f%n",
                metrics.accuracy(), metrics.rewardsChosen(), metrics.rewardsRejected(), metrics.margin());
        if (cl.has("out")) {
            write(Path.of(cl.string("out")), dir, model, input, pairs, chosen, rejected, metrics);
            err.println("wrote " + cl.string("out") + "/ (reward_results.json, reward_scores.jsonl)");
        }
        return 0;
    }

    /** Scores {@code [chosen..., rejected...]} of a group of pairs in one right-padded forward pass. */
    private static void score(RewardModel rm, NDManager m, List<TokenizedPair> group, float[] chosen, float[] rejected,
            int offset) {
        int n = group.size();
        int t = group.stream().mapToInt(TokenizedPair::length).max().orElseThrow();
        long[] ids = new long[2 * n * t]; // right-padded with 0: causal attention never lets a token see its padding
        int[] lengths = new int[2 * n];
        for (int i = 0; i < n; i++) {
            int[] c = group.get(i).chosenInputIds();
            int[] r = group.get(i).rejectedInputIds();
            for (int j = 0; j < c.length; j++) {
                ids[i * t + j] = c[j];
            }
            for (int j = 0; j < r.length; j++) {
                ids[(n + i) * t + j] = r[j];
            }
            lengths[i] = c.length;
            lengths[n + i] = r.length;
        }
        try (NDScope scope = new NDScope()) {
            float[] s = rm.scores(m.create(ids, new Shape(2L * n, t)), lengths, false).toFloatArray(); // [2n]
            System.arraycopy(s, 0, chosen, offset, n);
            System.arraycopy(s, n, rejected, offset, n);
        }
    }

    /** The reward model in {@code dir} on {@code base}; one that does not fit it also says which base it names. */
    private static RewardModel load(Llama base, Path dir, Path model) {
        try {
            return RewardModel.load(base, dir);
        } catch (BadInputException e) {
            String named = baseNamed(dir);
            if (named == null || Path.of(named).toAbsolutePath().equals(model.toAbsolutePath())) {
                throw e;
            }
            throw new BadInputException(e.getMessage() + " (the reward model names its base '" + named + "'; --model is "
                    + model + ")", e);
        }
    }

    /** What a reward adapter's {@code adapter_config.json} names as its base, or null. */
    private static String baseNamed(Path dir) {
        try {
            JsonNode j = JSON.readTree(dir.resolve(PeftAdapterFormat.CONFIG_FILE).toFile());
            return j.hasNonNull("base_model_name_or_path") ? j.get("base_model_name_or_path").asText() : null;
        } catch (IOException | RuntimeException e) {
            return null; // the adapter reader names the exact problem
        }
    }

    /** The base model a reward adapter names ({@code base_model_name_or_path}), when --model is not given. */
    private static Path baseOf(Path dir) {
        Path config = dir.resolve(PeftAdapterFormat.CONFIG_FILE);
        String base = baseNamed(dir);
        if (base == null || !Files.exists(Path.of(base))) {
            throw new UsageException("--reward-model " + dir + ": give its base with --model"
                    + (base == null ? "" : " (" + config + " names '" + base + "', which does not exist here)"));
        }
        return Path.of(base);
    }

    private static void write(Path outDir, Path dir, Path model, DataInput input, List<TokenizedPair> pairs, float[] chosen,
            float[] rejected, RewardLoss.Metrics metrics) {
        try {
            Files.createDirectories(outDir);
            ObjectNode r = JSON.createObjectNode();
            r.put("reward_model", dir.toString());
            r.put("model", model.toString());
            r.put("data", input.data().toString());
            r.put("pairs", pairs.size());
            r.put("accuracy", metrics.accuracy());
            r.put("rewards/chosen", metrics.rewardsChosen());
            r.put("rewards/rejected", metrics.rewardsRejected());
            r.put("margin", metrics.margin());
            JSON.writerWithDefaultPrettyPrinter().writeValue(outDir.resolve("reward_results.json").toFile(), r);
            try (BufferedWriter w = Files.newBufferedWriter(outDir.resolve("reward_scores.jsonl"))) {
                for (int i = 0; i < pairs.size(); i++) {
                    ObjectNode line = JSON.createObjectNode();
                    line.put("id", pairs.get(i).id());
                    line.put("chosen", chosen[i]);
                    line.put("rejected", rejected[i]);
                    w.write(JSON.writeValueAsString(line));
                    w.newLine();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + outDir + ": " + e.getMessage(), e);
        }
    }
}
