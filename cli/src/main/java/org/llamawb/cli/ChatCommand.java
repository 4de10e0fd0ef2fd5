package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.generate.GenerationSession;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * {@code workbench chat}: a multi-turn conversation on stdin/stdout, each reply streamed as it is
 * generated. Every turn renders the whole conversation with the chat template, as a one-shot {@code
 * generate} of that text would, and the KV cache keeps what earlier turns computed: only the tokens past
 * the common prefix are fed ({@link GenerationSession}).
 */
final class ChatCommand implements Command {
    static final String COMMANDS = "/system TEXT (set the system message), /reset (forget the conversation), /exit";

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;

    ChatCommand() {
        this(System.in, System.out, System.err);
    }

    ChatCommand(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    @Override
    public String name() {
        return "chat";
    }

    @Override
    public String summary() {
        return "talk to a model turn by turn (its chat template, streamed replies, the KV cache kept across turns)";
    }

    @Override
    public int run(List<String> args) throws IOException {
        Options o = new Options();
        o.addOption(Flags.required("model", "M", "Hugging Face directory, llama2.c .bin or .gguf"));
        o.addOption(Flags.opt("tokenizer", "T", "tokenizer when not beside the model (tokenizer.json/.model/.bin)"));
        o.addOption(Flags.opt("adapter", "DIR", "a PEFT LoRA adapter directory to apply"));
        o.addOption(Flags.opt("template", "NAME", "chat template: a built-in (" + BuiltinTemplate.names() + "), model or a"
                + " .jinja file (default: the model's own chat_template)"));
        o.addOption(Flags.opt("system", "TEXT", "the first system message (default: the template's own, if any)"));
        o.addOption(Flags.opt("max-new-tokens", "N", "at most N new tokens per reply (default 512)"));
        o.addOption(Flags.opt("temperature", "T", "0 = greedy (default: the model's generation_config, else 0)"));
        o.addOption(Flags.opt("top-p", "P", "nucleus sampling threshold in (0, 1] (default 1)"));
        o.addOption(Flags.opt("top-k", "K", "sample among the K most likely tokens (default 0 = all)"));
        o.addOption(Flags.opt("seed", "S", "sampling seed (default 0)"));
        o.addOption(Flags.opt("attention", "IMPL", "fused (default) or explicit"));
        ModelLoading.storageOptions(o);
        o.addOption(Flags.opt("stats", null, "after each reply, print on stderr how many prompt tokens were fed and reused"));
        Flags f = Flags.parse("chat --model M [--adapter A] [--template NAME] [options]   (in the chat: " + COMMANDS + ")",
                o, args);
        if (f == null) {
            return 0;
        }
        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = ModelLoading.open(f, m, ModelLoading.storage(f));
                AdapterAttachment adapter = AdapterAttachment.attach(l.model(), f.has("adapter") ? f.existing("adapter") : null)) {
            String templateName = f.string("template", null);
            if (templateName == null) {
                if (!ChatTemplates.hasModelTemplate(l.tokenizer(), l.templateSource())) {
                    throw new UsageException("the model has no chat_template; pass --template NAME (one of "
                            + BuiltinTemplate.names() + ", or a .jinja file)");
                }
                templateName = ChatTemplates.MODEL;
            }
            ChatTemplate template = ChatTemplates.resolve(templateName, l);
            Sampling sampling = new Sampling(f.number("temperature", l.generation().temperature()),
                    f.integer("top-k", l.generation().topK()), f.number("top-p", l.generation().topP()),
                    f.longValue("seed", 0), f.integer("max-new-tokens", 512), l.stopIds());
            int context = l.model().config().maxPositionEmbeddings();
            try (ExampleEncoder encoder = new ExampleEncoder(l.tokenizer(), template, EncodeOptions.of(Integer.MAX_VALUE));
                    GenerationSession session = new GenerationSession(l.model(), Math.min(context, 4096))) {
                converse(l.tokenizer(), encoder, session, sampling, f.string("system", null), context, f.has("stats"));
            }
        }
        return 0;
    }

    /** The read–reply loop, until /exit or the end of the input. */
    private void converse(LlamaTokenizer tokenizer, ExampleEncoder encoder, GenerationSession session, Sampling sampling, String system,
            int context, boolean stats) throws IOException {
        boolean interactive = System.console() != null && in == System.in;
        if (interactive) {
            err.println("chat: " + COMMANDS + "; an empty line does nothing");
        }
        List<Message> turns = new ArrayList<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        while (true) {
            if (interactive) {
                out.print("> ");
                out.flush();
            }
            String line = reader.readLine();
            if (line == null || line.strip().equals("/exit")) {
                return;
            }
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("/")) {
                String word = line.strip().split("\\s+", 2)[0];
                switch (word) {
                    case "/system" -> system = line.strip().substring("/system".length()).strip();
                    case "/reset" -> turns.clear();
                    default -> err.println("unknown chat command " + word + "; " + COMMANDS);
                }
                continue;
            }
            List<Message> conversation = new ArrayList<>();
            if (system != null && !system.isEmpty()) {
                conversation.add(Message.system(system));
            }
            conversation.addAll(turns);
            conversation.add(Message.user(line));
            int[] prompt = encoder.promptIds(conversation);
            if (prompt.length >= context) {
                err.println("the conversation is " + prompt.length + " tokens, the model's context is " + context
                        + "; /reset to start again");
                continue;
            }
            TextStream stream = new TextStream(tokenizer, out);
            int[] reply = session.generate(prompt, sampling, stream::accept);
            stream.finish();
            out.println();
            if (stats) {
                err.printf("[prompt %d tokens: %d fed, %d from the cache; reply %d tokens]%n", prompt.length,
                        session.lastPrefilled(), prompt.length - session.lastPrefilled(), reply.length);
            }
            turns.add(Message.user(line));
            turns.add(Message.assistant(stream.text()));
        }
    }
}
