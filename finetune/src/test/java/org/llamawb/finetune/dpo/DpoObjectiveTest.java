package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
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
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * DPO on the real stories260K: the injected-gradient backward equals autograd through the whole loss
 * written out as tensor operations (log-probabilities from the cross-entropy kernel, a different route
 * from {@link SequenceLogProbs}); a fresh adapter is its own reference; a few steps separate the pair.
 */
class DpoObjectiveTest {
    static final int PAD = 2;

    /** Three pairs, prompts of 4-6 tokens, answers of 2-7 tokens, right-padded with unlabelled pad tokens. */
    static PairBatch batch(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] prompts = {4, 6, 5};
        int[] chosen = {3, 7, 2};
        int[] rejected = {6, 2, 5};
        int t = 0;
        for (int i = 0; i < 3; i++) {
            t = Math.max(t, prompts[i] + Math.max(chosen[i], rejected[i]));
        }
        int[][] cIds = new int[3][t];
        int[][] cLab = new int[3][t];
        int[][] rIds = new int[3][t];
        int[][] rLab = new int[3][t];
        for (int i = 0; i < 3; i++) {
            int[] prompt = r.ints(prompts[i], 3, 500).toArray();
            fill(cIds[i], cLab[i], prompt, r.ints(chosen[i], 3, 500).toArray());
            fill(rIds[i], rLab[i], prompt, r.ints(rejected[i], 3, 500).toArray());
        }
        return new PairBatch(new Batch(cIds, cLab, null, null, 3, 0), new Batch(rIds, rLab, null, null, 3, 0));
    }

    static void fill(int[] ids, int[] labels, int[] prompt, int[] answer) {
        Arrays.fill(ids, PAD);
        Arrays.fill(labels, TokenizedExample.IGNORE);
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(answer, 0, ids, prompt.length, answer.length);
        System.arraycopy(answer, 0, labels, prompt.length, answer.length);
    }

    static Map<String, float[]> grads(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            try (NDArray g = v.getGradient()) {
                out.put(k, g.toFloatArray());
            }
        });
        return out;
    }

    /** A LoRA on every linear whose B is random too, so that the policy differs from the reference. */
    static Map<String, NDArray> adapter(LoraModel lora) {
        lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
        Map<String, NDArray> params = lora.trainableParameters("default");
        SplittableRandom r = new SplittableRandom(5);
        params.forEach((k, v) -> {
            if (k.contains("lora_B")) {
                float[] b = new float[(int) v.getShape().size()];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (r.nextGaussian() * 0.05);
                }
                v.set(b);
            }
        });
        return params;
    }

    @Test
    void injectedGradientsEqualAutogradThroughTheWholeLoss() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        PairBatch pb = batch(3);
        for (DpoLoss loss : List.of(new DpoLoss("sigmoid", 0.1, 0), new DpoLoss("sigmoid", 0.5, 0.2),
                new DpoLoss("hinge", 0.3, 0), new DpoLoss("ipo", 0.2, 0))) {
            try (NDManager m = NDManager.newBaseManager();
                    Llama model = Llama.load(Checkpoint.open(ckpt), m);
                    LoraModel lora = new LoraModel(model)) {
                Map<String, NDArray> params = adapter(lora);
                DpoObjective objective = new DpoObjective(model, lora, loss);
                double mean;
                try (NDScope s = new NDScope()) {
                    mean = objective.lossAndBackward(pb, 1.0 / 3, 0) / 3;
                }
                Map<String, float[]> injected = grads(params);
                params.values().forEach(p -> p.getGradient().subi(p.getGradient()));
                double reference;
                try (NDScope s = new NDScope()) {
                    reference = autogradLoss(model, lora, loss, pb, m);
                }
                assertEquals(reference, mean, 1e-5 * Math.max(1, Math.abs(reference)), loss + " loss");
                Map<String, float[]> expected = grads(params);
                double scale = expected.values().stream().flatMapToDouble(a -> {
                    double[] d = new double[a.length];
                    for (int i = 0; i < a.length; i++) {
                        d[i] = Math.abs(a[i]);
                    }
                    return Arrays.stream(d);
                }).max().orElse(0);
                assertTrue(scale > 0, loss + ": the loss must reach the adapter");
                for (String k : expected.keySet()) {
                    float[] a = expected.get(k);
                    float[] b = injected.get(k);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i], b[i], 1e-5 * Math.max(1, scale), loss + " gradient of " + k + "[" + i + "]");
                    }
                }
            }
        }
    }

    /** The mean loss built from tensor operations and back-propagated by autograd. */
    static double autogradLoss(Llama model, LoraModel lora, DpoLoss loss, PairBatch pb, NDManager m) {
        int b = pb.chosen().rows();
        int[][] ids = DpoObjective.concat(pb.chosen().inputIds(), pb.rejected().inputIds());
        int[][] labels = DpoObjective.concat(pb.chosen().labels(), pb.rejected().labels());
        NDArray input = Batch.ofRows(ids, labels).inputIdsArray(m);
        NDArray shifted = CausalLmLoss.shiftedLabels(m, labels);
        double[] ref = lora.withAdaptersDisabled(() -> {
            NDArray logits = model.forward(input, null, null, false);
            double[] out = new double[2 * b];
            for (int r = 0; r < 2 * b; r++) {
                out[r] = -Kernels.get().crossEntropySum(logits.get(r), shifted.get(r), false).getFloat();
            }
            return out;
        });
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logits = model.forward(input, null, null, true); // [2B, T, V]
            NDArray total = c(m, 0);
            for (int i = 0; i < b; i++) {
                long nc = CausalLmLoss.trainedTokens(new int[][] {labels[i]});
                long nr = CausalLmLoss.trainedTokens(new int[][] {labels[b + i]});
                double dc = loss.averagesLogProbs() ? nc : 1;
                double dr = loss.averagesLogProbs() ? nr : 1;
                NDArray pc = Kernels.get().crossEntropySum(logits.get(i), shifted.get(i), true).neg().div(c(m, dc));
                NDArray pr = Kernels.get().crossEntropySum(logits.get(b + i), shifted.get(b + i), true).neg().div(c(m, dr));
                NDArray z = pc.sub(pr).sub(c(m, ref[i] / dc - ref[b + i] / dr));
                NDArray l = switch (loss.type()) {
                    case "sigmoid" -> logSigmoid(z.mul(c(m, loss.beta()))).mul(c(m, -(1 - loss.labelSmoothing())))
                            .sub(logSigmoid(z.mul(c(m, -loss.beta()))).mul(c(m, loss.labelSmoothing())));
                    case "hinge" -> c(m, 1).sub(z.mul(c(m, loss.beta()))).getNDArrayInternal().relu();
                    case "ipo" -> z.sub(c(m, 1 / (2 * loss.beta()))).square();
                    default -> throw new IllegalStateException();
                };
                total = total.add(l);
            }
            NDArray mean = total.div(c(m, b));
            gc.backward(mean);
            return mean.getFloat();
        }
    }

    static NDArray logSigmoid(NDArray x) {
        return x.getNDArrayInternal().sigmoid().log();
    }

    static NDArray c(NDManager m, double v) {
        return m.full(new Shape(), (float) v, DataType.FLOAT32);
    }

    @Test
    void aFreshAdapterIsItsOwnReferenceAndPrecomputingChangesNothing() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        PairBatch pb = batch(11);
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(ckpt), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1); // B = 0: policy = base
            DpoObjective live = new DpoObjective(model, lora, new DpoLoss("sigmoid", 0.1, 0));
            Map<String, Double> start = live.evaluate(pb);
            assertEquals(3 * Math.log(2), start.get("loss_sum"), 1e-5);
            assertEquals(0, start.get("rewards/chosen"), 1e-6);
            assertEquals(0, start.get("rewards/margins"), 1e-6);
            assertEquals(0, start.get("rewards/accuracies"), 0);
            assertTrue(start.get("logps/chosen") < 0 && start.get("logps/rejected") < 0);
        }
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(ckpt), m);
                LoraModel lora = new LoraModel(model)) {
            DpoObjective pre = new DpoObjective(model, lora, new DpoLoss("sigmoid", 0.1, 0));
            pre.precompute(pb); // before the adapter exists, as the trainer does
            assertEquals(6, pre.precomputedSequences());
            adapter(lora);
            DpoObjective live = new DpoObjective(model, lora, new DpoLoss("sigmoid", 0.1, 0));
            Map<String, Double> a = pre.evaluate(pb);
            Map<String, Double> b = live.evaluate(pb);
            for (String k : b.keySet()) {
                assertEquals(b.get(k), a.get(k), 1e-5, k);
            }
            assertTrue(Math.abs(b.get("rewards/margins")) > 1e-4, "a random B moves the policy off the reference");
        }
    }

    @Test
    void trainingStepsSeparateChosenFromRejected() {
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        PairBatch pb = batch(7);
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(ckpt), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            Map<String, NDArray> params = lora.trainableParameters("default");
            DpoObjective objective = new DpoObjective(model, lora, new DpoLoss("sigmoid", 0.1, 0));
            try (AdamW opt = new AdamW(params, new AdamW.Settings(0.9, 0.999, 1e-8, 0), AdamW::decaysByDefault, m)) {
                TrainingStep.Outcome first = null;
                TrainingStep.Outcome last = null;
                for (int step = 0; step < 12; step++) {
                    last = TrainingStep.run(List.of(pb), objective, params.values(), opt, 1e-2, 1.0, step);
                    first = first == null ? last : first;
                }
                assertEquals(Math.log(2), first.loss(), 1e-5);
                assertEquals(3, first.units());
                assertTrue(last.loss() < 0.5 * Math.log(2), "loss after 12 steps: " + last.loss());
                Map<String, Double> metrics = objective.takeMetrics(); // means over the 12 micro-batches
                assertTrue(metrics.get("rewards/margins") > 0, metrics.toString());
                assertEquals(1.0, objective.evaluate(pb).get("rewards/accuracies"), 0);
            }
        }
    }
}
