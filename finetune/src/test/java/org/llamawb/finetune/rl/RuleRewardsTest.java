package org.llamawb.finetune.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.BadInputException;

class RuleRewardsTest {
    /** The shape a recipe section would have; bound with the recipe loader's strict snake_case binding. */
    record Section(List<RuleRewardSpec> rewards) {}

    private static RuleRewards fromYaml(String yaml) throws Exception {
        Section s = RecipeLoader.bind(new YAMLMapper().readTree(yaml), Section.class, "recipe.yaml");
        return RuleRewards.compile(s.rewards(), "rewards");
    }

    private static RuleReward.Completion completion(String text, int tokens, String reference) {
        return new RuleReward.Completion("ex-7", text, tokens, reference);
    }

    @Test
    void weightedSumOfEveryKindFromYaml() throws Exception {
        RuleRewards r = fromYaml("""
                rewards:
                  - type: exact_answer
                    pattern: 'answer is (-?\\d+(?:\\.\\d+)?)'
                    weight: 2.0
                  - type: regex
                    pattern: 'ANSWER'
                    ignore_case: true
                    weight: 0.5
                  - type: contains
                    text: 'because'
                    weight: 0.25
                  - type: format
                    pattern: '.*The answer is -?\\d+\\.'
                    name: ends_with_answer
                  - type: length_penalty
                    max_length: 10
                    per_unit: 0.1
                """);
        assertEquals(List.of("exact_answer", "regex", "contains", "ends_with_answer", "length_penalty"), r.names());
        assertArrayEquals(new double[] {2, 0.5, 0.25, 1, 1}, r.weights());

        var right = completion("7 + 5 = 12 because adding. The answer is 12.", 14, "12");
        assertArrayEquals(new double[] {1, 1, 1, 1, -0.4}, r.scoreEach(right), 1e-12);
        assertEquals(2 + 0.5 + 0.25 + 1 - 0.4, r.score(right), 1e-12);

        // the last extracted answer counts; numbers compare as numbers
        var corrected = completion("The answer is 11. No wait, the answer is 12.0", 8, "12");
        assertArrayEquals(new double[] {1, 1, 0, 0, 0}, r.scoreEach(corrected), 1e-12);
        var wrong = completion("the answer is 13", 4, "12");
        assertEquals(0.0, r.scoreEach(wrong)[0]);
        assertEquals(0.0, r.scoreEach(completion("no idea", 2, "12"))[0], "nothing extracted scores 0");
    }

    @Test
    void namedAnswerGroupAndCharacterLengths() {
        RuleRewards r = RuleRewards.compile(List.of(
                new RuleRewardSpec("exact_answer", null, null, "(\\w+)=(?<answer>\\S+)", null, null, null, null, null, null),
                new RuleRewardSpec("length_penalty", null, 1.0, null, null, null, 3, 0.5, "chars", null)), "rewards");
        assertArrayEquals(new double[] {1, -0.5}, r.scoreEach(completion("x=ab", 99, "ab")), 1e-12); // 4 chars, 1 over
    }

    @Test
    void badEntriesNameTheirKey() {
        var e = assertThrows(BadInputException.class, () -> fromYaml("""
                rewards:
                  - type: contains
                    text: ok
                  - type: regex
                    pattern: '(unclosed'
                """));
        assertTrue(e.getMessage().startsWith("rewards[1].pattern: not a valid regular expression"), e.getMessage());

        assertMessage("rewards[0].type: unknown reward 'exact'", List.of(spec("exact", "x")));
        assertMessage("rewards[0].pattern: required", List.of(new RuleRewardSpec("format", null, null, null, null,
                null, null, null, null, null)));
        assertMessage("rewards[0].text: not used by type regex", List.of(new RuleRewardSpec("regex", null, null, "a",
                "b", null, null, null, null, null)));
        assertMessage("rewards[1].name: 'regex' is used twice", List.of(spec("regex", "a"), spec("regex", "b")));
        assertMessage("rewards[0].max_length: required", List.of(new RuleRewardSpec("length_penalty", null, null,
                null, null, null, null, null, null, null)));
        assertMessage("rewards[0].unit: must be tokens or chars", List.of(new RuleRewardSpec("length_penalty", null,
                null, null, null, null, 5, null, "words", null)));
        assertMessage("rewards[0].weight: must be a finite number", List.of(new RuleRewardSpec("regex", null,
                Double.NaN, "a", null, null, null, null, null, null)));
        assertMessage("rewards: at least one reward", List.of());

        var unknownKey = assertThrows(BadInputException.class, () -> fromYaml("""
                rewards:
                  - type: regex
                    patern: a
                """));
        assertTrue(unknownKey.getMessage().contains("unknown key 'rewards[0].patern'"), unknownKey.getMessage());
    }

    @Test
    void aFailingRewardNamesItselfAndTheExample() {
        RuleRewards r = RuleRewards.compile(List.of(spec("regex", "x"),
                new RuleRewardSpec("exact_answer", "math", null, "(\\d+)", null, null, null, null, null, null)), "rewards");
        var e = assertThrows(BadInputException.class, () -> r.score(completion("42", 1, null)));
        assertEquals("reward 'math' (rewards[1]) failed on example ex-7: example ex-7 has no reference answer",
                e.getMessage());
    }

    private static RuleRewardSpec spec(String type, String pattern) {
        return new RuleRewardSpec(type, null, null, pattern, null, null, null, null, null, null);
    }

    private static void assertMessage(String prefix, List<RuleRewardSpec> specs) {
        var e = assertThrows(BadInputException.class, () -> RuleRewards.compile(specs, "rewards"));
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }
}
