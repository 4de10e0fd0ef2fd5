package org.llamawb.datasets.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.example.Role;
import org.llamawb.datasets.example.UnpairedPreference;
import org.llamawb.model.TestData;

/** Every data file under ../shared/data/sft and ../shared/data/preference, read in its real format. */
class RealDataFormatsTest {

    private static Read read(String relative, DataFormat expectedFormat) {
        Path file = TestData.require(relative);
        try (ExampleStream s = DatasetReader.open(file, ReadOptions.skipping())) {
            List<Example> all = new java.util.ArrayList<>();
            s.forEachRemaining(all::add);
            assertEquals(expectedFormat, s.format(), "auto-detected format of " + relative);
            return new Read(all, s.counts());
        }
    }

    record Read(List<Example> examples, ReadCounts counts) {}

    @Test
    void fastChatDummyConversationsAreShareGpt() {
        Read r = read("sft/fastchat-dummy-conversation/dummy_conversation.json", DataFormat.SHAREGPT);
        assertEquals(500, r.examples().size());
        assertEquals(0, r.counts().problems());
        long turns = r.examples().stream().mapToLong(e -> ((Conversation) e).messages().size()).sum();
        assertEquals(2000, turns, "1000 human + 1000 gpt turns");
        Conversation first = (Conversation) r.examples().get(0);
        assertEquals("identity_0", first.id());
        assertEquals(List.of(Message.user("Who are you?"),
                Message.assistant("I am Vicuna, a language model trained by researchers from Large Model Systems Organization (LMSYS)."),
                Message.user("Have a nice day!"), Message.assistant("You too!")), first.messages());
        assertEquals(2, first.origin().line(), "a record is reported at the line of its opening brace");
    }

    @Test
    void openAssistantTreesGiveOneBestRankedConversationEach() {
        for (String f : new String[] {"sft/oasst-en100/en_100_tree.jsonl", "sft/oasst-en100/en_100_message.jsonl"}) {
            Read r = read(f, DataFormat.OASST);
            assertEquals(100, r.examples().size(), f);
            assertEquals(0, r.counts().problems(), f);
            long turns = r.examples().stream().mapToLong(e -> ((Conversation) e).messages().size()).sum();
            assertEquals(284, turns, f + ": turns along the best-ranked paths");
            Conversation c = (Conversation) r.examples().get(0);
            assertEquals("How can I find the best 401k plan for my needs?", c.messages().get(0).content());
            // rank 0 of the first tree's replies
            assertTrue(c.messages().get(1).content().startsWith("The first step is to research your options."), f);
        }
    }

    @Test
    void openAssistantTreesGivePreferencePairsFromSiblingRanks() {
        Path file = TestData.require("sft/oasst-en100/en_100_tree.jsonl");
        List<Example> pairs = DatasetReader.readAll(file, ReadOptions.failing().withFormat(DataFormat.OASST_PAIRS));
        assertEquals(754, pairs.size());
        PreferencePair p = (PreferencePair) pairs.get(0);
        assertEquals(1, p.prompt().size());
        assertTrue(p.chosen().content().startsWith("The first step is to research your options."));
        assertTrue(p.id().endsWith("/0-1"), p.id());
    }

    @Test
    void openAssistantPromptListsArePrompts() {
        assertEquals(100, read("sft/oasst-en100/en_100_text.jsonl", DataFormat.PROMPTS).examples().size());
        Read lottery = read("sft/oasst-en100/prompt_lottery_en_250_text.jsonl", DataFormat.PROMPTS);
        assertEquals(250, lottery.examples().size());
        Prompt p = (Prompt) lottery.examples().get(0);
        assertEquals(List.of(Message.user("Can you tell me about GLaDOS?")), p.messages());
    }

    @Test
    void llamaFactoryAlpacaFiles() {
        Read alpaca = read("sft/llamafactory-demo/alpaca_en_demo.json", DataFormat.ALPACA);
        assertEquals(999, alpaca.examples().size());
        assertEquals(0, alpaca.counts().problems());
        Conversation c = (Conversation) alpaca.examples().get(0);
        assertEquals("Describe a process of making crepes.", c.messages().get(0).content());
        assertEquals(Role.ASSISTANT, c.messages().get(1).role());
        Read identity = read("sft/llamafactory-demo/identity.json", DataFormat.ALPACA);
        assertEquals(91, identity.examples().size());
        long withInput = alpaca.examples().stream()
                .filter(e -> ((Conversation) e).messages().get(0).content().contains("\n")).count();
        assertTrue(withInput > 0, "instructions with an input are joined with a newline");
    }

    @Test
    void llamaFactoryRegistryResolvesItsLocalFiles() {
        DatasetInfo info = DatasetInfo.read(TestData.require("sft/llamafactory-demo/dataset_info.json"));
        assertEquals(104, info.entries().size());
        assertEquals(DataFormat.ALPACA, info.entry("alpaca_en_demo").format().orElseThrow());
        assertEquals(DataFormat.ALPACA, info.entry("identity").format().orElseThrow());
        assertEquals(DataFormat.SHAREGPT_PAIRS, info.entry("dpo_en_demo").format().orElseThrow());
        assertEquals(DataFormat.KTO, info.entry("kto_en_demo").format().orElseThrow());
        assertTrue(info.entry("alpaca_zh_demo").file() != null);
        long hubOnly = info.entries().values().stream().filter(e -> e.file() == null).count();
        assertEquals(90, hubOnly, "entries without a file_name");
        // The registry's own entries read through it (files beside it where they exist).
        var alpaca = info.entry("alpaca_en_demo");
        assertEquals(999, DatasetReader.readAll(alpaca.file(),
                ReadOptions.failing().withFormat(alpaca.format().orElseThrow())).size());
    }

    @Test
    void llamaFactoryShareGptPreferencePairs() {
        Read r = read("preference/llamafactory-demo/dpo_en_demo.json", DataFormat.SHAREGPT_PAIRS);
        assertEquals(300, r.examples().size());
        assertEquals(0, r.counts().problems());
        PreferencePair p = (PreferencePair) r.examples().get(0);
        assertTrue(p.prompt().get(0).content().startsWith("Hi! I'd like to create a new language game"));
        assertTrue(p.chosen().content().startsWith("That sounds like a fun and engaging idea!"));
    }

    @Test
    void llamaFactoryKtoMessages() {
        Read r = read("preference/llamafactory-demo/kto_en_demo.json", DataFormat.KTO);
        assertEquals(300, r.examples().size());
        long desirable = r.examples().stream().filter(e -> ((UnpairedPreference) e).desirable()).count();
        assertEquals(150, desirable);
        assertInstanceOf(UnpairedPreference.class, r.examples().get(0));
    }

    @Test
    void anthropicHhPairsWithTheirRealDefectsReported() {
        Read r = read("preference/anthropic-hh-rlhf-harmless-test/harmless-base-test.jsonl.gz", DataFormat.HH);
        assertEquals(2312, r.counts().records());
        // 9 pairs whose answers are empty or differ before the last turn, 4 whose prompt has two
        // Assistant turns in a row: all reported, none dropped silently.
        assertEquals(2299, r.examples().size());
        assertEquals(13, r.counts().problems());
        List<String> problems = r.counts().firstProblems().stream().map(Problem::toString).toList();
        String file = TestData.require("preference/anthropic-hh-rlhf-harmless-test/harmless-base-test.jsonl.gz").toString();
        assertEquals(file + ":87: empty assistant turn in chosen", problems.get(0));
        assertEquals(file + ":668: turn 5 is assistant, expected user (turns must alternate user/assistant after an"
                + " optional system message)", problems.get(2));
        assertTrue(problems.get(6).startsWith(file + ":1255: chosen and rejected differ before their last Assistant turn"),
                problems.get(6));
        assertEquals(4L, r.counts().skippedByReason().get("empty assistant turn"));
        PreferencePair first = (PreferencePair) r.examples().get(0);
        assertEquals(Message.user("what are some pranks with a pen i can do?"), first.prompt().get(0));
        assertEquals(5, first.prompt().size());
        assertEquals("No, sorry!  All of these involve a pen, the point is that you can get funny results by doing pranks with pens.",
                first.chosen().content());
        assertTrue(first.rejected().content().startsWith("There are lots of funny things you can do with pens"));
    }
}
