package org.llamawb.datasets.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.model.TestData;

/**
 * The {@code alpaca} template against Stanford Alpaca's {@code PROMPT_DICT} and {@code targets}
 * (tatsu-lab/stanford_alpaca, {@code train.py}): source {@code prompt.format_map(example)}, target
 * {@code output + eos_token}.
 */
class AlpacaTemplateTest {
    // The reference strings, as train.py writes them.
    static final String PROMPT_INPUT = "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:";
    static final String PROMPT_NO_INPUT = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n{instruction}\n\n### Response:";

    private static final ChatTemplate ALPACA = BuiltinTemplate.ALPACA.with(SpecialTokens.LLAMA);

    /** train.py's choice: {@code prompt_input} when {@code example.get("input", "") != ""}. */
    static String source(String instruction, String input) {
        return input.isEmpty() ? PROMPT_NO_INPUT.replace("{instruction}", instruction)
                : PROMPT_INPUT.replace("{instruction}", instruction).replace("{input}", input);
    }

    @Test
    void bothPromptsAndTheTargetAreStanfordsExactly() {
        String[][] cases = {
            {"Give three tips for staying healthy.", "", "1. Eat well."},
            {"Translate to French.", "Good morning", "Bonjour"},
            {"Line one\nline two of the instruction", "an input\nwith lines", " spaced answer "},
        };
        for (String[] c : cases) {
            List<Message> messages = List.of(Message.user(c[0], c[1]), Message.assistant(c[2]));
            RenderedChat r = ALPACA.render(messages, false);
            assertEquals(source(c[0], c[1]) + c[2] + "</s>", r.text());
            assertEquals(c[2] + "</s>", r.trainedText(), "the target: output + eos_token");
            // The generation prompt is the source alone: the model writes the answer right after "### Response:".
            assertEquals(source(c[0], c[1]), ALPACA.render(messages.subList(0, 1), true).text());
            assertEquals(source(c[0], c[1]), ALPACA.render(messages.subList(0, 1), false).text());
        }
    }

    @Test
    void realAlpacaRecordsRenderAsTrainPyFormatsThem() throws Exception {
        Path file = TestData.require("sft/llamafactory-demo/alpaca_en_demo.json");
        JsonNode records = new ObjectMapper().readTree(file.toFile());
        List<Example> examples = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.ALPACA));
        int withInput = 0;
        for (int i = 0; i < examples.size(); i++) {
            JsonNode rec = records.get(i);
            String input = rec.path("input").asText("");
            withInput += input.isEmpty() ? 0 : 1;
            String expected = source(rec.path("instruction").asText(), input) + rec.path("output").asText() + "</s>";
            assertEquals(expected, ALPACA.render(((Conversation) examples.get(i)).messages(), false).text(), "record " + i);
        }
        assertTrue(withInput > 50 && withInput < examples.size(), "both prompts are exercised: " + withInput);
    }

    @Test
    void aSystemMessageReplacesThePreambleAndLaterTurnsRepeatTheBlocks() {
        RenderedChat r = ALPACA.render(List.of(Message.system("Be brief."), Message.user("Hi"), Message.assistant("Hello."),
                Message.user("Bye"), Message.assistant("Bye!")), false);
        assertEquals("Be brief.\n\n### Instruction:\nHi\n\n### Response:Hello.</s>\n\n### Instruction:\nBye\n\n### Response:Bye!</s>",
                r.text());
        assertEquals("Hello.</s>Bye!</s>", r.trainedText());
    }

    @Test
    void otherTemplatesSeeTheJoinedInstructionAndInput() {
        Message m = Message.user("Translate.", "Hi");
        assertEquals("Translate.\nHi", m.content());
        assertEquals("Translate.", m.instruction());
        assertEquals("Translate.\nHi", Message.user("Translate.\nHi").instruction());
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the"
                + " request.\n\n### Instruction: Translate.\nHi\n\n### Response:",
                BuiltinTemplate.FASTCHAT_ALPACA.with(SpecialTokens.LLAMA).render(List.of(m), true).text());
    }
}
