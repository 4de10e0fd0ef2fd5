package org.llamawb.tracking.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TableTest {

    @Test
    void numbersAreShortAndExact() {
        assertEquals("0.5", Table.number(0.5));
        assertEquals("2.46621", Table.number(2.466212345));
        assertEquals("3", Table.number(3.0));
        assertEquals("2.0000e-05", Table.number(2e-5));
        assertEquals("0.0002", Table.number(2e-4));
        assertEquals("NaN", Table.number(Double.NaN));
    }

    @Test
    void columnsAreAligned() {
        String t = Table.render(List.of("", "run-a", "b"), List.of(List.of("train.lr", "0.0002", "0.001")));
        assertEquals("          run-a   b\n-----------------------\ntrain.lr  0.0002  0.001\n", t);
    }
}
