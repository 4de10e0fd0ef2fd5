package org.llamawb.datasets.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.Tokenizers;
import org.llamawb.model.TestData;

/** Marked renderings, statistics and problems on the real LLaMA tokenizer. */
class DataInspectorTest {

    private static ExampleEncoder encoder(BuiltinTemplate t, int maxLength) {
        return new ExampleEncoder(Tokenizers.llama(), t.with(SpecialTokens.LLAMA), EncodeOptions.of(maxLength));
    }

    @Test
    void trainedTokensAreMarkedWithBracketsOrColour() {
        try (ExampleEncoder enc = encoder(BuiltinTemplate.LLAMA_2, 512)) {
            var chat = enc.render(List.of(Message.user("Hi"), Message.assistant("Hello."), Message.user("Bye"),
                    Message.assistant("Bye!")));
            assertEquals("<s>[INST] Hi [/INST][[ Hello. </s>]]<s>[INST] Bye [/INST][[ Bye! </s>]]",
                    TrainedText.mark(chat, SpanStyle.BRACKETS));
            assertEquals("<s>[INST] Hi [/INST]\u001b[32m Hello. </s>\u001b[0m<s>[INST] Bye [/INST]\u001b[32m Bye! </s>\u001b[0m",
                    TrainedText.mark(chat, SpanStyle.COLOR));
        }
    }

    @Test
    void inspectionOfPreferencePairsShowsBothAnswersAndCountsPairs() {
        Path dpo = TestData.require("preference/llamafactory-demo/dpo_en_demo.json");
        try (ExampleEncoder enc = encoder(BuiltinTemplate.VICUNA_V1_1, 4096)) {
            Inspection r = new DataInspector(enc).inspect(dpo, ReadOptions.skipping(), 1, SpanStyle.BRACKETS);
            assertEquals(1, r.shown().size());
            String shown = r.shown().get(0);
            assertTrue(shown.startsWith("--- " + dpo + ":2\nchosen:\nA chat between"), shown);
            assertTrue(shown.contains("\nrejected:\nA chat between"), shown);
            assertEquals(300, r.reads().examples());
            assertEquals(300, r.encoding().kept() + r.encoding().droppedTotal());
            assertEquals(0, r.problemCount());
            assertTrue(r.statistics().get(0).startsWith("file: " + dpo + " (sharegpt-pairs), template vicuna_v1.1"));
        }
    }

    @Test
    void promptFilesRenderWithTheGenerationPromptAndTrainNothing(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("prompts.jsonl");
        Files.writeString(f, "\"Tell me a joke.\"\n\"Name a colour.\"\n");
        try (ExampleEncoder enc = encoder(BuiltinTemplate.CHATML, 512)) {
            Inspection r = new DataInspector(enc).inspect(f, ReadOptions.skipping(), 5, SpanStyle.BRACKETS);
            assertEquals(2, r.prompts());
            assertEquals(0, r.encoding().kept());
            assertTrue(r.shown().get(0).startsWith("--- " + f + ":1\n<|im_start|>user\nTell me a joke.<|im_end|>\n"
                    + "<|im_start|>assistant\n\n("), r.shown().get(0));
            assertEquals("examples: 0 encoded, 0 truncated, 0 dropped, 2 prompts", r.statistics().get(2));
        }
    }
}
