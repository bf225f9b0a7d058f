package io.sparkprop.bench;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.sparkprop.data.Example;
import io.sparkprop.data.IdxReader;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixRMaj;

/**
 * End-to-end comparison with Spark MLlib's {@code MultilayerPerceptronClassifier} on Fashion-MNIST,
 * in one {@code local[2]} session, on the same cached DataFrame (4 partitions):
 * <ol>
 *   <li>(a) 784-128-10 sigmoid/softmax, the full-batch iteration's time against MLlib's {@code gd} iteration, in
 *       float64 and float32: each iteration's time is the gap between the ends of two consecutive iteration jobs
 *       ({@link JobClock}, the same for both trainers), the median over the iterations of 3 fits with the spread
 *       printed; with the achieved GFLOP/s;</li>
 *   <li>the fixed cost of one iteration: the same loop over (almost) no data;</li>
 *   <li>(b) 784-256-128-10 ReLU with Adam in mini-batches for up to 15 epochs, {@code localSteps} at its default
 *       ({@code auto}) unless {@code --local-steps} says otherwise, test accuracy after each epoch: the wall time
 *       until it first reaches MLlib's own final accuracy against MLlib's {@code l-bfgs} time to that accuracy
 *       (fits of growing {@code maxIter}, each timed whole), the time to 0.88, and the epoch's examples/s against
 *       the kernel's rate on as many concurrent threads as cores;</li>
 *   <li>a notebook-sized fit through the Spark ML API with the defaults, and with {@code localSteps = 1}.</li>
 * </ol>
 * (b) runs again in float32 ({@code precision}), with the cached bytes of both. Prints a table and ends with
 * {@code result: iteration_time_vs_mllib=… iteration_time_f32_vs_mllib=… time_to_mllib_accuracy_vs_mllib=…
 * time_to_088_s=… accuracy=… epoch_efficiency=… local_steps=… small_fit_s=… small_fit_sync_s=…
 * cached_f32_vs_f64=… accuracy_f32=…}. Options: {@code --data DIR} (required: the folder of the four IDX files),
 * {@code --quick}, {@code --batch N} (512), {@code --step X} (Adam, 0.002), {@code --decay D} (0.003: the step is
 * {@code η/(1 + D·t)}), {@code --epochs N} (15), {@code --local-steps K} (auto), {@code --curve}.
 */
public final class MlpBenchMain {
    private static final int PARTITIONS = 4;
    /** The k of the accuracy-against-time curve ({@code --curve}). */
    private static final int[] CURVE = {1, 4, 16, 64};

    private MlpBenchMain() {
    }

    public static void main(String[] args) {
        Path data = null;
        boolean quick = false;
        int batch = 512;
        double step = 0.002;
        double decay = 0.003;
        int epochs = 15;
        String localSteps = "auto";
        boolean curve = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data":
                    data = Paths.get(args[++i]);
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--batch":
                    batch = Integer.parseInt(args[++i]);
                    break;
                case "--step":
                    step = Double.parseDouble(args[++i]);
                    break;
                case "--decay":
                    decay = Double.parseDouble(args[++i]);
                    break;
                case "--epochs":
                    epochs = Integer.parseInt(args[++i]);
                    break;
                case "--local-steps":
                    localSteps = args[++i];
                    break;
                case "--curve":
                    curve = true;
                    break;
                default:
                    usage("unknown option " + args[i]);
            }
        }
        if (data == null) {
            usage("--data DIR is required");
        }
        double[][] trainX = IdxReader.readImages(data.resolve("train-images-idx3-ubyte.gz"), 1 / 255.0);
        int[] trainY = IdxReader.readLabels(data.resolve("train-labels-idx1-ubyte.gz"));
        double[][] testX = IdxReader.readImages(data.resolve("t10k-images-idx3-ubyte.gz"), 1 / 255.0);
        int[] testY = IdxReader.readLabels(data.resolve("t10k-labels-idx1-ubyte.gz"));

        // Gradients of 784-256-128-10 are 1.9 MB; above spark.task.maxDirectResultSize (1 MB by default)
        // task results take a detour through the block manager. The README recommends raising it; it
        // applies to both trainers here.
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-mlp")
                .config("spark.task.maxDirectResultSize", "64m")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Dataset<Row> train = frame(spark, trainX, trainY).repartition(PARTITIONS).cache();
            Dataset<Row> test = frame(spark, testX, testY).cache();
            train.count();
            test.count();
            new MlpBenchMain().run(spark, train, test, testX, testY, quick, batch, step, decay, epochs,
                    localSteps, curve);
        } finally {
            spark.stop();
        }
    }

    private static void usage(String problem) {
        System.err.println(problem + "\nusage: jobs/bench mlp [--data DIR] [--quick] [--batch N] [--step X] [--decay D] "
                + "[--epochs N] [--local-steps K] [--curve]");
        System.exit(2);
    }

    private static Dataset<Row> frame(SparkSession spark, double[][] x, int[] y) {
        StructType schema = new StructType().add("label", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType());
        List<Row> rows = new ArrayList<>(x.length);
        for (int i = 0; i < x.length; i++) {
            rows.add(RowFactory.create((double) y[i], Vectors.dense(x[i])));
        }
        return spark.createDataFrame(rows, schema);
    }

    private void run(SparkSession spark, Dataset<Row> train, Dataset<Row> test, double[][] testX, int[] testY,
                     boolean quick, int batch, double step, double decay, int epochs, String localSteps,
                     boolean curve) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int iterations = quick ? 7 : 12;
        int reps = quick ? 1 : 3;

        // (a) full-batch iteration time, 784-128-10 sigmoid
        NetworkSpec small = NetworkSpec.builder().input(784).dense(128, Activation.SIGMOID)
                .dense(10, Activation.SOFTMAX).build();
        // warm-up: the JIT and Spark's first jobs, for both, before anything is timed
        new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0).setMaxEpochs(2).setTol(0)
                .fit(train, "features", "label");
        new MultilayerPerceptronClassifier().setLayers(new int[] {784, 128, 10}).setSolver("gd").setMaxIter(2)
                .setTol(0).fit(train);
        new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0).setMaxEpochs(2).setTol(0)
                .setPrecision(Precision.FLOAT32).fit(train, "features", "label");
        List<Double> ours = new ArrayList<>();
        List<Double> ours32 = new ArrayList<>();
        List<Double> theirs = new ArrayList<>();
        List<Double> ourRecords = new ArrayList<>();
        long[] cached = new long[4]; // cached and payload bytes, float64 then float32
        java.util.function.Predicate<JobClock.Job> ourRound = j -> j.description().startsWith("sparkprop epoch");
        // MLlib's gd: one treeAggregate job an iteration (GradientDescent.runMiniBatchSGD); its count job is not one
        java.util.function.Predicate<JobClock.Job> mllibIteration = j -> j.stage().startsWith("treeAggregate at "
                + "GradientDescent");
        try (JobClock clock = new JobClock(spark.sparkContext())) {
            for (int r = 0; r < reps; r++) {
                for (Precision precision : new Precision[] {Precision.FLOAT64, Precision.FLOAT32}) {
                    TrainingResult[] res = new TrainingResult[1];
                    double[] gaps = clock.iterationSeconds(() -> res[0] = new Trainer(small)
                            .setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0).setBlockSize(128)
                            .setMaxEpochs(iterations).setTol(0).setSeed(1).setPrecision(precision)
                            .fit(train, "features", "label"), ourRound, 1);
                    int at = precision == Precision.FLOAT64 ? 0 : 2;
                    cached[at] = res[0].cachedBytes();
                    cached[at + 1] = res[0].payloadBytes();
                    for (double g : gaps) {
                        (precision == Precision.FLOAT64 ? ours : ours32).add(g);
                    }
                    if (precision == Precision.FLOAT64) {
                        for (IterationRecord it : res[0].history().iterations().subList(1, iterations)) {
                            ourRecords.add(it.millis() / 1e3);
                        }
                    }
                }
                clock.matched.clear();
                for (double g : clock.iterationSeconds(() -> new MultilayerPerceptronClassifier()
                        .setLayers(new int[] {784, 128, 10}).setSolver("gd").setBlockSize(128).setMaxIter(iterations)
                        .setTol(0).setSeed(1).fit(train), mllibIteration, 1)) {
                    theirs.add(g);
                }
                System.out.println("MLlib gd fit of " + iterations + " iterations: jobs taken as iterations "
                        + clock.matched);
            }
        }
        Spread ourIteration = Spread.of(ours);
        Spread ourIteration32 = Spread.of(ours32);
        Spread theirIteration = Spread.of(theirs);
        if (theirIteration.count == 0 || ourIteration.count == 0 || ourIteration32.count == 0) {
            throw new IllegalStateException("no iteration jobs were recognised: sparkprop " + ourIteration.count
                    + ", float32 " + ourIteration32.count + ", MLlib " + theirIteration.count);
        }
        double flops = 60000.0 * 2 * (2 * (784.0 * 128 + 128 * 10) + 128 * 10);

        // fixed cost of an iteration: 4 partitions of one example each, so the kernel does ~nothing
        List<Example> tiny = new ArrayList<>();
        for (int i = 0; i < PARTITIONS; i++) {
            tiny.add(Example.of(testX[i], testY[i]));
        }
        NetworkSpec deep = NetworkSpec.builder().input(784).dense(256, Activation.RELU).dense(128, Activation.RELU)
                .dense(10, Activation.SOFTMAX).build();
        double fixedSmall = medianMillis(new Trainer(small).setOptimizer(Optimizer.sgd(0.01)).setBatchSize(0)
                .setMaxEpochs(40).setTol(0).fit(sc.parallelize(tiny, PARTITIONS)), 5);
        double fixedDeep = medianMillis(new Trainer(deep).setOptimizer(Optimizer.sgd(0.01)).setBatchSize(0)
                .setMaxEpochs(40).setTol(0).fit(sc.parallelize(tiny, PARTITIONS)), 5);

        // the kernel's own rate on this machine: the block size run (b) packs, on as many threads as cores at once
        int shards = sc.defaultParallelism();
        int block = Math.min(128, (batch + shards - 1) / shards);
        double kernelRate = concurrentKernelRate(deep, block, CORES);

        // (b): ours, 784-256-128-10 ReLU, Adam, mini-batches, test accuracy after every epoch
        DMatrixRMaj[] testBlocks = blocks(testX, 1000);
        Curve b = accuracyCurve(deep, train, testBlocks, testY, batch, step, decay, epochs, localSteps,
                Precision.FLOAT64);
        double timeTo088 = b.timeTo(0.88);
        List<Curve> curves = new ArrayList<>();
        if (curve) {
            for (int k : CURVE) {
                curves.add(k == b.localSteps ? b : accuracyCurve(deep, train, testBlocks, testY, batch, step, decay,
                        epochs, Integer.toString(k), Precision.FLOAT64));
            }
        }
        // the same run in float32: the accuracy it ends with, and its pace
        Curve b32 = accuracyCurve(deep, train, testBlocks, testY, batch, step, decay, epochs, localSteps,
                Precision.FLOAT32);
        double[] smallRun = smallFit(spark, quick);

        // MLlib's l-bfgs, refitted at growing maxIter: its time to each accuracy it reaches (a fit is timed whole,
        // as ours is from the start of its fit to the end of the epoch)
        int[] grid = quick ? new int[] {10, 20, 30} : new int[] {10, 25, 50, 75, 100};
        double[] lbfgsSeconds = new double[grid.length];
        double[] lbfgsAccuracy = new double[grid.length];
        for (int g = 0; g < grid.length; g++) {
            long lbfgsStart = System.nanoTime();
            MultilayerPerceptronClassificationModel lbfgs = new MultilayerPerceptronClassifier()
                    .setLayers(new int[] {784, 256, 128, 10}).setSolver("l-bfgs").setBlockSize(128)
                    .setMaxIter(grid[g]).setSeed(7).fit(train);
            lbfgsSeconds[g] = (System.nanoTime() - lbfgsStart) / 1e9;
            lbfgsAccuracy[g] = new MulticlassClassificationEvaluator().setMetricName("accuracy")
                    .evaluate(lbfgs.transform(test));
            System.out.printf(Locale.ROOT, "MLlib l-bfgs maxIter %d: %.1f s, test accuracy %.4f%n", grid[g],
                    lbfgsSeconds[g], lbfgsAccuracy[g]);
        }
        double mllibFinal = lbfgsAccuracy[grid.length - 1];
        double mllibTime = Double.NaN;
        for (int g = 0; g < grid.length; g++) {
            if (lbfgsAccuracy[g] >= mllibFinal && !(lbfgsSeconds[g] >= mllibTime)) {
                mllibTime = lbfgsSeconds[g];
            }
        }
        double ourTimeToMllib = b.timeTo(mllibFinal);

        System.out.println();
        System.out.printf(Locale.ROOT, "(a) 784-128-10 full-batch iteration (gap between iteration jobs' ends, median "
                        + "of %d iterations): sparkprop %s (%.1f GFLOP/s; its own records: median %.3f s), MLlib gd %s "
                        + "-> ratio %.3f%n", ourIteration.count, ourIteration, flops / ourIteration.median / 1e9,
                RoundCost.median(ourRecords.stream().mapToDouble(Double::doubleValue).toArray()), theirIteration,
                ourIteration.median / theirIteration.median);
        System.out.printf(Locale.ROOT, "    float32: %s (%.1f GFLOP/s) -> ratio %.3f to MLlib, %.3f to float64%n",
                ourIteration32, flops / ourIteration32.median / 1e9, ourIteration32.median / theirIteration.median,
                ourIteration32.median / ourIteration.median);
        System.out.printf(Locale.ROOT, "    cached shards: float64 %.1f MB (payload %.1f MB), float32 %.1f MB (payload %.1f MB) "
                + "-> ratio %.3f%n", cached[0] / 1e6, cached[1] / 1e6, cached[2] / 1e6, cached[3] / 1e6,
                (double) cached[2] / cached[0]);
        System.out.printf(Locale.ROOT, "fixed cost of one iteration (%d partitions, no data): 784-128-10 (P=%d) %.1f ms, "
                        + "784-256-128-10 (P=%d) %.1f ms%n", PARTITIONS, small.parameterCount(), fixedSmall,
                deep.parameterCount(), fixedDeep);
        System.out.printf(Locale.ROOT, "(b) 784-256-128-10 relu, adam %.4g decay %.4g, batch %d, localSteps %s (k = %d): "
                        + "test accuracy 0.88 after %.1f s; final %.4f after %d epochs (%.1f s)%n",
                step, decay, batch, localSteps, b.localSteps, timeTo088, b.last(), b.done, b.seconds[b.done - 1]);
        System.out.printf(Locale.ROOT, "    MLlib l-bfgs: final accuracy %.4f (maxIter %d), first reached in %.1f s; "
                        + "sparkprop reaches it after %.1f s -> ratio %.3f%n", mllibFinal, grid[grid.length - 1],
                mllibTime, ourTimeToMllib, ourTimeToMllib / mllibTime);
        System.out.printf(Locale.ROOT, "    float32 (k = %d): accuracy 0.88 after %.1f s; final %.4f after %d epochs (%.1f s), "
                        + "%.0f examples/s -> %.2f percentage points from float64%n", b32.localSteps, b32.timeTo(0.88),
                b32.last(), b32.done, b32.seconds[b32.done - 1], b32.examplesPerSecond, 100 * (b32.last() - b.last()));
        double efficiency = b.examplesPerSecond / kernelRate;
        System.out.printf(Locale.ROOT, "    mini-batch epoch: %.0f examples/s (median of epochs 2..), kernel %.0f examples/s "
                + "(%d threads at once, blocks of %d) -> epoch efficiency %.3f%n", b.examplesPerSecond, kernelRate,
                CORES, block, efficiency);
        System.out.printf(Locale.ROOT, "small data (%d x %d, %d classes, batch %d, %d epochs, local[2], MlpClassifier): "
                        + "defaults (localSteps auto = %d) %.2f s (accuracy %.4f), localSteps 1 %.2f s (accuracy %.4f)%n",
                SMALL_ROWS, SMALL_FEATURES, SMALL_CLASSES, SMALL_BATCH, SMALL_EPOCHS, (int) smallRun[4], smallRun[0],
                smallRun[1], smallRun[2], smallRun[3]);
        for (Curve c : curves) {
            System.out.printf(Locale.ROOT, "curve localSteps %2d (%.0f examples/s, epoch efficiency %.3f, 0.88 after %.1f s): "
                    + "%s%n", c.localSteps, c.examplesPerSecond, c.examplesPerSecond / kernelRate, c.timeTo(0.88), c);
        }
        if (!curves.isEmpty()) {
            Path png = Paths.get("target", "bench", "local-steps.png");
            LocalStepsPlot.write(png, curves);
            System.out.println("curve written to " + png + " (and .csv beside it)");
        }
        System.out.printf(Locale.ROOT, "result: iteration_time_vs_mllib=%.3f iteration_time_f32_vs_mllib=%.3f "
                        + "time_to_mllib_accuracy_vs_mllib=%.3f time_to_088_s=%.1f accuracy=%.4f epoch_efficiency=%.3f "
                        + "local_steps=%d small_fit_s=%.2f small_fit_sync_s=%.2f cached_f32_vs_f64=%.3f "
                        + "accuracy_f32=%.4f%n",
                ourIteration.median / theirIteration.median, ourIteration32.median / theirIteration.median,
                ourTimeToMllib / mllibTime, timeTo088, b.last(), efficiency, b.localSteps, smallRun[0], smallRun[2],
                (double) cached[2] / cached[0], b32.last());
    }

    /** The median of some times and their spread. */
    private static final class Spread {
        final int count;
        final double median;
        final double min;
        final double max;

        private Spread(int count, double median, double min, double max) {
            this.count = count;
            this.median = median;
            this.min = min;
            this.max = max;
        }

        static Spread of(List<Double> values) {
            double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return v.length == 0 ? new Spread(0, Double.NaN, Double.NaN, Double.NaN)
                    : new Spread(v.length, RoundCost.median(v), v[0], v[v.length - 1]);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.3f s (%.3f–%.3f over %d)", median, min, max, count);
        }
    }

    /**
     * Examples/s of the kernel's forward and backward pass on {@code threads} threads at once (each its own
     * parameters and block), summed: what the cores reach together, memory bandwidth and clocks shared.
     */
    static double concurrentKernelRate(NetworkSpec spec, int block, int threads) {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<Double>> rates = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                rates.add(pool.submit(() -> ScalingBenchMain.kernelExamplesPerSecond(spec, block)));
            }
            double sum = 0;
            for (java.util.concurrent.Future<Double> f : rates) {
                sum += f.get();
            }
            return sum;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdown();
        }
    }

    /** The small problem: the shape of the classic 8x8 handwritten-digits set's training split. */
    private static final int SMALL_ROWS = 1347;
    private static final int SMALL_TEST_ROWS = 450;
    private static final int SMALL_FEATURES = 64;
    private static final int SMALL_CLASSES = 10;
    private static final int SMALL_BATCH = 64;
    private static final int SMALL_EPOCHS = 60;
    /** Cores of {@code local[2]}: the kernel on this many threads at once is the compute the epoch could reach. */
    private static final int CORES = 2;

    /** Test accuracy after every epoch of one run of (b), and the run's examples/s. */
    static final class Curve {
        /** The k the run took (what {@code auto} chose, when it was asked for). */
        int localSteps;
        final double[] seconds;
        final double[] accuracy;
        int done;
        double examplesPerSecond;

        Curve(int epochs) {
            this.seconds = new double[epochs];
            this.accuracy = new double[epochs];
        }

        double last() {
            return accuracy[done - 1];
        }

        /** Seconds until the test accuracy first reaches {@code a}; NaN if never. */
        double timeTo(double a) {
            for (int e = 0; e < done; e++) {
                if (accuracy[e] >= a) {
                    return seconds[e];
                }
            }
            return Double.NaN;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (int e = 0; e < done; e++) {
                sb.append(String.format(Locale.ROOT, "%s%.1fs:%.4f", e == 0 ? "" : " ", seconds[e], accuracy[e]));
            }
            return sb.toString();
        }
    }

    /** Run (b): 784-256-128-10 relu, Adam with decay, {@code localSteps} per round, test accuracy every epoch. */
    private static Curve accuracyCurve(NetworkSpec deep, Dataset<Row> train, DMatrixRMaj[] testBlocks, int[] testY,
                                       int batch, double step, double decay, int epochs, String localSteps,
                                       Precision precision) {
        Curve c = new Curve(epochs);
        long[] evalNanos = {0};
        long fitStart = System.nanoTime();
        TrainingResult r = new Trainer(deep).setOptimizer(Optimizer.adam(step).withDecay(decay)).setBatchSize(batch)
                .setLocalSteps(localSteps).setMaxEpochs(epochs).setTol(0).setSeed(7).setPrecision(precision)
                .setEpochListener((record, params) -> {
                    long t0 = System.nanoTime();
                    c.seconds[record.epoch()] = (t0 - fitStart - evalNanos[0]) / 1e9;
                    c.accuracy[record.epoch()] = accuracy(deep, params, testBlocks, testY);
                    c.done = record.epoch() + 1;
                    evalNanos[0] += System.nanoTime() - t0;
                    System.out.printf(Locale.ROOT, "sparkprop %s localSteps %s epoch %2d: %.1f s, test accuracy %.4f%n",
                            precision.lowerName(), localSteps, record.epoch() + 1, c.seconds[record.epoch()], c.accuracy[record.epoch()]);
                    return true;
                }).fit(train, "features", "label");
        c.localSteps = r.localSteps();
        // examples/s of the rounds alone (no listener, no test pass), median over epochs 2.. (epoch 1 warms the JIT)
        double[] rate = new double[Math.max(1, c.done - 1)];
        for (int e = Math.min(1, c.done - 1); e < c.done; e++) {
            long examples = 0;
            double millis = 0;
            for (IterationRecord it : r.history().iterations()) {
                if (it.epoch() == e) {
                    examples += it.examples();
                    millis += it.millis();
                }
            }
            rate[Math.max(0, e - 1)] = examples / (millis / 1e3);
        }
        c.examplesPerSecond = RoundCost.median(rate);
        return c;
    }

    /**
     * A notebook-sized fit through the Spark ML API with what a user would set (batch 64, 60 epochs, the
     * rest default, so localSteps auto), then with localSteps 1. Synthetic digits-like data: 10 seeded
     * prototypes of 64 pixel counts in [0, 16], examples the prototype plus noise, rounded and clipped.
     *
     * @return {seconds with the defaults, accuracy, seconds with localSteps 1, accuracy, the k auto chose}
     */
    private static double[] smallFit(SparkSession spark, boolean quick) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(1347);
        double[][] prototypes = new double[SMALL_CLASSES][SMALL_FEATURES];
        for (double[] p : prototypes) {
            for (int i = 0; i < SMALL_FEATURES; i++) {
                p[i] = random.nextInt(17);
            }
        }
        int n = SMALL_ROWS + SMALL_TEST_ROWS;
        double[][] x = new double[n][SMALL_FEATURES];
        int[] y = new int[n];
        for (int r = 0; r < n; r++) {
            y[r] = r % SMALL_CLASSES;
            for (int i = 0; i < SMALL_FEATURES; i++) {
                double v = prototypes[y[r]][i] + 10 * random.nextGaussian();
                x[r][i] = Math.max(0, Math.min(16, Math.rint(v)));
            }
        }
        Dataset<Row> all = frame(spark, x, y);
        Dataset<Row> train = spark.createDataFrame(all.collectAsList().subList(0, SMALL_ROWS), all.schema()).cache();
        Dataset<Row> test = spark.createDataFrame(all.collectAsList().subList(SMALL_ROWS, n), all.schema()).cache();
        train.count();
        test.count();
        double[] out = new double[5];
        String[] ks = {"auto", "1"};
        for (int i = 0; i < ks.length; i++) {
            io.sparkprop.ml.MlpClassifier classifier = new io.sparkprop.ml.MlpClassifier().setBatchSize(SMALL_BATCH)
                    .setMaxEpochs(SMALL_EPOCHS);
            if (i > 0) {
                classifier.setLocalSteps(ks[i]);
            }
            classifier.fit(train); // warm-up: the JIT and the session's first jobs
            double[] seconds = new double[quick ? 1 : 3];
            io.sparkprop.ml.MlpClassificationModel model = null;
            for (int r = 0; r < seconds.length; r++) {
                long t0 = System.nanoTime();
                model = classifier.fit(train);
                seconds[r] = (System.nanoTime() - t0) / 1e9;
            }
            out[2 * i] = RoundCost.median(seconds);
            out[2 * i + 1] = new MulticlassClassificationEvaluator().setMetricName("accuracy")
                    .evaluate(model.transform(test));
            if (i == 0) {
                out[4] = model.summary().localSteps();
            }
        }
        train.unpersist();
        test.unpersist();
        return out;
    }

    private static double medianMillis(TrainingResult r, int skip) {
        List<IterationRecord> its = r.history().iterations();
        double[] ms = new double[its.size() - skip];
        for (int i = skip; i < its.size(); i++) {
            ms[i - skip] = its.get(i).millis();
        }
        return RoundCost.median(ms);
    }

    private static DMatrixRMaj[] blocks(double[][] x, int size) {
        int count = (x.length + size - 1) / size;
        DMatrixRMaj[] blocks = new DMatrixRMaj[count];
        for (int b = 0; b < count; b++) {
            int cols = Math.min(size, x.length - b * size);
            DMatrixRMaj m = new DMatrixRMaj(x[0].length, cols);
            for (int j = 0; j < cols; j++) {
                double[] row = x[b * size + j];
                for (int i = 0; i < row.length; i++) {
                    m.data[i * cols + j] = row[i];
                }
            }
            blocks[b] = m;
        }
        return blocks;
    }

    private static double accuracy(NetworkSpec spec, Parameters params, DMatrixRMaj[] blocks, int[] labels) {
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.AUTO.gemm());
        DMatrixRMaj out = new DMatrixRMaj(1, 1);
        int correct = 0;
        int offset = 0;
        for (DMatrixRMaj block : blocks) {
            kernel.predict(params, block, out);
            for (int j = 0; j < out.numCols; j++) {
                int best = 0;
                for (int k = 1; k < out.numRows; k++) {
                    if (out.get(k, j) > out.get(best, j)) {
                        best = k;
                    }
                }
                correct += best == labels[offset + j] ? 1 : 0;
            }
            offset += out.numCols;
        }
        return (double) correct / labels.length;
    }
}
