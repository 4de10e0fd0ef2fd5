package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.sft.DataSetup;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * {@code bench train --method grpo|ppo} runs the methods' own rollouts and updates on prompts of exactly the asked
 * length and counts tokens as the TRL peers do: generated tokens are the completions' lengths, sampling is part of
 * the rollout phase, GRPO trains each completion once and PPO once per PPO epoch.
 */
class BenchOnlineTest {
    @TempDir
    Path tmp;

    static Path tokenizer() {
        return TestData.require("models/stories260K/tok512.model");
    }

    @Test
    void promptsRenderToExactlyTheAskedTokens() throws Exception {
        BenchOnline.Setting s = new BenchOnline.Setting(true, 12, 4, 8, 1, 4, 1, 1);
        Path data = tmp.resolve("p.jsonl");
        Recipe r = BenchOnline.recipe(s, BenchCommand.shape(flags("--vocab", "512"), 16), tokenizer(), data, 1);
        assertEquals("grpo", r.method());
        try (LlamaTokenizer tok = LlamaTokenizer.load(tokenizer())) {
            ChatTemplate template = DataSetup.template(r.data(), tok, tokenizer());
            BenchOnline.writePrompts(data, tok, template, 5, 12);
            List<String> lines = Files.readAllLines(data);
            assertEquals(5, lines.size());
            for (String line : lines) {
                String prompt = new ObjectMapper().readTree(line).get("prompt").asText();
                assertEquals(12, DataSetup.promptIds(template, tok, prompt).length, prompt);
            }
        }
    }

    @Test
    void grpoCountsEachCompletionOnceInTheUpdate() throws Exception {
        JsonNode j = run("grpo", "--batch", "8", "--generations", "4");
        assertEquals("grpo", j.get("method").asText());
        assertEquals(2, j.get("config").get("prompts_per_rollout").asInt());
        JsonNode ro = j.get("rollout");
        assertEquals(2 * 8, ro.get("completions").asInt(), "2 rollout batches of 8 completions");
        long generated = ro.get("generated_tokens").asLong();
        assertTrue(generated >= 16 && generated <= 16 * 5, "1 to 5 tokens per completion: " + generated);
        assertEquals(generated, j.get("update").get("trained_tokens").asLong(), "one update per generation batch");
        assertEquals(4096, j.get("lora").get("trainable_params").asLong(), "the policy adapter alone");
        checkTimes(j);
    }

    @Test
    void ppoTrainsEveryCompletionOncePerEpoch() throws Exception {
        JsonNode j = run("ppo", "--batch", "2", "--mini-batches", "2", "--ppo-epochs", "3");
        assertEquals(4, j.get("config").get("prompts_per_rollout").asInt());
        assertEquals(6, j.get("config").get("optimizer_steps_per_rollout").asInt());
        JsonNode ro = j.get("rollout");
        assertEquals(2 * 4, ro.get("completions").asInt());
        long generated = ro.get("generated_tokens").asLong();
        assertTrue(generated >= 8 && generated <= 8 * 5, "1 to 5 tokens per completion: " + generated);
        assertEquals(3 * generated, j.get("update").get("trained_tokens").asLong(), "3 PPO epochs");
        assertEquals(2 * 6, j.get("update").get("optimizer_steps").asInt());
        // LoRA r 8 on q, k, v, o of 2 layers of width 32: 2 · 4 · 8 · (32 + 32) = 4,096 per adapter
        assertEquals(2 * 4096 + 32, j.get("lora").get("trainable_params").asLong(),
                "the policy adapter, the critic adapter and the critic's value head [1, 32] are trained");
        checkTimes(j);
    }

    private static void checkTimes(JsonNode j) {
        JsonNode ro = j.get("rollout");
        double sampling = ro.get("sampling_s").asDouble();
        assertTrue(sampling > 0 && sampling <= ro.get("phase_s").asDouble(), "sampling is part of the rollout phase");
        assertEquals(ro.get("generated_tokens").asDouble() / sampling, j.get("rollout_tokens_per_s").asDouble(), 1e-6);
        JsonNode u = j.get("update");
        assertEquals(u.get("trained_tokens").asDouble() / u.get("s").asDouble(), j.get("update_tokens_per_s").asDouble(),
                1e-6);
        assertTrue(j.get("peak_rss_mib").asDouble() >= j.get("rss_before_steps_mib").asDouble());
    }

    private static Flags flags(String... args) {
        org.apache.commons.cli.Options o = new org.apache.commons.cli.Options();
        o.addOption(Flags.opt("vocab", "N", "vocabulary"));
        return Flags.parse("test", o, List.of(args));
    }

    private JsonNode run(String method, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("bench", "train", "--method", method, "--dim", "32", "--layers", "2",
                "--heads", "4", "--hidden", "64", "--vocab", "512", "--tokenizer", tokenizer().toString(),
                "--prompt-tokens", "10", "--new-tokens", "5", "--steps", "2", "--warmup", "1"));
        args.addAll(List.of(extra));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int rc;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            rc = new Workbench(List.of(new BenchCommand())).run(args.toArray(String[]::new),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(bytes.toString(StandardCharsets.UTF_8));
    }
}
