package org.llamawb.finetune.remat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

/**
 * The one comparison of the rematerialisation tests: every policy's loss and gradients against those under
 * {@code none}. The loss within 5e-6 relative; each gradient value within 5e-6 of the largest gradient value under
 * {@code none} (the scale a wrong gradient would be off by), which must itself be non-trivial.
 */
public final class PolicyAgreement {
    static final double TOLERANCE = 5e-6;

    private PolicyAgreement() {}

    /**
     * @param what the method, for messages
     * @param losses each policy's loss
     * @param grads each policy's gradients by tensor name
     */
    public static void assertAgree(String what, Map<Rematerialization, Double> losses,
            Map<Rematerialization, Map<String, float[]>> grads) {
        Map<String, float[]> none = grads.get(Rematerialization.NONE);
        double scale = 0;
        for (float[] a : none.values()) {
            for (float v : a) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        assertTrue(scale > 1e-3, what + ": gradients must be non-trivial, largest " + scale);
        double loss = losses.get(Rematerialization.NONE);
        for (Rematerialization policy : List.of(Rematerialization.FULL, Rematerialization.HYBRID,
                Rematerialization.HYBRID_LEAN)) {
            Map<String, float[]> other = grads.get(policy);
            assertEquals(none.keySet(), other.keySet(), what + " " + policy + ": the same tensors get gradients");
            double worst = 0;
            for (Map.Entry<String, float[]> e : none.entrySet()) {
                float[] a = e.getValue();
                float[] b = other.get(e.getKey());
                assertEquals(a.length, b.length, e.getKey());
                for (int i = 0; i < a.length; i++) {
                    worst = Math.max(worst, Math.abs(a[i] - b[i]));
                }
            }
            System.out.printf("%s %s: loss %.9g vs %.9g, largest gradient difference %.3g (largest gradient %.3g)%n",
                    what, policy.recipeName(), losses.get(policy), loss, worst, scale);
            assertEquals(loss, losses.get(policy), TOLERANCE * Math.max(1, Math.abs(loss)), what + " " + policy + " loss");
            assertTrue(worst <= TOLERANCE * scale, what + " " + policy + " differs from none by " + worst
                    + " (largest gradient " + scale + ")");
        }
    }
}
