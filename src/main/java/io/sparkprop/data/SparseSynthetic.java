package io.sparkprop.data;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

/**
 * Generated wide sparse classification data, shaped like text: each row has {@code nonZeros} distinct
 * features with values in {@code [1, 2)} (term-frequency-like), stored as a {@code SparseVector}. Feature
 * {@code ⌊n·u^s⌋} is drawn for {@code u} uniform in {@code [0, 1)}: with the skew {@code s = 3} (the default) the
 * low indices are the frequent ones, as in a vocabulary ordered by count — the first 1/64 of the features
 * take a quarter of the draws; {@code s = 1} draws uniformly, the worst case for caches and for the gradient
 * exchange, which the benchmarks use.
 *
 * <p>The label comes from a sparse linear teacher through a threshold: half of the first {@code n/64}
 * features (at least 16) carry a weight {@code β_j = ±(1 + u)} (chosen by a hash of {@code j}, so the teacher
 * is the same on every executor without being shipped), the others none — the rare features are noise for
 * a model to learn to ignore. {@code s = Σ_j β_j x_j}, and the label is 1 when {@code s > 0}, flipped for 5 %
 * of the rows; a row with no teacher feature has {@code s = 0} and label 0 (before the flip).
 *
 * <p>Rows are generated on the executors from the seed ({@link GeneratedRows}), so the data are the same on any
 * cluster.
 */
public final class SparseSynthetic {
    private SparseSynthetic() {
    }

    /** The default skew of the feature frequencies: see the class comment. */
    public static final double DEFAULT_SKEW = 3.0;

    /**
     * {@code rows} rows of {@code numFeatures} features, {@code nonZeros} of them non-zero, labels 0 or 1, drawn
     * with the {@link #DEFAULT_SKEW default skew}.
     *
     * @throws IllegalArgumentException unless {@code 0 < nonZeros ≤ numFeatures} and {@code rows > 0}
     */
    public static Dataset<Row> frame(SparkSession spark, int rows, int numFeatures, int nonZeros, long seed) {
        return frame(spark, rows, numFeatures, nonZeros, DEFAULT_SKEW, seed);
    }

    /**
     * As {@link #frame(SparkSession, int, int, int, long)} with feature frequencies of skew {@code skew} (1:
     * uniform).
     *
     * @throws IllegalArgumentException also unless {@code skew ≥ 1}, or if {@code nonZeros} is more than a
     *                                  quarter of the features with a skew above 1 (drawing distinct ones would crawl)
     */
    public static Dataset<Row> frame(SparkSession spark, int rows, int numFeatures, int nonZeros, double skew,
                                     long seed) {
        if (rows <= 0 || nonZeros <= 0 || nonZeros > numFeatures) {
            throw new IllegalArgumentException("expected rows > 0 and 0 < nonZeros <= features, found " + rows
                    + " rows, " + nonZeros + " non-zeros of " + numFeatures + " features");
        }
        if (!(skew >= 1) || (skew > 1 && 4L * nonZeros > numFeatures)) {
            throw new IllegalArgumentException("expected a skew >= 1, and with a skew above 1 at most a quarter of the "
                    + "features non-zero, found skew " + skew + ", " + nonZeros + " of " + numFeatures);
        }
        return GeneratedRows.frame(spark, rows, seed, random -> row(random, numFeatures, nonZeros, skew));
    }

    /** One row: features and label. */
    static Row row(SplittableRandom random, int n, int nonZeros, double skew) {
        int[] indices = distinct(random, n, nonZeros, skew);
        double[] values = new double[nonZeros];
        double s = 0;
        for (int k = 0; k < nonZeros; k++) {
            values[k] = 1 + random.nextDouble();
            s += teacher(indices[k], n) * values[k];
        }
        double label = (s > 0) != (random.nextDouble() < 0.05) ? 1.0 : 0.0;
        return RowFactory.create(Vectors.sparse(n, indices, values), label);
    }

    /** {@code count} distinct indices of {@code 0..n−1}, {@code ⌊n·u^skew⌋} each, ascending. */
    private static int[] distinct(SplittableRandom random, int n, int count, double skew) {
        int[] indices = new int[count];
        int found = 0;
        while (found < count) {
            int candidate = skew == 1 ? random.nextInt(n) : (int) (n * Math.pow(random.nextDouble(), skew));
            boolean seen = false;
            for (int k = 0; k < found && !seen; k++) {
                seen = indices[k] == candidate;
            }
            if (!seen) {
                indices[found++] = candidate;
            }
        }
        Arrays.sort(indices);
        return indices;
    }

    /** The teacher's weight of feature {@code j} of {@code n}: {@code ±(1 + u)} for half the first {@code n/64}, or 0. */
    static double teacher(int j, int n) {
        if (j >= Math.max(16, n / 64)) {
            return 0.0;
        }
        long h = io.sparkprop.util.Hashing.murmurMix(j * 0x9E3779B97F4A7C15L + 0x243F6A8885A308D3L);
        if ((h & 1) != 0) {
            return 0.0;
        }
        double u = (h >>> 11) * 0x1.0p-53;
        return ((h >>> 1) & 1) == 0 ? 1 + u : -(1 + u);
    }
}
