package io.sparkprop.linalg;

import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_FDRM;

/**
 * {@link Gemm} with EJML's {@link CommonOps_DDRM} (and, in single precision, {@link CommonOps_FDRM})
 * multiplications: pure Java, always available, single-threaded.
 */
@Internal
public final class EjmlGemm implements Gemm {
    /** The shared instance (the class is stateless). */
    public static final EjmlGemm INSTANCE = new EjmlGemm();

    private EjmlGemm() {
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b,
                     double beta, DMatrixRMaj c) {
        int k = Gemm.checkShapes(transA, transB, a, b, c);
        if (k == 0) {
            // EJML's multiply would leave C untouched; the sum over an empty inner dimension is 0.
            scaleOrZero(beta, c);
            return;
        }
        if (beta == 0.0) {
            if (!transA && !transB) {
                CommonOps_DDRM.mult(alpha, a, b, c);
            } else if (transA && !transB) {
                CommonOps_DDRM.multTransA(alpha, a, b, c);
            } else if (!transA) {
                CommonOps_DDRM.multTransB(alpha, a, b, c);
            } else {
                CommonOps_DDRM.multTransAB(alpha, a, b, c);
            }
            return;
        }
        if (beta != 1.0) {
            CommonOps_DDRM.scale(beta, c);
        }
        if (!transA && !transB) {
            CommonOps_DDRM.multAdd(alpha, a, b, c);
        } else if (transA && !transB) {
            CommonOps_DDRM.multAddTransA(alpha, a, b, c);
        } else if (!transA) {
            CommonOps_DDRM.multAddTransB(alpha, a, b, c);
        } else {
            CommonOps_DDRM.multAddTransAB(alpha, a, b, c);
        }
    }

    /**
     * EJML's matrices start at index 0 of their array: a slice that is not the whole array is copied into
     * this thread's scratch matrix (grown, never shrunk), so that the pure-Java path allocates nothing per
     * call once warm.
     */
    private static final ThreadLocal<DMatrixRMaj> SCRATCH = ThreadLocal.withInitial(() -> new DMatrixRMaj(0, 0));

    private static DMatrixRMaj slice(double[] data, int offset, int rows, int cols, boolean copyIn) {
        Gemm.checkSlice(data, offset, rows, cols);
        if (offset == 0 && data.length == rows * cols) {
            return DMatrixRMaj.wrap(rows, cols, data);
        }
        DMatrixRMaj m = SCRATCH.get();
        m.reshape(rows, cols);
        if (copyIn) {
            System.arraycopy(data, offset, m.data, 0, rows * cols);
        }
        return m;
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, double[] a, int aOffset, int aRows, int aCols,
                     DMatrixRMaj b, double beta, DMatrixRMaj c) {
        gemm(transA, transB, alpha, slice(a, aOffset, aRows, aCols, true), b, beta, c);
    }

    @Override
    public void gemm(boolean transA, boolean transB, double alpha, DMatrixRMaj a, DMatrixRMaj b, double beta,
                     double[] c, int cOffset, int cRows, int cCols) {
        DMatrixRMaj view = slice(c, cOffset, cRows, cCols, beta != 0.0);
        gemm(transA, transB, alpha, a, b, beta, view);
        if (view.data != c) {
            System.arraycopy(view.data, 0, c, cOffset, cRows * cCols);
        }
    }

    /**
     * Single precision through {@link CommonOps_FDRM}: {@code C ← β·C} first (zeros when {@code β = 0}), then the
     * multiply-add of {@code α·op(A)·op(B)} — one extra pass over {@code C}, against the product's {@code k}.
     */
    @Override
    public void gemm(boolean transA, boolean transB, float alpha, FMatrixRMaj a, FMatrixRMaj b, float beta,
                     FMatrixRMaj c) {
        int k = Gemm.checkShapes(transA, transB, a.data, a.numRows, a.numCols, b, c);
        if (beta != 1.0f) {
            scaleOrZero(beta, c);
        }
        if (k == 0) {
            return;
        }
        if (!transA && !transB) {
            CommonOps_FDRM.multAdd(alpha, a, b, c);
        } else if (transA && !transB) {
            CommonOps_FDRM.multAddTransA(alpha, a, b, c);
        } else if (!transA) {
            CommonOps_FDRM.multAddTransB(alpha, a, b, c);
        } else {
            CommonOps_FDRM.multAddTransAB(alpha, a, b, c);
        }
    }

    private static final ThreadLocal<FMatrixRMaj> FLOAT_SCRATCH = ThreadLocal.withInitial(() -> new FMatrixRMaj(0, 0));

    /** The slice of {@code a} copied into this thread's scratch matrix unless it is the whole array. */
    @Override
    public void gemm(boolean transA, boolean transB, float alpha, float[] a, int aOffset, int aRows, int aCols,
                     FMatrixRMaj b, float beta, FMatrixRMaj c) {
        Gemm.checkSlice(a.length, aOffset, aRows, aCols);
        FMatrixRMaj view;
        if (aOffset == 0 && a.length == aRows * aCols) {
            view = FMatrixRMaj.wrap(aRows, aCols, a);
        } else {
            view = FLOAT_SCRATCH.get();
            view.reshape(aRows, aCols);
            System.arraycopy(a, aOffset, view.data, 0, aRows * aCols);
        }
        gemm(transA, transB, alpha, view, b, beta, c);
    }

    /** {@code C ← β·C}, or 0 when {@code β = 0} (NaNs in it do not propagate). */
    static void scaleOrZero(float beta, FMatrixRMaj c) {
        int n = c.getNumElements();
        if (beta == 0.0f) {
            java.util.Arrays.fill(c.data, 0, n, 0.0f);
        } else if (beta != 1.0f) {
            for (int i = 0; i < n; i++) {
                c.data[i] *= beta;
            }
        }
    }

    /** EJML has no rank-k update with accumulation; the full GEMM gives both triangles. */
    @Override
    public void syrkLower(boolean transA, double alpha, DMatrixRMaj a, double beta, DMatrixRMaj c) {
        Gemm.checkSyrkShapes(transA, a, c);
        gemm(transA, !transA, alpha, a, a, beta, c);
    }

    /** {@code c[offset, offset + n) ← β · c[…]}, or 0 when {@code β = 0} (NaNs in it do not propagate). */
    static void scaleOrZero(double beta, double[] c, int offset, int n) {
        if (beta == 0.0) {
            java.util.Arrays.fill(c, offset, offset + n, 0.0);
        } else if (beta != 1.0) {
            for (int i = offset; i < offset + n; i++) {
                c[i] *= beta;
            }
        }
    }

    /** {@link #scaleOrZero(double, double[], int, int)} of the whole of {@code c}. */
    static void scaleOrZero(double beta, DMatrixRMaj c) {
        scaleOrZero(beta, c.data, 0, c.getNumElements());
    }

    @Override
    public String name() {
        return "ejml";
    }

    @Override
    public String toString() {
        return name();
    }
}
