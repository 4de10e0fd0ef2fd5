package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Origin;
import org.llamawb.model.BadInputException;

/** The record formats this workbench reads (recipe key {@code data.format}, CLI flag {@code --format}). */
public enum DataFormat {
    /** ShareGPT / Vicuna: {@code conversations: [{from: human|gpt|system, value}]}. */
    SHAREGPT("sharegpt"),
    /** OpenAI chat: {@code messages: [{role, content}]}. */
    OPENAI("openai"),
    /** Alpaca: {@code instruction}, {@code input}, {@code output} (optional {@code system}, {@code history}). */
    ALPACA("alpaca"),
    /** OpenAssistant message trees, read as one conversation along the best-ranked path. */
    OASST("oasst"),
    /** OpenAssistant message trees, read as preference pairs from sibling ranks. */
    OASST_PAIRS("oasst-pairs"),
    /** {@code prompt}/{@code chosen}/{@code rejected} as strings or message lists (TRL's shapes). */
    PREFERENCE("preference"),
    /** Anthropic HH-RLHF: {@code chosen}/{@code rejected} dialogues in "\n\nHuman: … \n\nAssistant: …" text. */
    HH("hh"),
    /** LLaMA-Factory ShareGPT-form pairs: {@code conversations} plus {@code chosen}/{@code rejected} turns. */
    SHAREGPT_PAIRS("sharegpt-pairs"),
    /** KTO: OpenAI {@code messages} plus a boolean {@code label}. */
    KTO("kto"),
    /** Prompts only: JSON strings, or objects with {@code prompt} or {@code messages}. */
    PROMPTS("prompts");

    private final String wireName;

    DataFormat(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in recipes and on the command line. */
    public String wireName() {
        return wireName;
    }

    /** Parses a format name; the error lists the known names. */
    public static DataFormat parse(String name) {
        for (DataFormat f : values()) {
            if (f.wireName.equals(name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new BadInputException("unknown data format '" + name + "'; expected one of " + names());
    }

    /** All names, comma-separated. */
    public static String names() {
        return Arrays.stream(values()).map(DataFormat::wireName).collect(Collectors.joining(", "));
    }

    /** Decodes one record; a record may give several examples (OpenAssistant pairs). */
    List<Example> decode(JsonNode record, Origin origin) throws BadRecord {
        if (this != PROMPTS && !record.isObject()) {
            throw new BadRecord("record is a JSON " + record.getNodeType().name().toLowerCase(Locale.ROOT)
                    + ", expected an object for format " + wireName);
        }
        return switch (this) {
            case SHAREGPT -> ShareGptDecoder.conversation(record, origin);
            case OPENAI -> OpenAiDecoder.conversation(record, origin);
            case ALPACA -> AlpacaDecoder.conversation(record, origin);
            case OASST -> OasstDecoder.bestPath(record, origin);
            case OASST_PAIRS -> OasstDecoder.pairs(record, origin);
            case PREFERENCE -> PreferenceDecoder.pair(record, origin);
            case HH -> HhDecoder.pair(record, origin);
            case SHAREGPT_PAIRS -> ShareGptDecoder.pair(record, origin);
            case KTO -> OpenAiDecoder.kto(record, origin);
            case PROMPTS -> PromptDecoder.prompt(record, origin);
        };
    }

    /**
     * The format a record looks like, from its keys; empty when none fits. Auto-detection looks at the
     * first readable record of a file only; records of another shape later are reported as problems.
     */
    static java.util.Optional<DataFormat> detect(JsonNode record) {
        DataFormat f = null;
        if (record.isTextual()) {
            f = PROMPTS;
        } else if (record.isObject()) {
            boolean pair = record.has("chosen") && record.has("rejected");
            if (record.has("conversations")) {
                f = pair ? SHAREGPT_PAIRS : SHAREGPT;
            } else if (record.has("messages")) {
                f = record.has("label") ? KTO : OPENAI;
            } else if (record.has("instruction")) {
                f = ALPACA;
            } else if (record.has("message_tree_id") || (record.has("message_id") && record.has("replies"))) {
                f = OASST;
            } else if (pair && (record.has("prompt") || !record.get("chosen").isTextual())) {
                f = PREFERENCE;
            } else if (pair) {
                f = HH;
            } else if (record.has("prompt")) {
                f = PROMPTS;
            }
        }
        return java.util.Optional.ofNullable(f);
    }
}
