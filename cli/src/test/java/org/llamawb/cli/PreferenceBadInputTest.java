package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.llamawb.cli.BadInputCliTest.assertOneLine;
import static org.llamawb.cli.BadInputCliTest.run;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.TestData;

/**
 * Bad data given to the preference methods ({@code dpo}, {@code reward}): refused before the run exists, with
 * one line naming the source and exit code 2, leaving no output directory (so no tracking journal and no
 * MLflow run).
 */
class PreferenceBadInputTest {
    @TempDir
    Path tmp;

    Path model;
    Path out;

    @BeforeEach
    void paths() {
        model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        out = tmp.resolve("out");
    }

    Path recipe(String method, Path data, String format, String extra) throws Exception {
        return Files.writeString(tmp.resolve("r.yaml"), """
                method: %s
                model: {path: %s}
                adapter: {type: lora, r: 4, target_modules: all-linear}
                data:
                  sources: [{path: %s%s}]
                  max_length: 256
                  %s
                train: {max_steps: 2, micro_batch_size: 2}
                tracking: {experiment: bad-input}
                output: {dir: %s}
                """.formatted(method, model, data, format == null ? "" : ", format: " + format, extra, out));
    }

    @Test
    void conversationsGivenToDpoAreRefusedNamingTheSource() throws Exception {
        Path sft = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        // before: the run started, then failed inside the trainer ("no preference pair survived"), leaving a run behind
        for (String method : new String[] {"dpo", "reward"}) {
            assertOneLine(run("finetune", recipe(method, sft, null, "").toString()), "data.sources[0] (" + sft + ")",
                    "'sharegpt' data does not train with method: " + method, "use method: sft");
            assertFalse(Files.exists(out), method + ": no output directory, so no run");
        }
    }

    @Test
    void aPairWithAnEmptySideIsRefusedNamingFileAndLine() throws Exception {
        Path pairs = Files.writeString(tmp.resolve("pairs.jsonl"), """
                {"prompt": "What is 2 + 3?", "chosen": "It is 5.", "rejected": "It is 6."}
                {"prompt": "What is 2 + 2?", "chosen": "", "rejected": "It is 5."}
                """);
        assertOneLine(run("finetune", recipe("dpo", pairs, "preference", "on_error: fail").toString()),
                pairs + ":2", "empty assistant turn in chosen");
        assertFalse(Files.exists(out));
        // skipping bad records (the default), a file whose every pair is bad is refused with the reason counted
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), """
                {"prompt": "What is 2 + 2?", "chosen": "It is 4.", "rejected": " "}
                """);
        assertOneLine(run("finetune", recipe("reward", bad, "preference", "").toString()),
                "data.sources[0] (" + bad + "): no usable record for method: reward", "1 skipped");
        assertFalse(Files.exists(out));
    }
}
