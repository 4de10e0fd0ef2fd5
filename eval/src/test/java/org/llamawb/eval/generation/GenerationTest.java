package org.llamawb.eval.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Repo;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskKind;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;

/** Greedy generation equals transformers' on the converted stories260K; generation and exact-match tasks. */
class GenerationTest {

    @Test
    void greedyIdsEqualTransformersGenerate() {
        Llama model = Stories260K.model();
        for (JsonNode g : LmEvalFixture.root().path("generation")) {
            int[] prompt = LmEvalFixture.ints(g.path("prompt_ids"));
            int[] expected = LmEvalFixture.ints(g.path("new_ids"));
            assertArrayEquals(expected, new Generator(model).generate(prompt, Sampling.greedy(expected.length, Set.of()), t -> { }));
        }
    }

    @Test
    void textGeneratorIsGreedyAndCutsAtStopStrings() {
        EvalModel m = Stories260K.evalModel();
        JsonNode g = LmEvalFixture.root().path("generation").get(1);
        int[] prompt = LmEvalFixture.ints(g.path("prompt_ids"));
        int[] expected = LmEvalFixture.ints(g.path("new_ids"));
        TextGenerator gen = new TextGenerator(m.llama(), m.tokenizer(), 512);
        TextGenerator.Generation all = gen.generate(prompt, Sampling.greedy(expected.length, Set.of(2)), List.of());
        assertArrayEquals(expected, all.tokens());
        assertEquals("max_new_tokens", all.stoppedBy());
        // " a little girl named Lily. She loved to play..." stops before the first "."
        TextGenerator.Generation cut = gen.generate(prompt, Sampling.greedy(expected.length, Set.of(2)), List.of("."));
        assertEquals("stop", cut.stoppedBy());
        assertEquals(m.tokenizer().decode(expected).substring(0, m.tokenizer().decode(expected).indexOf('.')), cut.text());
        assertTrue(cut.tokens().length < expected.length);
    }

    @Test
    void exactMatchExtractsAndCompares() {
        EvalModel m = Stories260K.evalModel();
        TaskSpec spec = new TaskSpec("names", TaskKind.EXACT_MATCH, "src/test/resources/tasks/story_names.jsonl", null,
                null, null, null, null, null, null, "^\\s*(\\w+)", 4, List.of("."), null, null, null, null, null);
        TaskRun run = ExactMatchTaskRunner.run(Task.of(spec, "test", Path.of("")), m, 0);
        List<?> samples = run.records();
        ExactMatchTaskRunner.Sample lily = (ExactMatchTaskRunner.Sample) samples.get(0);
        assertEquals("Lily", lily.extracted()); // the greedy continuation (fixture: " Lily" is greedy there)
        assertTrue(lily.correct());
        ExactMatchTaskRunner.Sample dog = (ExactMatchTaskRunner.Sample) samples.get(1);
        assertEquals(List.of("Rex", "Spot"), dog.answers());
        assertEquals("Max", dog.extracted()); // stories260K's greedy dog name
        assertFalse(dog.correct());
        assertEquals(0.5, run.result().metrics().get("exact_match").value());
        assertEquals(0.5, run.result().metrics().get("exact_match").stderr(), 1e-12);
    }

    @Test
    void answerExtractorTakesGroupOneOrTheMatch() {
        assertEquals("42", new AnswerExtractor("answer is (\\d+)").extract("so the answer is 42."));
        assertEquals("42", new AnswerExtractor("\\d+").extract("so 42 it is"));
        assertEquals("", new AnswerExtractor("\\d+").extract("no digits"));
        assertEquals("text", new AnswerExtractor(null).extract("  text \n"));
    }

    @Test
    void mtBenchTwoTurnsThroughTheTemplate() {
        EvalModel m = Stories260K.evalModel();
        Task task = Repo.catalog().resolve("mt_bench").withShots(0);
        TaskSpec s = task.spec();
        TaskSpec small = new TaskSpec(s.name(), s.kind(), s.file(), null, null, null, null, null, s.seed(), null, null, 8,
                s.stop(), "none", null, 0.0, null, null);
        TaskRun run = GenerationTaskRunner.run(Task.of(small, "test", Repo.root()), m, 2);
        assertEquals(2, run.records().size());
        GenerationTaskRunner.Answer a = (GenerationTaskRunner.Answer) run.records().get(0);
        assertEquals(81L, a.questionId());
        @SuppressWarnings("unchecked")
        List<String> turns = (List<String>) a.choices().get(0).get("turns");
        assertEquals(2, turns.size());
        assertFalse(turns.get(0).isEmpty());
        assertTrue(run.result().metrics().get("new_tokens_per_turn").value() <= 8);
    }
}
