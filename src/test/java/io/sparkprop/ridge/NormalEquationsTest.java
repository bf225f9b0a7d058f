package io.sparkprop.ridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.EjmlGemm;
import io.sparkprop.testutil.TestData;
import org.apache.spark.ml.linalg.Vectors;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

/**
 * The driver's algebra of closed-form ridge without Spark: statistics summed block by block and merged here, as
 * the distributed pass sums them, then solved. The reference is a direct, well-conditioned solve (Householder QR
 * of the centred, weighted design augmented with {@code √(Wλ) I}: {@link RidgeNumericsTest#centredQrSolve}).
 */
class NormalEquationsTest {

    /** The statistics of {@code data} in blocks of {@code block} rows, split into two halves merged at the end. */
    private static RidgeStatistics statistics(List<Example> data, int n, int block) {
        int half = data.size() / 2;
        RidgeStatistics first = statistics(data.subList(0, half), n, block, new RidgeStatistics(n, 1));
        return first.mergeInPlace(statistics(data.subList(half, data.size()), n, block, new RidgeStatistics(n, 1)));
    }

    private static RidgeStatistics statistics(List<Example> rows, int n, int block, RidgeStatistics into) {
        for (int start = 0; start < rows.size(); start += block) {
            int b = Math.min(block, rows.size() - start);
            DMatrixRMaj x = new DMatrixRMaj(b, n);
            DMatrixRMaj y = new DMatrixRMaj(b, 1);
            double[] w = new double[b];
            for (int i = 0; i < b; i++) {
                Example e = rows.get(start + i);
                for (int j = 0; j < n; j++) {
                    x.set(i, j, e.features().apply(j));
                }
                y.set(i, 0, e.target()[0]);
                w[i] = e.weight();
            }
            into.addBlockInPlace(x, y, w, EjmlGemm.INSTANCE);
        }
        return into;
    }

    /**
     * The coefficients within {@code relative} of the reference's (largest difference over the largest
     * coefficient, as {@code RidgeNumericsTest}), the intercept on the scale {@code interceptScale} of the offsets
     * it carries.
     */
    private static void assertClose(double[] expected, NormalEquations.Result r, int n, double relative,
                                    double interceptScale) {
        double[] found = new double[n];
        for (int j = 0; j < n; j++) {
            found[j] = r.coefficients.get(0, j);
        }
        double diff = TestData.maxRelativeDifference(Arrays.copyOf(expected, n), found);
        assertTrue(diff <= relative, "coefficients differ by " + diff + " relative: expected "
                + Arrays.toString(Arrays.copyOf(expected, n)) + ", found " + Arrays.toString(found));
        assertEquals(expected[n], r.intercepts[0], relative * interceptScale, "intercept");
    }

    @Test
    void timestampsAndLabelOffsetsSolveAsWellAsUnitData() {
        for (double offset : new double[] {0, 1e6, 1e9}) {
            List<Example> data = RidgeNumericsTest.offsetData(2000, offset, 1e8, true, 5);
            double lambda = 1e-3;
            NormalEquations.Result r = NormalEquations.solve(statistics(data, 3, 128), lambda, true, false);
            assertFalse(r.isSingular());
            assertEquals(0, r.constantFeatures);
            // the tolerances of RidgeNumericsTest: offsets of 1e8 and more leave ~1e-8 of the spread in a double
            assertClose(RidgeNumericsTest.centredQrSolve(data, 3, lambda), r, 3, offset >= 1e8 ? 1e-7 : 1e-9,
                    1e8 + 6 * offset + 1);
            assertTrue(r.r2[0] > 0.99, "r² " + r.r2[0]);
        }
    }

    @Test
    void aConstantThatDoesNotSumExactlyGetsCoefficientZero() {
        // a timestamp, a 0/1 flag and 12.34 on every row (a sum that does not round exactly) beside two features
        List<Example> base = RidgeNumericsTest.offsetData(1234, 0, 0, false, 9);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < base.size(); i++) {
            double[] x = base.get(i).features().toArray();
            data.add(Example.of(Vectors.dense(1.7e9 + x[0], i % 2, 12.34, x[1], x[2]), base.get(i).target()[0]));
        }
        double lambda = 1e-4;
        NormalEquations.Result r = NormalEquations.solve(statistics(data, 5, 100), lambda, true, false);
        assertFalse(r.isSingular());
        assertEquals(1, r.constantFeatures);
        assertEquals(0.0, r.coefficients.get(0, 2), 0.0);
        // the reference without the constant column: the same solution
        List<Example> without = new ArrayList<>();
        for (Example e : data) {
            double[] x = e.features().toArray();
            without.add(Example.of(Vectors.dense(x[0], x[1], x[3], x[4]), e.target()[0]));
        }
        double[] q = RidgeNumericsTest.centredQrSolve(without, 4, lambda);
        double[] expected = {q[0], q[1], 0.0, q[2], q[3], q[4]};
        // a timestamp of 1.7e9 holds its spread to ~2e-7 relative: the tolerance of the other offsets of 1e8 and more
        assertClose(expected, r, 5, 1e-7, 1.7e9);
    }

    @Test
    void aFeatureSpannedByOthersIsNamed() {
        List<Example> base = RidgeNumericsTest.offsetData(500, 1e6, 0, false, 3);
        List<Example> data = new ArrayList<>();
        for (Example e : base) {
            double[] x = e.features().toArray();
            // feature 3 = feature 0 − feature 2 exactly in the units of each
            data.add(Example.of(Vectors.dense(x[0], x[1], x[2], x[0] - x[2]), e.target()[0]));
        }
        NormalEquations.Result r = NormalEquations.solve(statistics(data, 4, 64), 0.0, true, false);
        assertTrue(r.isSingular());
        assertTrue(r.singularFeature == 3 || r.singularFeature == 2 || r.singularFeature == 0,
                "a feature of the dependent set is named, found " + r.singularFeature);
        // a penalty makes the same system solvable
        assertFalse(NormalEquations.solve(statistics(data, 4, 64), 1e-3, true, false).isSingular());
    }
}
