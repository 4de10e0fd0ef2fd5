package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.llamawb.cli.BadInputCliTest.assertOneLine;
import static org.llamawb.cli.BadInputCliTest.run;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.TargetModules;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * A tokenizer with more tokens than the model has embeddings is refused by every command that opens the model,
 * with the same one line (only the name of the setting differs: {@code model.tokenizer} in a recipe,
 * {@code --tokenizer} on the command line), exit code 2: finetune, eval (language model and reward model),
 * generate and chat.
 */
class VocabularyCheckTest {
    @TempDir
    Path tmp;

    @Test
    void finetuneEvalGenerateAndChatRefuseALargerTokenizerAlike() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path llama = TestData.require("tokenizers/llama/tokenizer.model").toAbsolutePath();
        String message = llama + " has 32000 tokens but the model " + model + " has vocab_size 512: use the tokenizer "
                + "the model was trained with";

        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        Path out = tmp.resolve("out");
        Path recipe = Files.writeString(tmp.resolve("r.yaml"), """
                model: {path: %s, tokenizer: %s}
                data:
                  sources: [{path: %s, format: sharegpt}]
                  max_length: 256
                train: {max_steps: 2, micro_batch_size: 2}
                output: {dir: %s}
                """.formatted(model, llama, data, out));
        BadInputCliTest.Outcome finetune = run("finetune", recipe.toString());
        assertOneLine(finetune);
        assertEquals("error: model.tokenizer " + message, finetune.err());
        assertFalse(Files.exists(out));

        Path tasks = Files.createDirectories(tmp.resolve("tasks"));
        Files.writeString(tasks.resolve("copa.yaml"), "name: copa\nkind: multiple_choice\nfile: "
                + TestData.require("eval/llmfoundry-eval-gauntlet/commonsense_reasoning/copa.jsonl") + "\nprompt: \"{query}\"\n");
        Path pairs = Files.writeString(tmp.resolve("pairs.jsonl"),
                "{\"prompt\": \"Tell me a story.\", \"chosen\": \"Lily was happy.\", \"rejected\": \"No.\"}\n");
        // before: the reward model's evaluation checked the vocabulary itself, after encoding the data, and said
        // "... has 32000 tokens but the model's vocab_size is 512"
        String[][] commands = {
            {"eval", "--model", model.toString(), "--tokenizer", llama.toString(), "--task-dir", tasks.toString(),
                "--tasks", "copa", "--limit", "2", "--out", tmp.resolve("eval").toString()},
            {"generate", "--model", model.toString(), "--tokenizer", llama.toString(), "--prompt", "Once"},
            {"chat", "--model", model.toString(), "--tokenizer", llama.toString(), "--template", "llama-2"},
            {"eval", "--reward-model", rewardModel(model).toString(), "--model", model.toString(), "--tokenizer",
                llama.toString(), "--data", pairs.toString()},
        };
        for (String[] command : commands) {
            BadInputCliTest.Outcome o = run(command);
            assertOneLine(o);
            assertEquals("error: --tokenizer " + message, o.err(), command[0]);
        }
        assertFalse(Files.exists(tmp.resolve("eval")));
    }

    /** A reward adapter (LoRA and score head) for stories260K. */
    private Path rewardModel(Path model) {
        Path dir = tmp.resolve("rm");
        try (NDManager m = NDManager.newBaseManager();
                Llama base = Llama.load(Checkpoint.open(model), m);
                RewardModel rm = RewardModel.create(base, LoraConfig.of(4, 8, new TargetModules.AllLinear()), 5)) {
            rm.save(dir, model.toString());
        }
        return dir;
    }
}
