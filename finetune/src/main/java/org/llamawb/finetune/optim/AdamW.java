package org.llamawb.finetune.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW (Loshchilov and Hutter, 2019) with decoupled weight decay, step for step as
 * {@code torch.optim.AdamW} computes it:
 *
 * <pre>
 *   p ← p · (1 − lr·λ)                       (only parameters that decay)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 * </pre>
 *
 * State lives in its own manager, outside every step scope; updates run in place with autograd off.
 */
public final class AdamW implements AutoCloseable {

    /**
     * Optimiser settings.
     *
     * @param beta1 {@code adam_beta1}
     * @param beta2 {@code adam_beta2}
     * @param eps {@code adam_epsilon}
     * @param weightDecay decoupled weight decay λ
     */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {
        public Settings {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new org.llamawb.model.BadInputException("train.adam_beta1/adam_beta2 must be within [0, 1)");
            }
            if (!(eps > 0)) {
                throw new org.llamawb.model.BadInputException("train.adam_epsilon must be > 0");
            }
            if (!(weightDecay >= 0)) {
                throw new org.llamawb.model.BadInputException("train.weight_decay must be >= 0");
            }
        }
    }

    private final Settings settings;
    private final Map<String, NDArray> params;
    private final Predicate<String> decays;
    private final NDManager manager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private long step;

    /**
     * @param params the trainable tensors by name (leaves with gradients)
     * @param decays which of them get weight decay (transformers exempts norms and biases)
     */
    public AdamW(Map<String, NDArray> params, Settings settings, Predicate<String> decays, NDManager parent) {
        this.params = new LinkedHashMap<>(params);
        this.settings = settings;
        this.decays = decays;
        this.manager = parent.newSubManager();
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray m = manager.zeros(e.getValue().getShape(), e.getValue().getDataType());
            NDArray v = manager.zeros(e.getValue().getShape(), e.getValue().getDataType());
            NDScope.unregister(m, v);
            expAvg.put(e.getKey(), m);
            expAvgSq.put(e.getKey(), v);
        }
    }

    /** transformers' rule: no decay on biases and normalisation weights. */
    public static boolean decaysByDefault(String name) {
        return !(name.endsWith(".bias") || name.contains("norm"));
    }

    /** One update with learning rate {@code lr} from the gradients now held by the parameters. */
    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(settings.beta1(), step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(settings.beta2(), step));
        double stepSize = lr / bc1;
        JniUtils.setGradMode(false);
        try (NDScope scope = new NDScope()) {
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray p = e.getValue();
                NDArray g = p.getGradient();
                if (settings.weightDecay() > 0 && decays.test(e.getKey())) {
                    p.muli(1 - lr * settings.weightDecay());
                }
                NDArray m = expAvg.get(e.getKey());
                NDArray v = expAvgSq.get(e.getKey());
                m.muli(settings.beta1()).addi(g.mul(1 - settings.beta1()));
                v.muli(settings.beta2()).addi(g.square().muli(1 - settings.beta2()));
                NDArray denom = v.sqrt().divi(bc2Sqrt).addi(settings.eps());
                p.subi(m.div(denom).muli(stepSize));
            }
        }
    }

    /** Zeroes every parameter's gradient (gradients accumulate across backward passes). */
    public void zeroGradients() {
        for (NDArray p : params.values()) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    public long stepCount() {
        return step;
    }

    /** The state to checkpoint: first and second moments by parameter name. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> s.put("exp_avg." + k, v));
        expAvgSq.forEach((k, v) -> s.put("exp_avg_sq." + k, v));
        return s;
    }

    /** Restores moments and the step count written by {@link #state()}. */
    public void restore(Map<String, float[]> state, long stepCount) {
        for (Map.Entry<String, NDArray> e : expAvg.entrySet()) {
            e.getValue().set(require(state, "exp_avg." + e.getKey()));
        }
        for (Map.Entry<String, NDArray> e : expAvgSq.entrySet()) {
            e.getValue().set(require(state, "exp_avg_sq." + e.getKey()));
        }
        this.step = stepCount;
    }

    private static float[] require(Map<String, float[]> state, String key) {
        float[] v = state.get(key);
        if (v == null) {
            throw new org.llamawb.model.BadInputException("optimizer state: missing tensor '" + key + "'");
        }
        return v;
    }

    @Override
    public void close() {
        manager.close();
    }
}
