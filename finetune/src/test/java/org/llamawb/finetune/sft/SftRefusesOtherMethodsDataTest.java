package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.datasets.mix.DataSource;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * A KTO file given to SFT would train its undesirable answers as targets, and a pair file has no single
 * target: both are refused with one line naming the source and the method that fits; conversations pass.
 */
class SftRefusesOtherMethodsDataTest {

    static String refusal(String relative, String format) {
        Path file = TestData.require(relative);
        DataOptions options = new DataOptions(List.of(new DataSource(file.toString(), format, 1.0)), "vicuna_v1.1", 256,
                null, null, false, false, 0.0, null, null, 7L);
        try (Checkpoint c = Checkpoint.open(TestData.require("models/stories260K/stories260K.bin"));
                LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, null)) {
            var data = DatasetBuilder.sft(options, tok, ChatTemplates.resolve("vicuna_v1.1", tok, c.directory()), Path.of(""));
            if (format.equals("sharegpt")) {
                SftMethod.refuseOtherMethodsData(data); // must not throw
                return null;
            }
            return assertThrows(BadInputException.class, () -> SftMethod.refuseOtherMethodsData(data)).getMessage();
        }
    }

    @Test
    void ktoDataNamesMethodKto() {
        String m = refusal("preference/llamafactory-demo/kto_en_demo.json", "kto");
        assertTrue(m.startsWith("data.sources[0] (") && m.contains("kto_en_demo.json") && m.endsWith("use method: kto"), m);
        assertEquals(1, m.lines().count());
    }

    @Test
    void pairDataNamesMethodDpo() {
        String m = refusal("preference/llamafactory-demo/dpo_en_demo.json", "sharegpt-pairs");
        assertTrue(m.contains("'sharegpt-pairs' data does not train with method: sft; use method: dpo"), m);
    }

    @Test
    void conversationsPass() {
        assertEquals(null, refusal("sft/fastchat-dummy-conversation/dummy_conversation.json", "sharegpt"));
    }
}
