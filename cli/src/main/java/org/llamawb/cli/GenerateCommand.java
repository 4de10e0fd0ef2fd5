package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;

/** {@code workbench generate}: text from a prompt, streamed to stdout. */
final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate text from a prompt (greedy or sampled, with the KV cache)";
    }

    @Override
    public int run(List<String> args) {
        Options o = new Options();
        o.addOption(Flags.required("model", "M", "Hugging Face directory, llama2.c .bin or .gguf"));
        o.addOption(Flags.opt("tokenizer", "T", "tokenizer when not beside the model (tokenizer.json/.model/.bin)"));
        o.addOption(Flags.opt("adapter", "DIR", "a PEFT LoRA adapter directory to apply"));
        o.addOption(Flags.opt("prompt", "TEXT", "the prompt (default: empty, i.e. BOS only)"));
        o.addOption(Flags.opt("max-new-tokens", "N", "at most N new tokens (default 256)"));
        o.addOption(Flags.opt("temperature", "T", "0 = greedy (default: the model's generation_config, else 0)"));
        o.addOption(Flags.opt("top-p", "P", "nucleus sampling threshold in (0, 1] (default 1)"));
        o.addOption(Flags.opt("top-k", "K", "sample among the K most likely tokens (default 0 = all)"));
        o.addOption(Flags.opt("seed", "S", "sampling seed (default 0)"));
        o.addOption(Flags.opt("template", "NAME", "render the prompt as one user turn with this chat template"));
        o.addOption(Flags.opt("attention", "IMPL", "fused (default) or explicit"));
        ModelLoading.storageOptions(o);
        Flags f = Flags.parse("generate --model M [--prompt TEXT] [options]", o, args);
        if (f == null) {
            return 0;
        }
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = ModelLoading.open(f, m, ModelLoading.storage(f));
                AdapterAttachment adapter = AdapterAttachment.attach(l.model(), f.has("adapter") ? f.existing("adapter") : null)) {
            String prompt = f.string("prompt", "");
            int[] ids = PromptRendering.encode(l.tokenizer(), prompt, f.string("template", null), l.templateSource());
            Sampling s = new Sampling(f.number("temperature", l.generation().temperature()),
                    f.integer("top-k", l.generation().topK()), f.number("top-p", l.generation().topP()),
                    f.longValue("seed", 0), f.integer("max-new-tokens", 256), l.stopIds());
            TextStream stream = new TextStream(l.tokenizer(), System.out);
            new Generator(l.model()).generate(ids, s, stream::accept);
            stream.finish();
            System.out.println();
        }
        return 0;
    }
}
