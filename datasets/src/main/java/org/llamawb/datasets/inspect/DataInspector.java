package org.llamawb.datasets.inspect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.example.UnpairedPreference;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ExampleStream;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.template.TemplateException;
import org.llamawb.datasets.tokenize.EncodedChat;
import org.llamawb.datasets.tokenize.ExampleEncoder;

/**
 * Reads a whole data file through the chat template and the tokenizer, the way training would, and
 * collects the first examples rendered with their trained text marked, plus the statistics and problems.
 */
public final class DataInspector {
    private final ExampleEncoder encoder;

    public DataInspector(ExampleEncoder encoder) {
        this.encoder = encoder;
    }

    /**
     * @param show how many examples to render
     * @param style how trained text is marked
     */
    public Inspection inspect(Path file, ReadOptions read, int show, SpanStyle style) {
        List<String> shown = new ArrayList<>();
        long prompts = 0;
        try (ExampleStream stream = DatasetReader.open(file, read)) {
            while (stream.hasNext()) {
                Example e = stream.next();
                boolean render = shown.size() < show;
                if (e instanceof Prompt p) {
                    prompts++;
                    if (render) {
                        shown.add(header(e) + renderPrompt(p, style));
                    }
                } else if (e instanceof PreferencePair p) {
                    encoder.encode(p);
                    if (render) {
                        shown.add(header(e) + "chosen:\n" + render(p.chosenConversation(), style)
                                + "\nrejected:\n" + render(p.rejectedConversation(), style));
                    }
                } else {
                    encoder.encode(e);
                    if (render) {
                        Conversation c = e instanceof UnpairedPreference u ? u.conversation() : (Conversation) e;
                        shown.add(header(e) + render(c.messages(), style));
                    }
                }
            }
            return new Inspection(file, stream.format(), encoder.template().name(), shown, stream.counts(),
                    encoder.stats(), prompts);
        }
    }

    private static String header(Example e) {
        return "--- " + e.origin() + (e.id().equals(e.origin().toString()) ? "" : " (" + e.id() + ")") + "\n";
    }

    private String render(List<org.llamawb.datasets.example.Message> messages, SpanStyle style) {
        try {
            EncodedChat c = encoder.render(messages);
            return TrainedText.mark(c, style) + "\n(" + c.length() + " tokens, "
                    + java.util.Arrays.stream(c.labels()).filter(l -> l != -100).count() + " trained)";
        } catch (TemplateException ex) {
            return "(not rendered: " + ex.getMessage() + ")";
        }
    }

    private String renderPrompt(Prompt p, SpanStyle style) {
        try {
            return encoder.template().render(p.messages(), true).text() + "\n(" + encoder.promptIds(p.messages()).length
                    + " tokens, prompt only)";
        } catch (TemplateException ex) {
            return "(not rendered: " + ex.getMessage() + ")";
        }
    }
}
