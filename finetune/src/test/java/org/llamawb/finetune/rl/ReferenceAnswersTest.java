package org.llamawb.finetune.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.model.BadInputException;

class ReferenceAnswersTest {
    @Test
    void generatedPromptsScoreTheirOwnRightAnswerOneAndANearMissZero(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.jsonl");
        ArithmeticTask.small().write(file, ArithmeticTask.Kind.PROMPTS, 40, 2);
        Map<String, String> answers = ReferenceAnswers.read(file, "answer");
        List<Example> prompts = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.PROMPTS));
        RuleRewards r = RuleRewards.compile(List.of(new RuleRewardSpec("exact_answer", null, null,
                ArithmeticTask.ANSWER_PATTERN, null, null, null, null, null, null)), "rewards");
        var problems = ArithmeticTask.small().problems(40, 2);
        var rng = new java.util.SplittableRandom(0);
        for (int i = 0; i < prompts.size(); i++) {
            Prompt p = (Prompt) prompts.get(i);
            String reference = answers.get(p.id());
            var problem = problems.get(i);
            assertEquals(problem.id(), p.id());
            assertEquals(1.0, r.score(new RuleReward.Completion(p.id(), problem.reply(problem.answer()), 10, reference)));
            long wrong = ArithmeticTask.nearMiss(problem, rng);
            assertEquals(0.0, r.score(new RuleReward.Completion(p.id(), problem.reply(wrong), 10, reference)));
        }
    }

    @Test
    void problemsNameFileAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"id\": \"a\", \"answer\": 3}\n{\"id\": \"a\", \"answer\": \"4\"}\n");
        assertEquals(f + ":2: id 'a' appears twice",
                assertThrows(BadInputException.class, () -> ReferenceAnswers.read(f, "answer")).getMessage());
        Files.writeString(f, "{\"id\": \"a\", \"answer\": 3}\n\n{\"answer\": 3}\n");
        assertEquals(f + ":3: no 'id' to match the reference answer with its prompt",
                assertThrows(BadInputException.class, () -> ReferenceAnswers.read(f, "answer")).getMessage());
        Files.writeString(f, "{\"id\": 7, \"answer\": [1]}\n");
        assertEquals(f + ":1: 'answer' must be a string or a number",
                assertThrows(BadInputException.class, () -> ReferenceAnswers.read(f, "answer")).getMessage());
        Files.writeString(f, "{\"id\": 7, \"answer\": 12}\n{\"id\": 8}\n");
        assertEquals(Map.of("7", "12"), ReferenceAnswers.read(f, "answer"));
    }
}
