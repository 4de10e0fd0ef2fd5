package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The q/k row permutation between Meta's interleaved RoPE and Hugging Face's rotate-half. */
class RotaryPermutationTest {

    @Test
    void movesEvenRowsFirstWithinEachHead() {
        try (NDManager m = NDManager.newBaseManager()) {
            // 2 heads of 4 rows, 3 columns; row r holds 10r + c
            float[] w = new float[8 * 3];
            for (int r = 0; r < 8; r++) {
                for (int c = 0; c < 3; c++) {
                    w[r * 3 + c] = 10 * r + c;
                }
            }
            NDArray meta = m.create(w, new Shape(8, 3));
            NDArray hf = RotaryPermutation.interleavedToRotateHalf(meta, 2);
            assertEquals(new Shape(8, 3), hf.getShape());
            int[] order = {0, 2, 1, 3, 4, 6, 5, 7};
            float[] got = hf.toFloatArray();
            for (int r = 0; r < 8; r++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(10 * order[r] + c, got[r * 3 + c], "row " + r);
                }
                assertEquals(order[r], RotaryPermutation.interleavedSourceRow(r, 4));
            }
            // the inverse restores the input exactly; the result does not share memory with it
            assertArrayEquals(w, RotaryPermutation.rotateHalfToInterleaved(hf, 2).toFloatArray());
            meta.muli(m.full(new Shape(), 0f));
            assertEquals(20f, hf.toFloatArray()[3]);
        }
    }

    @Test
    void interleavedRopeWithMetaRowsEqualsRotateHalfWithPermutedRows() {
        // The defining property: q = W x rotated pairwise (2i, 2i+1) equals, after moving rows, q' = W' x
        // rotated in halves (i, i + hd/2).
        int heads = 3, hd = 8, in = 5;
        Random r = new Random(11);
        float[] w = new float[heads * hd * in];
        float[] x = new float[in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < in; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int pos = 7;
        try (NDManager m = NDManager.newBaseManager()) {
            float[] wHf = RotaryPermutation.interleavedToRotateHalf(m.create(w, new Shape(heads * hd, in)), heads).toFloatArray();
            double[] qMeta = matVec(w, x, heads * hd, in);
            double[] qHf = matVec(wHf, x, heads * hd, in);
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    double theta = pos * Math.pow(10000, -2.0 * i / hd);
                    double a = qMeta[h * hd + 2 * i], b = qMeta[h * hd + 2 * i + 1];
                    double metaFirst = a * Math.cos(theta) - b * Math.sin(theta);
                    double metaSecond = a * Math.sin(theta) + b * Math.cos(theta);
                    double c = qHf[h * hd + i], d = qHf[h * hd + i + hd / 2];
                    double hfFirst = c * Math.cos(theta) - d * Math.sin(theta);
                    double hfSecond = d * Math.cos(theta) + c * Math.sin(theta);
                    assertEquals(metaFirst, hfFirst, 1e-12);
                    assertEquals(metaSecond, hfSecond, 1e-12);
                }
            }
        }
    }

    @Test
    void biasVectorsAndSinglePairHeadsAreHandled() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray bias = m.create(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, new Shape(8));
            assertArrayEquals(new float[] {0, 2, 4, 6, 1, 3, 5, 7},
                    RotaryPermutation.interleavedToRotateHalf(bias, 1).toFloatArray());
            NDArray pairs = m.create(new float[] {0, 1, 2, 3}, new Shape(4));
            assertArrayEquals(new float[] {0, 1, 2, 3}, RotaryPermutation.interleavedToRotateHalf(pairs, 2).toFloatArray());
        }
    }

    private static double[] matVec(float[] w, float[] x, int rows, int cols) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                y[r] += (double) w[r * cols + c] * x[c];
            }
        }
        return y;
    }
}
