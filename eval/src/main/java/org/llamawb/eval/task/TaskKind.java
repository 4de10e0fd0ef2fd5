package org.llamawb.eval.task;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.llamawb.model.BadInputException;

/** What a task measures and which data schema its file has. */
public enum TaskKind {
    /** {query, choices[], gold}: the choice with the highest log-likelihood after the query (acc, acc_norm). */
    MULTIPLE_CHOICE("multiple_choice"),
    /**
     * {context_options[], continuation, gold}: WinoGrande's partial scoring, the option under which the
     * shared continuation is most likely (acc).
     */
    PARTIAL_CHOICE("partial_choice"),
    /** {context, continuation}: LAMBADA, whether the continuation is the greedy one (acc) and its perplexity. */
    COMPLETION("completion"),
    /** A raw text file: mean loss per token and perplexity over rolling windows. */
    PERPLEXITY("perplexity"),
    /**
     * A dialogue set in any format the datasets module reads (ShareGPT, OpenAI, Alpaca, OASST, ...): mean loss
     * over the assistant tokens only, through a chat template ({@code eval_loss}, perplexity).
     */
    DIALOGUE_LOSS("dialogue_loss"),
    /** {question_id, category, turns[]}: MT-bench / Vicuna-bench answers through a chat template, to JSONL. */
    GENERATION("generation"),
    /** {query, answer | answers[]}: generate, extract the answer with a regex, compare exactly. */
    EXACT_MATCH("exact_match");

    private final String yamlName;

    TaskKind(String yamlName) {
        this.yamlName = yamlName;
    }

    @JsonValue
    public String yamlName() {
        return yamlName;
    }

    @JsonCreator
    public static TaskKind fromYaml(String s) {
        for (TaskKind k : values()) {
            if (k.yamlName.equals(s)) {
                return k;
            }
        }
        throw new BadInputException("unknown kind '" + s + "' (expected one of: "
                + Arrays.stream(values()).map(TaskKind::yamlName).collect(Collectors.joining(", ")) + ")");
    }

    /** Kinds scored by log-likelihood requests. */
    public boolean isLoglikelihood() {
        return this == MULTIPLE_CHOICE || this == PARTIAL_CHOICE || this == COMPLETION;
    }
}
