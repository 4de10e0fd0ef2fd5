package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.llamawb.cli.BadInputCliTest.assertOneLine;
import static org.llamawb.cli.BadInputCliTest.run;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.TestData;

/**
 * Bad recipes given to {@code finetune}: one line naming the recipe key, exit code 2, no stack trace, and
 * nothing written to the output directory (the run is refused before it exists).
 */
class FinetuneBadInputTest {
    @TempDir
    Path tmp;

    Path model;
    Path data;
    Path out;

    @BeforeEach
    void data() throws Exception {
        model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        out = tmp.resolve("out");
    }

    Path recipe(String model, String extra) throws Exception {
        return Files.writeString(tmp.resolve("r.yaml"), """
                model: {%s}
                data:
                  sources: [{path: %s, format: sharegpt}]
                  max_length: 256
                train: {max_steps: 2, micro_batch_size: 2}
                tracking: {experiment: bad-input}
                output: {dir: %s}
                %s
                """.formatted(model, data, out, extra));
    }

    @Test
    void aFractionalStepCountIsRefusedNotTruncated() throws Exception {
        Path r = recipe("path: " + model, "");
        // before: 2.5 was read as 2 and the run trained 2 steps
        assertOneLine(run("finetune", r.toString(), "--set", "train.max_steps=2.5"),
                "--set train.max_steps=2.5", "key 'train.max_steps': cannot read '2.5' as an integer");
        assertFalse(Files.exists(out));
        Files.writeString(r, Files.readString(r).replace("max_steps: 2,", "max_steps: 2.0,"));
        assertOneLine(run("finetune", r.toString()), "r.yaml: line 5: key 'train.max_steps': cannot read '2.0' as an integer");
        assertFalse(Files.exists(out));
    }

    @Test
    void sparkWithoutTheDistributedModuleSaysWhichJarHasIt() throws Exception {
        Path r = recipe("path: " + model, "");
        // the single-machine jar has no Spark: the flag is refused before any run exists
        assertOneLine(run("finetune", r.toString(), "--spark", "local[2]"), "--spark: this workbench jar is built without Spark",
                "workbench-spark.jar");
        assertFalse(Files.exists(out));
        assertOneLine(run("finetune", r.toString(), "--workers", "2"), "--workers applies with --spark only");
        assertFalse(Files.exists(out));
    }

    @Test
    void aMissingTokenizerNamesTheRecipeKey() throws Exception {
        Path alone = Files.copy(model, Files.createDirectories(tmp.resolve("alone")).resolve("stories260K.bin"));
        BadInputCliTest.Outcome o = run("finetune", recipe("path: " + alone, "").toString());
        // before: "pass --tokenizer", a flag finetune does not have
        assertOneLine(o, "no tokenizer beside this llama2.c checkpoint", "set model.tokenizer");
        assertFalse(o.err().contains("--tokenizer"), o.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void anOutputDirThatIsAFileIsRefused() throws Exception {
        Files.writeString(out, "not a directory");
        // before: FileAlreadyExistsException with a stack trace, exit 1
        assertOneLine(run("finetune", recipe("path: " + model, "").toString()), "output.dir: " + out,
                "exists and is not a directory");
        assertEquals("not a directory", Files.readString(out));
    }

    @Test
    void aTokenizerLargerThanTheModelNamesBothSizes() throws Exception {
        Path llama = TestData.require("tokenizers/llama/tokenizer.model").toAbsolutePath();
        // before: "index out of range in self" from libtorch at the first step, a stack trace, exit 1
        assertOneLine(run("finetune", recipe("path: " + model + ", tokenizer: " + llama, "").toString()),
                "model.tokenizer " + llama + " has 32000 tokens", "has vocab_size 512");
        assertFalse(Files.exists(out));
    }

    @Test
    void aRefusedRerunLeavesTheFinishedRunAsItWas() throws Exception {
        Path r = recipe("path: " + model, "");
        BadInputCliTest.Outcome first = run("finetune", r.toString());
        assertEquals(0, first.code(), first.err());
        Path journal = out.resolve("tracking/journal.jsonl");
        String before = Files.readString(journal);
        assertTrue(before.contains("\"FINISHED\""), before);
        // before: the right error, but only after the run was reopened: RUNNING, then FAILED, appended to it
        assertOneLine(run("finetune", r.toString()), out + ": already holds checkpoints; pass --resume");
        assertEquals(before, Files.readString(journal), "the finished run's journal is unchanged");
    }

    @Test
    void missingDataOrModelAndAnUnknownTemplateAreRefusedBeforeARunExists() throws Exception {
        // before: both were found after the run was created, leaving a FAILED run and output.dir/tracking
        Path r = recipe("path: " + model, "");
        Files.writeString(r, Files.readString(r).replace(data.toString(), data.resolveSibling("nowhere.json").toString()));
        assertOneLine(run("finetune", r.toString()), "data.sources[0].path: " + data.resolveSibling("nowhere.json"),
                "data file not found");
        assertFalse(Files.exists(out));
        assertOneLine(run("finetune", recipe("path: " + model, "").toString(), "--set", "data.template=nope"),
                "data.template: unknown chat template 'nope'");
        assertFalse(Files.exists(out));
        assertOneLine(run("finetune", recipe("path: " + tmp.resolve("none.bin"), "").toString()),
                "model.path: " + tmp.resolve("none.bin") + ": not found");
        assertFalse(Files.exists(out));
    }
}
