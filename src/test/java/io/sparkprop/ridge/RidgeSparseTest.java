package io.sparkprop.ridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.exec.ShardPacker;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Ridge on sparse rows: the statistics summed over non-zeros equal those of the same rows dense, and the
 * solution equals a direct centred QR solve, on hostile sparse data — mixed scales, a timestamp and a
 * large-offset feature stored inside the sparse vectors, a feature never present, a constant one, zero
 * weights. Past the normal equations' limit the message points to solver sgd, which trains on wide sparse data.
 */
@ExtendWith(LocalSpark.class)
class RidgeSparseTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final int FEATURES = 40;

    private static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** Sparse rows of the hostile shape described in the class comment; label linear in them plus noise 0.01. */
    static List<Example> hostileRows(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double[] x = new double[FEATURES];
            double y = 1e3 + 0.01 * gaussian(random);
            for (int j = 0; j < 30; j++) { // sparse, scales 1e-3 .. 1e3
                if (random.nextDouble() < 0.15) {
                    double scale = Math.pow(10, j % 7 - 3);
                    x[j] = scale * gaussian(random);
                    y += (j % 3 - 1) * x[j] / scale;
                }
            }
            x[30] = 1.7e9 + 10 * gaussian(random); // a timestamp on every row
            y += 0.1 * (x[30] - 1.7e9);
            if (random.nextDouble() < 0.7) { // a large offset on most rows
                x[31] = 1e6 + gaussian(random);
                y += 2 * x[31]; // linear in the feature as stored, 0 on the rows without it
            }
            // x[32] never present; x[33] the same on every row
            x[33] = 5;
            for (int j = 34; j < FEATURES; j++) { // present on 40 % of rows, offset 1e4
                if (random.nextDouble() < 0.4) {
                    x[j] = 1e4 + gaussian(random);
                    y += 0.5 * x[j];
                }
            }
            Vector v = Vectors.dense(x).toSparse();
            double weight = i % 11 == 0 ? 0.0 : 0.5 + random.nextDouble();
            rows.add(Example.weighted(weight, v, y));
        }
        return rows;
    }

    /**
     * Co-moments against exact ones (BigDecimal), relative to the features' spreads: one partition's sparse
     * sums to 1e-13 — it shifts by the partition's mean once — and two partitions merged to 1e-9 (sparse) and
     * 1e-8 (dense; measured 1.2e-9). The pairwise merge carries the rounding of a timestamp's means (an ulp of
     * 1.7e9 is 2.4e-7, against a spread of 10) into its cross terms, {@code (W_a W_b / W) δ_x δ_z}: at most
     * {@code 2.4e-8 · |δ_z| / σ_z / 4} of the norm; the dense path merges every block of a partition so.
     */
    @Test
    void sparseStatisticsEqualExactOnesAndTheDensePathsToItsAccuracy() {
        List<Example> first = hostileRows(700, 3);
        List<Example> second = hostileRows(300, 4);
        RidgeStatistics dense = new RidgeStatistics(FEATURES, 1);
        RidgeStatistics sparse = new RidgeStatistics(FEATURES, 1);
        int partition = 0;
        for (List<Example> rows : List.of(first, second)) { // two partitions' worth, through the pairwise merge
            new ShardPacker(FEATURES, 1, 128, ShardPacker.Layout.ROWS).forEachBlockCanonical(partition,
                    rows.iterator(), (x, y, w) -> dense.addBlockInPlace(x, y, w, GemmBackend.EJML.gemm()));
            sparse.addSparseRows(new ShardPacker(FEATURES, 1, 128).sparseRows(partition++, rows.iterator()));
        }
        RidgeStatistics one = new RidgeStatistics(FEATURES, 1);
        one.addSparseRows(new ShardPacker(FEATURES, 1, 128).sparseRows(0, first.iterator()));
        double[][] exactOne = exactCoMoments(first);
        for (int i = 0; i <= FEATURES; i++) {
            for (int j = 0; j <= i; j++) {
                double norm = Math.sqrt(exactOne[i][i] * exactOne[j][j]);
                // + 1e-20: a constant feature is found by its range, not by a spread of exactly 0
                assertEquals(exactOne[i][j], coMoment(one, i, j), 1e-13 * norm + 1e-20,
                        "one partition, co-moment (" + i + ", " + j + ")");
            }
        }
        List<Example> all = new ArrayList<>(first);
        all.addAll(second);
        double[][] exact = exactCoMoments(all);
        assertEquals(dense.count, sparse.count);
        assertEquals(dense.weightSum, sparse.weightSum, 1e-12 * dense.weightSum);
        assertArrayEquals(dense.xMin, sparse.xMin);
        assertArrayEquals(dense.xMax, sparse.xMax);
        for (int i = 0; i <= FEATURES; i++) { // index FEATURES is the label
            for (int j = 0; j <= i; j++) {
                double norm = Math.sqrt(exact[i][i] * exact[j][j]);
                String what = "co-moment (" + i + ", " + j + ")";
                assertEquals(exact[i][j], coMoment(sparse, i, j), 1e-9 * norm + 1e-20, "sparse " + what);
                assertEquals(exact[i][j], coMoment(dense, i, j), 1e-8 * norm + 1e-20, "dense " + what);
            }
        }
        for (int i = 0; i < FEATURES; i++) {
            assertEquals(dense.xMean[i], sparse.xMean[i], 1e-13 * Math.abs(dense.xMean[i]), "mean " + i);
        }
        assertEquals(0.0, sparse.cxx.get(32, 32), 0.0, "a feature never present has no spread");
        assertTrue(sparse.isConstant(32) && sparse.isConstant(33) && !sparse.isConstant(31));
    }

    /**
     * What the ridge pass reads of a partition ({@link ShardPacker#forEachRowsCanonical}) whatever the rows' form
     * and order: as sparse rows when below the threshold — dense vectors read straight into the row buffer and sparse
     * ones held as examples give the arrays {@code sparseRows} gives — and as dense blocks above it, those of
     * {@code forEachBlockCanonical}; shuffled rows, and a partition of both forms, give the same.
     */
    @Test
    void thePassReadsAPartitionAlikeInEitherFormAndOrder() {
        List<Example> sparseForm = hostileRows(500, 9);
        List<Example> denseForm = new ArrayList<>();
        for (Example e : sparseForm) {
            denseForm.add(Example.weighted(e.weight(), e.features().toDense(), e.target()));
        }
        List<Example> shuffled = new ArrayList<>(denseForm);
        java.util.Collections.shuffle(shuffled, new java.util.Random(5));
        // dense rows first, then both forms mixed (as VectorAssembler writes whichever form is smaller)
        List<Example> mixed = new ArrayList<>();
        for (int i = 0; i < denseForm.size(); i++) {
            mixed.add(i < 100 || i % 3 != 0 ? denseForm.get(i) : sparseForm.get(i));
        }
        ShardPacker packer = new ShardPacker(FEATURES, 1, 64, ShardPacker.Layout.ROWS);
        io.sparkprop.exec.SparseRows expected = new ShardPacker(FEATURES, 1, 64).sparseRows(0, sparseForm.iterator());
        for (List<Example> rows : List.of(sparseForm, denseForm, shuffled, mixed)) {
            io.sparkprop.exec.SparseRows[] got = new io.sparkprop.exec.SparseRows[1];
            long count = packer.forEachRowsCanonical(0, rows.iterator(), 0.5, (x, y, w) -> {
                throw new AssertionError("a partition below the threshold is read as sparse rows");
            }, r -> got[0] = r);
            assertEquals(500, count);
            assertArrayEquals(expected.rowStart(), got[0].rowStart());
            assertArrayEquals(expected.indices(), got[0].indices());
            assertArrayEquals(expected.values(), got[0].values());
            assertArrayEquals(expected.targets(), got[0].targets());
            assertArrayEquals(expected.weights(), got[0].weights());
        }
        List<double[]> blocks = new ArrayList<>();
        packer.forEachBlockCanonical(0, sparseForm.iterator(), (x, y, w) -> blocks.add(concat(x.data, y.data, w)));
        for (List<Example> rows : List.of(sparseForm, denseForm, shuffled, mixed)) {
            List<double[]> got = new ArrayList<>();
            packer.forEachRowsCanonical(0, rows.iterator(), 0.0, (x, y, w) -> got.add(concat(x.data, y.data, w)),
                    r -> {
                        throw new AssertionError("a partition above the threshold is read as dense blocks");
                    });
            assertEquals(blocks.size(), got.size());
            for (int b = 0; b < blocks.size(); b++) {
                assertArrayEquals(blocks.get(b), got.get(b), "block " + b);
            }
        }
        assertEquals(0, packer.forEachRowsCanonical(0, java.util.Collections.emptyIterator(), 0.5, (x, y, w) -> {
        }, r -> {
        }));
    }

    private static double[] concat(double[] x, double[] y, double[] w) {
        double[] out = Arrays.copyOf(x, x.length + y.length + (w == null ? 0 : w.length));
        System.arraycopy(y, 0, out, x.length, y.length);
        if (w != null) {
            System.arraycopy(w, 0, out, x.length + y.length, w.length);
        }
        return out;
    }

    /** {@code C_xx}, {@code C_xy} or {@code c_yy} entry {@code (i, j)}, {@code j ≤ i}, index {@code n} the label. */
    private static double coMoment(RidgeStatistics s, int i, int j) {
        if (i < FEATURES) {
            return s.cxx.get(i, j);
        }
        return j < FEATURES ? s.cxy.get(j, 0) : s.cyy[0];
    }

    /** The weighted centred co-moments of features and label, in exact arithmetic, rounded at the end. */
    private static double[][] exactCoMoments(List<Example> rows) {
        java.math.MathContext context = new java.math.MathContext(50);
        int d = FEATURES + 1;
        java.math.BigDecimal weight = java.math.BigDecimal.ZERO;
        java.math.BigDecimal[] mean = new java.math.BigDecimal[d];
        Arrays.fill(mean, java.math.BigDecimal.ZERO);
        for (Example e : rows) {
            java.math.BigDecimal w = new java.math.BigDecimal(e.weight());
            weight = weight.add(w);
            for (int i = 0; i < d; i++) {
                mean[i] = mean[i].add(w.multiply(new java.math.BigDecimal(value(e, i))));
            }
        }
        for (int i = 0; i < d; i++) {
            mean[i] = mean[i].divide(weight, context);
        }
        java.math.BigDecimal[][] sum = new java.math.BigDecimal[d][d];
        for (java.math.BigDecimal[] row : sum) {
            Arrays.fill(row, java.math.BigDecimal.ZERO);
        }
        java.math.BigDecimal[] centred = new java.math.BigDecimal[d];
        for (Example e : rows) {
            if (e.weight() == 0) {
                continue;
            }
            java.math.BigDecimal w = new java.math.BigDecimal(e.weight());
            for (int i = 0; i < d; i++) {
                centred[i] = new java.math.BigDecimal(value(e, i)).subtract(mean[i]);
            }
            for (int i = 0; i < d; i++) {
                java.math.BigDecimal wi = w.multiply(centred[i], context);
                for (int j = 0; j <= i; j++) {
                    sum[i][j] = sum[i][j].add(wi.multiply(centred[j], context), context);
                }
            }
        }
        double[][] out = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                out[i][j] = sum[i][j].doubleValue();
                out[j][i] = out[i][j];
            }
        }
        return out;
    }

    private static double value(Example e, int i) {
        return i < FEATURES ? e.features().apply(i) : e.target()[0];
    }

    @Test
    void sparseAndDenseSolvesEqualACentredQrSolve() {
        List<Example> rows = hostileRows(3000, 7);
        double lambda = 1e-10; // small against every feature's spread, so that the fit explains the label
        double[] expected = RidgeNumericsTest.centredQrSolve(rows, FEATURES, lambda);
        for (double threshold : new double[] {1.0, 0.0}) {
            RidgeSolution s = new RidgeSolver(RidgeSettings.builder().regParam(lambda).sparseThreshold(threshold)
                    .build()).fit(sc.parallelize(rows, 3));
            double[] found = s.coefficients(0);
            double diff = TestData.maxRelativeDifference(Arrays.copyOf(expected, FEATURES), found);
            assertTrue(diff <= 1e-8, "threshold " + threshold + ": coefficients differ by " + diff + " relative:\n"
                    + Arrays.toString(expected) + "\n" + Arrays.toString(found));
            assertEquals(0.0, found[32], 0.0, "never present");
            assertEquals(0.0, found[33], 0.0, "constant");
            assertEquals(expected[FEATURES], s.intercepts()[0], 1e-8 * 1e9, "intercept, threshold " + threshold);
            assertTrue(s.r2()[0] > 0.99, "R² " + s.r2()[0]);
            double[] mae = s.meanAbsoluteError();
            assertTrue(mae[0] < 0.02, "MAE " + mae[0]);
        }
    }

    @Test
    void wideDataIsRefusedByTheNormalSolverAndTrainedBySgd() {
        int wide = 1 << 17;
        SplittableRandom random = new SplittableRandom(11);
        List<Example> rows = new ArrayList<>();
        double[] beta = new double[64];
        for (int k = 0; k < beta.length; k++) {
            beta[k] = gaussian(random);
        }
        for (int i = 0; i < 3000; i++) {
            int[] idx = new int[5];
            double[] val = new double[5];
            double y = 0.5;
            java.util.TreeSet<Integer> seen = new java.util.TreeSet<>();
            while (seen.size() < 5) {
                // the informative features are the first 64 (the one-to-one map k → k·2039 spreads them out)
                seen.add(random.nextInt(64) * 2039);
            }
            int k = 0;
            for (int f : seen) {
                idx[k] = f;
                val[k] = 1 + random.nextDouble();
                y += beta[f / 2039] * val[k++];
            }
            rows.add(Example.of(Vectors.sparse(wide, idx, val), y));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RidgeSolver().fit(sc.parallelize(rows, 2)));
        // the d x d matrix: refused before any job, pointing to solver sgd
        assertTrue(e.getMessage().startsWith("ridge with 131072 features and 1 outputs needs about")
                && e.getMessage().endsWith("or use solver sgd"), e.getMessage());

        RidgeSolution s = new RidgeSolver(RidgeSettings.builder().solver(RidgeSolver.Solver.SGD).stepSize(0.1)
                .maxEpochs(100).build()).fit(sc.parallelize(rows, 2));
        assertTrue(s.r2()[0] > 0.95, "R² " + s.r2()[0]);
        for (int k = 0; k < 64; k += 9) {
            assertEquals(beta[k], s.coefficients(0)[k * 2039], 0.1, "coefficient of feature " + k * 2039);
        }
    }
}
