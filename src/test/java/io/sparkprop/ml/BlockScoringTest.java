package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The models' block-wise {@code transform} against a forward pass written out here one row at a time
 * (plain loops, no kernel, no GEMM): the same values to 1e-12, every row in its order with its other
 * columns, across partitions of full blocks, a short last block, one row and none, dense and sparse rows.
 */
@ExtendWith(LocalSpark.class)
class BlockScoringTest {
    private static SparkSession spark;
    private static org.apache.spark.api.java.JavaSparkContext sc;
    private static final int FEATURES = 7;
    private static final double TOLERANCE = 1e-12;
    private static Dataset<Row> data;
    private static List<Row> rows;

    @BeforeAll
    static void start() {
        SplittableRandom random = new SplittableRandom(21);
        rows = new ArrayList<>();
        // 600 rows: partitions of 2 full blocks and a short one, of one block and one row, and an empty one
        for (int i = 0; i < 600; i++) {
            double[] x = new double[FEATURES];
            for (int k = 0; k < FEATURES; k++) {
                x[k] = random.nextDouble() < 0.3 ? 0.0 : 1e3 * random.nextGaussian() + (k == 2 ? 1.7e9 : 0);
            }
            Vector v = i % 3 == 0 ? Vectors.dense(x).toSparse() : Vectors.dense(x);
            rows.add(RowFactory.create((long) i, v, "row " + i));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features", SQLDataTypes.VectorType())
                .add("note", DataTypes.StringType);
        // 600 rows in partitions of 532 (two full blocks of 256 and a short one), 67, 1 and 0 rows: an RDD
        // union keeps the partitions of its parts, in order
        data = spark.createDataFrame(part(0, 532).union(part(532, 599)).union(part(599, 600)).union(part(0, 0)),
                schema).cache();
        assertEquals(4, data.rdd().getNumPartitions());
        data.count();
    }

    private static org.apache.spark.api.java.JavaRDD<Row> part(int from, int to) {
        return sc.parallelize(new ArrayList<>(rows.subList(from, to)), 1);
    }

    /** {@code a_L} (or {@code z_L} with {@code raw}) for one example, by plain loops over the flat layout. */
    private static double[] forward(Parameters p, double[] x, boolean raw) {
        NetworkSpec spec = p.spec();
        double[] a = x;
        for (int l = 0; l < spec.numLayers(); l++) {
            double[] z = new double[spec.width(l)];
            for (int i = 0; i < z.length; i++) {
                double s = p.values()[p.biasOffset(l) + i];
                for (int j = 0; j < a.length; j++) {
                    s += p.values()[p.weightOffset(l) + i * a.length + j] * a[j];
                }
                z[i] = s;
            }
            boolean output = l == spec.numLayers() - 1;
            if (!(output && raw)) {
                Activation f = spec.activation(l);
                if (f == Activation.SOFTMAX) {
                    z = MlpClassificationModel.softmax(z);
                } else {
                    for (int i = 0; i < z.length; i++) {
                        z[i] = f == Activation.TANH ? Math.tanh(z[i]) : f == Activation.RELU ? Math.max(0, z[i])
                                : f == Activation.SIGMOID ? 1 / (1 + Math.exp(-z[i])) : z[i];
                    }
                }
            }
            a = z;
        }
        return a;
    }

    private static Parameters randomParameters(NetworkSpec spec, long seed) {
        Parameters p = Parameters.initialise(spec, seed);
        // features of 1e3 and one of 1.7e9: small weights keep the activations off saturation
        p.scaleInPlace(1e-4);
        p.values()[p.weightOffset(0) + 2] = 1e-9;
        return p;
    }

    private static void assertClose(double[] expected, double[] found, String what) {
        assertEquals(expected.length, found.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], found[i], TOLERANCE * Math.max(1, Math.abs(expected[i])), what + "[" + i + "]");
        }
    }

    @Test
    void classifierScoresEveryRowInItsOrderWithItsColumns() {
        NetworkSpec spec = NetworkSpec.of(FEATURES, new int[] {9, 5}, Activation.TANH, 4, Activation.SOFTMAX,
                Loss.SOFTMAX_CROSS_ENTROPY);
        Parameters p = randomParameters(spec, 3);
        MlpClassificationModel model = new MlpClassificationModel("m", p, null);
        Dataset<Row> scored = model.transform(data);
        assertEquals(Arrays.asList("id", "features", "note", "rawPrediction", "probability", "prediction"),
                Arrays.asList(scored.columns()));
        List<Row> out = scored.collectAsList();
        List<Row> in = data.collectAsList();
        assertEquals(in.size(), out.size());
        for (int r = 0; r < out.size(); r++) {
            Row row = out.get(r);
            assertEquals(in.get(r).getLong(0), row.getLong(0), "rows keep their order");
            long id = row.getLong(0);
            assertEquals(rows.get((int) id).get(1), row.get(1));
            assertEquals("row " + id, row.getString(2));
            double[] x = ((Vector) row.get(1)).toArray();
            double[] raw = forward(p, x, true);
            assertClose(raw, ((Vector) row.get(3)).toArray(), "raw " + id);
            assertClose(forward(p, x, false), ((Vector) row.get(4)).toArray(), "probability " + id);
            assertEquals(MlpClassificationModel.argmax(raw), row.getDouble(5));
            assertEquals(model.predict((Vector) row.get(1)), row.getDouble(5), "the single-row predict agrees");
        }
    }

    @Test
    void regressorScoresScalarAndVectorLabels() {
        NetworkSpec one = NetworkSpec.of(FEATURES, new int[] {6}, Activation.RELU, 1, Activation.IDENTITY,
                Loss.HALF_SQUARED_ERROR);
        NetworkSpec three = NetworkSpec.of(FEATURES, new int[] {6}, Activation.SIGMOID, 3, Activation.IDENTITY,
                Loss.HALF_SQUARED_ERROR);
        Parameters p1 = randomParameters(one, 5);
        Parameters p3 = randomParameters(three, 6);
        List<Row> scalar = new MlpRegressionModel("r1", p1, null, false).transform(data).collectAsList();
        List<Row> vector = new MlpRegressionModel("r3", p3, null, true).transform(data).collectAsList();
        for (int r = 0; r < scalar.size(); r++) {
            double[] x = ((Vector) scalar.get(r).get(1)).toArray();
            assertClose(forward(p1, x, false), new double[] {scalar.get(r).getDouble(3)}, "scalar");
            assertClose(forward(p3, x, false), ((Vector) vector.get(r).get(3)).toArray(), "vector");
        }
    }

    @Test
    void ridgeScoresAsItsSingleRowPredict() {
        SplittableRandom random = new SplittableRandom(8);
        org.ejml.data.DMatrixRMaj w = new org.ejml.data.DMatrixRMaj(2, FEATURES);
        for (int i = 0; i < w.data.length; i++) {
            w.data[i] = random.nextGaussian();
        }
        double[] b = {3.5, -1e4};
        RidgeRegressionModel model = new RidgeRegressionModel("ridge", w, b, true, null);
        List<Row> out = model.transform(data).collectAsList();
        for (Row row : out) {
            double[] x = ((Vector) row.get(1)).toArray();
            double[] expected = new double[2];
            for (int k = 0; k < 2; k++) {
                double s = b[k];
                for (int j = 0; j < FEATURES; j++) {
                    s += w.get(k, j) * x[j];
                }
                expected[k] = s;
            }
            // the timestamp-sized feature makes ŷ ≈ 1e9: 1e-12 relative of that
            double[] found = ((Vector) row.get(3)).toArray();
            for (int k = 0; k < 2; k++) {
                assertEquals(expected[k], found[k], TOLERANCE * Math.abs(expected[k]));
            }
            assertArrayEquals(model.predict((Vector) row.get(1)).toArray(), found, 1e-12 * Math.abs(found[0]) + 1e-3);
        }
    }

    @Test
    void aRowOfAnotherWidthFailsNamingBoth() {
        NetworkSpec spec = NetworkSpec.of(FEATURES + 1, new int[0], Activation.RELU, 1, Activation.IDENTITY,
                Loss.HALF_SQUARED_ERROR);
        MlpRegressionModel model = new MlpRegressionModel("r", Parameters.zeros(spec), null, false);
        Exception e = assertThrows(Exception.class, () -> model.transform(data).collect());
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
            cause = cause.getCause();
        }
        assertEquals("expected 8 features, found 7; the model was trained on 8", cause.getMessage());
    }

    /**
     * Wide sparse rows (20,000 features, 8 non-zeros each) are scored from sparse blocks — a dense block would
     * be 256 × 20,000 doubles — with the same values as the plain-loop forward pass, by the classifier and ridge.
     */
    @Test
    void wideSparseRowsAreScoredFromSparseBlocks() {
        int wide = 20_000;
        SplittableRandom random = new SplittableRandom(23);
        List<Row> sparseRows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            java.util.TreeMap<Integer, Double> entries = new java.util.TreeMap<>();
            while (entries.size() < 8) {
                entries.put(random.nextInt(wide), random.nextGaussian());
            }
            int[] idx = entries.keySet().stream().mapToInt(Integer::intValue).toArray();
            double[] val = entries.values().stream().mapToDouble(Double::doubleValue).toArray();
            sparseRows.add(RowFactory.create((long) i, Vectors.sparse(wide, idx, val), "row " + i));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features", SQLDataTypes.VectorType())
                .add("note", DataTypes.StringType);
        Dataset<Row> frame = spark.createDataFrame(sc.parallelize(sparseRows, 2), schema);
        NetworkSpec spec = NetworkSpec.of(wide, new int[] {5}, Activation.RELU, 3, Activation.SOFTMAX,
                Loss.SOFTMAX_CROSS_ENTROPY);
        Parameters p = Parameters.initialise(spec, 4);
        MlpClassificationModel model = new MlpClassificationModel("wide", p, null);
        org.ejml.data.DMatrixRMaj w = new org.ejml.data.DMatrixRMaj(1, wide);
        for (int i = 0; i < wide; i++) {
            w.data[i] = random.nextGaussian();
        }
        RidgeRegressionModel ridge = new RidgeRegressionModel("ridge", w, new double[] {0.25}, false, null);
        List<Row> scored = model.transform(frame).collectAsList();
        List<Row> linear = ridge.transform(frame).collectAsList();
        for (int r = 0; r < scored.size(); r++) {
            Vector v = (Vector) scored.get(r).get(1);
            double[] x = v.toArray();
            assertClose(forward(p, x, true), ((Vector) scored.get(r).get(3)).toArray(), "raw " + r);
            assertClose(forward(p, x, false), ((Vector) scored.get(r).get(4)).toArray(), "probability " + r);
            assertEquals(model.predict(v), scored.get(r).getDouble(5), "the single-row predict agrees");
            double expected = 0.25;
            for (int j = 0; j < wide; j++) {
                expected += w.data[j] * x[j];
            }
            assertEquals(expected, linear.get(r).getDouble(3), TOLERANCE * Math.max(1, Math.abs(expected)), "ridge " + r);
        }
    }
}
