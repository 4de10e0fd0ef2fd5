package org.llamawb.finetune.sft;

import java.nio.file.Path;
import java.util.List;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** The glue between the datasets module and the training loops. */
public final class DataSetup {
    private DataSetup() {}

    /** The recipe's chat template; {@code model} takes the model's own from {@code location}. */
    public static ChatTemplate template(DataOptions data, LlamaTokenizer tokenizer, Path location) {
        return ChatTemplates.resolve(data.template(), tokenizer, location);
    }

    /** A single user turn rendered up to the assistant's answer. */
    public static int[] promptIds(ChatTemplate template, LlamaTokenizer tokenizer, String prompt) {
        return new ExampleEncoder(tokenizer, template, EncodeOptions.of(1 << 20)).promptIds(List.of(Message.user(prompt)));
    }
}
