package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.cli.NamedTokenizerFixture;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.EncodedChat;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.eval.EvalModel;
import org.llamawb.finetune.recipe.ModelSection;
import org.llamawb.finetune.sft.DataSetup;

/**
 * {@code template: model} renders a conversation into the same token ids for training (the trainer's
 * {@link BaseModel} and {@code DataSetup.template}) as for evaluation ({@link EvalModel#load} and its
 * {@code chatTemplate}), for a model whose named tokenizer carries another chat template than the model's folder.
 *
 * <p>In the trainer's package (in the cli module, the one that sees both finetune and eval) to reach the
 * trainer's own opener.
 */
class TrainingAndEvaluationTemplatesTest {
    @TempDir
    Path tmp;

    @Test
    void trainingAndEvaluationRenderTheNamedTokenizersTemplate() throws Exception {
        NamedTokenizerFixture f = NamedTokenizerFixture.create(tmp);
        List<Message> chat = List.of(Message.user("Who are you?"), Message.assistant("A tiny model."));
        int[] trained;
        String trainedText;
        try (NDManager m = NDManager.newBaseManager();
                BaseModel base = BaseModel.open(new ModelSection(f.model().toString(), f.tokenizer().toString(), null, null, null, null), 0, m);
                ExampleEncoder enc = new ExampleEncoder(base.tokenizer(),
                        DataSetup.template(DataOptions.of("unused.json").withTemplate(ChatTemplates.MODEL), base.tokenizer(),
                                base.location()), EncodeOptions.of(1 << 12))) {
            EncodedChat c = enc.render(chat);
            trained = c.tokens().ids();
            trainedText = c.chat().text();
        }
        int[] evaluated;
        try (EvalModel model = EvalModel.load(f.model(), f.tokenizer());
                ExampleEncoder enc = new ExampleEncoder(model.tokenizer(), model.chatTemplate(ChatTemplates.MODEL),
                        EncodeOptions.of(1 << 12))) {
            evaluated = enc.render(chat).tokens().ids();
        }
        // before: training rendered the model folder's template ("<<user: ..."), evaluation the tokenizer's
        assertTrue(trainedText.contains(NamedTokenizerFixture.TOKENIZER_MARK + "user: Who are you?"), trainedText);
        assertArrayEquals(evaluated, trained, trainedText);
    }
}
