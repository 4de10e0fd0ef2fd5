package org.llamawb.finetune.remat;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.dpo.DpoLoss;
import org.llamawb.finetune.dpo.DpoObjective;
import org.llamawb.finetune.dpo.ReferenceModel;
import org.llamawb.finetune.kto.KtoBatch;
import org.llamawb.finetune.kto.KtoLoss;
import org.llamawb.finetune.kto.KtoObjective;
import org.llamawb.finetune.reward.RewardObjective;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * DPO, KTO and the reward model train under every rematerialisation policy: on the real stories260K with LoRA on
 * every linear, the loss under {@code full}, {@code hybrid} and {@code hybrid-lean} equals the loss under {@code none}
 * within 5e-6 (relative), and every LoRA gradient (and the reward head's) within 5e-6 of the largest gradient.
 *
 * <p>Not bitwise: the policies' first pass runs the blocks without autograd, where libtorch takes other kernels with
 * other float32 rounding (the loss, a function of the forward pass alone, already differs in its 7th digit), and
 * {@code hybrid}'s forward uses the flash-attention kernel and its backward is written by hand. DPO amplifies that
 * rounding most: its {@code z} is a difference of differences of summed log-probabilities; measured here up to 3e-6
 * (relative) in DPO's loss and of the largest gradient, 1e-6 for KTO and the reward model. A wrong gradient differs by
 * its own size.
 */
class MethodRematerializationTest {
    static final int VOCAB = 512;
    NDManager manager;
    Llama model;
    LoraModel lora;
    Map<String, NDArray> params;

    @BeforeEach
    void setUp() {
        // the real stories260K (5 layers, 8 query heads on 4 key/value heads): real activations, real gradients
        Path ckpt = TestData.require("models/stories260K/stories260K.bin");
        manager = NDManager.newBaseManager();
        model = Llama.load(Checkpoint.open(ckpt), manager);
        lora = new LoraModel(model);
        lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
        // B starts at zero; random B makes the policy differ from the reference and A's gradients non-trivial
        SplittableRandom r = new SplittableRandom(2);
        lora.parameters("default").forEach((k, v) -> {
            if (k.contains("lora_B")) {
                float[] x = new float[(int) v.size()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) (r.nextDouble() - 0.5) * 0.1f;
                }
                v.set(x);
            }
        });
        params = new LinkedHashMap<>(lora.trainableParameters("default"));
    }

    @AfterEach
    void tearDown() {
        params.values().forEach(p -> p.setRequiresGradient(false));
        lora.close();
        model.close();
        manager.close();
    }

    /** Rows of a shared prompt of 3-5 tokens and an answer of 2-6, right-padded with unlabelled pad tokens. */
    static int[][][] rows(long seed, int n, int t) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] ids = new int[n][t];
        int[][] labels = new int[n][t];
        for (int i = 0; i < n; i++) {
            int prompt = 3 + r.nextInt(3);
            int answer = 2 + r.nextInt(5);
            Arrays.fill(labels[i], TokenizedExample.IGNORE);
            for (int j = 0; j < t; j++) {
                ids[i][j] = j < prompt + answer ? 3 + r.nextInt(VOCAB - 3) : 2;
                if (j >= prompt && j < prompt + answer) {
                    labels[i][j] = ids[i][j];
                }
            }
        }
        return new int[][][] {ids, labels};
    }

    static PairBatch pairs() {
        int[][][] c = rows(3, 3, 12);
        int[][][] r = rows(4, 3, 12);
        return new PairBatch(new Batch(c[0], c[1], null, null, 3, 0), new Batch(r[0], r[1], null, null, 3, 0));
    }

    static KtoBatch kto() {
        int[][][] x = rows(5, 4, 11);
        int[][][] kl = rows(6, 4, 12);
        return new KtoBatch(x[0], x[1], kl[0], kl[1], new boolean[] {true, false, false, true});
    }

    /** The loss and the gradient of every trained tensor of one micro-batch, gradients zeroed before. */
    <B> Outcome step(TrainingStep.Loss<B> method, B batch) {
        for (NDArray p : params.values()) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
        double loss;
        try (NDScope scope = new NDScope()) {
            loss = method.lossAndBackward(batch, 1.0 / method.units(batch), 7);
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            try (NDArray g = v.getGradient()) {
                grads.put(k, g.toFloatArray());
            }
        });
        return new Outcome(loss, grads);
    }

    record Outcome(double loss, Map<String, float[]> grads) {}

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"dpo-sigmoid", "dpo-ipo", "kto", "reward"})
    void everyPolicyGivesTheLossAndGradientsOfNone(String method) {
        RewardModel reward = method.equals("reward") ? RewardModel.attach(lora, "default", 9) : null;
        if (reward != null) {
            reward.score().setRequiresGradient(true);
            params.put(RewardModel.HEAD_KEY, reward.score());
        }
        Map<Rematerialization, Outcome> out = new LinkedHashMap<>();
        for (Rematerialization policy : Rematerialization.values()) {
            out.put(policy, switch (method) {
                case "dpo-sigmoid", "dpo-ipo" -> step(new DpoObjective(model, ReferenceModel.base(model, lora),
                        new DpoLoss(method.substring(4), 0.5, 0), policy), pairs());
                case "kto" -> step(new KtoObjective(model, lora, new KtoLoss(0.3, 1.0, 1.3), policy), kto());
                default -> step(new RewardObjective(reward, policy), pairs());
            });
        }
        assertTrue(Math.abs(out.get(Rematerialization.NONE).loss) > 1e-3, method + ": the loss must be non-trivial");
        Map<Rematerialization, Double> losses = new LinkedHashMap<>();
        Map<Rematerialization, Map<String, float[]>> grads = new LinkedHashMap<>();
        out.forEach((policy, o) -> {
            losses.put(policy, o.loss);
            grads.put(policy, o.grads);
        });
        PolicyAgreement.assertAgree(method, losses, grads);
        if (reward != null) {
            params.remove(RewardModel.HEAD_KEY).setRequiresGradient(false);
            reward.close();
        }
    }
}
