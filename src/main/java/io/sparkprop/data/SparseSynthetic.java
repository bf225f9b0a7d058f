package io.sparkprop.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Generated wide sparse classification data, shaped like hashed text: each row has {@code nonZeros}
 * distinct features drawn uniformly from {@code 0..n−1}, with values in {@code [1, 2)} (term-frequency-like),
 * stored as a {@code SparseVector}. The label comes from a sparse linear teacher through a threshold: one
 * feature in eight carries a weight {@code β_j = ±(1 + u)} (chosen by a hash of {@code j}, so the teacher is
 * the same on every executor without being shipped), {@code s = Σ_j β_j x_j}, and the label is 1 when
 * {@code s > 0}, flipped for 5 % of the rows (label noise) — two classes of about equal size; a row with no
 * teacher feature has {@code s = 0} and label 0 (before the flip).
 *
 * <p>Rows are generated on the executors from the seed, in slices of {@value #SLICE} rows, so the data are
 * the same on any cluster.
 */
public final class SparseSynthetic {
    /** Rows per generated partition. */
    public static final int SLICE = 50_000;

    private static final StructType SCHEMA = new StructType().add("features", SQLDataTypes.VectorType())
            .add("label", DataTypes.DoubleType);

    private SparseSynthetic() {
    }

    /**
     * {@code rows} rows of {@code numFeatures} features, {@code nonZeros} of them non-zero, labels 0 or 1.
     *
     * @throws IllegalArgumentException unless {@code 0 < nonZeros ≤ numFeatures} and {@code rows > 0}
     */
    public static Dataset<Row> frame(SparkSession spark, int rows, int numFeatures, int nonZeros, long seed) {
        if (rows <= 0 || nonZeros <= 0 || nonZeros > numFeatures) {
            throw new IllegalArgumentException("expected rows > 0 and 0 < nonZeros <= features, found " + rows
                    + " rows, " + nonZeros + " non-zeros of " + numFeatures + " features");
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int partitions = (rows + SLICE - 1) / SLICE;
        List<Integer> parts = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            parts.add(p);
        }
        JavaRDD<Row> data = sc.parallelize(parts, partitions).flatMap(p -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + p);
            int count = rows / partitions + (p < rows % partitions ? 1 : 0);
            List<Row> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                out.add(row(random, numFeatures, nonZeros));
            }
            return out.iterator();
        });
        return spark.createDataFrame(data, SCHEMA);
    }

    /** One row: features and label. */
    static Row row(SplittableRandom random, int n, int nonZeros) {
        int[] indices = distinct(random, n, nonZeros);
        double[] values = new double[nonZeros];
        double s = 0;
        for (int k = 0; k < nonZeros; k++) {
            values[k] = 1 + random.nextDouble();
            s += teacher(indices[k]) * values[k];
        }
        double label = (s > 0) != (random.nextDouble() < 0.05) ? 1.0 : 0.0;
        return RowFactory.create(Vectors.sparse(n, indices, values), label);
    }

    /** {@code count} distinct indices of {@code 0..n−1}, ascending. */
    private static int[] distinct(SplittableRandom random, int n, int count) {
        int[] indices = new int[count];
        int found = 0;
        while (found < count) {
            int candidate = random.nextInt(n);
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

    /** The teacher's weight of feature {@code j}: 0 for seven features in eight, else {@code ±(1 + u)}. */
    static double teacher(int j) {
        long h = mix(j * 0x9E3779B97F4A7C15L + 0x243F6A8885A308D3L);
        if ((h & 7) != 0) {
            return 0.0;
        }
        double u = (h >>> 11) * 0x1.0p-53;
        return ((h >>> 3) & 1) == 0 ? 1 + u : -(1 + u);
    }

    /** MurmurHash3's 64-bit finaliser. */
    private static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
