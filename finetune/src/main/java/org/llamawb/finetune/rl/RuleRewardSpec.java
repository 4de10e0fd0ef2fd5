package org.llamawb.finetune.rl;

/**
 * One entry of a recipe's {@code rewards:} list as written in YAML (snake_case keys); {@link RuleRewards#compile}
 * checks it and turns it into a {@link RuleReward}. Which keys apply depends on {@code type}:
 * <pre>
 *   exact_answer    pattern (extracts the final answer: group "answer", else group 1, else the match; last match wins)
 *   regex           pattern, ignore_case      1 if the pattern occurs anywhere
 *   contains        text, ignore_case         1 if the text occurs
 *   format          pattern                   1 if the whole completion matches (dot matches newlines)
 *   length_penalty  max_length, per_unit, unit (tokens | chars): −per_unit · max(0, length − max_length)
 *   reward_model    path                      the score of a reward adapter (the adapter directory of method: reward)
 *                                             on prompt ⧺ completion, read at its last token
 * </pre>
 *
 * @param type one of the names above
 * @param name the name in metrics ({@code rewards/NAME/mean}) and errors; defaults to the type
 * @param weight multiplies the reward in the sum (default 1)
 * @param path a {@code reward_model}'s PEFT {@code SEQ_CLS} adapter directory
 */
public record RuleRewardSpec(String type, String name, Double weight, String pattern, String text, Boolean ignoreCase,
        Integer maxLength, Double perUnit, String unit, String path) {}
