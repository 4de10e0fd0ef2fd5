package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.eval.EvalModel;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;

/**
 * {@code generate --template model} prompts a model as evaluation's generation tasks do, for a model whose
 * named tokenizer carries another chat template than the model's folder: greedy {@code generate} prints, and
 * {@code chat} replies, what greedy generation from evaluation's prompt gives.
 */
class GenerateAndEvaluationTemplatesTest {
    private static final String PROMPT = "Once upon a time there was a cat. What was it?";
    private static final int MAX_NEW = 24;

    @TempDir
    Path tmp;

    @Test
    void generateRendersTheNamedTokenizersTemplateAsEvaluationDoes() throws Exception {
        NamedTokenizerFixture f = NamedTokenizerFixture.create(tmp);
        String evaluated;
        String withTheModelFoldersTemplate;
        try (EvalModel model = EvalModel.load(f.model(), f.tokenizer())) {
            evaluated = greedy(model, model.chatTemplate(ChatTemplates.MODEL));
            withTheModelFoldersTemplate = greedy(model, ChatTemplates.resolve(ChatTemplates.MODEL, model.tokenizer(),
                    f.model().getParent()));
        }
        // the two templates lead this model to different text, so the comparison below can tell them apart
        assertNotEquals(withTheModelFoldersTemplate, evaluated);

        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Workbench.standard().run(new String[] {"generate", "--model", f.model().toString(), "--tokenizer",
                    f.tokenizer().toString(), "--template", "model", "--prompt", PROMPT, "--temperature", "0",
                    "--max-new-tokens", String.valueOf(MAX_NEW)}, new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        // before: generate read the chat template in the model's folder, evaluation the named tokenizer's
        assertEquals(evaluated + "\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void chatFindsTheNamedTokenizersTemplateAndRepliesAsEvaluationPrompts() throws Exception {
        NamedTokenizerFixture f = NamedTokenizerFixture.create(tmp);
        String evaluated;
        try (EvalModel model = EvalModel.load(f.model(), f.tokenizer())) {
            evaluated = greedy(model, model.chatTemplate(ChatTemplates.MODEL));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ChatCommand chat = new ChatCommand(new ByteArrayInputStream((PROMPT + "\n/exit\n").getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        // no --template: the model's own, which only the named tokenizer's folder holds (before: "the model has no
        // chat_template", as chat looked only at a template the tokenizer file carries)
        int code = new Workbench(List.of(chat)).run(new String[] {"chat", "--model", f.model().toString(), "--tokenizer",
                f.tokenizer().toString(), "--temperature", "0", "--max-new-tokens", String.valueOf(MAX_NEW)},
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertTrue(stdout.contains(evaluated), stdout + " lacks " + evaluated);
    }

    /** Greedy text after one user turn rendered with {@code template}, as a generation task prompts. */
    private static String greedy(EvalModel model, ChatTemplate template) {
        try (ExampleEncoder enc = new ExampleEncoder(model.tokenizer(), template, EncodeOptions.of(1 << 12))) {
            int[] prompt = enc.promptIds(List.of(Message.user(PROMPT)));
            List<Integer> ids = new ArrayList<>();
            new Generator(model.llama()).generate(prompt, Sampling.greedy(MAX_NEW, model.stopIds()), ids::add);
            return model.tokenizer().decode(ids.stream().mapToInt(Integer::intValue).toArray());
        }
    }
}
