package org.llamawb.datasets.mix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.datasets.tokenize.DropReason;
import org.llamawb.datasets.tokenize.Tokenizers;
import org.llamawb.datasets.tokenize.Truncation;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** Mixtures, stable splits, duplicates and the recipe's {@code data:} options, on the real data. */
class DatasetBuilderTest {

    private static ChatTemplate vicuna(LlamaTokenizer tok) {
        return BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(tok));
    }

    @Test
    void optionsBindFromSnakeCaseWithDefaultsAndNameTheKeyWhenWrong() throws IOException {
        ObjectMapper yaml = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        DataOptions o = yaml.readValue("{\"sources\": [{\"path\": \"a.json\", \"weight\": 0.5},"
                + " {\"path\": \"b.jsonl\", \"format\": \"oasst\"}], \"max_length\": 512, \"validation_fraction\": 0.1,"
                + " \"on_error\": \"fail\", \"group_by_length\": true, \"truncation\": \"drop\"}", DataOptions.class);
        assertEquals(0.5, o.sources().get(0).weight());
        assertEquals(1.0, o.sources().get(1).weight());
        assertEquals(DataFormat.OASST, o.sources().get(1).dataFormat());
        assertEquals(512, o.maxLength());
        assertEquals(Truncation.DROP, o.truncationPolicy());
        assertEquals("vicuna_v1.1", o.template());
        assertEquals(42L, o.seed());
        assertTrue(o.dedup());
        assertEquals(false, o.packing());
        var e = assertThrows(ValueInstantiationException.class, () -> yaml.readValue(
                "{\"sources\": [{\"path\": \"a.json\"}], \"packing\": true, \"group_by_length\": true}", DataOptions.class));
        assertEquals("data.packing and data.group_by_length are alternatives; set one of them", e.getCause().getMessage());
        var f = assertThrows(BadInputException.class, () -> new DataSource("x.json", "sharegtp", null));
        assertTrue(f.getMessage().startsWith("unknown data format 'sharegtp'; expected one of sharegpt,"), f.getMessage());
        assertEquals("data.validation_fraction must be within [0, 1), got 1.0", assertThrows(BadInputException.class,
                () -> new DataOptions(List.of(DataSource.of("a")), null, null, null, null, null, null, 1.0, null, null, null))
                .getMessage());
    }

    @Test
    void contentHashIgnoresIdsAndFilesAndSeesRolesAndText() {
        List<Message> m = List.of(Message.user("Hi"), Message.assistant("Hello"));
        ContentHash a = ContentHash.of(new Conversation("a", new Origin("x.json", 1), m));
        ContentHash b = ContentHash.of(new Conversation("b", new Origin("y.json", 9), m));
        assertEquals(a, b);
        assertNotEquals(a, ContentHash.of(new Conversation("a", new Origin("x.json", 1),
                List.of(Message.user("Hi"), Message.assistant("Hello ")))));
        assertNotEquals(a, ContentHash.of(new Conversation("a", new Origin("x.json", 1),
                List.of(Message.system("Hi"), Message.user("x"), Message.assistant("Hello")))));
        // Fixed for all time: the split of a dataset must not move between versions or machines. The value
        // is SHA-256("conversation" | 0x01 | len "Hi" | "Hi" | 0x02 | len "Hello" | "Hello" | 0xff) as
        // Python's hashlib computes it.
        assertEquals(new ContentHash(0x0dd8368ca3834ef0L, 0xb1f66777d469377fL), a);
        assertEquals(0.054080399833322024, a.unit());
        assertEquals(a.unit(), b.unit());
        assertTrue(a.unit() >= 0 && a.unit() < 1);
    }

    @Test
    void mixtureWeightsRepeatOrSampleDeterministically() {
        assertArrayEquals(new int[] {0, 1, 2, 3}, Mixture.weighted(4, 1.0, 7));
        int[] half = Mixture.weighted(10, 0.5, 7);
        assertEquals(5, half.length);
        assertArrayEquals(half, Mixture.weighted(10, 0.5, 7));
        assertEquals(5, Arrays.stream(half).distinct().count());
        int[] twoAndHalf = Mixture.weighted(10, 2.5, 7);
        assertEquals(25, twoAndHalf.length);
        assertEquals(10, Arrays.stream(twoAndHalf).distinct().count());
        assertNotEquals(Arrays.toString(half), Arrays.toString(Mixture.weighted(10, 0.5, 8)));
    }

    @Test
    void aWeightedMixtureOfFastChatAndOasstWithAStableValidationSplit() {
        LlamaTokenizer tok = Tokenizers.stories();
        DataOptions o = new DataOptions(List.of(
                new DataSource(TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toString(), null, 1.0),
                new DataSource(TestData.require("sft/oasst-en100/en_100_tree.jsonl").toString(), "oasst", 0.5)),
                null, 512, "right", null, null, null, 0.1, null, null, 7L);
        PreparedData<TokenizedDataset> d = DatasetBuilder.sft(o, tok, vicuna(tok), null);
        DataReport r = d.report();
        SourceReport fc = r.sources().get(0);
        SourceReport oa = r.sources().get(1);
        assertEquals(DataFormat.SHAREGPT, fc.format());
        assertEquals(DataFormat.OASST, oa.format());
        assertEquals(500, fc.train() + fc.validation());
        assertEquals(fc.train(), fc.weightedTrain());
        assertEquals(100, oa.train() + oa.validation() + oa.encoding().droppedTotal());
        assertEquals(Math.round(oa.train() * 0.5), oa.weightedTrain());
        assertEquals(fc.weightedTrain() + oa.weightedTrain(), d.train().size());
        assertEquals(fc.validation() + oa.validation(), d.validation().size());
        assertTrue(fc.validation() > 30 && fc.validation() < 75, "about 10% of 500: " + fc.validation());
        assertTrue(oa.encoding().truncated() > 0, "long OASST answers are cut at 512 tokens");
        // The split depends on content only: another seed, other weights, the same validation set.
        DataOptions other = new DataOptions(List.of(o.sources().get(0)), null, 512, null, null, null, null, 0.1, null, null, 99L);
        PreparedData<TokenizedDataset> d2 = DatasetBuilder.sft(other, tok, vicuna(tok), null);
        assertEquals(fc.validation(), d2.validation().size());
        for (int i = 0; i < d2.validation().size(); i++) {
            assertArrayEquals(d.validation().inputIds(i), d2.validation().inputIds(i));
        }
        assertTrue(r.lines().get(r.lines().size() - 1).startsWith("total: " + d.train().size() + " train examples per epoch"));
    }

    @Test
    void exactDuplicatesAcrossSourcesAreDroppedAndCounted(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("a.jsonl"), """
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
                """);
        Files.writeString(dir.resolve("b.json"), """
                [{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}]
                """);
        LlamaTokenizer tok = Tokenizers.stories();
        DataOptions o = new DataOptions(List.of(DataSource.of("a.jsonl"), DataSource.of("b.json")), null, 512, null, null,
                null, null, null, null, null, null);
        PreparedData<TokenizedDataset> d = DatasetBuilder.sft(o, tok, vicuna(tok), dir);
        assertEquals(2, d.train().size());
        assertEquals(1L, d.report().sources().get(0).encoding().dropped().get(DropReason.DUPLICATE));
        assertEquals(1L, d.report().sources().get(1).encoding().dropped().get(DropReason.DUPLICATE));
        assertEquals(dir.resolve("b.json") + ":1: exact duplicate of an earlier example",
                d.report().sources().get(1).encoding().firstDrops().get(0).toString().replace(":1: ", ":1: "));
        DataOptions keep = new DataOptions(o.sources(), null, 512, null, null, null, null, null, null, false, null);
        assertEquals(4, DatasetBuilder.sft(keep, tok, vicuna(tok), dir).train().size());
    }

    /**
     * The real SFT files (and KTO's conversations) go through template and tokenizer with every example accounted for
     * (the DPO pairs are built in preferencePairsFromShareGptPairs; the 2,312 HH pairs and the 754
     * OASST pairs are read in RealDataFormatsTest, encoding them here would add seconds).
     */
    @Test
    void everyRealFileBuildsWithEveryExampleAccountedFor() {
        LlamaTokenizer tok = Tokenizers.llama();
        ChatTemplate t = vicuna(tok);
        record Case(String file, String format, long read) {}
        List<Case> cases = List.of(
                new Case("sft/fastchat-dummy-conversation/dummy_conversation.json", null, 500),
                new Case("sft/oasst-en100/en_100_tree.jsonl", null, 100),
                new Case("sft/oasst-en100/en_100_message.jsonl", null, 100),
                new Case("sft/llamafactory-demo/alpaca_en_demo.json", null, 999),
                new Case("sft/llamafactory-demo/identity.json", null, 91),
                new Case("preference/llamafactory-demo/kto_en_demo.json", null, 300));
        for (Case c : cases) {
            DataOptions o = new DataOptions(List.of(new DataSource(TestData.require(c.file()).toString(), c.format(), null)),
                    null, 4096, null, null, null, null, 0.1, null, null, null);
            SourceReport s = DatasetBuilder.sft(o, tok, t, null).report().sources().get(0);
            assertEquals(c.read(), s.reads().examples(), c.file());
            assertEquals(c.read(), s.encoding().offeredCount() + s.encoding().dropped().getOrDefault(DropReason.DUPLICATE, 0L),
                    c.file() + ": every example offered to the encoder or dropped as a duplicate");
            assertEquals(s.encoding().offeredCount(), s.encoding().kept() + s.encoding().droppedTotal()
                    - s.encoding().dropped().getOrDefault(DropReason.DUPLICATE, 0L), c.file());
            assertEquals(s.encoding().kept(), s.train() + s.validation(), c.file());
            assertEquals(0L, s.encoding().dropped().getOrDefault(DropReason.TEMPLATE_ERROR, 0L), c.file());
            assertTrue(s.train() > 0.7 * c.read(), c.file() + ": " + s.train());
        }
    }

    @Test
    void onErrorFailStopsAtTheFirstBadRecordWithFileAndLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("a.jsonl"), """
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
                {"messages": [{"role": "user", "content": "Hi"}]}
                """);
        LlamaTokenizer tok = Tokenizers.stories();
        DataOptions o = new DataOptions(List.of(DataSource.of("a.jsonl")), null, 512, null, null, null, null, null,
                "fail", null, null);
        var e = assertThrows(BadInputException.class, () -> DatasetBuilder.sft(o, tok, vicuna(tok), dir));
        assertEquals(dir.resolve("a.jsonl") + ":2: missing assistant turn", e.getMessage());
        DataOptions skip = new DataOptions(List.of(DataSource.of("a.jsonl")), null, 512, null, null, null, null, null,
                "skip", null, null);
        PreparedData<TokenizedDataset> d = DatasetBuilder.sft(skip, tok, vicuna(tok), dir);
        assertEquals(1, d.train().size());
        assertEquals(1, d.report().skippedRecords());
        assertEquals(dir.resolve("a.jsonl") + ":2: missing assistant turn", d.report().firstProblems(5).get(0).toString());
    }

    @Test
    void preferencePairsFromShareGptPairs() {
        LlamaTokenizer tok = Tokenizers.llama();
        DataOptions o = new DataOptions(List.of(
                DataSource.of(TestData.require("preference/llamafactory-demo/dpo_en_demo.json").toString())),
                "llama-2", 2048, null, null, null, null, 0.05, null, null, null);
        PreparedData<PairDataset> d = DatasetBuilder.preference(o, tok, BuiltinTemplate.LLAMA_2.with(SpecialTokens.of(tok)), null);
        SourceReport s = d.report().sources().get(0);
        assertEquals(300, s.train() + s.validation() + s.encoding().droppedTotal());
        assertEquals(d.train().size(), s.train());
        assertEquals(5L, s.encoding().dropped().get(DropReason.DUPLICATE), "the demo file repeats 5 pairs");
        assertTrue(d.train().size() > 270, String.join("\n", d.report().lines()));
        for (int i = 0; i < d.train().size(); i++) {
            assertTrue(d.train().length(i) <= 2048);
            assertEquals(tok.bosId(), d.train().get(i).prompt()[0]);
        }
    }
}
