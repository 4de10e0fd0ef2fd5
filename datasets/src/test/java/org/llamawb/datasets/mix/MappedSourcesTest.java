package org.llamawb.datasets.mix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.datasets.tokenize.Tokenizers;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Parquet sources and {@code columns:} through {@link DatasetBuilder}, the path the trainers read: each
 * mapped shape gives encoded examples whose labels train the answers.
 */
class MappedSourcesTest {
    private static final Path FIXTURES = Path.of("src/test/resources/fixtures/parquet");
    private static final ObjectMapper YAML_LIKE = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private static ChatTemplate vicuna(LlamaTokenizer tok) {
        return BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(tok));
    }

    private static long trained(int[] labels) {
        return Arrays.stream(labels).filter(l -> l != -100).count();
    }

    @Test
    void preferenceShapesFromParquetAndMappedColumnsEncodeAsPairs() throws IOException {
        // columns as a recipe gives them (snake_case keys; the mapping keys are the format's own)
        DataOptions o = YAML_LIKE.readValue("""
                {"sources": [
                  {"path": "dpo_pairs.parquet"},
                  {"path": "pku_pairs.parquet", "format": "preference",
                   "columns": {"prompt": "prompt", "answer_a": "response_0", "answer_b": "response_1",
                               "preferred": "better_response_id"}},
                  {"path": "alpacafarm_pairs.jsonl"}],
                 "max_length": 4096, "on_error": "fail"}""", DataOptions.class);
        assertEquals(Map.of("prompt", "prompt", "answer_a", "response_0", "answer_b", "response_1",
                "preferred", "better_response_id"), o.sources().get(1).columns());
        LlamaTokenizer tok = Tokenizers.stories();
        PreparedData<PairDataset> d = DatasetBuilder.preference(o, tok, vicuna(tok), FIXTURES);
        DataReport r = d.report();
        assertEquals(DataFormat.SHAREGPT_PAIRS, r.sources().get(0).format());
        assertEquals(DataFormat.PREFERENCE, r.sources().get(1).format());
        assertEquals(DataFormat.PREFERENCE, r.sources().get(2).format());
        assertEquals(14, d.train().size(), String.join("\n", r.lines()));
        assertTrue(r.lines().stream().anyMatch(l -> l.contains("alpacafarm_pairs.jsonl: guessed format preference")),
                String.join("\n", r.lines()));
        for (int i = 0; i < d.train().size(); i++) {
            var p = d.train().get(i);
            assertTrue(trained(p.chosenLabels()) > 0 && trained(p.rejectedLabels()) > 0, p.origin().toString());
            assertEquals(p.prompt().length, Arrays.stream(p.chosenLabels()).takeWhile(l -> l == -100).count(),
                    "the prompt is not trained: " + p.origin());
        }
    }

    @Test
    void sftShapesFromParquetAndMappedColumnsEncodeWithTrainedAnswers() throws IOException {
        DataOptions o = YAML_LIKE.readValue("""
                {"sources": [
                  {"path": "sharegpt.parquet"},
                  {"path": "alpaca.parquet"},
                  {"path": "qa_by_id.parquet", "columns": {"instruction": "question", "output": "answer"}},
                  {"path": "outputs_list.jsonl", "format": "alpaca", "columns": {"output": "outputs[0]"}}],
                 "max_length": 4096, "on_error": "fail"}""", DataOptions.class);
        LlamaTokenizer tok = Tokenizers.stories();
        PreparedData<TokenizedDataset> d = DatasetBuilder.sft(o, tok, vicuna(tok), FIXTURES);
        DataReport r = d.report();
        assertEquals(12 + 12 + 6 + 6, d.train().size(), String.join("\n", r.lines()));
        for (int s = 0; s < 4; s++) {
            assertEquals(0, r.sources().get(s).reads().problems(), String.join("\n", r.lines()));
        }
        for (int i = 0; i < d.train().size(); i++) {
            assertTrue(trained(d.train().labels(i)) > 0, d.train().origin(i).toString());
        }
    }

    @Test
    void aWrongColumnsKeyInARecipeNamesIt() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(ValueInstantiationException.class, () -> YAML_LIKE.readValue(
                "{\"sources\": [{\"path\": \"a.json\", \"columns\": {\"instrucion\": \"q\"}}]}", DataOptions.class));
        assertTrue(e.getCause().getMessage().startsWith("data.sources[].columns: unknown key 'instrucion'; expected one of"),
                e.getCause().getMessage());
    }
}
