package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * DPO against a frozen SFT adapter on stories260K ({@code dpo.reference: adapter}): the reference pass gives the
 * SFT adapter's own log-probabilities while a different policy adapter sits beside it, a policy that starts as a
 * copy of it has DPO loss ln 2, only the policy's tensors get gradients and change, and an adapter made on another
 * base is refused naming the file and the tensor.
 */
public class ReferenceAdapterTest {
    @TempDir
    Path tmp;

    static Path stories() {
        return TestData.require("models/stories260K/stories260K.bin");
    }

    /**
     * Writes a LoRA adapter of {@code base} (rank 4 on q, v and down projections) whose B factors are random too,
     * so that it changes the model the way a trained SFT adapter does.
     */
    public static Path writeSftAdapter(Path base, Path dir, long seed) {
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(base), m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj", "down_proj"))), seed);
            SplittableRandom r = new SplittableRandom(seed);
            lora.parameters("default").forEach((k, v) -> {
                if (k.contains("lora_B")) {
                    float[] b = new float[(int) v.getShape().size()];
                    for (int i = 0; i < b.length; i++) {
                        b[i] = (float) (r.nextGaussian() * 0.05);
                    }
                    v.set(b);
                }
            });
            PeftAdapterFormat.write(lora, "default", dir, base.toAbsolutePath().toString());
        }
        return dir;
    }

    static int[][] concat(PairBatch pb) {
        return DpoObjective.concat(pb.chosen().inputIds(), pb.rejected().inputIds());
    }

    static int[][] labels(PairBatch pb) {
        return DpoObjective.concat(pb.chosen().labels(), pb.rejected().labels());
    }

    @Test
    void referencePassGivesTheSftAdapterAloneWhileThePolicyDiffers() {
        Path sft = writeSftAdapter(stories(), tmp.resolve("sft"), 3);
        PairBatch pb = DpoObjectiveTest.batch(5);
        double[] alone;
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(model); NDScope s = new NDScope()) {
            PeftAdapterFormat.read(lora, "sft", sft);
            alone = SequenceLogProbs.of(model, concat(pb), labels(pb), false, m).values();
        }
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(model)) {
            ReferenceModel reference = ReferenceModel.adapter(model, lora, sft, "adapter.init_from");
            Map<String, NDArray> policy = DpoObjectiveTest.adapter(lora); // another adapter, with dropout off
            lora.activate("default");
            lora.setTraining(true);
            double[] ref = reference.logProbs(concat(pb), labels(pb));
            assertArrayEquals(alone, ref, 1e-6, "reference = the SFT adapter alone");
            // the pass put the policy back, in training mode
            assertTrue(lora.isActive("default") && !lora.isActive(ReferenceModel.ADAPTER) && lora.isTraining());
            double[] pol;
            try (NDScope s = new NDScope()) {
                pol = SequenceLogProbs.of(model, concat(pb), labels(pb), false, m).values();
            }
            double apart = 0;
            for (int i = 0; i < pol.length; i++) {
                apart = Math.max(apart, Math.abs(pol[i] - alone[i]));
            }
            assertTrue(apart > 1e-3, "the policy adapter is not the reference: " + apart);
            assertFalse(policy.isEmpty());
        }
    }

    @Test
    void aPolicyCopiedFromTheSftAdapterStartsAtLn2AndOnlyItLearns() {
        Path sft = writeSftAdapter(stories(), tmp.resolve("sft"), 3);
        PairBatch pb = DpoObjectiveTest.batch(9);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(model)) {
            ReferenceModel reference = ReferenceModel.adapter(model, lora, sft, "adapter.init_from");
            PeftAdapterFormat.read(lora, "default", sft); // the policy: a trainable copy, as the trainer makes it
            lora.activate("default");
            Map<String, NDArray> params = lora.trainableParameters("default");
            Map<String, float[]> frozenBefore = values(lora.parameters(ReferenceModel.ADAPTER));
            DpoObjective objective = new DpoObjective(model, reference, new DpoLoss("sigmoid", 0.1, 0));

            Map<String, Double> start = objective.evaluate(pb);
            assertEquals(3 * Math.log(2), start.get("loss_sum"), 1e-5, "policy = reference at step 0");
            assertEquals(0, start.get("rewards/margins"), 1e-6);

            try (AdamW opt = new AdamW(params, new AdamW.Settings(0.9, 0.999, 1e-8, 0), AdamW::decaysByDefault, m)) {
                TrainingStep.Outcome first = TrainingStep.run(List.of(pb), objective, params.values(), opt, 1e-2, 1.0, 0);
                assertEquals(Math.log(2), first.loss(), 1e-6);
                assertTrue(first.gradNorm() > 0, "the policy gets gradients");
                for (NDArray p : lora.parameters(ReferenceModel.ADAPTER).values()) {
                    assertFalse(ai.djl.pytorch.jni.JniUtils.requiresGrad((ai.djl.pytorch.engine.PtNDArray) p), "a reference tensor takes part in autograd");
                }
                for (int step = 1; step < 6; step++) {
                    TrainingStep.run(List.of(pb), objective, params.values(), opt, 1e-2, 1.0, step);
                }
            }
            Map<String, float[]> frozenAfter = values(lora.parameters(ReferenceModel.ADAPTER));
            frozenBefore.forEach((k, v) -> assertArrayEquals(v, frozenAfter.get(k), "reference tensor " + k + " changed"));
            Map<String, Double> after = objective.evaluate(pb);
            assertTrue(after.get("rewards/margins") > 0 && after.get("loss_sum") < start.get("loss_sum"), after.toString());
        }
    }

    @Test
    void anAdapterMadeOnAnotherBaseIsRefusedNamingFileAndTensor() {
        // a base of another width: the adapter's factors cannot fit stories260K's projections
        Path other = tmp.resolve("other");
        LlamaConfig wide = LlamaConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                .put("hidden_size", 32).put("intermediate_size", 64).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 4).put("vocab_size", 512), "test");
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(wide, 1, 0.02, m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj"))), 1);
            PeftAdapterFormat.write(lora, "default", other, "another-base");
        }
        Path file = other.resolve(PeftAdapterFormat.WEIGHTS_FILE);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(model)) {
            String e = assertThrows(BadInputException.class,
                    () -> ReferenceModel.adapter(model, lora, other, "adapter.init_from")).getMessage();
            assertTrue(e.startsWith("adapter.init_from: " + file + ": tensor 'base_model.model.model.layers.0.self_attn.q_proj"),
                    e);
            assertEquals(1, e.lines().count(), e);
        }
        try (Checkpoint c = Checkpoint.open(stories())) {
            String e = assertThrows(BadInputException.class, () -> PeftAdapterFormat.checkFits(other,
                    org.llamawb.model.weights.LlamaLayout.expected(c.config()))).getMessage();
            assertTrue(e.startsWith(file + ": tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has "
                    + "shape [4, 32], which does not fit the base model's 'model.layers.0.self_attn.q_proj.weight' [64, 64]"), e);
            // the adapter of the right base passes the same check
            PeftAdapterFormat.checkFits(writeSftAdapter(stories(), tmp.resolve("sft"), 3),
                    org.llamawb.model.weights.LlamaLayout.expected(c.config()));
        }
    }

    static Map<String, float[]> values(Map<String, NDArray> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
