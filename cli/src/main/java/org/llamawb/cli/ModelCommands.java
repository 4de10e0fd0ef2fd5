package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.Options;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.progress.Progress;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.StorageType;
import org.llamawb.model.weights.TensorInfo;

/** {@code workbench model inspect|convert|init}. */
final class ModelCommands {
    private ModelCommands() {}

    static List<Command> all() {
        return List.of(new Inspect(), new Convert(), new Init());
    }

    static StorageType dtype(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> StorageType.F32;
            case "f16", "float16" -> StorageType.F16;
            case "bf16", "bfloat16" -> StorageType.BF16;
            default -> throw new UsageException("--dtype: expected f32, f16 or bf16, got '" + s + "'");
        };
    }

    /** Sizes like {@code 5GB}, {@code 200MB}, {@code 1048576}. */
    static long bytes(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}, {"GB", "1000000000"},
                {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            return (long) (Double.parseDouble(t) * unit);
        } catch (NumberFormatException e) {
            throw new UsageException("--max-shard-size: expected a size like 5GB or 200MB, got '" + s + "'");
        }
    }

    static final class Inspect implements Command {
        @Override
        public String name() {
            return "model inspect";
        }

        @Override
        public String summary() {
            return "show a checkpoint's config, parameter count, dtypes and tensors";
        }

        @Override
        public int run(List<String> args) {
            Options o = new Options();
            o.addOption(Flags.opt("model", "M", "Hugging Face directory, llama2.c .bin or .gguf (or give it as the argument)"));
            o.addOption(Flags.opt("tensors", null, "list every tensor"));
            Flags f = Flags.parse("model inspect M [--tensors]", o, args);
            if (f == null) {
                return 0;
            }
            Path path = f.has("model") ? f.existing("model")
                    : f.positional().size() == 1 ? org.llamawb.model.hub.Sources.resolve(f.positional().get(0)) : null;
            if (path == null) {
                throw new UsageException("model inspect: name the model (--model M or as the argument)");
            }
            try (Checkpoint c = Checkpoint.open(path)) {
                LlamaConfig k = c.config();
                System.out.printf("model       %s (%s)%n", c.location(), c.format().name().toLowerCase(Locale.ROOT).replace('_', '-'));
                System.out.printf("parameters  %,d (%.1fM)%n", k.parameterCount(), k.parameterCount() / 1e6);
                System.out.printf("shape       hidden %d, intermediate %d, layers %d, heads %d, kv heads %d, head dim %d%n",
                        k.hiddenSize(), k.intermediateSize(), k.numHiddenLayers(), k.numAttentionHeads(),
                        k.numKeyValueHeads(), k.headDim());
                System.out.printf("vocabulary  %d (bos %d, eos %s), %s embeddings%n", k.vocabSize(), k.bosTokenId(),
                        k.eosTokenIds(), k.tieWordEmbeddings() ? "tied" : "untied");
                System.out.printf("rope        theta %s, scaling %s; max positions %d; rms eps %s%n", k.ropeTheta(),
                        k.ropeScaling().type().hfName(), k.maxPositionEmbeddings(), k.rmsNormEps());
                java.util.Map<String, Long> byType = new java.util.TreeMap<>();
                for (String n : c.weights().names()) {
                    TensorInfo t = c.weights().info(n);
                    byType.merge(t.dtype().name(), t.elementCount(), Long::sum);
                }
                System.out.printf("dtypes      %s%n", byType);
                System.out.printf("tensors     %d%n", c.weights().names().size());
                if (f.has("tensors")) {
                    c.weights().names().stream().sorted(Checkpoint.SAVE_ORDER).forEach(n -> {
                        TensorInfo t = c.weights().info(n);
                        System.out.printf("  %-55s %-4s %s%n", n, t.dtype(), t.shapeString());
                    });
                }
            }
            return 0;
        }
    }

    static final class Convert implements Command {
        @Override
        public String name() {
            return "model convert";
        }

        @Override
        public String summary() {
            return "convert a llama2.c or GGUF checkpoint into a Hugging Face directory";
        }

        @Override
        public int run(List<String> args) throws Exception {
            Options o = new Options();
            o.addOption(Flags.required("model", "M", "llama2.c .bin, .gguf or Hugging Face directory"));
            o.addOption(Flags.opt("tokenizer", "T", "its tokenizer when not beside it (tokenizer.bin/.model/.json)"));
            o.addOption(Flags.required("out", "DIR", "the new Hugging Face directory"));
            o.addOption(Flags.opt("dtype", "D", "f32 (default), f16 or bf16"));
            o.addOption(Flags.opt("max-shard-size", "SIZE", "shard above this size (default 5GB)"));
            Flags f = Flags.parse("model convert --model M --out DIR [--tokenizer T] [--dtype f32|f16|bf16]", o, args);
            if (f == null) {
                return 0;
            }
            Path out = Path.of(f.string("out"));
            try (Checkpoint c = Checkpoint.open(f.existing("model"));
                    LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, f.has("tokenizer") ? f.existing("tokenizer") : null)) {
                // A tied model is written without lm_head.weight, which is then never read.
                long tensors = c.weights().names().stream()
                        .filter(n -> !(n.equals("lm_head.weight") && c.config().tieWordEmbeddings())).count();
                try (Progress progress = Progress.start("convert", tensors, "tensors")) {
                    ModelDirectory.write(out, c.config(), new WeightsWithProgress(c.weights(), progress), tok,
                            GenerationDefaults.of(c), dtype(f.string("dtype", "f32")), bytes(f.string("max-shard-size", "5GB")));
                }
            }
            System.out.println("wrote " + out);
            return 0;
        }
    }

    static final class Init implements Command {
        @Override
        public String name() {
            return "model init";
        }

        @Override
        public String summary() {
            return "write a randomly initialised LLaMA of a given shape in Hugging Face format";
        }

        @Override
        public int run(List<String> args) throws Exception {
            Options o = new Options();
            o.addOption(Flags.opt("config", "FILE", "a config.json to take the shape from (else the flags below)"));
            o.addOption(Flags.opt("dim", "N", "hidden size (default 288)"));
            o.addOption(Flags.opt("layers", "N", "layers (default 6)"));
            o.addOption(Flags.opt("heads", "N", "attention heads (default 6)"));
            o.addOption(Flags.opt("kv-heads", "N", "key/value heads (default = heads)"));
            o.addOption(Flags.opt("hidden", "N", "feed-forward size (default 768)"));
            o.addOption(Flags.opt("vocab", "N", "vocabulary size (default: the tokenizer's, else 32000)"));
            o.addOption(Flags.opt("max-positions", "N", "max_position_embeddings (default 2048)"));
            o.addOption(Flags.opt("tied", null, "tie the LM head to the embedding"));
            o.addOption(Flags.opt("tokenizer", "T", "a tokenizer to save with the model"));
            o.addOption(Flags.opt("seed", "S", "initialisation seed (default 0)"));
            o.addOption(Flags.opt("std", "X", "initializer_range (default 0.02)"));
            o.addOption(Flags.required("out", "DIR", "the new model directory"));
            Flags f = Flags.parse("model init --out DIR [--config config.json | --dim ... --layers ...] [--tokenizer T]", o, args);
            if (f == null) {
                return 0;
            }
            LlamaTokenizer tok = f.has("tokenizer") ? LlamaTokenizer.load(f.existing("tokenizer")) : null;
            try {
                LlamaConfig c;
                if (f.has("config")) {
                    c = LlamaConfig.read(f.existing("config"));
                } else {
                    int dim = f.integer("dim", 288);
                    int heads = f.integer("heads", 6);
                    if (dim % heads != 0) {
                        throw new UsageException("--dim (" + dim + ") must be divisible by --heads (" + heads + ")");
                    }
                    int vocab = f.integer("vocab", tok != null ? tok.vocabSize() : 32000);
                    c = LlamaConfig.of(vocab, dim, f.integer("hidden", 768), f.integer("layers", 6), heads,
                            f.integer("kv-heads", heads)).withTiedEmbeddings(f.has("tied"))
                            .withMaxPositionEmbeddings(f.integer("max-positions", 2048));
                    if (tok != null) {
                        c = c.withTokens(tok.bosId(), List.of(tok.eosId()));
                    }
                }
                if (tok != null && tok.vocabSize() > c.vocabSize()) {
                    throw new BadInputException("the tokenizer has " + tok.vocabSize() + " tokens but vocab_size is "
                            + c.vocabSize());
                }
                Path out = Path.of(f.string("out"));
                if (Files.exists(out.resolve("config.json"))) {
                    throw new BadInputException(out + ": already holds a model (choose another --out)");
                }
                try (NDManager m = NDManager.newBaseManager();
                        Llama model = Llama.random(c, f.longValue("seed", 0), f.number("std", 0.02), m)) {
                    ModelDirectory.write(out, c, model.parameters(), tok,
                            new GenerationDefaults(java.util.Set.copyOf(c.eosTokenIds()), 0, 1, 0), StorageType.F32,
                            ModelDirectory.DEFAULT_SHARD_BYTES);
                }
                System.out.printf("wrote %s (%,d parameters)%n", out, c.parameterCount());
            } finally {
                if (tok != null) {
                    tok.close();
                }
            }
            return 0;
        }
    }
}
