package io.sparkprop.nn.kernel;

import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;

/**
 * The conversions between the float32 kernel's single-precision GEMM operands and its double-precision
 * element-wise work. Each is one pass of simple loops (the JIT vectorises the conversions); they cost
 * {@code O(n_l·B)} a layer against the GEMMs' {@code O(n_l·n_{l-1}·B)}.
 */
final class FloatCopies {
    private FloatCopies() {
    }

    /**
     * {@code to ← (float) from} (rounded to nearest), element by element; {@code to} is reshaped to {@code from}'s
     * shape (modified).
     */
    static void narrow(DMatrixRMaj from, FMatrixRMaj to) {
        to.reshape(from.numRows, from.numCols);
        int n = from.getNumElements();
        double[] d = from.data;
        float[] f = to.data;
        for (int i = 0; i < n; i++) {
            f[i] = (float) d[i];
        }
    }

    /** {@code to ← from} in double; {@code to} is reshaped to {@code from}'s shape (modified). Exact. */
    static void widen(FMatrixRMaj from, DMatrixRMaj to) {
        to.reshape(from.numRows, from.numCols);
        int n = from.getNumElements();
        float[] f = from.data;
        double[] d = to.data;
        for (int i = 0; i < n; i++) {
            d[i] = f[i];
        }
    }

    /**
     * {@code Z ← Z_f + b 1ᵀ} in double ({@code z} reshaped to {@code zf}'s shape, modified), {@code b} read from
     * {@code bias} at {@code biasOffset}: the bias is added after widening, so the sum is rounded once, in double.
     */
    static void widenAddingBias(FMatrixRMaj zf, float[] bias, int biasOffset, DMatrixRMaj z) {
        int rows = zf.numRows;
        int cols = zf.numCols;
        z.reshape(rows, cols);
        float[] f = zf.data;
        double[] d = z.data;
        for (int i = 0; i < rows; i++) {
            double bi = bias[biasOffset + i];
            int base = i * cols;
            for (int j = base; j < base + cols; j++) {
                d[j] = f[j] + bi;
            }
        }
    }

    /** {@code to[offset + i] += from[i]} for every element of {@code from}: a float block sum into a double total. */
    static void addWidened(FMatrixRMaj from, double[] to, int offset) {
        int n = from.getNumElements();
        float[] f = from.data;
        for (int i = 0; i < n; i++) {
            to[offset + i] += f[i];
        }
    }
}
