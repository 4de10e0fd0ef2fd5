package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.TestData;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * A fine-tuned model ends its answer: after a short LoRA run on four question/answer pairs, greedy generation
 * gives each answer and then EOS, for stories260K with its tokenizer in each of the three forms (llama2.c
 * {@code tok512.bin}, SentencePiece {@code tok512.model}, and that vocabulary as a {@code tokenizer.json}).
 *
 * <p>stories260K's EOS row was never trained: it equals the rows of 168 other tokens, so with LoRA on the
 * linear layers alone EOS stayed at 1/169 and the answers ran on to max-new-tokens. The run must train that
 * row ({@code adapter.trainable_tokens: auto}) and say so.
 */
class EndsAtEosTest {
    private static final List<String[]> QA = List.of(
            new String[] {"Who are you?", "I am a tiny model that answers questions."},
            new String[] {"What is the capital of France?", "Paris is the capital of France."},
            new String[] {"Say hello.", "Hello there!"},
            new String[] {"What do cats like?", "Cats like milk and long naps."});

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama2c", "sentencepiece", "tokenizer.json"})
    void greedyGenerationEndsAtEosRightAfterTheAnswer(String kind) throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path tokenizer = switch (kind) {
            case "llama2c" -> TestData.require("models/stories260K/tok512.bin").toAbsolutePath();
            case "sentencepiece" -> TestData.require("models/stories260K/tok512.model").toAbsolutePath();
            default -> {
                Path dir = tmp.resolve("tokenizer");
                try (LlamaTokenizer t = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"))) {
                    t.save(dir);
                }
                yield dir.resolve("tokenizer.json");
            }
        };
        ObjectMapper json = new ObjectMapper();
        StringBuilder data = new StringBuilder();
        for (int copy = 0; copy < 8; copy++) {
            for (String[] qa : QA) {
                ObjectNode c = json.createObjectNode();
                ArrayNode turns = c.putArray("conversations");
                turns.addObject().put("from", "human").put("value", qa[0]);
                turns.addObject().put("from", "gpt").put("value", qa[1]);
                data.append(json.writeValueAsString(c)).append('\n');
            }
        }
        Path dataFile = Files.writeString(tmp.resolve("qa.jsonl"), data);
        Path out = tmp.resolve("run");
        Path recipe = Files.writeString(tmp.resolve("qa.yaml"), """
                model: {path: %s, tokenizer: %s}
                adapter: {type: lora, r: 16, alpha: 32, target_modules: all-linear}
                data:
                  sources: [{path: %s, format: sharegpt}]
                  template: vicuna_v1.1
                  max_length: 256
                train: {max_steps: 40, micro_batch_size: 8, learning_rate: 3.0e-3, lr_schedule: cosine, warmup_steps: 4,
                        seed: 7, log_every_steps: 20}
                output: {dir: %s, save_every_steps: 0}
                """.formatted(model, tokenizer, dataFile, out));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err; // progress and notes go there
        try (PrintStream capture = new PrintStream(log, true)) {
            System.setOut(capture);
            System.setErr(capture);
            assertEquals(0, Workbench.standard().run(new String[] {"finetune", recipe.toString()}, capture), log.toString());
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        assertTrue(log.toString().contains("the output row of '</s>' (id 2) equals those of 168 other tokens"), log.toString());
        Path adapter = out.resolve("adapter");
        assertEquals(java.util.Map.of("embed_tokens", List.of(2)),
                PeftAdapterFormat.readConfig(adapter).trainableTokenIndices());

        try (NDManager m = NDManager.newBaseManager();
                LoadedModel l = LoadedModel.open(model, tokenizer, "--tokenizer", m);
                AdapterAttachment a = AdapterAttachment.attach(l.model(), adapter)) {
            int eos = l.tokenizer().eosId();
            assertEquals(2, eos);
            for (String[] qa : QA) {
                int[] prompt = PromptRendering.encode(l.tokenizer(), qa[0], "vicuna_v1.1", model.getParent());
                int max = 48;
                // stop only at max-new-tokens, so the EOS shows in the output
                int[] got = new Generator(l.model()).generate(prompt, Sampling.greedy(max, java.util.Set.of()), t -> { });
                // the trained tokens of that conversation: the answer as the template writes it, then EOS
                int[] want = trained(l.tokenizer(), qa, model.getParent());
                assertEquals(eos, want[want.length - 1]);
                assertArrayEquals(want, Arrays.copyOf(got, Math.min(got.length, want.length)),
                        kind + ": '" + qa[0] + "' -> '" + l.tokenizer().decode(got) + "'");
            }
        }
    }

    private static int[] trained(LlamaTokenizer tokenizer, String[] qa, Path location) {
        try (ExampleEncoder enc = new ExampleEncoder(tokenizer, ChatTemplates.resolve("vicuna_v1.1", tokenizer, location),
                EncodeOptions.of(1 << 12))) {
            int[] labels = enc.render(List.of(Message.user(qa[0]), Message.assistant(qa[1]))).labels();
            return Arrays.stream(labels).filter(id -> id != TokenizedExample.IGNORE).toArray();
        }
    }
}
