package io.sparkprop.linalg;

import org.ejml.data.DMatrixRMaj;

/**
 * General matrix multiply on EJML row-major matrices:
 * {@code C ← α·op(A)·op(B) + β·C}, with {@code op(X) = X} or {@code Xᵀ}.
 * The few GEMMs of the backprop kernel and the ridge pass all go through this interface so that
 * the backend (pure-Java EJML, or Spark's netlib BLAS with native OpenBLAS) is one choice.
 *
 * <p>{@code C} must already have the shape {@code rows(op(A)) × cols(op(B))} and must not share
 * storage with {@code A} or {@code B}; it is modified. Implementations are stateless and
 * thread-safe.
 */
public interface Gemm {

    /**
     * {@code C ← α·op(A)·op(B) + β·C}. With {@code β = 0} the previous content of {@code C} is ignored
     * (NaNs in it do not propagate).
     *
     * @throws IllegalArgumentException if the shapes do not conform
     */
    void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b,
              double beta, DMatrixRMaj c);

    /**
     * Symmetric rank-k update of the lower triangle ({@code i ≥ j}) of the {@code n×n} matrix {@code C}:
     * {@code C ← α·op(A)·op(A)ᵀ + β·C} with {@code op(A) = A} ({@code n×k}) or, with {@code transA},
     * {@code op(A) = Aᵀ} ({@code A} is {@code k×n}, so {@code C ← α·AᵀA + β·C}). Half the work of the GEMM
     * it replaces. The strict upper triangle of {@code C} is unspecified afterwards (backends may update
     * it too).
     *
     * @throws IllegalArgumentException if the shapes do not conform
     */
    void syrkLower(boolean transA, double alpha, DMatrixRMaj a, double beta, DMatrixRMaj c);

    /** Short name of this backend, e.g. {@code ejml} or {@code netlib-native}. */
    String name();

    /** Checks the shapes of a {@link #syrkLower} call. */
    static void checkSyrkShapes(boolean transA, DMatrixRMaj a, DMatrixRMaj c) {
        int n = transA ? a.numCols : a.numRows;
        if (c.numRows != n || c.numCols != n) {
            throw new IllegalArgumentException("syrk shapes do not conform: A " + a.numRows + "x" + a.numCols + ", C "
                    + c.numRows + "x" + c.numCols);
        }
        if (c.data == a.data) {
            throw new IllegalArgumentException("syrk output C must not share storage with A");
        }
    }

    /** Checks the shapes of a {@link #gemm} call and returns the inner dimension {@code k}. */
    static int checkShapes(boolean transA, boolean transB, DMatrixRMaj a, DMatrixRMaj b, DMatrixRMaj c) {
        int m = transA ? a.numCols : a.numRows;
        int k = transA ? a.numRows : a.numCols;
        int kb = transB ? b.numCols : b.numRows;
        int n = transB ? b.numRows : b.numCols;
        if (k != kb || c.numRows != m || c.numCols != n) {
            throw new IllegalArgumentException("gemm shapes do not conform: op(A) " + m + "x" + k + ", op(B) "
                    + kb + "x" + n + ", C " + c.numRows + "x" + c.numCols);
        }
        if (c.data == a.data || c.data == b.data) {
            throw new IllegalArgumentException("gemm output C must not share storage with A or B");
        }
        return k;
    }
}
