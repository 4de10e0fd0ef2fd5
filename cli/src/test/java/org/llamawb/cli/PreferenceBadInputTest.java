package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.llamawb.cli.BadInputCliTest.assertOneLine;
import static org.llamawb.cli.BadInputCliTest.run;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.TestData;

/**
 * Bad data given to the preference methods ({@code dpo}, {@code reward}), and an SFT adapter to start DPO from
 * ({@code adapter.init_from}) that was made on another base: refused before the run exists, with one line naming
 * the source (the file and tensor) and exit code 2, leaving no output directory (so no tracking journal and no
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
        return recipe(method, data, format, extra, "");
    }

    Path recipe(String method, Path data, String format, String extra, String adapter) throws Exception {
        return Files.writeString(tmp.resolve("r.yaml"), """
                method: %s
                model: {path: %s}
                adapter: {type: lora, r: 4, target_modules: all-linear%s}
                data:
                  sources: [{path: %s%s}]
                  max_length: 256
                  %s
                train: {max_steps: 2, micro_batch_size: 2}
                tracking: {experiment: bad-input}
                output: {dir: %s}
                """.formatted(method, model, adapter, data, format == null ? "" : ", format: " + format, extra, out));
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

    /** A random Llama 32 wide (stories260K is 64), with the stories vocabulary size: another base. */
    static Llama otherBase(NDManager m) {
        LlamaConfig c = LlamaConfig.fromJson(new ObjectMapper().createObjectNode().put("hidden_size", 32)
                .put("intermediate_size", 64).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 4).put("vocab_size", 512), "test");
        return Llama.random(c, 1, 0.02, m);
    }

    @Test
    void anSftAdapterOfAnotherBaseToStartFromIsRefusedNamingFileAndTensor() throws Exception {
        Path pairs = Files.writeString(tmp.resolve("pairs.jsonl"), """
                {"prompt": "What is 2 + 3?", "chosen": "It is 5.", "rejected": "It is 6."}
                """);
        Path sft = tmp.resolve("sft");
        try (NDManager m = NDManager.newBaseManager(); Llama other = otherBase(m); LoraModel lora = new LoraModel(other)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj"))), 1);
            PeftAdapterFormat.write(lora, "default", sft, "another-base");
        }
        assertOneLine(run("finetune", recipe("dpo", pairs, "preference", "", ", init_from: " + sft).toString()),
                "adapter.init_from: " + sft.resolve("adapter_model.safetensors"),
                "tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape [4, 32]",
                "'model.layers.0.self_attn.q_proj.weight' [64, 64]", "made on another base");
        assertFalse(Files.exists(out), "no output directory, so no run");
        Path missing = tmp.resolve("no-such-adapter");
        assertOneLine(run("finetune", recipe("dpo", pairs, "preference", "", ", init_from: " + missing).toString()),
                "adapter.init_from: " + missing + " is not a directory");
        assertFalse(Files.exists(out));
    }
}
