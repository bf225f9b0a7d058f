package io.sparkprop.ridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(LocalSpark.class)
class RidgeSolverTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    /** Correlated features of different scales, {@code m} outputs, optional weights in [0.2, 3). */
    static List<Example> data(int count, int n, int m, boolean weighted, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double[] x = new double[n];
            double common = random.nextDouble() - 0.5;
            for (int j = 0; j < n; j++) {
                x[j] = (j + 1) * (random.nextDouble() - 0.5 + 0.5 * common) + j;
            }
            double[] y = new double[m];
            for (int k = 0; k < m; k++) {
                y[k] = 3.0 - k;
                for (int j = 0; j < n; j++) {
                    y[k] += Math.sin(j + 2 * k) * x[j];
                }
                y[k] += random.nextDouble() - 0.5;
            }
            examples.add(weighted ? Example.weighted(0.2 + 2.8 * random.nextDouble(), Vectors.dense(x), y)
                    : Example.of(x, y));
        }
        return examples;
    }

    /**
     * The weighted normal equations of the augmented design {@code [x; 1]}, solved directly by LU:
     * {@code (Σ w a aᵀ/Σw + λ diag(1, …, 1, 0)) θ = Σ w a y/Σw}; returns {@code θ} as m rows of n+1 (intercept last).
     */
    static double[][] directSolve(List<Example> data, int n, int m, double lambda, boolean intercept) {
        int d = intercept ? n + 1 : n;
        double sw = 0;
        for (Example e : data) {
            sw += e.weight();
        }
        // rows of the design scaled by √(w/Σw): then AᵀA = Σ w a aᵀ/Σw and AᵀY = Σ w a yᵀ/Σw
        DMatrixRMaj design = new DMatrixRMaj(data.size(), d);
        DMatrixRMaj targets = new DMatrixRMaj(data.size(), m);
        for (int i = 0; i < data.size(); i++) {
            Example e = data.get(i);
            double s = Math.sqrt(e.weight() / sw);
            double[] x = e.features().toArray();
            for (int j = 0; j < n; j++) {
                design.set(i, j, s * x[j]);
            }
            if (intercept) {
                design.set(i, n, s);
            }
            for (int k = 0; k < m; k++) {
                targets.set(i, k, s * e.target()[k]);
            }
        }
        DMatrixRMaj a = new DMatrixRMaj(d, d);
        DMatrixRMaj b = new DMatrixRMaj(d, m);
        CommonOps_DDRM.multTransA(design, design, a);
        CommonOps_DDRM.multTransA(design, targets, b);
        for (int i = 0; i < n; i++) {
            a.add(i, i, lambda);
        }
        DMatrixRMaj theta = new DMatrixRMaj(d, m);
        assertTrue(CommonOps_DDRM.solve(a, b, theta));
        double[][] rows = new double[m][n + 1];
        for (int k = 0; k < m; k++) {
            for (int i = 0; i < d; i++) {
                rows[k][i] = theta.get(i, k);
            }
        }
        return rows;
    }

    private static double[] coefficientsAndIntercept(RidgeSolution s, int k) {
        double[] c = s.coefficients(k);
        double[] all = Arrays.copyOf(c, c.length + 1);
        all[c.length] = s.intercepts()[k];
        return all;
    }

    @ParameterizedTest
    @CsvSource({"true, false, 1", "true, true, 3", "false, true, 3", "false, false, 2"})
    void equalsTheDirectSolveOfTheNormalEquations(boolean intercept, boolean weighted, int partitions) {
        List<Example> data = data(300, 6, 2, weighted, 3);
        double lambda = 0.05;
        RidgeSolution s = new RidgeSolver().setRegParam(lambda).setFitIntercept(intercept).setBlockSize(64)
                .fit(sc.parallelize(data, partitions));
        double[][] expected = directSolve(data, 6, 2, lambda, intercept);
        for (int k = 0; k < 2; k++) {
            double diff = TestData.maxRelativeDifference(expected[k], coefficientsAndIntercept(s, k));
            assertTrue(diff < 1e-10, "output " + k + ": relative difference " + diff);
        }
        assertEquals(300, s.numExamples());
    }

    /**
     * Past about a thousand features EJML factorises by blocks; the solve must not care. Independent
     * features keep the system well conditioned, so both solves agree to the last digits.
     */
    @Test
    void aThousandFeaturesEqualTheDirectSolve() {
        SplittableRandom random = new SplittableRandom(13);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < 1300; i++) {
            double[] x = new double[1050];
            double y = 0;
            for (int j = 0; j < x.length; j++) {
                x[j] = 2 * random.nextDouble() - 1;
                y += Math.sin(j) * x[j];
            }
            data.add(Example.of(x, y + random.nextDouble() - 0.5));
        }
        RidgeSolution s = new RidgeSolver().setRegParam(0.1).setFitIntercept(false).fit(sc.parallelize(data, 2));
        double[][] expected = directSolve(data, 1050, 1, 0.1, false);
        double diff = TestData.maxRelativeDifference(expected[0], coefficientsAndIntercept(s, 0));
        assertTrue(diff < 1e-10, "relative difference " + diff);
    }

    @Test
    void multiOutputEqualsEachOutputAlone() {
        List<Example> data = data(200, 4, 3, true, 5);
        RidgeSolution all = new RidgeSolver().setRegParam(0.1).setStandardization(true).fit(sc.parallelize(data, 2));
        for (int k = 0; k < 3; k++) {
            List<Example> single = new ArrayList<>();
            for (Example e : data) {
                single.add(Example.weighted(e.weight(), e.features(), e.target()[k]));
            }
            RidgeSolution one = new RidgeSolver().setRegParam(0.1).setStandardization(true)
                    .fit(sc.parallelize(single, 2));
            assertTrue(TestData.maxRelativeDifference(coefficientsAndIntercept(one, 0), coefficientsAndIntercept(all, k))
                    < 1e-12, "output " + k);
            assertEquals(one.rootMeanSquaredError()[0], all.rootMeanSquaredError()[k], 1e-12);
        }
    }

    @Test
    void theInterceptIsNotPenalised() {
        List<Example> data = data(200, 4, 1, true, 7);
        RidgeSolution s = new RidgeSolver().setRegParam(1e12).fit(sc.parallelize(data, 2));
        double weightedMean = 0;
        double sw = 0;
        for (Example e : data) {
            weightedMean += e.weight() * e.target()[0];
            sw += e.weight();
        }
        weightedMean /= sw;
        for (double c : s.coefficients(0)) {
            assertEquals(0.0, c, 1e-9);
        }
        assertEquals(weightedMean, s.intercepts()[0], 1e-8 * Math.abs(weightedMean));
    }

    @Test
    void trainingMetricsMatchTheirDefinitions() {
        List<Example> data = data(150, 3, 1, true, 9);
        RidgeSolution s = new RidgeSolver().setRegParam(0.01).fit(sc.parallelize(data, 2));
        double sse = 0;
        double sw = 0;
        double mean = 0;
        for (Example e : data) {
            double r = e.target()[0] - s.predict(e.features().toArray())[0];
            sse += e.weight() * r * r;
            sw += e.weight();
            mean += e.weight() * e.target()[0];
        }
        mean /= sw;
        double sst = 0;
        for (Example e : data) {
            sst += e.weight() * (e.target()[0] - mean) * (e.target()[0] - mean);
        }
        assertEquals(Math.sqrt(sse / sw), s.rootMeanSquaredError()[0], 1e-9);
        assertEquals(1 - sse / sst, s.r2()[0], 1e-9);
        double sae = 0;
        for (Example e : data) {
            sae += e.weight() * Math.abs(e.target()[0] - s.predict(e.features().toArray())[0]);
        }
        assertEquals(sae / sw, s.meanAbsoluteError()[0], 1e-12);
    }

    private static Dataset<Row> frame(List<Example> data) {
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.DoubleType).add("w", DataTypes.DoubleType);
        List<Row> rows = new ArrayList<>();
        for (Example e : data) {
            rows.add(RowFactory.create(e.features(), e.target()[0], e.weight()));
        }
        return spark.createDataFrame(rows, schema);
    }

    /** MLlib standardises the label inside its solver: its {@code regParam} is our λ times σ_y. */
    @ParameterizedTest
    @CsvSource({"false, true, false, 1", "true, true, false, 3", "false, true, true, 3", "true, true, true, 2",
        "false, false, false, 2", "true, false, true, 3"})
    void equalsSparkMllibNormalSolver(boolean standardization, boolean intercept, boolean weighted, int partitions) {
        List<Example> data = data(400, 5, 1, weighted, 11);
        double lambda = 0.02;
        double sw = 0;
        double mean = 0;
        for (Example e : data) {
            sw += e.weight();
            mean += e.weight() * e.target()[0];
        }
        mean /= sw;
        double var = 0;
        for (Example e : data) {
            var += e.weight() * (e.target()[0] - mean) * (e.target()[0] - mean);
        }
        double sigmaY = Math.sqrt(var / sw);
        Dataset<Row> df = frame(data).repartition(partitions);
        LinearRegression lr = new LinearRegression().setSolver("normal").setElasticNetParam(0)
                .setRegParam(lambda * sigmaY).setStandardization(standardization).setFitIntercept(intercept);
        if (weighted) {
            lr.setWeightCol("w");
        }
        LinearRegressionModel mllib = lr.fit(df);
        RidgeSolution ours = new RidgeSolver().setRegParam(lambda).setStandardization(standardization)
                .setFitIntercept(intercept).fit(df, "features", "label", weighted ? "w" : null);
        double[] expected = Arrays.copyOf(mllib.coefficients().toArray(), 6);
        expected[5] = mllib.intercept();
        double diff = TestData.maxRelativeDifference(expected, coefficientsAndIntercept(ours, 0));
        assertTrue(diff < 1e-8, "relative difference to MLlib " + diff + ": " + Arrays.toString(expected) + " vs "
                + Arrays.toString(coefficientsAndIntercept(ours, 0)));
    }

    @Test
    void singularSystemsSayWhyAndWhatToChange() {
        List<Example> collinear = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 50; i++) {
            double a = random.nextDouble();
            collinear.add(Example.of(new double[] {a, 2 * a + 1, random.nextDouble()}, random.nextDouble()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RidgeSolver().fit(sc.parallelize(collinear, 2)));
        assertTrue(e.getMessage().startsWith("the ridge normal equations are singular or numerically indefinite ("),
                e.getMessage());
        assertTrue(e.getMessage().contains("50 examples, 3 features, regParam 0.0): set regParam > 0, or remove "
                + "constant and collinear features"), e.getMessage());
        // the same data is fine with a penalty
        new RidgeSolver().setRegParam(1e-3).fit(sc.parallelize(collinear, 2));

        List<Example> constant = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            constant.add(Example.of(new double[] {random.nextDouble(), 5.0}, random.nextDouble()));
        }
        // an exactly constant feature carries nothing beside the intercept: coefficient 0, with or without
        // standardisation (as in MLlib), and no longer an error even with regParam 0
        RidgeSolution s = new RidgeSolver().fit(sc.parallelize(constant, 2));
        assertEquals(0.0, s.coefficients(0)[1]);
        s = new RidgeSolver().setStandardization(true).fit(sc.parallelize(constant, 2));
        assertEquals(0.0, s.coefficients(0)[1]);

        List<Example> few = data(4, 6, 1, false, 2);
        e = assertThrows(IllegalArgumentException.class, () -> new RidgeSolver().fit(sc.parallelize(few, 1)));
        assertTrue(e.getMessage().contains("4 examples, 6 features"), e.getMessage());
    }

    @Test
    void anAbsurdFeatureCountIsRejectedBeforeAnyJob() {
        JavaRDD<Example> poisoned = sc.parallelize(Arrays.asList(1, 2), 2).map(i -> {
            throw new AssertionError("no Spark job may run");
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RidgeSolver().fit(poisoned, 200_000, 1));
        assertTrue(e.getMessage().startsWith("ridge with 200000 features and 1 outputs needs about"), e.getMessage());
        assertTrue(e.getMessage().endsWith("use fewer features, raise spark.driver.memory, or use solver sgd"),
                e.getMessage());
    }

    @Test
    void theSgdSolverReachesTheNormalSolution() {
        // well conditioned: independent features uniform in [−1, 1], so the Hessian's eigenvalues are
        // about 1/3 (+λ) and 1 (intercept); full-batch GD with step 1 contracts by ~2/3 an iteration
        SplittableRandom random = new SplittableRandom(4);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            double[] x = {random.nextDouble() * 2 - 1, random.nextDouble() * 2 - 1, random.nextDouble() * 2 - 1};
            data.add(Example.of(x, 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + 0.7 + 0.1 * (random.nextDouble() - 0.5)));
        }
        JavaRDD<Example> rdd = sc.parallelize(data, 2);
        RidgeSolution normal = new RidgeSolver().setRegParam(0.01).fit(rdd);
        RidgeSolution sgd = new RidgeSolver(RidgeSettings.builder().regParam(0.01).solver(RidgeSolver.Solver.SGD)
                .optimizer("sgd").stepSize(1.0).maxEpochs(150).build()).fit(rdd);
        double diff = TestData.maxRelativeDifference(coefficientsAndIntercept(normal, 0), coefficientsAndIntercept(sgd, 0));
        assertTrue(diff < 1e-4, "sgd vs normal " + diff);
        assertEquals(normal.rootMeanSquaredError()[0], sgd.rootMeanSquaredError()[0], 1e-6);
        assertTrue(sgd.meanAbsoluteError()[0] > 0);
    }
}
