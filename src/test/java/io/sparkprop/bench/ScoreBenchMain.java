package io.sparkprop.bench;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.sparkprop.data.IdxReader;
import io.sparkprop.ml.MlpClassificationModel;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Batch scoring against MLlib: {@code --rows} rows (1M by default) of 784 features — Fashion-MNIST's 60k
 * training images repeated — cached once, scored by a 784-256-128-10 network with sigmoid hidden layers
 * (the only kind MLlib has) and a softmax output holding the same weights in both libraries: our
 * {@link MlpClassificationModel#transform} (block-wise) against MLlib's
 * {@link MultilayerPerceptronClassificationModel#transform} (a column function per row), each writing all
 * of its output to Spark's {@code noop} sink, one warm-up pass on a slice and then the median of
 * {@code --reps} timed passes (default 2). The predictions are compared row by row (joined on a row id):
 * prediction mismatches and the largest absolute difference of the probabilities. Last line:
 * {@code result: score_speedup_vs_mllib=… max_abs_diff=…}.
 */
public final class ScoreBenchMain {
    private static final int[] LAYERS = {784, 256, 128, 10};
    private static final int PARTITIONS = 4;

    private ScoreBenchMain() {
    }

    public static void main(String[] args) {
        Path data = null;
        int rows = 1_000_000;
        int reps = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data":
                    data = Paths.get(args[++i]);
                    break;
                case "--rows":
                    rows = Integer.parseInt(args[++i]);
                    break;
                case "--reps":
                    reps = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("unknown option " + args[i]
                            + "; usage: jobs/bench score [--data DIR] [--rows N] [--reps N]");
                    System.exit(2);
            }
        }
        if (data == null) {
            System.err.println("--data DIR is required");
            System.exit(2);
        }
        double[][] images = IdxReader.readImages(data.resolve("train-images-idx3-ubyte.gz"), 1 / 255.0);
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-score")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            run(spark, images, rows, reps);
        } finally {
            spark.stop();
        }
    }

    private static void run(SparkSession spark, double[][] images, int rows, int reps) {
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features", SQLDataTypes.VectorType());
        int n = images.length;
        List<Vector> vectors = new ArrayList<>(n);
        for (double[] image : images) {
            vectors.add(Vectors.dense(image));
        }
        // the rows are made on the executors from the broadcast images: row i is image i mod 60000
        org.apache.spark.broadcast.Broadcast<List<Vector>> shared = new org.apache.spark.api.java.JavaSparkContext(
                spark.sparkContext()).broadcast(vectors);
        Dataset<Row> table = spark.createDataFrame(spark.range(0, rows, 1, PARTITIONS).javaRDD().map(
                id -> RowFactory.create(id, shared.value().get((int) (id % n)))), schema)
                .persist(StorageLevel.MEMORY_AND_DISK());
        long count = table.count();

        NetworkSpec spec = NetworkSpec.builder().input(LAYERS[0]).dense(LAYERS[1], Activation.SIGMOID)
                .dense(LAYERS[2], Activation.SIGMOID).dense(LAYERS[3], Activation.SOFTMAX).build();
        Parameters params = Parameters.initialise(spec, 11);
        MlpClassificationModel ours = MlpClassificationModel.fromParameters(params);
        MultilayerPerceptronClassificationModel theirs = new MultilayerPerceptronClassificationModel("mllib",
                Vectors.dense(mllibWeights(params)));
        theirs.set(theirs.layers(), LAYERS);

        Dataset<Row> warm = table.limit(20_000);
        time(ours, warm);
        time(theirs, warm);
        double[] ourSeconds = new double[reps];
        double[] theirSeconds = new double[reps];
        for (int r = 0; r < reps; r++) {
            ourSeconds[r] = time(ours, table);
            theirSeconds[r] = time(theirs, table);
        }
        double ourMedian = RoundCost.median(ourSeconds);
        double theirMedian = RoundCost.median(theirSeconds);

        // the predictions, row by row on a slice of every partition's rows
        Dataset<Row> sample = table.where("id % 97 = 0");
        Dataset<Row> a = ours.transform(sample).selectExpr("id", "prediction as p1", "probability as q1");
        Dataset<Row> b = theirs.transform(sample).selectExpr("id", "prediction as p2", "probability as q2");
        long mismatches = 0;
        double maxAbsDiff = 0;
        long compared = 0;
        for (Row row : a.join(b, "id").collectAsList()) {
            compared++;
            mismatches += row.getDouble(1) == row.getDouble(3) ? 0 : 1;
            double[] q1 = ((Vector) row.get(2)).toArray();
            double[] q2 = ((Vector) row.get(4)).toArray();
            for (int k = 0; k < q1.length; k++) {
                maxAbsDiff = Math.max(maxAbsDiff, Math.abs(q1[k] - q2[k]));
            }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%d rows of %d features in %d partitions (local[2]), network %s, sigmoid hidden "
                + "layers, one set of weights%n", count, LAYERS[0], PARTITIONS, Arrays.toString(LAYERS));
        System.out.printf(Locale.ROOT, "sparkprop transform: %.2f s (%.0f rows/s), per rep %s%n", ourMedian,
                count / ourMedian, Arrays.toString(ourSeconds));
        System.out.printf(Locale.ROOT, "MLlib transform:     %.2f s (%.0f rows/s), per rep %s%n", theirMedian,
                count / theirMedian, Arrays.toString(theirSeconds));
        System.out.printf(Locale.ROOT, "compared %d rows: %d predictions differ, largest probability difference %.3g%n",
                compared, mismatches, maxAbsDiff);
        System.out.printf(Locale.ROOT, "result: score_speedup_vs_mllib=%.2f max_abs_diff=%.3g%n",
                theirMedian / ourMedian, maxAbsDiff);
        table.unpersist();
    }

    /** Seconds to score {@code data} and write every output column to the {@code noop} sink. */
    private static double time(Model<?> model, Dataset<Row> data) {
        long t0 = System.nanoTime();
        model.transform(data).write().format("noop").mode("overwrite").save();
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * Our flat layout (per layer {@code W_l} row-major, then {@code b_l}) in MLlib's: per affine layer its
     * {@code n_l × n_{l-1}} weight matrix column-major, then its bias.
     */
    static double[] mllibWeights(Parameters p) {
        NetworkSpec spec = p.spec();
        double[] out = new double[p.size()];
        int at = 0;
        for (int l = 0; l < spec.numLayers(); l++) {
            int rows = spec.width(l);
            int cols = spec.fanIn(l);
            for (int j = 0; j < cols; j++) {
                for (int i = 0; i < rows; i++) {
                    out[at++] = p.values()[p.weightOffset(l) + i * cols + j];
                }
            }
            for (int i = 0; i < rows; i++) {
                out[at++] = p.values()[p.biasOffset(l) + i];
            }
        }
        return out;
    }
}
