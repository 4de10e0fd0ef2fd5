package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.quant.RequantizationError;
import org.llamawb.model.ModelDirectory;

/**
 * {@code workbench merge}: folds one adapter, or a weighted sum of several, into the base weights and
 * writes a Hugging Face checkpoint that transformers, vLLM and this workbench load without PEFT.
 */
final class MergeCommand implements Command {
    @Override
    public String name() {
        return "merge";
    }

    @Override
    public String summary() {
        return "merge LoRA adapters into the base model and write a Hugging Face checkpoint";
    }

    @Override
    public int run(List<String> args) throws Exception {
        Options o = new Options();
        o.addOption(Flags.required("model", "M", "the base model (Hugging Face directory, llama2.c .bin or .gguf)"));
        o.addOption(Flags.opt("tokenizer", "T", "its tokenizer when not beside it"));
        o.addOption(org.apache.commons.cli.Option.builder().longOpt("adapter").hasArg().argName("DIR").required()
                .desc("a PEFT adapter directory (repeat for a weighted merge)").build());
        o.addOption(Flags.opt("weights", "W,...", "one weight per --adapter (default 1 each): W' = W + Σ wᵢ·ΔWᵢ"));
        o.addOption(Flags.required("out", "DIR", "the merged model directory"));
        o.addOption(Flags.opt("dtype", "D", "f32 (default), f16 or bf16"));
        o.addOption(Flags.opt("max-shard-size", "SIZE", "shard above this size (default 5GB)"));
        o.addOption(Flags.opt("quantize", "Q", "merge onto the base as a QLoRA run saw it: nf4 or int8 (its projections "
                + "quantised as they are read) or keep (a GGUF file's blocks kept as stored); the merge "
                + "W' = deq(Q(W)) + ΔW is written in full precision (--dtype)"));
        o.addOption(Flags.opt("requantize", null, "with --quantize: round the merged projections to the same codes again "
                + "(what a quantised deployment serves), state the error, and write those values"));
        Flags f = Flags.parse("merge --model M --adapter A [--adapter B --weights 0.7,0.3] --out DIR [--dtype f32|f16|bf16]",
                o, args);
        if (f == null) {
            return 0;
        }
        List<String> adapters = f.strings("adapter");
        List<Double> weights = new ArrayList<>();
        if (f.has("weights")) {
            for (String w : f.string("weights").split(",")) {
                try {
                    weights.add(Double.parseDouble(w.trim()));
                } catch (NumberFormatException e) {
                    throw new UsageException("--weights: '" + w + "' is not a number");
                }
            }
            if (weights.size() != adapters.size()) {
                throw new UsageException("--weights: " + weights.size() + " weights for " + adapters.size() + " adapters");
            }
        } else {
            adapters.forEach(a -> weights.add(1.0));
        }
        Path out = Path.of(f.string("out"));
        QuantizedWeight.Kind quantize = null;
        boolean keep = f.has("quantize") && f.string("quantize").equals(ModelLoading.KEEP);
        if (f.has("quantize") && !keep) {
            try {
                quantize = QuantizedWeight.Kind.parse(f.string("quantize"));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--quantize: expected nf4, int8 or keep, got '" + f.string("quantize") + "'");
            }
        }
        if (f.has("requantize") && keep) {
            throw new UsageException("--requantize rounds to nf4 or int8 codes; with --quantize keep the merge is written "
                    + "in full precision (export --format gguf --dtype q8_0 writes GGUF blocks again)");
        }
        if (f.has("requantize") && quantize == null) {
            throw new UsageException("--requantize needs --quantize nf4 or int8 (the codes to round the merge to)");
        }
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = ModelLoading.openWeights(f, m,
                        keep ? FrozenStorage.keepingGguf(null) : new FrozenStorage(null, quantize));
                LoraModel lora = new LoraModel(l.model())) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                Path dir = Path.of(adapters.get(i));
                if (!java.nio.file.Files.isDirectory(dir)) {
                    throw new UsageException("--adapter: " + dir + " is not a directory");
                }
                PeftAdapterFormat.read(lora, "a" + i, dir);
                names.add("a" + i);
            }
            String merged;
            if (names.size() == 1 && weights.get(0) == 1.0) {
                merged = names.get(0);
            } else {
                lora.addWeighted("merged", names, weights);
                merged = "merged";
            }
            lora.activate(merged);
            Map<String, QuantizedWeight> codes = new LinkedHashMap<>(); // the base's codes, before the merge replaces them
            l.model().linears().forEach(lin -> codes.put(lin.name(), lin.quantized()));
            lora.merge(merged);
            if (quantize != null || keep) {
                System.out.println(f.has("requantize") ? requantize(l.model(), codes, quantize, m)
                        : "merged onto the " + (keep ? "GGUF file's kept blocks" : f.string("quantize") + " base")
                        + " in full precision: W' = deq(Q(W)) + ΔW, "
                        + "exactly the weights the adapter was trained against (no error beyond --dtype's rounding)");
            }
            ModelDirectory.write(out, l.model().config(), l.model().parameters(), l.tokenizer(), l.generation(),
                    ModelCommands.dtype(f.string("dtype", "f32")), ModelCommands.bytes(f.string("max-shard-size", "5GB")));
            lora.unmerge(merged);
        }
        System.out.println("wrote " + out);
        return 0;
    }

    /** Rounds every merged projection to {@code kind} again, keeps those values for writing, and states the error. */
    private static String requantize(Llama model, Map<String, QuantizedWeight> codes, QuantizedWeight.Kind kind,
            NDManager m) {
        RequantizationError error = new RequantizationError();
        for (Linear lin : model.linears()) {
            QuantizedWeight before = codes.get(lin.name());
            if (before == null || lin.quantized() != null) {
                continue; // not merged: its codes are unchanged
            }
            try (NDScope scope = new NDScope()) {
                NDArray merged = lin.weight();
                QuantizedWeight q = error.add(kind, before.dense(), merged, m);
                NDArray values = q.dense();
                NDScope.unregister(values);
                model.replace(lin.name() + ".weight", values); // unmerge still restores the original
                q.close();
            }
        }
        return error.describe(kind);
    }
}
