package io.sparkprop.linalg;

import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;

/**
 * Products of a dense matrix with a sparse block of examples ({@link DMatrixSparseCSC}, one compressed column
 * per example), for the few outputs of a linear model: cost {@code ∝} the block's non-zeros times the outputs.
 * (The network kernel's sparse first layer, wide in its outputs, works on a transposed copy of its weights
 * instead; see {@code BackpropKernel}.)
 */
@Internal
public final class SparseProducts {
    private SparseProducts() {
    }

    /**
     * {@code out ← W X} ({@code m × B}, reshaped) for a row-major {@code W} ({@code m × n}) and a sparse
     * {@code X} ({@code n × B}): each entry the sum over its example's non-zeros, in the order stored.
     *
     * @throws IllegalArgumentException if the inner dimensions differ
     */
    public static void multiply(DMatrixRMaj w, DMatrixSparseCSC x, DMatrixRMaj out) {
        if (w.numCols != x.numRows) {
            throw new IllegalArgumentException("expected " + w.numCols + " features, found " + x.numRows);
        }
        int b = x.numCols;
        int n = w.numCols;
        out.reshape(w.numRows, b);
        for (int k = 0; k < w.numRows; k++) {
            int row = k * n;
            for (int j = 0; j < b; j++) {
                double s = 0;
                for (int p = x.col_idx[j]; p < x.col_idx[j + 1]; p++) {
                    s += w.data[row + x.nz_rows[p]] * x.nz_values[p];
                }
                out.data[k * b + j] = s;
            }
        }
    }
}
