package io.sparkprop.ridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import io.sparkprop.testutil.Tolerances;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Closed-form ridge on data shaped like real tables: features with large offsets (ids, timestamps),
 * labels with large offsets, columns of very different scales, constants whose sums do not round
 * exactly. The reference is a direct, well-conditioned solve — Householder QR of the centred, weighted
 * design augmented with {@code √(Wλ) I} — not MLlib, whose normal solver shares the raw-moment flaw.
 */
@ExtendWith(LocalSpark.class)
class RidgeNumericsTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    /**
     * Three correlated features of spread ~1 around {@code featureOffset}, label
     * {@code x₁ − 2x₂ + 0.5x₃} (of the centred features) plus noise 0.01 plus {@code labelOffset}.
     */
    static List<Example> offsetData(int count, double featureOffset, double labelOffset, boolean weighted, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double common = gaussian(random);
            double[] c = {gaussian(random) + 0.5 * common, gaussian(random) - 0.3 * common, gaussian(random)};
            double[] x = new double[3];
            for (int j = 0; j < 3; j++) {
                x[j] = featureOffset * (j + 1) + c[j];
            }
            double y = labelOffset + c[0] - 2 * c[1] + 0.5 * c[2] + 0.01 * gaussian(random);
            data.add(weighted ? Example.weighted(0.1 + 4.9 * random.nextDouble(), Vectors.dense(x), y)
                    : Example.of(x, y));
        }
        return data;
    }

    private static double gaussian(SplittableRandom random) {
        // Box–Muller: SplittableRandom has no nextGaussian on Java 17
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** A two-pass weighted mean: exact to rounding whatever the offset. */
    private static double weightedMean(List<Example> data, java.util.function.ToDoubleFunction<Example> value) {
        double w = 0;
        double s = 0;
        for (Example e : data) {
            w += e.weight();
            s += e.weight() * value.applyAsDouble(e);
        }
        double mean = s / w;
        double correction = 0;
        for (Example e : data) {
            correction += e.weight() * (value.applyAsDouble(e) - mean);
        }
        return mean + correction / w;
    }

    /**
     * The reference: {@code min Σw(y_c − θᵀx_c)² + Wλ‖θ‖²} by QR of {@code [√w X_c; √(Wλ) I]}; returns the
     * coefficients followed by the intercept {@code ȳ − θᵀx̄}.
     */
    static double[] centredQrSolve(List<Example> data, int n, double lambda) {
        double[] xMean = new double[n];
        for (int j = 0; j < n; j++) {
            int jj = j;
            xMean[j] = weightedMean(data, e -> e.features().apply(jj));
        }
        double yMean = weightedMean(data, e -> e.target()[0]);
        double sw = 0;
        for (Example e : data) {
            sw += e.weight();
        }
        int rows = data.size() + n;
        DMatrixRMaj a = new DMatrixRMaj(rows, n);
        DMatrixRMaj b = new DMatrixRMaj(rows, 1);
        for (int i = 0; i < data.size(); i++) {
            Example e = data.get(i);
            double s = Math.sqrt(e.weight());
            for (int j = 0; j < n; j++) {
                a.set(i, j, s * (e.features().apply(j) - xMean[j]));
            }
            b.set(i, 0, s * (e.target()[0] - yMean));
        }
        for (int j = 0; j < n; j++) {
            a.set(data.size() + j, j, Math.sqrt(sw * lambda));
        }
        LinearSolverDense<DMatrixRMaj> qr = LinearSolverFactory_DDRM.qr(rows, n);
        assertTrue(qr.setA(a));
        DMatrixRMaj theta = new DMatrixRMaj(n, 1);
        qr.solve(b, theta);
        double[] result = new double[n + 1];
        double intercept = yMean;
        for (int j = 0; j < n; j++) {
            result[j] = theta.get(j, 0);
            intercept -= result[j] * xMean[j];
        }
        result[n] = intercept;
        return result;
    }

    @ParameterizedTest(name = "feature offset {0}, label offset {1}, weighted {2}, {3} partitions")
    @CsvSource({
        "0, 0, false, 1", "0, 0, true, 7",
        "1e4, 0, false, 7", "1e4, 1e4, true, 1",
        "1e6, 0, true, 7", "1e6, 1e8, false, 1", "1e6, 1e6, true, 1",
        "1e8, 0, false, 1", "1e8, 1e8, true, 7", "0, 1e8, false, 7"})
    void coefficientsEqualACentredQrSolve(double featureOffset, double labelOffset, boolean weighted, int partitions) {
        List<Example> data = offsetData(3000, featureOffset, labelOffset, weighted, 17);
        double lambda = 1e-3;
        RidgeSolution s = new RidgeSolver().setRegParam(lambda).setBlockSize(256)
                .fit(sc.parallelize(data, partitions));
        double[] expected = centredQrSolve(data, 3, lambda);
        double[] found = s.coefficients(0);
        double tolerance = featureOffset >= 1e8 ? 1e-7 : 1e-9;
        double diff = TestData.maxRelativeDifference(java.util.Arrays.copyOf(expected, 3), found);
        assertTrue(diff <= tolerance, "coefficients differ by " + diff + " relative: expected "
                + java.util.Arrays.toString(expected) + ", found " + java.util.Arrays.toString(found));
        // the intercept carries the offsets: compare on their scale
        double scale = Math.abs(labelOffset) + featureOffset * 6 + 1;
        assertEquals(expected[3], s.intercepts()[0], tolerance * scale, "intercept");
        // training metrics from centred terms: the fit is good to the noise (0.01), whatever the offsets
        double sse = 0;
        double sw = 0;
        for (Example e : data) {
            double r = e.target()[0] - s.predict(e.features().toArray())[0];
            sse += e.weight() * r * r;
            sw += e.weight();
        }
        double directRmse = Math.sqrt(sse / sw);
        assertTrue(directRmse < 0.011 && directRmse > 0.0095,
                "direct RMSE " + directRmse);
        assertEquals(directRmse, s.rootMeanSquaredError()[0], 1e-3 * directRmse + 1e-7, "RMSE");
        assertTrue(s.r2()[0] > 0.9999, "R² " + s.r2()[0]);
    }

    /** A Unix timestamp beside a 0/1 flag is an ordinary, well-posed problem, not a singular one. */
    @Test
    void aTimestampBesideAFlagIsNotSingular() {
        SplittableRandom random = new SplittableRandom(5);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            double timestamp = 1.7e9 + 86_400 * random.nextDouble() * 365;
            double flag = random.nextInt(2);
            double y = 2e-6 * (timestamp - 1.7e9) + 3 * flag + 0.1 * gaussian(random);
            data.add(Example.of(new double[] {timestamp, flag}, y));
        }
        for (double lambda : new double[] {0.0, 1e-6}) {
            RidgeSolution s = new RidgeSolver().setRegParam(lambda).fit(sc.parallelize(data, 3));
            double[] expected = centredQrSolve(data, 2, lambda);
            double diff = TestData.maxRelativeDifference(java.util.Arrays.copyOf(expected, 2), s.coefficients(0));
            assertTrue(diff < 1e-9, "λ " + lambda + ": relative difference " + diff);
        }
        // the decision does not depend on units: the timestamp in milliseconds fits the same model
        List<Example> millis = new ArrayList<>();
        for (Example e : data) {
            double[] x = e.features().toArray();
            millis.add(Example.of(new double[] {1000 * x[0], x[1]}, e.target()[0]));
        }
        RidgeSolution seconds = new RidgeSolver().fit(sc.parallelize(data, 3));
        RidgeSolution ms = new RidgeSolver().fit(sc.parallelize(millis, 3));
        assertEquals(seconds.coefficients(0)[0] / 1000, ms.coefficients(0)[0],
                1e-9 * Math.abs(seconds.coefficients(0)[0] / 1000));
        assertEquals(seconds.coefficients(0)[1], ms.coefficients(0)[1], 1e-9 * Math.abs(seconds.coefficients(0)[1]));
    }

    /**
     * 12.34 repeated 12,345 times: its mean does not round to 12.34 and a computed variance is about
     * 1e-10, not 0. Detected exactly, it gets coefficient 0; all-constant features give {@code W = 0},
     * {@code b = ȳ}.
     */
    @Test
    void constantFeaturesAreDetectedExactly() {
        SplittableRandom random = new SplittableRandom(3);
        List<Example> data = new ArrayList<>();
        List<Example> allConstant = new ArrayList<>();
        double labelSum = 0;
        for (int i = 0; i < 12_345; i++) {
            double a = gaussian(random);
            double y = 1e3 + 2 * a + gaussian(random);
            data.add(Example.of(new double[] {a, 12.34}, y));
            allConstant.add(Example.of(new double[] {12.34, -7.1}, y));
            labelSum += y;
        }
        for (boolean standardization : new boolean[] {false, true}) {
            RidgeSolution s = new RidgeSolver().setStandardization(standardization).fit(sc.parallelize(data, 3));
            assertEquals(0.0, s.coefficients(0)[1], "the constant's coefficient");
            double[] expected = centredQrSolve(data, 1, 0.0);
            assertEquals(expected[0], s.coefficients(0)[0], 1e-10 * Math.abs(expected[0]));
            RidgeSolution c = new RidgeSolver().setStandardization(standardization)
                    .fit(sc.parallelize(allConstant, 3));
            assertArrayEquals(new double[] {0.0, 0.0}, c.coefficients(0));
            assertEquals(labelSum / 12_345, c.intercepts()[0], 1e-12 * 1e3);
        }
    }

    /** The truly singular case keeps its clear error. */
    @Test
    void collinearFeaturesWithoutPenaltyAreRefused() {
        List<Example> data = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(8);
        for (int i = 0; i < 100; i++) {
            double a = 1e6 + random.nextDouble();
            double b = random.nextDouble();
            data.add(Example.of(new double[] {a, b, 3 * a - b}, random.nextDouble()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RidgeSolver().fit(sc.parallelize(data, 2)));
        assertTrue(e.getMessage().contains("feature 2 is (nearly) constant or a linear combination of the features "
                + "before it"), e.getMessage());
        assertTrue(e.getMessage().contains("set regParam > 0"), e.getMessage());
    }

    /**
     * The sums do not depend on the order Spark delivers a partition's rows in (a shuffle fixes which
     * rows a partition holds, not their order): the model is the same bits.
     */
    @Test
    void theOrderOfRowsInAPartitionChangesNoBit() {
        List<Example> data = offsetData(2000, 1e6, 1e3, true, 23);
        RidgeSolution first = new RidgeSolver().setRegParam(1e-3).setBlockSize(64).fit(sc.parallelize(data, 1));
        List<Example> shuffled = new ArrayList<>(data);
        Collections.shuffle(shuffled, new Random(4));
        RidgeSolution second = new RidgeSolver().setRegParam(1e-3).setBlockSize(64).fit(sc.parallelize(shuffled, 1));
        assertArrayEquals(first.coefficients(0), second.coefficients(0));
        assertArrayEquals(first.intercepts(), second.intercepts());
        assertArrayEquals(first.rootMeanSquaredError(), second.rootMeanSquaredError());
        assertArrayEquals(first.meanAbsoluteError(), second.meanAbsoluteError());
    }

    /** Reordered sums agree to rounding: 1 partition against 7, blocks of 64 against 512. */
    @Test
    void partitionsAndBlocksChangeOnlyRounding() {
        List<Example> data = offsetData(2000, 1e7, 0, false, 29);
        RidgeSolution a = new RidgeSolver().setBlockSize(64).fit(sc.parallelize(data, 7));
        RidgeSolution b = new RidgeSolver().setBlockSize(512).fit(sc.parallelize(data, 1));
        double diff = TestData.maxRelativeDifference(a.coefficients(0), b.coefficients(0));
        assertTrue(diff < 1e3 * Tolerances.REORDERED_SUM_RELATIVE, "relative difference " + diff);
    }
}
