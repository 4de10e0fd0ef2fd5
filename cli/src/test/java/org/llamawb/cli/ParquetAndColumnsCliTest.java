package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.TrainerState;
import org.llamawb.model.TestData;

/**
 * Parquet files and mapped column shapes through the CLI: {@code data inspect} shows them, and a
 * {@code finetune} run trains on a Parquet ShareGPT file, a Parquet question/answer file mapped in the
 * recipe and an instruction file with its outputs in a list; a {@code method: dpo} run trains on a Parquet
 * pair file and on two pairwise shapes mapped in the recipe.
 */
class ParquetAndColumnsCliTest {
    /** The datasets module's fixtures (see their README), from this module's folder. */
    private static final Path FIXTURES = Path.of("../datasets/src/test/resources/fixtures/parquet").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

    private int inspect(String... args) {
        PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
        Workbench w = new Workbench(List.of(new DataInspectCommand(out)));
        String[] all = new String[args.length + 2];
        all[0] = "data";
        all[1] = "inspect";
        System.arraycopy(args, 0, all, 2, args.length);
        return w.run(all, new PrintStream(errBytes, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private static String stories() {
        return TestData.require("models/stories260K/tok512.model").toString();
    }

    @Test
    void inspectShowsAParquetShareGptFileRowByRow() {
        Path data = FIXTURES.resolve("sharegpt.parquet");
        assertEquals(0, inspect("--data", data.toString(), "--tokenizer", stories(), "--template", "vicuna_v1.1",
                "--show", "1", "--color", "never"), errBytes.toString(StandardCharsets.UTF_8));
        String o = out();
        assertTrue(o.startsWith("--- " + data + ":1 (identity_0)\nA chat between a curious user"), o);
        assertTrue(o.contains("USER: Who are you? ASSISTANT:[[ I am Vicuna"), o);
        assertTrue(o.contains("file: " + data + " (sharegpt), template vicuna_v1.1"), o);
        assertTrue(o.contains("records: 12 read, 0 skipped"), o);
        assertTrue(o.contains("format: " + data + ": detected format sharegpt from the first record's keys {id, conversations}"), o);
    }

    @Test
    void inspectSaysWhatItGuessedAndTakesColumnsOnTheCommandLine() {
        Path data = FIXTURES.resolve("pku_pairs.parquet");
        assertEquals(0, inspect("--data", data.toString(), "--tokenizer", stories(), "--show", "1", "--color", "never"));
        String guessed = out();
        assertTrue(guessed.contains("format: " + data + ": guessed format preference with columns {prompt: prompt, answer_a:"
                + " response_0, answer_b: response_1, preferred: better_response_id} from the first record's keys"), guessed);
        assertTrue(guessed.contains("file: " + data + " (preference)"), guessed);
        assertTrue(guessed.contains("\nchosen:\n") && guessed.contains("\nrejected:\n"), guessed);
        assertTrue(guessed.contains("records: 4 read, 0 skipped"), guessed);
        outBytes.reset();
        assertEquals(0, inspect("--data", data.toString(), "--tokenizer", stories(), "--show", "1", "--color", "never",
                "--format", "preference", "--columns", "prompt=prompt,answer_a=response_1,answer_b=response_0,"
                        + "preferred=better_response_id"));
        String explicit = out();
        assertFalse(explicit.contains("format: "), "nothing guessed: " + explicit);
        // the same pair either way: the label names the answer, whichever column order is given
        assertEquals(guessed.substring(0, guessed.indexOf("\n---\n")), explicit.substring(0, explicit.indexOf("\n---\n")));
        outBytes.reset();
        assertEquals(2, inspect("--data", data.toString(), "--tokenizer", stories(), "--columns", "prompt=prompt,answer_a=x"));
        assertEquals("error: --columns: answer_a, answer_b and preferred go together (two answers and the label that names"
                + " the preferred one)\n", errBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void benchReadsAMappedParquetFile() {
        // the answers as SFT outputs: without the columns, format alpaca would find no instruction at all
        Path data = FIXTURES.resolve("pku_pairs.parquet");
        PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
        Workbench w = new Workbench(List.of(new DataBenchCommand(out)));
        assertEquals(0, w.run(new String[] {"data", "bench", "--data", data.toString(), "--tokenizer", stories(),
                "--template", "vicuna_v1.1", "--format", "alpaca", "--columns", "instruction=prompt,output=response_0",
                "--repeats", "1"}, new PrintStream(errBytes, true, StandardCharsets.UTF_8)));
        assertTrue(out().contains("\"max_length\": 2048, \"examples\": 4,"), out());
    }

    @Test
    void finetuneTrainsOnParquetAndMappedSources() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path run = tmp.resolve("run");
        Path recipe = Files.writeString(tmp.resolve("recipe.yaml"), """
                model:
                  path: %s
                adapter:
                  type: lora
                  r: 4
                  alpha: 8
                  target_modules: [q_proj, v_proj]
                data:
                  sources:
                    - path: %s
                    - path: %s
                      format: alpaca
                      columns: {instruction: question, output: answer}
                    - path: %s
                  template: vicuna_v1.1
                  max_length: 256
                train:
                  max_steps: 2
                  micro_batch_size: 4
                  learning_rate: 1.0e-3
                  log_every_steps: 1
                eval:
                  on_start: false
                output:
                  dir: %s
                  save_every_steps: 2
                """.formatted(model, FIXTURES.resolve("sharegpt.parquet"), FIXTURES.resolve("qa_by_id.parquet"),
                FIXTURES.resolve("outputs_list.jsonl"), run));
        String o = finetune(recipe);
        assertTrue(o.contains(FIXTURES.resolve("sharegpt.parquet") + " (sharegpt, weight 1.0): 12 records, 0 skipped, 12"
                + " examples encoded"), o);
        assertTrue(o.contains(FIXTURES.resolve("qa_by_id.parquet") + " (alpaca, weight 1.0): 6 records, 0 skipped, 6"
                + " examples encoded"), o);
        assertTrue(o.contains(FIXTURES.resolve("outputs_list.jsonl") + " (alpaca, weight 1.0): 6 records, 0 skipped, 6"
                + " examples encoded"), o);
        assertTrue(o.contains("guessed format alpaca with columns {output: outputs}"), o);
        assertTwoFiniteSteps(run);
    }

    /** Runs {@code finetune RECIPE --set train.max_steps=2}, asserting exit code 0; returns stdout and stderr. */
    private String finetune(Path recipe) {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        int code;
        try {
            // the trainer prints the data report and progress to stderr, the result to stdout
            PrintStream both = new PrintStream(stdout, true, StandardCharsets.UTF_8);
            System.setOut(both);
            System.setErr(both);
            code = Workbench.standard().run(new String[] {"finetune", recipe.toString(), "--set", "train.max_steps=2"},
                    new PrintStream(errBytes, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        String o = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, errBytes.toString(StandardCharsets.UTF_8) + o);
        return o;
    }

    /** Two steps were trained and checkpointed, each with a finite positive loss. */
    private static void assertTwoFiniteSteps(Path run) throws Exception {
        TrainerState state = CheckpointStore.readState(run.resolve("checkpoint-000002"));
        assertEquals(2, state.step());
        assertEquals(2, state.losses().size());
        assertTrue(state.losses().stream().allMatch(l -> Double.isFinite(l) && l > 0), state.losses().toString());
        assertTrue(state.trainedTokens() > 0);
    }

    @Test
    void dpoTrainsOnParquetPairsAndMappedPairwiseFiles() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path run = tmp.resolve("dpo");
        // dpo_pairs.parquet in ShareGPT pair form (detected); PKU-SafeRLHF's and AlpacaFarm's shapes mapped in
        // the recipe: two outputs and a label naming the preferred one (0/1 and 1/2).
        Path recipe = Files.writeString(tmp.resolve("dpo.yaml"), """
                method: dpo
                model:
                  path: %s
                adapter:
                  type: lora
                  r: 4
                  alpha: 8
                  target_modules: [q_proj, v_proj]
                data:
                  sources:
                    - path: %s
                    - path: %s
                      format: preference
                      columns: {prompt: prompt, answer_a: response_0, answer_b: response_1, preferred: better_response_id}
                    - path: %s
                      format: preference
                      columns: {prompt: instruction, answer_a: output_1, answer_b: output_2, preferred: preference}
                  template: vicuna_v1.1
                  max_length: 256
                  packing: false
                train:
                  max_steps: 50
                  micro_batch_size: 2
                  learning_rate: 1.0e-3
                  log_every_steps: 1
                eval:
                  on_start: false
                output:
                  dir: %s
                  save_every_steps: 2
                """.formatted(model, FIXTURES.resolve("dpo_pairs.parquet"), FIXTURES.resolve("pku_pairs.parquet"),
                FIXTURES.resolve("alpacafarm_pairs.jsonl"), run));
        String o = finetune(recipe);
        assertTrue(o.contains(FIXTURES.resolve("dpo_pairs.parquet") + " (sharegpt-pairs, weight 1.0): 6 records, 0 skipped"), o);
        assertTrue(o.contains(FIXTURES.resolve("pku_pairs.parquet") + " (preference, weight 1.0): 4 records, 0 skipped"), o);
        assertTrue(o.contains(FIXTURES.resolve("alpacafarm_pairs.jsonl") + " (preference, weight 1.0): 4 records, 0 skipped"), o);
        assertTrue(o.contains("step 2/2 | loss "), o);
        assertTwoFiniteSteps(run);
    }
}
