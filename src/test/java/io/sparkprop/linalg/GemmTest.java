package io.sparkprop.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;

import io.sparkprop.testutil.TestData;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GemmTest {

    private static Gemm gemmOf(GemmBackend backend) {
        return backend.gemm();
    }

    /** {@code α·op(A)·op(B) + β·C} with triple loops. */
    private static DMatrixRMaj naive(boolean ta, boolean tb, double alpha, DMatrixRMaj a, DMatrixRMaj b,
                                     double beta, DMatrixRMaj c) {
        int m = c.numRows;
        int n = c.numCols;
        int k = ta ? a.numRows : a.numCols;
        DMatrixRMaj r = new DMatrixRMaj(m, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (ta ? a.get(p, i) : a.get(i, p)) * (tb ? b.get(j, p) : b.get(p, j));
                }
                r.set(i, j, alpha * s + (beta == 0 ? 0 : beta * c.get(i, j)));
            }
        }
        return r;
    }

    /**
     * The slice forms read {@code A}, or update {@code C}, at an offset of a larger array (a layer of flat
     * parameters): the same bits as the matrix form on a copy, and nothing outside the slice touched.
     */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void slicesOfAFlatArrayGiveTheBitsOfTheirCopies(GemmBackend backend) {
        Gemm gemm = gemmOf(backend);
        SplittableRandom random = new SplittableRandom(11);
        int m = 7;
        int n = 5;
        int k = 6;
        for (boolean ta : new boolean[] {false, true}) {
            for (double beta : new double[] {0.0, 1.0}) {
                DMatrixRMaj a = ta ? TestData.uniform(random, k, m, -1, 1) : TestData.uniform(random, m, k, -1, 1);
                DMatrixRMaj b = TestData.uniform(random, k, n, -1, 1);
                double[] flat = new double[3 + a.getNumElements() + 4];
                java.util.Arrays.fill(flat, 9.0);
                System.arraycopy(a.data, 0, flat, 3, a.getNumElements());
                DMatrixRMaj expected = TestData.uniform(random, m, n, -1, 1);
                DMatrixRMaj c = expected.copy();
                gemm.gemm(ta, false, 1.5, a, b, beta, expected);
                gemm.gemm(ta, false, 1.5, flat, 3, a.numRows, a.numCols, b, beta, c);
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected.data, c.data, 0.0, backend + " A slice");

                double[] out = new double[2 + m * n + 3];
                java.util.Arrays.fill(out, 9.0);
                DMatrixRMaj start = TestData.uniform(random, m, n, -1, 1);
                System.arraycopy(start.data, 0, out, 2, m * n);
                gemm.gemm(ta, false, 1.5, a, b, beta, start);
                gemm.gemm(ta, false, 1.5, a, b, beta, out, 2, m, n);
                org.junit.jupiter.api.Assertions.assertArrayEquals(start.data,
                        java.util.Arrays.copyOfRange(out, 2, 2 + m * n), 0.0, backend + " C slice");
                assertEquals(9.0, out[0]);
                assertEquals(9.0, out[1]);
                assertEquals(9.0, out[2 + m * n]);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, false, 1.0, new double[10], 5, 2, 3, new DMatrixRMaj(3, 1), 0.0,
                        new DMatrixRMaj(2, 1)));
        assertEquals("a 2x3 matrix from offset 5 does not fit in an array of 10", e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void everyTransposeAndBetaMatchesTripleLoop(GemmBackend backend) {
        Gemm gemm = gemmOf(backend);
        SplittableRandom random = new SplittableRandom(7);
        int m = 13;
        int n = 9;
        int k = 17;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (double beta : new double[] {0.0, 1.0, -0.5}) {
                    DMatrixRMaj a = ta ? TestData.uniform(random, k, m, -1, 1) : TestData.uniform(random, m, k, -1, 1);
                    DMatrixRMaj b = tb ? TestData.uniform(random, n, k, -1, 1) : TestData.uniform(random, k, n, -1, 1);
                    DMatrixRMaj c = TestData.uniform(random, m, n, -1, 1);
                    if (beta == 0.0) {
                        c.data[3] = Double.NaN; // β = 0 ignores C, NaNs included
                    }
                    DMatrixRMaj expected = naive(ta, tb, 1.5, a, b, beta, c);
                    gemm.gemm(ta, tb, 1.5, a, b, beta, c);
                    assertTrue(TestData.maxRelativeDifference(expected.data, c.data) < 1e-14,
                            backend + " transA=" + ta + " transB=" + tb + " beta=" + beta);
                }
            }
        }
    }

    /**
     * Single precision, matrix and slice forms: every transpose and β against the double triple loop on the
     * same (float) values, to float rounding; β = 0 ignores C, NaNs included, also when C held a product
     * before (the float32 kernel reuses its workspace).
     */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void singlePrecisionMatchesTripleLoopInEveryForm(GemmBackend backend) {
        Gemm gemm = gemmOf(backend);
        SplittableRandom random = new SplittableRandom(8);
        int m = 13;
        int n = 9;
        int k = 17;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (float beta : new float[] {0.0f, 1.0f, -0.5f}) {
                    DMatrixRMaj a = TestData.floatExact(ta ? TestData.uniform(random, k, m, -1, 1)
                            : TestData.uniform(random, m, k, -1, 1));
                    DMatrixRMaj b = TestData.floatExact(tb ? TestData.uniform(random, n, k, -1, 1)
                            : TestData.uniform(random, k, n, -1, 1));
                    DMatrixRMaj c = TestData.floatExact(TestData.uniform(random, m, n, -1, 1));
                    if (beta == 0.0f) {
                        c.data[3] = Double.NaN;
                    }
                    DMatrixRMaj expected = naive(ta, tb, 1.5, a, b, beta, c);
                    FMatrixRMaj cf = TestData.narrow(c);
                    gemm.gemm(ta, tb, 1.5f, TestData.narrow(a), TestData.narrow(b), beta, cf);
                    assertTrue(TestData.maxRelativeDifference(expected.data, widen(cf)) < 1e-6,
                            backend + " transA=" + ta + " transB=" + tb + " beta=" + beta);
                    float[] flat = new float[3 + a.getNumElements()];
                    System.arraycopy(TestData.narrow(a).data, 0, flat, 3, a.getNumElements());
                    FMatrixRMaj sliced = TestData.narrow(c);
                    gemm.gemm(ta, tb, 1.5f, flat, 3, a.numRows, a.numCols, TestData.narrow(b), beta, sliced);
                    org.junit.jupiter.api.Assertions.assertArrayEquals(cf.data, sliced.data, 0.0f, "slice = copy");
                    // β = 0 over the previous product
                    gemm.gemm(ta, tb, 1.5f, TestData.narrow(a), TestData.narrow(b), 0.0f, cf);
                    assertTrue(TestData.maxRelativeDifference(naive(ta, tb, 1.5, a, b, 0.0, c).data, widen(cf)) < 1e-6,
                            backend + " β = 0 over a product");
                }
            }
        }
    }

    private static double[] widen(FMatrixRMaj f) {
        double[] d = new double[f.getNumElements()];
        for (int i = 0; i < d.length; i++) {
            d[i] = f.data[i];
        }
        return d;
    }

    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void syrkUpdatesTheLowerTriangle(GemmBackend backend) {
        SplittableRandom random = new SplittableRandom(3);
        for (boolean transA : new boolean[] {false, true}) {
            DMatrixRMaj a = transA ? TestData.uniform(random, 7, 11, -1, 1) : TestData.uniform(random, 11, 7, -1, 1);
            DMatrixRMaj c = TestData.uniform(random, 11, 11, -1, 1);
            DMatrixRMaj expected = naive(transA, !transA, 0.5, a, a, 1.0, c);
            gemmOf(backend).syrkLower(transA, 0.5, a, 1.0, c);
            for (int i = 0; i < 11; i++) {
                for (int j = 0; j <= i; j++) {
                    assertEquals(expected.get(i, j), c.get(i, j), 1e-14,
                            backend + " transA=" + transA + " (" + i + ", " + j + ")");
                }
            }
        }
        DMatrixRMaj a = new DMatrixRMaj(11, 7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gemmOf(backend).syrkLower(false, 1.0, a, 0.0, new DMatrixRMaj(7, 7)));
        assertEquals("syrk shapes do not conform: A 11x7, C 7x7", e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void emptyInnerDimensionGivesBetaTimesC(GemmBackend backend) {
        DMatrixRMaj a = new DMatrixRMaj(3, 0);
        DMatrixRMaj b = new DMatrixRMaj(0, 2);
        DMatrixRMaj c = new DMatrixRMaj(3, 2);
        c.fill(4.0);
        gemmOf(backend).gemm(false, false, 1.0, a, b, 0.5, c);
        assertEquals(2.0, c.get(2, 1));
    }

    @ParameterizedTest
    @EnumSource(value = GemmBackend.class)
    void nonConformingShapesAreRejected(GemmBackend backend) {
        DMatrixRMaj a = new DMatrixRMaj(3, 4);
        DMatrixRMaj b = new DMatrixRMaj(5, 2);
        DMatrixRMaj c = new DMatrixRMaj(3, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gemmOf(backend).gemm(false, false, 1.0, a, b, 0.0, c));
        assertTrue(e.getMessage().contains("op(A) 3x4, op(B) 5x2"), e.getMessage());
    }

    @Test
    void backendNamesParseAndUnknownNamesListTheChoices() {
        assertSame(GemmBackend.NETLIB, GemmBackend.fromName(" Netlib "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GemmBackend.fromName("mkl"));
        assertEquals("unknown GEMM backend 'mkl', expected one of auto, ejml, netlib", e.getMessage());
        assertSame(EjmlGemm.INSTANCE, GemmBackend.EJML.gemm());
    }

    /**
     * In CI the system OpenBLAS is installed, so netlib must resolve to native code there and
     * {@code auto} must pick it; elsewhere this only runs where native BLAS happens to be present.
     */
    @Test
    void autoPicksNativeBlasWhenItLoads() {
        NetlibGemm netlib = NetlibGemm.resolve();
        if ("true".equals(System.getenv("CI"))) {
            assertEquals("netlib-native", netlib.name(), "CI installs libopenblas0; netlib resolved " + netlib);
        }
        assumeTrue(netlib.name().equals("netlib-native"), "native BLAS not available here: " + netlib);
        assertEquals("netlib-native", GemmBackend.AUTO.gemm().name());
    }
}
