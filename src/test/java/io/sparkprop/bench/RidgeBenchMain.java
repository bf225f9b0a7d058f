package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import io.sparkprop.ridge.RidgeSolver;
import io.sparkprop.ridge.RidgeSolution;
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
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Closed-form ridge against Spark MLlib's {@code LinearRegression(solver="normal")} on the same cached
 * synthetic DataFrames (4 partitions, fixed seeds), {@code local[2]}: 1,000,000 × 100 and
 * 200,000 × 1,000. After one untimed fit of each, each fit is timed {@code --reps} times (default 3; median
 * reported), alternating the two; the ratio of
 * medians is ours over MLlib's, and the coefficients are compared (MLlib's {@code regParam = λ·σ_y}).
 * Last line: {@code result: time_vs_mllib=<worse of the two ratios> max_rel_diff=<largest relative
 * coefficient difference>}. Options: {@code --quick} (a tenth of the rows, 1 repetition), {@code --reps N},
 * {@code --block N} (rows per block of the statistics pass; default the solver's).
 */
public final class RidgeBenchMain {
    private static final int PARTITIONS = 4;
    private static final double LAMBDA = 1e-3;

    private RidgeBenchMain() {
    }

    public static void main(String[] args) {
        boolean quick = false;
        int reps = 3;
        int block = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick":
                    quick = true;
                    reps = 1;
                    break;
                case "--reps":
                    reps = Integer.parseInt(args[++i]);
                    break;
                case "--block":
                    block = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("unknown option " + args[i] + "\nusage: jobs/bench ridge [--quick] [--reps N] [--block N]");
                    System.exit(2);
            }
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-ridge")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            int scale = quick ? 10 : 1;
            double worstRatio = 0;
            double worstDiff = 0;
            for (int[] size : new int[][] {{1_000_000 / scale, 100}, {200_000 / scale, 1000}}) {
                double[] r = compare(spark, size[0], size[1], reps, block);
                worstRatio = Math.max(worstRatio, r[0]);
                worstDiff = Math.max(worstDiff, r[1]);
            }
            System.out.printf(Locale.ROOT, "result: time_vs_mllib=%.3f max_rel_diff=%.2e%n", worstRatio, worstDiff);
        } finally {
            spark.stop();
        }
    }

    /** A cached DataFrame of {@code rows} examples {@code y = x·β + 1 + noise}, generated on the executors. */
    private static Dataset<Row> synthetic(SparkSession spark, int rows, int n) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> parts = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            parts.add(p);
        }
        JavaRDD<Row> data = sc.parallelize(parts, PARTITIONS).flatMap(p -> {
            SplittableRandom random = new SplittableRandom(1000L * n + p);
            int count = rows / PARTITIONS + (p < rows % PARTITIONS ? 1 : 0);
            List<Row> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                double[] x = new double[n];
                double y = 1.0;
                for (int j = 0; j < n; j++) {
                    x[j] = random.nextDouble() * 2 - 1 + 0.1 * j / n;
                    y += Math.cos(j) * x[j];
                }
                out.add(RowFactory.create(Vectors.dense(x), y + 0.1 * (random.nextDouble() - 0.5)));
            }
            return out.iterator();
        });
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        Dataset<Row> df = spark.createDataFrame(data, schema).cache();
        df.count();
        return df;
    }

    private static double[] compare(SparkSession spark, int rows, int n, int reps, int block) {
        Dataset<Row> df = synthetic(spark, rows, n);
        double sigmaY = df.agg(functions.stddev_pop("label")).first().getDouble(0);
        double[] ours = new double[reps];
        double[] theirs = new double[reps];
        RidgeSolution solution = null;
        LinearRegressionModel mllib = null;
        RidgeSolver ridge = new RidgeSolver().setRegParam(LAMBDA);
        if (block > 0) {
            ridge.setBlockSize(block);
        }
        // one untimed fit of each first: class loading and the JIT, for both
        ridge.fit(df, "features", "label", null);
        new LinearRegression().setSolver("normal").setRegParam(LAMBDA * sigmaY).setElasticNetParam(0)
                .setStandardization(false).fit(df);
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            solution = ridge.fit(df, "features", "label", null);
            ours[r] = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            mllib = new LinearRegression().setSolver("normal").setRegParam(LAMBDA * sigmaY).setElasticNetParam(0)
                    .setStandardization(false).fit(df);
            theirs[r] = (System.nanoTime() - t0) / 1e9;
        }
        double[] expected = Arrays.copyOf(mllib.coefficients().toArray(), n + 1);
        expected[n] = mllib.intercept();
        double[] actual = Arrays.copyOf(solution.coefficients(0), n + 1);
        actual[n] = solution.intercepts()[0];
        double diff = 0;
        double norm = 0;
        for (int j = 0; j <= n; j++) {
            diff = Math.max(diff, Math.abs(expected[j] - actual[j]));
            norm = Math.max(norm, Math.abs(expected[j]));
        }
        double ratio = RoundCost.median(ours) / RoundCost.median(theirs);
        System.out.printf(Locale.ROOT, "%d x %d: sparkprop normal %.2f s (pass %.2f s, solve %.3f s), MLlib normal %.2f s "
                        + "-> ratio %.3f; max relative coefficient difference %.2e%n    runs: sparkprop %s, MLlib %s%n",
                rows, n, RoundCost.median(ours), solution.passMillis() / 1e3, solution.solveMillis() / 1e3, RoundCost.median(theirs), ratio,
                diff / norm, Arrays.toString(ours), Arrays.toString(theirs));
        df.unpersist(true);
        return new double[] {ratio, diff / norm};
    }
}
