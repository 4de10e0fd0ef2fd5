package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.Options;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.gguf.GgmlType;
import org.llamawb.model.gguf.LlamaGgufExporter;
import org.llamawb.model.progress.Progress;
import org.llamawb.model.weights.ArrayWeights;

/**
 * {@code workbench export}: an adapter in PEFT's format for Python PEFT and vLLM, or a model (merged with
 * its adapter) as one GGUF file for llama.cpp and Ollama.
 */
final class ExportCommand implements Command {
    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "export an adapter for PEFT, or a (merged) model as GGUF for llama.cpp / Ollama";
    }

    @Override
    public int run(List<String> args) throws Exception {
        Options o = new Options();
        o.addOption(Flags.required("format", "F", "peft or gguf"));
        o.addOption(Flags.opt("adapter", "DIR", "the adapter (peft: required; gguf: merged into --model)"));
        o.addOption(Flags.opt("model", "M", "gguf: the base model; peft: checks the adapter against it"));
        o.addOption(Flags.opt("tokenizer", "T", "the model's tokenizer when not beside it"));
        o.addOption(Flags.opt("base-model", "NAME", "peft: base_model_name_or_path to record (default: --model or as read)"));
        o.addOption(Flags.opt("dtype", "D", "gguf: f32, f16 (default) or q8_0"));
        o.addOption(Flags.required("out", "PATH", "peft: a directory; gguf: a .gguf file"));
        Flags f = Flags.parse("export --format peft|gguf --out PATH [--adapter A] [--model M] [--dtype f32|f16|q8_0]", o, args);
        if (f == null) {
            return 0;
        }
        Path out = Path.of(f.string("out"));
        switch (f.string("format").toLowerCase(Locale.ROOT)) {
            case "peft" -> peft(f, out);
            case "gguf" -> gguf(f, out);
            default -> throw new UsageException("--format: expected peft or gguf, got '" + f.string("format") + "'");
        }
        System.out.println("wrote " + out);
        return 0;
    }

    private static void peft(Flags f, Path out) {
        Path adapter = f.existing("adapter");
        if (!f.has("model")) {
            throw new UsageException("export --format peft needs --model (the adapter is checked against the base it belongs to)");
        }
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = ModelLoading.openWeights(f, m);
                LoraModel lora = new LoraModel(l.model())) {
            PeftAdapterFormat.read(lora, "default", adapter);
            PeftAdapterFormat.write(lora, "default", out, f.string("base-model", f.string("model")));
        }
    }

    private static void gguf(Flags f, Path out) throws Exception {
        if (!f.has("model")) {
            throw new UsageException("export --format gguf needs --model (and --adapter to merge one in)");
        }
        GgmlType type = switch (f.string("dtype", "f16").toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            case "q8_0" -> GgmlType.Q8_0;
            default -> throw new UsageException("--dtype: GGUF export writes f32, f16 or q8_0, got '" + f.string("dtype") + "'");
        };
        if (Files.exists(out)) {
            throw new BadInputException(out + ": already exists (choose another --out)");
        }
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = ModelLoading.open(f, m);
                AdapterAttachment a = AdapterAttachment.attach(l.model(), f.has("adapter") ? f.existing("adapter") : null)) {
            if (a.lora() != null) {
                a.lora().merge("default");
            }
            ArrayWeights weights = new ArrayWeights(l.model().parameters(), "model");
            // A tied model is written without lm_head.weight, which is then never read.
            long tensors = weights.names().stream()
                    .filter(n -> !(n.equals("lm_head.weight") && l.model().config().tieWordEmbeddings())).count();
            try (Progress progress = Progress.start("export", tensors, "tensors")) {
                LlamaGgufExporter.write(out, new WeightsWithProgress(weights, progress), l.model().config(), l.tokenizer(),
                        type);
            }
            if (a.lora() != null) {
                a.lora().unmerge("default");
            }
        }
    }
}
