package io.sparkprop.linalg;

import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;

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
@Internal
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
     * {@code C ← α·op(A)·op(B) + β·C} where {@code A} is the {@code aRows × aCols} row-major matrix stored in
     * {@code a} from {@code aOffset} (a layer of a flat parameter array, read in place).
     *
     * @throws IllegalArgumentException if the shapes do not conform or the slice does not fit in {@code a}
     */
    void gemm(boolean transA, boolean transB, double alpha, double[] a, int aOffset, int aRows, int aCols,
              DMatrixRMaj b, double beta, DMatrixRMaj c);

    /**
     * {@code C ← α·op(A)·op(B) + β·C} where {@code C} is the {@code cRows × cCols} row-major matrix stored in
     * {@code c} from {@code cOffset} (a layer of a flat gradient array, updated in place).
     *
     * @throws IllegalArgumentException if the shapes do not conform or the slice does not fit in {@code c}
     */
    void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b, double beta,
              double[] c, int cOffset, int cRows, int cCols);

    /**
     * Single precision {@code C ← α·op(A)·op(B) + β·C}. With {@code β = 0} the previous content of {@code C} is
     * ignored.
     *
     * @throws IllegalArgumentException if the shapes do not conform
     */
    void gemm(boolean transA, boolean transB, float alpha, FMatrixRMaj a, FMatrixRMaj b, float beta, FMatrixRMaj c);

    /**
     * Single precision {@code C ← α·op(A)·op(B) + β·C} where {@code A} is the {@code aRows × aCols} row-major
     * matrix stored in {@code a} from {@code aOffset} (a layer of a flat float parameter array, read in place).
     *
     * @throws IllegalArgumentException if the shapes do not conform or the slice does not fit in {@code a}
     */
    void gemm(boolean transA, boolean transB, float alpha, float[] a, int aOffset, int aRows, int aCols,
              FMatrixRMaj b, float beta, FMatrixRMaj c);

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

    /** Checks that a {@code rows × cols} slice from {@code offset} fits in {@code data}. */
    static void checkSlice(double[] data, int offset, int rows, int cols) {
        checkSlice(data.length, offset, rows, cols);
    }

    /** Checks that a {@code rows × cols} slice from {@code offset} fits in an array of {@code length}. */
    static void checkSlice(int length, int offset, int rows, int cols) {
        if (rows < 0 || cols < 0 || offset < 0 || (long) offset + (long) rows * cols > length) {
            throw new IllegalArgumentException("a " + rows + "x" + cols + " matrix from offset " + offset
                    + " does not fit in an array of " + length);
        }
    }

    /**
     * Checks the shapes of a single-precision {@link #gemm} call whose {@code A} is {@code aRows × aCols} in
     * {@code a}, and returns the inner dimension {@code k}.
     */
    static int checkShapes(boolean transA, boolean transB, float[] a, int aRows, int aCols, FMatrixRMaj b,
                           FMatrixRMaj c) {
        int k = innerDimension(transA, transB, aRows, aCols, b.numRows, b.numCols, c.numRows, c.numCols);
        if (c.data == a || c.data == b.data) {
            throw new IllegalArgumentException("gemm output C must not share storage with A or B");
        }
        return k;
    }

    /** Checks the shapes of a {@link #gemm} call and returns the inner dimension {@code k}. */
    static int checkShapes(boolean transA, boolean transB, DMatrixRMaj a, DMatrixRMaj b, DMatrixRMaj c) {
        return checkShapes(transA, transB, a.data, a.numRows, a.numCols, b, c.data, c.numRows, c.numCols);
    }

    /**
     * Checks the shapes of a {@link #gemm} call whose {@code A} ({@code aRows × aCols}) and {@code C}
     * ({@code cRows × cCols}) are given by their arrays and sizes (matrices or slices), and returns the inner
     * dimension {@code k}.
     */
    static int checkShapes(boolean transA, boolean transB, double[] a, int aRows, int aCols, DMatrixRMaj b,
                           double[] c, int cRows, int cCols) {
        int k = innerDimension(transA, transB, aRows, aCols, b.numRows, b.numCols, cRows, cCols);
        if (c == a || c == b.data) {
            throw new IllegalArgumentException("gemm output C must not share storage with A or B");
        }
        return k;
    }

    /** The inner dimension of {@code op(A)·op(B)} into {@code C}, or an exception naming the three shapes. */
    private static int innerDimension(boolean transA, boolean transB, int aRows, int aCols, int bRows, int bCols,
                                      int cRows, int cCols) {
        int m = transA ? aCols : aRows;
        int k = transA ? aRows : aCols;
        int kb = transB ? bCols : bRows;
        int n = transB ? bRows : bCols;
        if (k != kb || cRows != m || cCols != n) {
            throw new IllegalArgumentException("gemm shapes do not conform: op(A) " + m + "x" + k + ", op(B) "
                    + kb + "x" + n + ", C " + cRows + "x" + cCols);
        }
        return k;
    }
}
