package org.llamawb.finetune.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llamawb.finetune.recipe.DpoSection;
import org.llamawb.model.BadInputException;

/** The DPO losses against values worked out by hand from their formulas, and their derivatives against finite differences. */
class DpoLossTest {

    @Test
    void sigmoidIsMinusLogSigmoidOfBetaZ() {
        DpoLoss l = new DpoLoss("sigmoid", 0.1, 0);
        // z = (−10 − (−14)) − (−12 − (−15)) = 4 − 3 = 1; L = log(1 + e^{−0.1}) = 0.644396660...
        double z = DpoLoss.logits(-10, -14, -12, -15);
        assertEquals(1.0, z, 1e-12);
        assertEquals(0.6443966600735709, l.loss(z), 1e-12);
        assertEquals(Math.log(2), l.loss(0), 1e-12); // policy = reference
        // dL/dz = −β σ(−β z) = −0.1 / (1 + e^{0.1}) = −0.04750208...
        assertEquals(-0.0475020812521060, l.derivative(z), 1e-12);
        assertEquals(0.1 * (-10 - -12), l.reward(-10, -12), 1e-12);
    }

    @Test
    void labelSmoothingMixesInTheFlippedLabel() {
        DpoLoss l = new DpoLoss("sigmoid", 0.5, 0.2);
        // z = 2: 0.8·log(1 + e^{−1}) + 0.2·log(1 + e^{1}) = 0.8·0.31326169 + 0.2·1.31326169 = 0.51326169
        assertEquals(0.5132616875182228, l.loss(2), 1e-12);
        assertEquals(new DpoLoss("sigmoid", 0.5, 0).loss(2) * 0.8 + new DpoLoss("sigmoid", 0.5, 0).loss(-2) * 0.2,
                l.loss(2), 1e-12);
    }

    @Test
    void hingeAndIpo() {
        DpoLoss hinge = new DpoLoss("hinge", 0.5, 0);
        assertEquals(0.5, hinge.loss(1), 1e-12); // 1 − 0.5·1
        assertEquals(0, hinge.loss(3), 1e-12);
        assertEquals(-0.5, hinge.derivative(1), 1e-12);
        assertEquals(0, hinge.derivative(3), 1e-12);
        DpoLoss ipo = new DpoLoss("ipo", 0.5, 0);
        assertEquals(4, ipo.loss(3), 1e-12); // (3 − 1/(2·0.5))²
        assertEquals(4, ipo.derivative(3), 1e-12);
        assertEquals(1, ipo.loss(0), 1e-12);
        assertTrue(ipo.averagesLogProbs() && !hinge.averagesLogProbs());
    }

    @Test
    void derivativesMatchFiniteDifferences() {
        double h = 1e-6;
        for (DpoLoss l : new DpoLoss[] {new DpoLoss("sigmoid", 0.1, 0), new DpoLoss("sigmoid", 2, 0.3),
                new DpoLoss("hinge", 0.25, 0), new DpoLoss("ipo", 0.3, 0), new DpoLoss("robust", 0.7, 0.2)}) {
            for (double z : new double[] {-40, -3.7, -0.2, 0.4, 2.9, 55}) {
                if (l.type().equals("hinge") && Math.abs(1 - l.beta() * z) < 1e-3) {
                    continue; // the kink
                }
                double numeric = (l.loss(z + h) - l.loss(z - h)) / (2 * h);
                assertEquals(numeric, l.derivative(z), 1e-5 * Math.max(1, Math.abs(numeric)), l + " at z=" + z);
            }
        }
    }

    @Test
    void extremeMarginsStayFinite() {
        DpoLoss l = new DpoLoss("sigmoid", 1, 0);
        assertEquals(1000, l.loss(-1000), 1e-9);
        assertEquals(0, l.loss(1000), 1e-12);
        assertEquals(-1, l.derivative(-1000), 1e-12);
    }

    @Test
    void settingsNameTheirKeys() {
        assertTrue(assertThrows(BadInputException.class, () -> new DpoSection(0.0, null, null, null, null)).getMessage()
                .contains("dpo.beta"));
        assertTrue(assertThrows(BadInputException.class, () -> new DpoSection(null, "exo_pair", null, null, null)).getMessage()
                .contains("dpo.loss_type"));
        assertTrue(assertThrows(BadInputException.class, () -> new DpoSection(null, "ipo", 0.1, null, null)).getMessage()
                .contains("dpo.label_smoothing"));
        assertEquals(DpoLoss.of(new DpoSection(null, null, null, null, null)), new DpoLoss("sigmoid", 0.1, 0));
    }
}
