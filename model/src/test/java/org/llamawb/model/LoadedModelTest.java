package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.generate.GenerationDefaults;

/** Where the one opener finds the tokenizer and the chat template, and which ids end generation. */
class LoadedModelTest {
    @TempDir
    Path tmp;

    @Test
    void aLlama2cModelTakesTheTokenizerBesideItAndReadsItsTemplateInItsFolder() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        try (NDManager m = NDManager.newBaseManager(); LoadedModel l = LoadedModel.open(bin, null, "--tokenizer", m)) {
            assertEquals(512, l.tokenizer().vocabSize());
            assertEquals(bin.getParent(), l.templateSource());
            // llama2.c ends a story at BOS (run.c), and EOS ends generation everywhere
            assertEquals(Set.of(1, 2), l.stopIds());
        }
    }

    @Test
    void aNamedTokenizerIsWhereTheTemplateIsRead() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        Path named = TestData.require("models/stories260K/tok512.model");
        try (LoadedModel l = LoadedModel.open(bin, named, "model.tokenizer")) {
            assertEquals(named, l.templateSource());
            assertEquals(512, l.model().config().vocabSize());
        }
    }

    @Test
    void aLargerTokenizerIsOneLineNamingTheSettingAndBothSizes() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        Path llama = TestData.require("tokenizers/llama/tokenizer.model");
        BadInputException e = assertThrows(BadInputException.class, () -> LoadedModel.open(bin, llama, "model.tokenizer"));
        assertEquals("model.tokenizer " + llama + " has 32000 tokens but the model " + bin + " has vocab_size 512: use the "
                + "tokenizer the model was trained with", e.getMessage());
    }

    @Test
    void weightsOpenWithoutATokenizerOnlyWhenNoneWasNamed() throws Exception {
        Path alone = Files.copy(TestData.require("models/stories260K/stories260K.bin"),
                Files.createDirectories(tmp.resolve("alone")).resolve("stories260K.bin"));
        List<String> notes = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(); LoadedModel l = LoadedModel.openWeights(alone, null, "--tokenizer", m, notes::add)) {
            assertNull(l.tokenizer());
            assertEquals(Set.of(1, 2), l.stopIds());
        }
        assertEquals(1, notes.size());
        assertTrue(notes.get(0).contains("no tokenizer beside this llama2.c checkpoint") && notes.get(0).endsWith(
                "continuing without a tokenizer"), notes.get(0));
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(BadInputException.class, () -> LoadedModel.openWeights(alone, tmp.resolve("none.model"), "--tokenizer",
                    m, notes::add));
        }
    }

    @Test
    void theTokenizersEosEndsGenerationEvenWhenGenerationConfigOmitsIt() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        try (NDManager m = NDManager.newBaseManager(); LoadedModel l = LoadedModel.open(bin, null, "--tokenizer", m)) {
            LoadedModel without = new LoadedModel(l.model(), l.tokenizer(), l.templateSource(),
                    new GenerationDefaults(Set.of(7), 0.5, 0.9, 10));
            assertEquals(Set.of(7, 2), without.stopIds());
            assertEquals(0.5, without.generation().temperature());
            assertEquals(10, without.generation().topK());
        }
    }
}
