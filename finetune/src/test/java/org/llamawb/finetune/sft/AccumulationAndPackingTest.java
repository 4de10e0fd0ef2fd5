package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.DataLoader;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.datasets.mix.DataSource;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/** Accumulation equals one large batch; a packed batch's loss equals its examples' losses taken alone. */
class AccumulationAndPackingTest {

    static Map<String, float[]> grads(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            try (NDArray g = v.getGradient()) {
                out.put(k, g.toFloatArray());
            }
        });
        return out;
    }

    static void zero(Map<String, NDArray> params) {
        params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
    }

    @Test
    void fourUnevenMicroBatchesGiveTheGradientOfOneBatch() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        SplittableRandom r = new SplittableRandom(9);
        int t = 24;
        int[][] ids = new int[8][t];
        int[][] labels = new int[8][t];
        for (int i = 0; i < 8; i++) {
            int prompt = 2 + 3 * i; // every row trains a different number of tokens
            for (int j = 0; j < t; j++) {
                ids[i][j] = 3 + r.nextInt(500);
                labels[i][j] = j < prompt ? TokenizedExample.IGNORE : ids[i][j];
            }
        }
        Batch whole = Batch.ofRows(ids, labels);
        List<Batch> micro = new ArrayList<>();
        int[][] split = {{0, 1}, {1, 4}, {4, 5}, {5, 8}}; // 1, 3, 1 and 3 rows
        for (int[] s : split) {
            micro.add(Batch.ofRows(Arrays.copyOfRange(ids, s[0], s[1]), Arrays.copyOfRange(labels, s[0], s[1])));
        }
        long total = whole.trainedTokens();
        assertEquals(total, micro.stream().mapToLong(Batch::trainedTokens).sum());
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(ckpt), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            lora.parameters("default").forEach((k, v) -> {
                if (k.contains("lora_B")) {
                    float[] x = new float[(int) v.size()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (r.nextDouble() - 0.5) * 0.1f;
                    }
                    v.set(x);
                }
            });
            Map<String, NDArray> params = lora.trainableParameters("default");
            for (Rematerialization policy : Rematerialization.values()) {
                zero(params);
                double oneLoss;
                try (NDScope s = new NDScope()) {
                    oneLoss = ForwardBackward.run(model, whole, 1.0 / total, policy, 0, m);
                }
                Map<String, float[]> one = grads(params);
                zero(params);
                double accLoss = 0;
                for (Batch b : micro) {
                    try (NDScope s = new NDScope()) {
                        accLoss += ForwardBackward.run(model, b, 1.0 / total, policy, 0, m);
                    }
                }
                Map<String, float[]> acc = grads(params);
                assertEquals(oneLoss, accLoss, 1e-3, policy + " summed loss");
                double worst = 0;
                for (String k : one.keySet()) {
                    for (int i = 0; i < one.get(k).length; i++) {
                        worst = Math.max(worst, Math.abs(one.get(k)[i] - acc.get(k)[i]));
                    }
                }
                assertTrue(worst <= 1e-5, policy + ": accumulated gradient differs from one batch by " + worst); // float summation order only
            }
        }
    }

    @Test
    void packedBatchLossEqualsEachExampleAlone() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json");
        DataOptions options = new DataOptions(List.of(new DataSource(data.toString(), "sharegpt", 1.0)), "vicuna_v1.1", 768,
                null, null, true, false, 0.0, null, null, 7L);
        try (NDManager m = NDManager.newBaseManager();
                Checkpoint c = Checkpoint.open(ckpt);
                LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, null)) {
            Llama model = Llama.load(c, m);
            PreparedData<TokenizedDataset> d = DatasetBuilder.sft(options, tok,
                    ChatTemplates.resolve("vicuna_v1.1", tok, c.directory()), Path.of(""));
            DataLoader loader = DatasetBuilder.trainLoader(d, options, 2, tok.eosId());
            Batch packed = loader.batch(0, 0);
            assertTrue(packed.packed() && packed.examples() > packed.rows(), "the batch must hold several examples per row");
            double packedLoss;
            try (NDScope s = new NDScope()) {
                Batch tb = packed;
                packedLoss = CausalLmLoss.sum(model.forward(tb.inputIdsArray(m), tb.positionIdsArray(m),
                        tb.segmentIdsArray(m), false), CausalLmLoss.shiftedLabels(m, tb.labels()), false).getFloat();
                // the head run only on labelled positions (most of a Vicuna row is prompt) gives the same sum
                NDArray shifted = CausalLmLoss.shiftedLabels(m, tb.labels());
                assertNotNull(CausalLmLoss.labelledRows(shifted.reshape(-1)), "the batch has unlabelled positions");
                double labelledOnly = CausalLmLoss.sumOverLabelled(model, model.hidden(tb.inputIdsArray(m),
                        tb.positionIdsArray(m), tb.segmentIdsArray(m), false), shifted).getFloat();
                assertEquals(packedLoss, labelledOnly, 1e-4 * Math.abs(packedLoss), "loss over labelled rows only");
            }
            // each example of the packed rows, run alone
            double alone = 0;
            int examples = 0;
            for (int row = 0; row < packed.rows(); row++) {
                int[] seg = packed.segmentIds()[row];
                int start = 0;
                while (start < seg.length) {
                    int end = start;
                    while (end < seg.length && seg[end] == seg[start]) {
                        end++;
                    }
                    int[] ids = Arrays.copyOfRange(packed.inputIds()[row], start, end);
                    int[] lab = Arrays.copyOfRange(packed.labels()[row], start, end);
                    if (Arrays.stream(lab).anyMatch(l -> l != TokenizedExample.IGNORE)) {
                        Batch one = Batch.ofRows(new int[][] {ids}, new int[][] {lab});
                        try (NDScope s = new NDScope()) {
                            alone += CausalLmLoss.sum(model.forward(one.inputIdsArray(m), null, null, false),
                                    CausalLmLoss.shiftedLabels(m, one.labels()), false).getFloat();
                        }
                        examples++;
                    }
                    start = end;
                }
            }
            assertEquals(packed.examples(), examples);
            long trained = packed.trainedTokens();
            assertEquals(alone / trained, packedLoss / trained, 1e-5, "mean token loss, packed vs alone");
            model.close();
        }
    }
}
