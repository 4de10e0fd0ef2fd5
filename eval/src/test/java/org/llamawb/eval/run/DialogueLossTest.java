package org.llamawb.eval.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.Repo;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.perplexity.LabelledSequence;
import org.llamawb.eval.perplexity.MaskedLoss;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.Task;

/** The dialogue-loss task scores exactly the assistant tokens the datasets module marks for SFT. */
class DialogueLossTest {

    @Test
    void lossOverAssistantTokensOfRealConversations() {
        EvalModel model = Stories260K.evalModel();
        Task task = Repo.catalog().resolve("fastchat_dummy_loss").requireData();
        TaskResult r = DialogueLossTaskRunner.run(task, model, ScoringOptions.defaults(512), 6).result();
        assertEquals(6, r.examples());

        // the same conversations through the datasets module directly: ids + labels -> MaskedLoss
        List<Example> ex = DatasetReader.readAll(task.data(), ReadOptions.failing().withFormat(DataFormat.SHAREGPT));
        List<LabelledSequence> seqs = new ArrayList<>();
        long trained = 0;
        try (ExampleEncoder enc = new ExampleEncoder(model.tokenizer(), model.chatTemplate("vicuna_v1.1"), EncodeOptions.of(512))) {
            for (int i = 0; i < 6; i++) {
                TokenizedExample t = enc.encode(ex.get(i)).orElseThrow();
                assertEquals(TokenizedExample.IGNORE, t.labels()[0], "BOS is never scored");
                seqs.add(new LabelledSequence(t.inputIds(), t.labels()));
                trained += t.trainedTokens();
            }
        }
        MaskedLoss.Result direct = MaskedLoss.compute(model.llama(), seqs, 512, 1);
        assertEquals(trained, (long) r.metrics().get("scored_tokens").value());
        assertEquals(trained, direct.scoredTokens());
        assertEquals(direct.loss(), r.metrics().get("eval_loss").value(), 1e-6, "batching does not change the loss");
        assertEquals(Math.exp(direct.loss()), r.metrics().get("perplexity").value(), 1e-6 * Math.exp(direct.loss()));
        // stories260K has never seen a chat: far worse than its own stories, far better than uniform (ln 512 = 6.24)
        assertTrue(r.metrics().get("eval_loss").value() > 2 && r.metrics().get("eval_loss").value() < 6.24,
                r.metrics().toString());
    }
}
