package org.llamawb.finetune.rl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.llamawb.model.BadInputException;

/**
 * A recipe's rewards: {@code R = Σ_k w_k · r_k(completion)}, each {@code r_k} a rule on the completion's text or the
 * score of a reward model ({@code type: reward_model}). Built by {@link #compile}, which checks every entry and names
 * the offending key ({@code rewards[1].pattern: ...}); a rule that fails while scoring is reported with its name and
 * the example, never as a bare stack trace. Reward models need the model in memory, so their scores are computed by
 * the caller (a batch at a time) and passed in ({@link #scoreEach(RuleReward.Completion, double[])}).
 */
public final class RuleRewards {
    private static final String TYPES = "one of exact_answer, regex, contains, format, length_penalty, reward_model";

    private final List<String> names;
    private final List<Double> weights;
    /** Per reward, its rule, or null for a reward model. */
    private final List<RuleReward> rules;
    private final List<ModelReward> models;
    private final String key;

    /**
     * A {@code type: reward_model} entry.
     *
     * @param name its name in metrics
     * @param path the reward adapter's directory, as the recipe wrote it
     * @param key where the recipe names it ({@code rewards[1]}), for errors
     */
    public record ModelReward(String name, String path, String key) {}

    private RuleRewards(String key, List<String> names, List<Double> weights, List<RuleReward> rules,
            List<ModelReward> models) {
        this.key = key;
        this.names = List.copyOf(names);
        this.weights = List.copyOf(weights);
        this.rules = Collections.unmodifiableList(new ArrayList<>(rules)); // holds nulls
        this.models = List.copyOf(models);
    }

    /**
     * Checks and compiles the specs of the YAML list at {@code key} (e.g. {@code "rewards"}).
     *
     * @throws BadInputException naming {@code key[i].field} for the first bad entry
     */
    public static RuleRewards compile(List<RuleRewardSpec> specs, String key) {
        if (specs == null || specs.isEmpty()) {
            throw new BadInputException(key + ": at least one reward is required");
        }
        List<String> names = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        List<RuleReward> rules = new ArrayList<>();
        List<ModelReward> models = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            String at = key + "[" + i + "]";
            RuleRewardSpec s = specs.get(i);
            if (s == null) {
                throw new BadInputException(at + ": expected a mapping with a type");
            }
            if (s.type() == null || s.type().isBlank()) {
                throw new BadInputException(at + ".type: required; " + TYPES);
            }
            String type = s.type().trim().toLowerCase(Locale.ROOT);
            RuleReward rule = switch (type) {
                case "exact_answer" -> {
                    only(s, at, "pattern");
                    yield new RuleReward.ExactAnswer(pattern(s.pattern(), false, at));
                }
                case "regex" -> {
                    only(s, at, "pattern", "ignore_case");
                    yield new RuleReward.RegexMatch(pattern(s.pattern(), Boolean.TRUE.equals(s.ignoreCase()), at));
                }
                case "contains" -> {
                    only(s, at, "text", "ignore_case");
                    if (s.text() == null || s.text().isEmpty()) {
                        throw new BadInputException(at + ".text: required, a non-empty string");
                    }
                    yield new RuleReward.Contains(s.text(), Boolean.TRUE.equals(s.ignoreCase()));
                }
                case "format" -> {
                    only(s, at, "pattern");
                    yield new RuleReward.Format(pattern(s.pattern(), false, at));
                }
                case "length_penalty" -> {
                    only(s, at, "max_length", "per_unit", "unit");
                    if (s.maxLength() == null || s.maxLength() < 0) {
                        throw new BadInputException(at + ".max_length: required, an integer >= 0 (got "
                                + s.maxLength() + ")");
                    }
                    double perUnit = s.perUnit() == null ? 0.01 : s.perUnit();
                    if (!(perUnit > 0) || Double.isInfinite(perUnit)) {
                        throw new BadInputException(at + ".per_unit: must be a finite number > 0, got " + perUnit);
                    }
                    String unit = s.unit() == null ? "tokens" : s.unit();
                    if (!unit.equals("tokens") && !unit.equals("chars")) {
                        throw new BadInputException(at + ".unit: must be tokens or chars, got '" + unit + "'");
                    }
                    yield new RuleReward.LengthPenalty(s.maxLength(), perUnit, unit.equals("tokens"));
                }
                case "reward_model" -> {
                    only(s, at, "path");
                    if (s.path() == null || s.path().isBlank()) {
                        throw new BadInputException(at + ".path: required, the adapter directory a method: reward run "
                                + "wrote (its output.dir/adapter)");
                    }
                    yield null; // scored by the caller with the model
                }
                default -> throw new BadInputException(at + ".type: unknown reward '" + s.type() + "'; " + TYPES);
            };
            double weight = s.weight() == null ? 1.0 : s.weight();
            if (!Double.isFinite(weight)) {
                throw new BadInputException(at + ".weight: must be a finite number, got " + weight);
            }
            String name = s.name() == null ? type : s.name();
            if (name.isBlank() || names.contains(name)) {
                throw new BadInputException(at + ".name: '" + name + "' is " + (name.isBlank() ? "blank" : "used twice")
                        + "; give each reward a distinct name");
            }
            names.add(name);
            weights.add(weight);
            rules.add(rule);
            if (rule == null) {
                models.add(new ModelReward(name, s.path(), at));
            }
        }
        return new RuleRewards(key, names, weights, rules, models);
    }

    /** The {@code reward_model} entries, in recipe order: whose scores {@link #scoreEach(RuleReward.Completion, double[])} takes. */
    public List<ModelReward> models() {
        return models;
    }

    /** The rewards' names, in recipe order ({@code rewards/NAME/mean} in metrics). */
    public List<String> names() {
        return names;
    }

    /** Their weights, in recipe order. */
    public double[] weights() {
        return weights.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * Each reward of one completion, unweighted, in recipe order, when there is no reward model among them.
     *
     * @throws BadInputException naming the reward and the example when a rule fails
     */
    public double[] scoreEach(RuleReward.Completion c) {
        return scoreEach(c, new double[0]);
    }

    /**
     * Each reward of one completion, unweighted, in recipe order: the rules' scores, and the reward models' from
     * {@code modelScores} (in {@link #models()} order).
     *
     * @throws BadInputException naming the reward and the example when a rule fails
     */
    public double[] scoreEach(RuleReward.Completion c, double[] modelScores) {
        if (modelScores.length != models.size()) {
            throw new IllegalArgumentException(models.size() + " reward models but " + modelScores.length + " scores");
        }
        double[] out = new double[rules.size()];
        int m = 0;
        for (int k = 0; k < out.length; k++) {
            if (rules.get(k) == null) {
                out[k] = modelScores[m++];
                continue;
            }
            try {
                out[k] = rules.get(k).score(c);
            } catch (RuntimeException | StackOverflowError e) {
                throw new BadInputException("reward '" + names.get(k) + "' (" + key + "[" + k + "]) failed on example "
                        + c.exampleId() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()),
                        e);
            }
        }
        return out;
    }

    /** The weighted sum {@code Σ_k w_k · r_k}. */
    public double score(RuleReward.Completion c) {
        double[] each = scoreEach(c);
        double sum = 0;
        for (int k = 0; k < each.length; k++) {
            sum += weights.get(k) * each[k];
        }
        return sum;
    }

    private static Pattern pattern(String regex, boolean ignoreCase, String at) {
        if (regex == null || regex.isEmpty()) {
            throw new BadInputException(at + ".pattern: required, a non-empty regular expression");
        }
        try {
            return Pattern.compile(regex, Pattern.DOTALL | (ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0));
        } catch (PatternSyntaxException e) {
            throw new BadInputException(at + ".pattern: not a valid regular expression: "
                    + e.getDescription() + " near index " + e.getIndex());
        }
    }

    /** Rejects keys the type does not read, so a misplaced key is not silently ignored. */
    private static void only(RuleRewardSpec s, String at, String... allowed) {
        List<String> ok = List.of(allowed);
        check(s.pattern() != null, "pattern", ok, s, at);
        check(s.text() != null, "text", ok, s, at);
        check(s.ignoreCase() != null, "ignore_case", ok, s, at);
        check(s.maxLength() != null, "max_length", ok, s, at);
        check(s.perUnit() != null, "per_unit", ok, s, at);
        check(s.unit() != null, "unit", ok, s, at);
        check(s.path() != null, "path", ok, s, at);
    }

    private static void check(boolean present, String field, List<String> ok, RuleRewardSpec s, String at) {
        if (present && !ok.contains(field)) {
            throw new BadInputException(at + "." + field + ": not used by type " + s.type() + " (it reads "
                    + (ok.isEmpty() ? "no extra keys" : String.join(", ", ok)) + ")");
        }
    }
}
