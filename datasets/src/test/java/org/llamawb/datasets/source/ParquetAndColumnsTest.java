package org.llamawb.datasets.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;

/**
 * Parquet files and column mappings, on fixtures cut from the shared real data by
 * {@code scripts/reference/make_parquet_fixtures.py}: each must read to the same examples as the JSON
 * file it was cut from.
 */
class ParquetAndColumnsTest {
    private static final Path FIXTURES = Path.of("src/test/resources/fixtures/parquet");

    @TempDir
    Path tmp;

    private static List<Example> json(String shared) {
        return DatasetReader.readAll(TestData.require(shared), ReadOptions.failing());
    }

    /** The same file read with the format detected, failing on any bad record. */
    private static Read read(String fixture, ReadOptions options) {
        try (ExampleStream s = DatasetReader.open(FIXTURES.resolve(fixture), options)) {
            List<Example> out = new java.util.ArrayList<>();
            s.forEachRemaining(out::add);
            return new Read(out, s.format(), s.columns(), s.counts());
        }
    }

    private record Read(List<Example> examples, DataFormat format, ColumnMapping columns, ReadCounts counts) {}

    private static Map<String, PreferencePair> dpoByPrompt() {
        Map<String, PreferencePair> m = new HashMap<>();
        for (Example e : json("preference/llamafactory-demo/dpo_en_demo.json")) {
            PreferencePair p = (PreferencePair) e;
            m.put(p.prompt().get(p.prompt().size() - 1).content(), p);
        }
        return m;
    }

    @Test
    void shareGptParquetWithNestedTurnsReadsAsTheJsonFileItCameFrom() {
        Read r = read("sharegpt.parquet", ReadOptions.failing());
        List<Example> expected = json("sft/fastchat-dummy-conversation/dummy_conversation.json").subList(0, 12);
        assertEquals(DataFormat.SHAREGPT, r.format());
        assertEquals(12, r.examples().size());
        for (int i = 0; i < 12; i++) {
            Conversation got = (Conversation) r.examples().get(i);
            Conversation want = (Conversation) expected.get(i);
            assertEquals(want.id(), got.id());
            assertEquals(want.messages(), got.messages());
            // a Parquet record's "line" is its row
            assertEquals(FIXTURES.resolve("sharegpt.parquet") + ":" + (i + 1), got.origin().toString());
        }
        assertTrue(r.counts().detection().orElseThrow().startsWith(FIXTURES.resolve("sharegpt.parquet")
                + ": detected format sharegpt from the first record's keys {id, conversations}; set format:"));
    }

    @Test
    void alpacaParquetWithZstdReadsAsTheJsonFile() {
        Read r = read("alpaca.parquet", ReadOptions.failing());
        List<Example> expected = json("sft/llamafactory-demo/alpaca_en_demo.json").subList(0, 12);
        assertEquals(DataFormat.ALPACA, r.format());
        assertEquals(12, r.examples().size());
        for (int i = 0; i < 12; i++) {
            assertEquals(((Conversation) expected.get(i)).messages(), ((Conversation) r.examples().get(i)).messages());
        }
    }

    @Test
    void dpoPairsParquetWithStructColumnsReadsAsTheJsonPairs() {
        Read r = read("dpo_pairs.parquet", ReadOptions.failing());
        assertEquals(DataFormat.SHAREGPT_PAIRS, r.format());
        assertEquals(6, r.examples().size());
        Map<String, PreferencePair> dpo = dpoByPrompt();
        for (Example e : r.examples()) {
            PreferencePair got = (PreferencePair) e;
            PreferencePair want = dpo.get(got.prompt().get(0).content());
            assertEquals(want.prompt(), got.prompt());
            assertEquals(want.chosen(), got.chosen());
            assertEquals(want.rejected(), got.rejected());
        }
    }

    @Test
    void twoAnswersAndABetterResponseIdAreGuessedIntoChosenAndRejected() {
        Read r = read("pku_pairs.parquet", ReadOptions.failing());
        assertEquals(DataFormat.PREFERENCE, r.format());
        assertEquals(Map.of("prompt", "prompt", "answer_a", "response_0", "answer_b", "response_1",
                "preferred", "better_response_id"), r.columns().fields());
        String note = r.counts().detection().orElseThrow();
        assertEquals(FIXTURES.resolve("pku_pairs.parquet") + ": guessed format preference with columns {prompt: prompt,"
                + " answer_a: response_0, answer_b: response_1, preferred: better_response_id} from the first record's"
                + " keys {prompt, response_0, response_1, better_response_id}; if that is wrong, set format: and columns:"
                + " on the data source (--format, --columns)", note);
        Map<String, PreferencePair> dpo = dpoByPrompt();
        assertEquals(4, r.examples().size());
        for (Example e : r.examples()) {
            PreferencePair got = (PreferencePair) e;
            PreferencePair want = dpo.get(got.prompt().get(0).content());
            assertEquals(want.chosen(), got.chosen());
            assertEquals(want.rejected(), got.rejected());
        }
        // The same columns given explicitly, with the answers in the other order: the label still names them.
        Map<String, String> swapped = new LinkedHashMap<>(Map.of("prompt", "prompt", "answer_a", "response_1",
                "answer_b", "response_0", "preferred", "better_response_id"));
        Read explicit = read("pku_pairs.parquet", ReadOptions.failing().withFormat(DataFormat.PREFERENCE)
                .withColumns(new ColumnMapping(swapped)));
        assertFalse(explicit.counts().detection().isPresent(), "nothing to detect when format and columns are given");
        for (int i = 0; i < 4; i++) {
            assertEquals(((PreferencePair) r.examples().get(i)).chosen(), ((PreferencePair) explicit.examples().get(i)).chosen());
        }
    }

    @Test
    void alpacaFarmOutputsAndAOneBasedPreferenceAreGuessed() {
        Read r = read("alpacafarm_pairs.jsonl", ReadOptions.failing());
        assertEquals(DataFormat.PREFERENCE, r.format());
        assertEquals("{prompt: instruction, input: input, answer_a: output_1, answer_b: output_2, preferred: preference}",
                r.columns().toString());
        Map<String, PreferencePair> dpo = dpoByPrompt();
        assertEquals(4, r.examples().size());
        for (Example e : r.examples()) {
            PreferencePair got = (PreferencePair) e;
            PreferencePair want = dpo.get(got.prompt().get(0).content());
            assertEquals(want.chosen(), got.chosen());
            assertEquals(want.rejected(), got.rejected());
        }
    }

    @Test
    void outputsNestedInAListAreGuessed() {
        Read r = read("outputs_list.jsonl", ReadOptions.failing());
        assertEquals(DataFormat.ALPACA, r.format());
        assertEquals(Map.of("output", "outputs"), r.columns().fields());
        List<Example> expected = json("sft/llamafactory-demo/alpaca_en_demo.json").subList(12, 18);
        assertEquals(6, r.examples().size());
        for (int i = 0; i < 6; i++) {
            assertEquals(((Conversation) expected.get(i)).messages(), ((Conversation) r.examples().get(i)).messages());
        }
    }

    @Test
    void questionAnswerRecordsKeyedByIdAreGuessedAndKeepTheirIds() {
        Read r = read("qa_by_id.parquet", ReadOptions.failing());
        assertEquals(DataFormat.ALPACA, r.format());
        assertEquals(Map.of("instruction", "question", "output", "answer"), r.columns().fields());
        assertEquals(6, r.examples().size());
        List<Conversation> alpaca = json("sft/llamafactory-demo/alpaca_en_demo.json").stream()
                .map(Conversation.class::cast).toList();
        for (int i = 0; i < 6; i++) {
            Conversation got = (Conversation) r.examples().get(i);
            assertEquals(String.valueOf(1000 + i), got.id());
            assertEquals(2, got.messages().size());
            assertTrue(alpaca.stream().anyMatch(a -> a.messages().equals(got.messages())), got.messages().toString());
        }
    }

    @Test
    void explicitColumnsReachNestedFieldsAndNameWhatIsWrong() throws IOException {
        Path f = tmp.resolve("odd.jsonl");
        Files.writeString(f, String.join("\n",
                "{\"q\": {\"text\": \"Hi\"}, \"answers\": [\"Hello\", \"Hey\"]}",
                "{\"q\": {\"text\": \"Hi again\"}, \"answers\": []}",
                "{\"q\": {}, \"answers\": [\"x\", \"y\"]}"));
        ReadOptions o = ReadOptions.skipping().withColumns(new ColumnMapping(Map.of("instruction", "q.text",
                "output", "answers[1]")));
        try (ExampleStream s = DatasetReader.open(f, o)) {
            List<Example> got = new java.util.ArrayList<>();
            s.forEachRemaining(got::add);
            assertEquals(List.of(Message.user("Hi"), Message.assistant("Hey")), ((Conversation) got.get(0)).messages());
            assertEquals(1, got.size());
            assertEquals(List.of(f + ":2: missing field 'answers[1]' (columns.output)",
                    f + ":3: missing field 'q.text' (columns.instruction)"),
                    s.counts().firstProblems().stream().map(Problem::toString).toList());
            assertTrue(s.counts().detection().orElseThrow().startsWith(f + ": detected format alpaca from the mapped keys"));
        }
        // A list of several values must be indexed.
        var several = assertThrows(BadInputException.class, () -> DatasetReader.readAll(f, ReadOptions.failing()
                .withFormat(DataFormat.ALPACA).withColumns(new ColumnMapping(Map.of("instruction", "q.text", "output", "answers")))));
        assertEquals(f + ":1: field 'answers' (columns.output) is a list of 2 values; pick one with answers[0]",
                several.getMessage());
    }

    @Test
    void labelsPickTheirAnswerWhateverTheShapeAndATieIsAProblem() throws IOException {
        Path f = tmp.resolve("arena.jsonl");
        Files.writeString(f, String.join("\n",
                "{\"prompt\": \"p\", \"response_a\": \"A\", \"response_b\": \"B\", \"winner\": \"model_b\"}",
                "{\"prompt\": \"p2\", \"response_a\": \"A\", \"response_b\": \"B\", \"winner\": \"tie\"}"));
        try (ExampleStream s = DatasetReader.open(f, ReadOptions.skipping())) {
            PreferencePair p = (PreferencePair) s.next();
            assertEquals(Message.assistant("B"), p.chosen());
            assertEquals(Message.assistant("A"), p.rejected());
            assertFalse(s.hasNext());
            assertEquals(f + ":2: preference label winner=\"tie\" names neither response_a nor response_b (expected a or b)",
                    s.counts().firstProblems().get(0).toString());
        }
        // answers as message lists (TRL's conversational shape) pass through whole; "0" names r0 by its digits
        Path conv = tmp.resolve("conv.jsonl");
        Files.writeString(conv, "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"r0\": [{\"role\":"
                + " \"assistant\", \"content\": \"A\"}], \"r1\": [{\"role\": \"assistant\", \"content\": \"B\"}],"
                + " \"pick\": 0}\n");
        Map<String, String> m = new LinkedHashMap<>();
        m.put("prompt", "prompt");
        m.put("answer_a", "r0");
        m.put("answer_b", "r1");
        m.put("preferred", "pick");
        PreferencePair c = (PreferencePair) DatasetReader.readAll(conv, ReadOptions.failing()
                .withColumns(new ColumnMapping(m))).get(0);
        assertEquals(List.of(Message.user("Hi")), c.prompt());
        assertEquals(Message.assistant("A"), c.chosen());
        assertEquals(Message.assistant("B"), c.rejected());
        // AlpacaFarm with an input: joined to the prompt after a newline, as Alpaca's instruction and input are
        Path farm = tmp.resolve("farm.jsonl");
        Files.writeString(farm, "{\"instruction\": \"Translate\", \"input\": \"bonjour\", \"output_1\": \"hello\","
                + " \"output_2\": \"bye\", \"preference\": 1}\n");
        PreferencePair joined = (PreferencePair) DatasetReader.readAll(farm, ReadOptions.failing()).get(0);
        assertEquals(List.of(Message.user("Translate\nbonjour")), joined.prompt());
        assertEquals(Message.assistant("hello"), joined.chosen());
        assertTrue(ColumnMapping.names("1", "response_1"));
        assertTrue(ColumnMapping.names("model_a", "response_a"));
        assertTrue(ColumnMapping.names("output_2", "output_2"));
        assertFalse(ColumnMapping.names("1", "response_0"));
        assertFalse(ColumnMapping.names("2", "output_1"));
        assertFalse(ColumnMapping.names("tie", "response_a"));
    }

    @Test
    void wrongColumnSpecsAreOneLineNamingTheKey() {
        assertEquals("data.sources[].columns: unknown key 'outptu'; expected one of answer_a, answer_b, chosen,"
                + " completion, conversations, history, id, input, instruction, label, messages, output, preferred, prompt,"
                + " rejected, system", assertThrows(BadInputException.class,
                        () -> new ColumnMapping(Map.of("outptu", "x"))).getMessage());
        assertEquals("data.sources[].columns: answer_a, answer_b and preferred go together (two answers and the label"
                + " that names the preferred one)", assertThrows(BadInputException.class,
                        () -> new ColumnMapping(Map.of("answer_a", "x"))).getMessage());
        assertEquals("data.sources[].columns.output: 'outputs[x]' is not a field path (name, a.b or name[0])",
                assertThrows(BadInputException.class, () -> new ColumnMapping(Map.of("output", "outputs[x]"))).getMessage());
        assertEquals("--columns: expected key=field[,key=field...], got 'output'",
                assertThrows(BadInputException.class, () -> ColumnMapping.parse("--columns", "instruction=q,output"))
                        .getMessage());
        assertEquals("--columns: unknown key 'x'; expected one of answer_a, answer_b, chosen, completion, conversations,"
                + " history, id, input, instruction, label, messages, output, preferred, prompt, rejected, system",
                assertThrows(BadInputException.class, () -> ColumnMapping.parse("--columns", "x=y")).getMessage());
        assertEquals(Map.of("instruction", "q", "output", "a[0]"), ColumnMapping.parse("--columns", "instruction=q, output=a[0]").fields());
    }

    @Test
    void aBrokenParquetFileIsOneLine() throws IOException {
        byte[] whole = Files.readAllBytes(FIXTURES.resolve("sharegpt.parquet"));
        Path cut = tmp.resolve("cut.parquet");
        Files.write(cut, java.util.Arrays.copyOf(whole, whole.length / 2));
        BadInputException e = assertThrows(BadInputException.class, () -> DatasetReader.readAll(cut, ReadOptions.failing()));
        assertTrue(e.getMessage().startsWith(cut + ": cannot read as Parquet ("), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        // the bytes decide, not the name: JSON lines called .parquet are read as JSON lines
        Path named = tmp.resolve("really-json.parquet");
        Files.writeString(named, "{\"instruction\": \"Hi\", \"output\": \"Hello\"}\n");
        assertEquals(List.of(Message.user("Hi"), Message.assistant("Hello")),
                ((Conversation) DatasetReader.readAll(named, ReadOptions.failing()).get(0)).messages());
    }
}
