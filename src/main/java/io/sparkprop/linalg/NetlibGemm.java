package io.sparkprop.linalg;

import dev.ludovic.netlib.blas.BLAS;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;

/**
 * {@link Gemm} with the BLAS that Spark ships ({@code dev.ludovic.netlib}): JNI to the system BLAS
 * (OpenBLAS) when it loads, else the Java Vector API, else plain Java.
 *
 * <p>BLAS is column-major and EJML row-major. The row-major storage of an {@code r×c} matrix is the
 * column-major storage of its transpose ({@code c×r}, leading dimension {@code c}), so row-major
 * {@code C = op(A)·op(B)} is computed as column-major {@code Cᵀ = op(B)ᵀ·op(A)ᵀ} on the same arrays:
 * operands swapped, transposition flags kept, no copies.
 */
final class NetlibGemm implements Gemm {
    private final BLAS blas;
    private final String name;

    /** Wraps {@code blas}. */
    public NetlibGemm(BLAS blas) {
        this.blas = blas;
        this.name = kindOf(blas);
    }

    /** The instance netlib resolves by default (native first, then Vector API, then Java). */
    public static NetlibGemm resolve() {
        return new NetlibGemm(BLAS.getInstance());
    }

    /** {@code netlib-native}, {@code netlib-vector} or {@code netlib-java}, from the implementation class. */
    static String kindOf(BLAS blas) {
        String cls = blas.getClass().getSimpleName();
        if (cls.startsWith("JNI") || cls.startsWith("Native")) {
            return "netlib-native";
        }
        if (cls.startsWith("Vector")) {
            return "netlib-vector";
        }
        return "netlib-java";
    }

    /** Whether this is a fast implementation: native BLAS or the Vector API. */
    public boolean isAccelerated() {
        return !name.equals("netlib-java");
    }

    /** The netlib implementation class, for logs. */
    public String implementation() {
        return blas.getClass().getName();
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b,
                     double beta, DMatrixRMaj c) {
        int k = Gemm.checkShapes(transA, transB, a, b, c);
        dgemm(transA, transB, c.numRows, c.numCols, k, alpha, a.data, 0, a.numCols, b, beta, c.data, 0);
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, double[] a, int aOffset, int aRows, int aCols,
                     DMatrixRMaj b, double beta, DMatrixRMaj c) {
        Gemm.checkSlice(a, aOffset, aRows, aCols);
        int k = Gemm.checkShapes(transA, transB, a, aRows, aCols, b, c.data, c.numRows, c.numCols);
        dgemm(transA, transB, c.numRows, c.numCols, k, alpha, a, aOffset, aCols, b, beta, c.data, 0);
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b, double beta,
                     double[] c, int cOffset, int cRows, int cCols) {
        Gemm.checkSlice(c, cOffset, cRows, cCols);
        int k = Gemm.checkShapes(transA, transB, a.data, a.numRows, a.numCols, b, c, cRows, cCols);
        dgemm(transA, transB, cRows, cCols, k, alpha, a.data, 0, a.numCols, b, beta, c, cOffset);
    }

    /**
     * {@code C ← α·op(A)·op(B) + β·C} for checked shapes, {@code C} ({@code m × n}) and {@code A} row-major
     * from their offsets. Column-major: {@code Cᵀ (n×m) = op(B)ᵀ (n×k) · op(A)ᵀ (k×m)}; each operand's row-major
     * array read column-major is its transpose with leading dimension its column count.
     */
    private void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a, int aOffset,
                       int aCols, DMatrixRMaj b, double beta, double[] c, int cOffset) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            EjmlGemm.scaleOrZero(beta, c, cOffset, m * n);
            return;
        }
        blas.dgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha,
                b.data, 0, Math.max(1, b.numCols), a, aOffset, Math.max(1, aCols), beta, c, cOffset, n);
    }

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, FMatrixRMaj a, FMatrixRMaj b, float beta,
                     FMatrixRMaj c) {
        gemm(transA, transB, alpha, a.data, 0, a.numRows, a.numCols, b, beta, c);
    }

    /** As {@link #dgemm}, in single precision ({@code sgemm}): the same operand swap, no copies. */
    @Override
    public void gemm(boolean transA, boolean transB, float alpha, float[] a, int aOffset, int aRows, int aCols,
                     FMatrixRMaj b, float beta, FMatrixRMaj c) {
        Gemm.checkSlice(a.length, aOffset, aRows, aCols);
        int k = Gemm.checkShapes(transA, transB, a, aRows, aCols, b, c);
        int m = c.numRows;
        int n = c.numCols;
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            EjmlGemm.scaleOrZero(beta, c);
            return;
        }
        blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha,
                b.data, 0, Math.max(1, b.numCols), a, aOffset, Math.max(1, aCols), beta, c.data, 0, n);
    }

    /**
     * Row-major {@code A} read column-major is {@code Aᵀ} with leading dimension {@code A.numCols}. So
     * {@code A·Aᵀ} ({@code A} n×k) is column-major {@code (Aᵀ)ᵀ(Aᵀ)}: {@code dsyrk} with {@code trans = "T"};
     * and {@code AᵀA} ({@code A} k×n) is column-major {@code (Aᵀ)(Aᵀ)ᵀ}: {@code trans = "N"}. The row-major
     * lower triangle ({@code i ≥ j}) is the column-major upper one ({@code uplo = "U"}).
     */
    @Override
    public void syrkLower(boolean transA, double alpha, DMatrixRMaj a, double beta, DMatrixRMaj c) {
        Gemm.checkSyrkShapes(transA, a, c);
        int n = c.numRows;
        int k = transA ? a.numRows : a.numCols;
        if (n == 0) {
            return;
        }
        if (k == 0) {
            EjmlGemm.scaleOrZero(beta, c);
            return;
        }
        blas.dsyrk("U", transA ? "N" : "T", n, k, alpha, a.data, Math.max(1, a.numCols), beta, c.data, n);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name + " (" + implementation() + ")";
    }
}
