package io.sparkprop.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import io.sparkprop.ml.MlpClassifier;
import io.sparkprop.ml.MlpModel;
import io.sparkprop.ml.MlpRegressor;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code localSteps = auto} against synchronous SGD on small real tables, through the Spark ML estimators with
 * their defaults and nothing else set but {@code maxEpochs}: for every table, seeds 1–3 of an 80/20 split, the
 * features scaled to unit variance (Spark's {@code StandardScaler} fitted on the training rows), fits of 10
 * (the default), 100 and 300 epochs with the defaults and with {@code localSteps = 1}; the test accuracy
 * (classification) or r² (regression), the mean over the seeds, the {@code k} auto chose and the fit times.
 *
 * <p>Tables are CSV or whitespace-separated files, one row a line, the label or target last; lines that are not
 * all numbers (headers) are skipped. Options: {@code --classification FILE} and {@code --regression FILE} (each
 * repeatable), {@code --epochs LIST} (10,100,300), {@code --quick} (seed 1 only; 10 and 100 epochs). Ends with {@code result: worst_gap_points=…
 * worst=…}: the largest mean score by which auto fell short of synchronous SGD, in percentage points (of
 * accuracy, or of r² × 100).
 */
public final class AutoStepsBenchMain {
    private AutoStepsBenchMain() {
    }

    public static void main(String[] args) {
        List<Path> classification = new ArrayList<>();
        List<Path> regression = new ArrayList<>();
        boolean quick = false;
        int[] epochList = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--classification" -> classification.add(Paths.get(args[++i]));
                case "--regression" -> regression.add(Paths.get(args[++i]));
                case "--quick" -> quick = true;
                case "--epochs" -> epochList = java.util.Arrays.stream(args[++i].split(","))
                        .mapToInt(v -> Integer.parseInt(v.trim())).toArray();
                default -> {
                    System.err.println("unknown option " + args[i] + "\nusage: jobs/bench autosteps "
                            + "[--classification FILE]... [--regression FILE]... [--epochs LIST] [--quick]");
                    System.exit(2);
                }
            }
        }
        if (classification.isEmpty() && regression.isEmpty()) {
            System.err.println("usage: jobs/bench autosteps [--classification FILE]... [--regression FILE]... [--quick]");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-autosteps")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        int[] seeds = quick ? new int[] {1} : new int[] {1, 2, 3};
        int[] epochs = epochList != null ? epochList : quick ? new int[] {10, 100} : new int[] {10, 100, 300};
        double worst = Double.NEGATIVE_INFINITY;
        String worstAt = "";
        try {
            List<Path> all = new ArrayList<>(classification);
            all.addAll(regression);
            for (Path table : all) {
                boolean classify = classification.contains(table);
                List<double[]> rows = read(table);
                for (int e : epochs) {
                    double[] auto = new double[seeds.length];
                    double[] sync = new double[seeds.length];
                    double autoSeconds = 0;
                    double syncSeconds = 0;
                    int k = -1;
                    int autoEpochs = 0;
                    int syncEpochs = 0;
                    for (int s = 0; s < seeds.length; s++) {
                        Dataset<Row>[] split = split(spark, rows, seeds[s]);
                        for (boolean synchronous : new boolean[] {false, true}) {
                            long t0 = System.nanoTime();
                            Model<?> model = fit(classify, split[0], e, synchronous);
                            double seconds = (System.nanoTime() - t0) / 1e9;
                            double score = score(classify, model.transform(split[1]));
                            if (synchronous) {
                                sync[s] = score;
                                syncSeconds += seconds;
                                syncEpochs = ((MlpModel<?>) model).summary().totalEpochs();
                            } else {
                                autoEpochs = ((MlpModel<?>) model).summary().totalEpochs();
                                auto[s] = score;
                                autoSeconds += seconds;
                                k = ((MlpModel<?>) model).summary().localSteps();
                            }
                        }
                        split[0].unpersist();
                        split[1].unpersist();
                    }
                    double gap = 100 * (mean(sync) - mean(auto));
                    String name = table.getFileName() + ", " + e + " epochs";
                    System.out.printf(Locale.ROOT, "%s (%d rows): %s auto (k = %d, %d epochs run) %.4f in %.1f s, "
                                    + "localSteps 1 (%d epochs run) %.4f in %.1f s -> auto short by %.2f points%n", name,
                            rows.size(), classify ? "accuracy" : "r2", k, autoEpochs, mean(auto), autoSeconds / seeds.length,
                            syncEpochs, mean(sync), syncSeconds / seeds.length, gap);
                    if (gap > worst) {
                        worst = gap;
                        worstAt = name.replace(' ', '_').replace(",", "");
                    }
                }
            }
        } finally {
            spark.stop();
        }
        System.out.printf(Locale.ROOT, "result: worst_gap_points=%.2f worst=%s%n", worst, worstAt);
    }

    private static Model<?> fit(boolean classify, Dataset<Row> train, int epochs, boolean synchronous) {
        if (classify) {
            MlpClassifier c = new MlpClassifier().setFeaturesCol("scaled").setMaxEpochs(epochs);
            return (synchronous ? c.setLocalSteps(1) : c).fit(train);
        }
        MlpRegressor r = new MlpRegressor().setFeaturesCol("scaled").setMaxEpochs(epochs);
        return (synchronous ? r.setLocalSteps(1) : r).fit(train);
    }

    private static double score(boolean classify, Dataset<Row> scored) {
        return classify ? new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(scored)
                : new RegressionEvaluator().setMetricName("r2").evaluate(scored);
    }

    /** An 80/20 split shuffled by {@code seed}, the features scaled by the training rows' mean and deviation. */
    @SuppressWarnings("unchecked")
    private static Dataset<Row>[] split(SparkSession spark, List<double[]> rows, int seed) {
        List<double[]> shuffled = new ArrayList<>(rows);
        Collections.shuffle(shuffled, new Random(seed));
        int cut = (int) Math.round(0.8 * shuffled.size());
        StructType schema = new StructType().add("label", DataTypes.DoubleType)
                .add("features", SQLDataTypes.VectorType());
        Dataset<Row> train = frame(spark, shuffled.subList(0, cut), schema);
        Dataset<Row> test = frame(spark, shuffled.subList(cut, shuffled.size()), schema);
        StandardScalerModel scaler = new StandardScaler().setInputCol("features").setOutputCol("scaled")
                .setWithMean(true).setWithStd(true).fit(train);
        Dataset<Row> a = scaler.transform(train).repartition(2).cache();
        Dataset<Row> b = scaler.transform(test).cache();
        a.count();
        b.count();
        return new Dataset[] {a, b};
    }

    private static Dataset<Row> frame(SparkSession spark, List<double[]> rows, StructType schema) {
        List<Row> out = new ArrayList<>(rows.size());
        for (double[] r : rows) {
            double[] x = java.util.Arrays.copyOf(r, r.length - 1);
            out.add(RowFactory.create(r[r.length - 1], Vectors.dense(x)));
        }
        return spark.createDataFrame(out, schema);
    }

    /** The rows of numbers of the table's most common width (header lines are not rows of numbers, or shorter). */
    private static List<double[]> read(Path table) {
        List<double[]> rows = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(table)) {
                String[] fields = line.trim().split("[,\\s]+");
                double[] row = new double[fields.length];
                boolean numbers = fields.length > 1;
                for (int i = 0; i < fields.length && numbers; i++) {
                    try {
                        row[i] = Double.parseDouble(fields[i]);
                    } catch (NumberFormatException e) {
                        numbers = false;
                    }
                }
                if (numbers) {
                    rows.add(row);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        java.util.Map<Integer, Long> widths = rows.stream().collect(java.util.stream.Collectors.groupingBy(
                r -> r.length, java.util.stream.Collectors.counting()));
        int width = widths.entrySet().stream().max(java.util.Map.Entry.comparingByValue())
                .orElseThrow(() -> new IllegalArgumentException(table + " has no rows of numbers")).getKey();
        rows.removeIf(r -> r.length != width);
        return rows;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }
}
