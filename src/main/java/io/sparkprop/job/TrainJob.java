package io.sparkprop.job;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkprop.exec.ShardPacker;
import io.sparkprop.ml.MlpClassificationModel;
import io.sparkprop.ml.MlpClassifier;
import io.sparkprop.ml.MlpEstimator;
import io.sparkprop.ml.MlpModel;
import io.sparkprop.ml.MlpRegressor;
import io.sparkprop.ml.MlpTrainingSummary;
import io.sparkprop.ml.RidgeRegression;
import io.sparkprop.ml.RidgeRegressionModel;
import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.TrainingDivergedException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training job behind {@code jobs/train CONF} and {@code jobs/submit … CONF}: reads a
 * {@link JobConfig}, the data, splits it (test, validation), fits a Pipeline (optional standard
 * scaling, then the configured estimator), evaluates it on the test rows, and writes to
 * {@code output.dir}: {@code model/} (a Spark ML PipelineModel), with {@code output.onnx} {@code model.onnx},
 * {@code metrics.json},
 * {@code report.html} and, for MLPs, {@code history.csv}, {@code loss.png}, {@code accuracy.png} and
 * {@code step-size.png}.
 * Everything is written to a temporary sibling folder ({@code .NAME.tmp-UUID}) first and renamed at
 * the end, so a failed or killed run leaves no half-written output; the temporary folders a killed
 * run leaves behind are removed by the next run to the same {@code output.dir}.
 */
public final class TrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(TrainJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainJob() {
    }

    /** {@code TrainJob CONF}: exits 0 on success, 2 on a bad config or data, 1 on any other failure. */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: jobs/train CONF.properties   (or: spark-submit --class " + TrainJob.class.getName()
                    + " sparkprop.jar CONF.properties)");
            System.exit(2);
        }
        int code;
        try {
            JobConfig config = JobConfig.load(Paths.get(args[0]));
            // before Spark starts: a run must not train for an hour to find it cannot write its outputs
            checkOutputCreatable(config.string("output.dir"));
            SparkSession spark = session(config);
            try {
                Map<String, Object> metrics = run(config, spark);
                System.out.println("sparkprop: done; " + headline(metrics) + "; outputs in "
                        + config.string("output.dir"));
                code = 0;
            } finally {
                spark.stop();
            }
        } catch (IllegalArgumentException | TrainingDivergedException e) {
            System.err.println("sparkprop: " + e.getMessage());
            pointToTheLog();
            code = 2;
        } catch (Exception e) { // Spark's AnalysisException (e.g. a missing path) is checked, and undeclared
            System.err.println("sparkprop: the job failed: " + e.getMessage());
            pointToTheLog();
            code = e instanceof org.apache.spark.sql.AnalysisException ? 2 : 1;
        }
        System.exit(code);
    }

    /**
     * Where the full log went, when the launcher keeps one ({@code jobs/train} sends Spark's task
     * failures and their stack traces there, and only one line per failure to the console).
     */
    private static void pointToTheLog() {
        String log = System.getProperty("sparkprop.logFile");
        if (log != null && !log.isEmpty()) {
            System.err.println("sparkprop: the full log, with Spark's stack traces, is in " + log);
        }
    }

    /**
     * Refuses an {@code output.dir} on the local file system that cannot be created: beneath a file, or
     * in a folder that cannot be written. Paths on other file systems are not checked here.
     *
     * @throws IllegalArgumentException naming the path in the way
     */
    static void checkOutputCreatable(String outputDir) {
        java.net.URI uri = new Path(outputDir).toUri();
        if (uri.getScheme() != null && !uri.getScheme().equals("file")) {
            return;
        }
        java.nio.file.Path target = Paths.get(uri.getPath()).toAbsolutePath();
        if (java.nio.file.Files.isRegularFile(target)) {
            throw new IllegalArgumentException("output.dir " + outputDir + " is a file: choose a folder");
        }
        java.nio.file.Path existing = target;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        if (!java.nio.file.Files.isDirectory(existing)) {
            throw new IllegalArgumentException("output.dir " + outputDir + " cannot be created: " + existing
                    + " is a file, not a folder");
        }
        if (!java.nio.file.Files.isWritable(existing)) {
            throw new IllegalArgumentException("output.dir " + outputDir + " cannot be created: " + existing
                    + " is not writable");
        }
    }

    /**
     * Spark settings a job's session takes unless the job file or {@code spark-submit} name them (README, "Spark
     * settings that matter"): a task's gradient above {@code spark.task.maxDirectResultSize} (1 MB by default) would
     * return through the block manager; and every round broadcasts parameters (or a first layer's changed rows),
     * doubles that lz4 does not shrink (42 MB of them compress to 1.001 of their size), which Spark would compress
     * on the driver and decompress on every executor each round. Immutable; the benches' sessions read it too.
     */
    public static final Map<String, String> SPARK_DEFAULTS = Map.of(
            "spark.task.maxDirectResultSize", "64m",
            "spark.broadcast.compress", "false");

    /** The Spark session: the master of spark-submit when there is one, else {@code spark.master}. */
    static SparkSession session(JobConfig config) {
        SparkConf submitted = new SparkConf();
        SparkSession.Builder builder = SparkSession.builder().appName("sparkprop " + config.string("model.type"));
        if (!submitted.contains("spark.master")) {
            builder.master(config.string("spark.master"));
        }
        sparkSettings(config, submitted).forEach(builder::config);
        return builder.getOrCreate();
    }

    /**
     * What a job's session is given: {@link #SPARK_DEFAULTS} where neither {@code submitted} (spark-submit's
     * {@code --conf}, or {@code -Dspark.…} of the JVM) nor the job file names the key, then the job file's
     * {@code spark.*} keys.
     */
    static Map<String, String> sparkSettings(JobConfig config, SparkConf submitted) {
        Map<String, String> settings = new TreeMap<>();
        SPARK_DEFAULTS.forEach((key, value) -> {
            if (!submitted.contains(key)) {
                settings.put(key, value);
            }
        });
        settings.putAll(config.sparkConf());
        return settings;
    }

    /**
     * Runs the job in {@code spark} and returns the metrics it wrote.
     *
     * @throws IllegalArgumentException on bad data, an existing output folder (without
     *                                  {@code output.overwrite}) and the like, with what to change
     */
    public static Map<String, Object> run(JobConfig c, SparkSession spark) {
        checkOutputCreatable(c.string("output.dir"));
        Path output = new Path(c.string("output.dir"));
        FileSystem fs;
        try {
            fs = output.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (fs.exists(output) && !c.bool("output.overwrite")) {
                throw new IllegalArgumentException("output.dir " + output + " exists; set output.overwrite=true or "
                        + "choose another folder");
            }
            removeStaleTemporaryFolders(fs, output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check output.dir " + output + ": " + e.getMessage(), e);
        }
        Dataset<Row>[] data = JobData.read(spark, c);
        long seed = c.longValue("split.seed");
        int partitions = c.integer("spark.partitions") > 0 ? c.integer("spark.partitions")
                : spark.sparkContext().defaultParallelism();
        Dataset<Row> all = data[0];
        Dataset<Row> train;
        Dataset<Row> test;
        double validation = c.real("split.validation");
        // The source is read once: its rows are marked (test, validation) and repartitioned in one shuffle, and
        // every later job — the checks, packing the training and validation data, the counts, scoring the test
        // set — reads that shuffle's output on the executors' disks through the same RDD, whose stage Spark runs
        // once. No copy of the rows is cached: the fit packs its own blocks (README, "Data larger than memory").
        if (data[1] == null) {
            Dataset<Row> marked = once(spark, markSplit(spark, all, c.real("split.test"), validation, seed)
                    .repartition(partitions));
            train = marked.filter(functions.not(functions.col(TEST_MARK))).drop(TEST_MARK);
            test = marked.filter(functions.col(TEST_MARK)).drop(TEST_MARK, "isValidation");
        } else {
            train = once(spark, all.withColumn("isValidation", functions.rand(seed + 1).lt(validation))
                    .repartition(partitions));
            test = once(spark, data[1].repartition(partitions));
        }
        if (train.isEmpty()) {
            throw new IllegalArgumentException("the training data is empty (data.format "
                    + c.string("data.format") + ", data.path '" + c.string("data.path") + "')");
        }
        String type = c.string("model.type");
        boolean scale = c.string("data.scale").equals("standard");
        PipelineStage estimator = estimator(c, type, validation > 0, scale ? "scaled" : "features");
        PipelineStage[] stages = scale
                ? new PipelineStage[] {new StandardScaler().setInputCol("features").setOutputCol("scaled")
                        .setWithMean(false), estimator}
                : new PipelineStage[] {estimator};
        long start = System.nanoTime();
        PipelineModel model;
        try {
            model = new Pipeline().setStages(stages).fit(train);
        } catch (IllegalArgumentException e) {
            // the packer names a feature's index and a row's place in its partition; the job knows the
            // columns and the files, so it looks up the first bad row where a user can find it
            String found = e.getMessage() != null && e.getMessage().contains(ShardPacker.NON_FINITE_ADVICE)
                    ? JobData.describeFirstNonFiniteRow(spark, c) : null;
            throw found == null ? e : new IllegalArgumentException(found, e);
        }
        double fitSeconds = (System.nanoTime() - start) / 1e9;
        Transformer fitted = model.stages()[model.stages().length - 1];

        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("model", type);
        metrics.put("trainExamples", train.count());
        metrics.put("testExamples", test.count());
        metrics.put("fitSeconds", fitSeconds);
        if (fitted instanceof MlpModel) {
            MlpTrainingSummary summary = ((MlpModel<?>) fitted).summary();
            metrics.put("gemm", summary.gemm());
            metrics.put("bitsPortable", summary.bitsPortable());
            metrics.put("precision", summary.precision());
            metrics.put("localSteps", summary.localSteps());
        } else if (fitted instanceof RidgeRegressionModel) {
            metrics.put("gemm", ((RidgeRegressionModel) fitted).summary().gemm());
            metrics.put("precision", ((RidgeRegressionModel) fitted).summary().precision());
        }
        Dataset<Row> scored = model.transform(test);
        metrics.put("test", type.equals("mlp-classifier")
                ? classification(scored, ((MlpClassificationModel) fitted).numClasses()) : regression(scored));
        metrics.put("config", c.values());

        writeOutputs(fs, output, model, fitted, metrics, c);
        return metrics;
    }

    /** The column that marks the rows held out as the test set when there is no separate test data. */
    private static final String TEST_MARK = "sparkprop_isTest";

    /**
     * {@code all} with two columns, {@link #TEST_MARK} and {@code isValidation}, in one pass: the rows
     * {@code all.randomSplit(new double[] {1 − test, test}, seed)} puts in its second split are the test rows, and
     * of the others those that {@code rand(seed + 1) < validation} draws over the first split are the validation
     * rows — the same rows, bit for bit, as those two Spark calls pick, without reading {@code all} once per split.
     * As Spark does (its {@code Dataset.randomSplit} and {@code Rand}): each partition sorted by all its columns,
     * then for each row in that order one draw of {@code XORShiftRandom(seed + partition)} that falls in
     * {@code [0, w₀)} (training) or {@code [w₀, w₀ + w₁)} (test), with {@code w} the weights over their sum, and
     * for a training row one draw of {@code XORShiftRandom(seed + 1 + partition)} against {@code validation}.
     */
    static Dataset<Row> markSplit(SparkSession spark, Dataset<Row> all, double test, double validation, long seed) {
        double sum = (1 - test) + test;
        double trainEnd = 0.0 + (1 - test) / sum;
        double testEnd = trainEnd + test / sum;
        org.apache.spark.sql.Column[] columns = java.util.Arrays.stream(all.columns()).map(functions::col)
                .toArray(org.apache.spark.sql.Column[]::new);
        org.apache.spark.api.java.JavaRDD<Row> marked = all.sortWithinPartitions(columns).javaRDD()
                .mapPartitionsWithIndex((partition, rows) -> {
                    java.util.Random split = new org.apache.spark.util.random.XORShiftRandom(seed + partition);
                    java.util.Random held = new org.apache.spark.util.random.XORShiftRandom(seed + 1 + partition);
                    return new java.util.Iterator<Row>() {
                        private Row next = advance();

                        private Row advance() {
                            while (rows.hasNext()) {
                                Row r = rows.next();
                                double x = split.nextDouble();
                                boolean isTest = x >= trainEnd && x < testEnd;
                                if (!isTest && !(x >= 0.0 && x < trainEnd)) {
                                    continue; // in neither split (randomSplit's weights not summing to 1 exactly)
                                }
                                boolean isValidation = !isTest && held.nextDouble() < validation;
                                Object[] values = new Object[r.length() + 2];
                                for (int i = 0; i < r.length(); i++) {
                                    values[i] = r.get(i);
                                }
                                values[r.length()] = isTest;
                                values[r.length() + 1] = isValidation;
                                return org.apache.spark.sql.RowFactory.create(values);
                            }
                            return null;
                        }

                        @Override
                        public boolean hasNext() {
                            return next != null;
                        }

                        @Override
                        public Row next() {
                            Row r = next;
                            next = advance();
                            return r;
                        }
                    };
                }, true);
        return spark.createDataFrame(marked, all.schema().add(TEST_MARK, org.apache.spark.sql.types.DataTypes.BooleanType, false)
                .add("isValidation", org.apache.spark.sql.types.DataTypes.BooleanType, false));
    }

    /**
     * {@code df} as a DataFrame over its RDD: every job on the result (and on filters of it) reuses that RDD's
     * stages, so a shuffle in {@code df} runs once and its output is read back, where a DataFrame's every action
     * would plan and run the shuffle, and read its source, again.
     */
    private static Dataset<Row> once(SparkSession spark, Dataset<Row> df) {
        return spark.createDataFrame(df.javaRDD(), df.schema());
    }

    /** Writes the outputs to a temporary sibling of {@code output}, then renames it to {@code output}. */
    private static void writeOutputs(FileSystem fs, Path output, PipelineModel model, Transformer fitted,
                                     Map<String, Object> metrics, JobConfig c) {
        Path temporary = temporarySibling(output, UUID.randomUUID().toString());
        try {
            model.write().save(new Path(temporary, "model").toString());
            if (c.bool("output.onnx")) {
                io.sparkprop.ml.OnnxPipeline.export(model, new Path(temporary, "model.onnx").toString());
            }
            write(fs, new Path(temporary, "metrics.json"),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(metrics));
            List<EpochRecord> epochs = fitted instanceof MlpModel
                    ? ((MlpModel<?>) fitted).summary().epochs() : null;
            List<IterationRecord> iterations = fitted instanceof MlpModel
                    ? ((MlpModel<?>) fitted).summary().iterations() : null;
            if (epochs != null) {
                write(fs, new Path(temporary, "history.csv"), historyCsv(epochs, iterations));
            }
            Report.write(fs, temporary, epochs, iterations, metrics, c.values(), headline(metrics));
            if (fs.exists(output)) {
                fs.delete(output, true);
            }
            if (!fs.rename(temporary, output)) {
                throw new IOException("cannot rename " + temporary + " to " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the outputs to " + output + ": " + e.getMessage(), e);
        } finally {
            try {
                fs.delete(temporary, true);
            } catch (IOException ignored) {
                // nothing more to clean
            }
        }
    }

    /** {@code .NAME.tmp-SUFFIX} next to {@code output} (its name a glob with {@code SUFFIX} = {@code *}). */
    private static Path temporarySibling(Path output, String suffix) {
        return new Path(output.getParent() == null ? new Path(".") : output.getParent(),
                "." + output.getName() + ".tmp-" + suffix);
    }

    /**
     * Removes the {@code .NAME.tmp-*} siblings of {@code output} that a killed run left behind (a run that
     * ends, well or not, removes its own). Two runs writing to the same {@code output.dir} at once are
     * not supported: the second would remove the first's work in progress.
     */
    private static void removeStaleTemporaryFolders(FileSystem fs, Path output) throws IOException {
        org.apache.hadoop.fs.FileStatus[] stale = fs.globStatus(temporarySibling(output, "*"));
        if (stale == null) {
            return;
        }
        for (org.apache.hadoop.fs.FileStatus s : stale) {
            LOG.warn("sparkprop: removing {}, the temporary output of an earlier run that did not finish", s.getPath());
            fs.delete(s.getPath(), true);
        }
    }

    /** The test metrics worth a console line: accuracy and log loss, or RMSE, MAE and R². */
    @SuppressWarnings("unchecked")
    static String headline(Map<String, Object> metrics) {
        Map<String, Object> test = (Map<String, Object>) metrics.get("test");
        StringBuilder sb = new StringBuilder("test");
        for (String key : new String[] {"accuracy", "logLoss", "rmse", "mae", "r2"}) {
            if (test.containsKey(key)) {
                sb.append(String.format(java.util.Locale.ROOT, " %s %.4f", key, (Double) test.get(key)));
            }
        }
        return sb.toString();
    }

    private static PipelineStage estimator(JobConfig c, String type, boolean validation, String features) {
        if (type.equals("ridge")) {
            return new RidgeRegression().setSettings(c.ridgeSettings()).setFeaturesCol(features);
        }
        MlpEstimator<?, ?> m = type.equals("mlp-classifier") ? new MlpClassifier() : new MlpRegressor();
        // the params are the estimators' shared ones, so they are set once through the base class
        m.setSettings(c.mlpSettings()).setFeaturesCol(features).setHiddenLayers(c.integers("model.hidden"))
                .setActivation(c.string("model.activation"));
        if (validation) {
            m.setValidationIndicatorCol("isValidation");
        }
        m.setCheckpointing(c.string("checkpoint.dir"), c.integer("checkpoint.every"), c.bool("resume"));
        return m;
    }

    /** Accuracy, log loss, and per class precision, recall and the confusion matrix (rows: label). */
    static Map<String, Object> classification(Dataset<Row> scored, int classes) {
        Map<String, Object> m = new LinkedHashMap<>();
        MulticlassClassificationEvaluator evaluator = new MulticlassClassificationEvaluator();
        m.put("accuracy", evaluator.setMetricName("accuracy").evaluate(scored));
        m.put("logLoss", evaluator.setMetricName("logLoss").evaluate(scored));
        long[][] confusion = new long[classes][classes];
        for (Row r : scored.groupBy("label", "prediction").count().collectAsList()) {
            int label = (int) r.getDouble(0);
            int prediction = (int) r.getDouble(1);
            if (label >= 0 && label < classes) {
                confusion[label][prediction] += r.getLong(2);
            }
        }
        double[] precision = new double[classes];
        double[] recall = new double[classes];
        for (int k = 0; k < classes; k++) {
            long predicted = 0;
            long actual = 0;
            for (int j = 0; j < classes; j++) {
                predicted += confusion[j][k];
                actual += confusion[k][j];
            }
            precision[k] = predicted == 0 ? 0 : (double) confusion[k][k] / predicted;
            recall[k] = actual == 0 ? 0 : (double) confusion[k][k] / actual;
        }
        m.put("precision", precision);
        m.put("recall", recall);
        m.put("confusionMatrix", confusion);
        return m;
    }

    /** RMSE, MAE and R² of a single-output regression. */
    static Map<String, Object> regression(Dataset<Row> scored) {
        Map<String, Object> m = new LinkedHashMap<>();
        RegressionEvaluator evaluator = new RegressionEvaluator();
        m.put("rmse", evaluator.setMetricName("rmse").evaluate(scored));
        m.put("mae", evaluator.setMetricName("mae").evaluate(scored));
        m.put("r2", evaluator.setMetricName("r2").evaluate(scored));
        return m;
    }

    /**
     * One line per epoch: its losses and accuracy, the elapsed time, the step size of the epoch's first update (the
     * schedule's value), and how many of its updates had their gradient clipped.
     */
    static String historyCsv(List<EpochRecord> epochs, List<IterationRecord> iterations) {
        StringBuilder sb = new StringBuilder("epoch,train_loss,validation_loss,validation_accuracy,elapsed_seconds,"
                + "step_size,clipped_updates\n");
        // one pass over the rounds: each epoch's first step and its clips, by epoch number
        Map<Integer, Double> firstStep = new HashMap<>();
        Map<Integer, Long> clips = new HashMap<>();
        for (IterationRecord it : iterations) {
            firstStep.putIfAbsent(it.epoch(), it.stepSize());
            clips.merge(it.epoch(), it.clipped(), Long::sum);
        }
        for (EpochRecord e : epochs) {
            double step = firstStep.getOrDefault(e.epoch(), Double.NaN);
            long clipped = clips.getOrDefault(e.epoch(), 0L);
            sb.append(e.epoch() + 1).append(',').append(e.loss()).append(',').append(blankIfNaN(e.validationLoss()))
                    .append(',').append(blankIfNaN(e.validationAccuracy())).append(',')
                    .append(e.elapsedMillis() / 1e3).append(',').append(blankIfNaN(step)).append(',').append(clipped)
                    .append('\n');
        }
        return sb.toString();
    }

    private static String blankIfNaN(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }

    private static void write(FileSystem fs, Path file, String text) throws IOException {
        try (OutputStream out = fs.create(file, false); PrintStream p = new PrintStream(out, false, StandardCharsets.UTF_8)) {
            p.print(text);
        }
    }
}
