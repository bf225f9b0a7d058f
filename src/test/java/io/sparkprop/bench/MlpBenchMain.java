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
import io.sparkprop.testutil.HeapSampler;
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
 *   <li>(a) 784-128-10 sigmoid/softmax, full-batch gradient iteration time against MLlib's {@code gd}
 *       iteration (each from the difference of two fits of different iteration counts, so set-up
 *       costs cancel), with the achieved GFLOP/s;</li>
 *   <li>the fixed cost of one iteration: the same loop over (almost) no data;</li>
 *   <li>(b) 784-256-128-10 ReLU with Adam in mini-batches for up to 15 epochs, test accuracy after each:
 *       wall time until it first reaches 0.88 against MLlib's {@code l-bfgs} 100-iteration fit;</li>
 *   <li>(c) the heap each fit adds: the peak of the heap in use after garbage collection (live data)
 *       during (b), minus what was live before it, against the same for MLlib's l-bfgs fit (the cached
 *       data both read is live before either starts); absolute figures and the sampled used-heap
 *       high-water are printed too.</li>
 * </ol>
 * (a) and (b) run again in float32 ({@code precision}), with the cached bytes of both. Prints a table and ends
 * with {@code result: iteration_time_vs_mllib=… time_to_088_vs_mllib=… accuracy=… heap_vs_mllib=…
 * epoch_efficiency=… local_steps=… small_fit_s=… iteration_time_f32_vs_mllib=… cached_f32_vs_f64=…
 * accuracy_f32=…}. Options: {@code --data DIR} (required: the folder of the four IDX files),
 * {@code --quick}, {@code --batch N} (512), {@code --step X} (Adam, 0.002), {@code --decay D} (0.003: the step is
 * {@code η/(1 + D·t)}), {@code --epochs N} (15).
 */
public final class MlpBenchMain {
    private static final int PARTITIONS = 4;
    /** The local steps of run (b) unless {@code --local-steps} is given: see the README, "choosing localSteps". */
    static final int DEFAULT_LOCAL_STEPS = 64;
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
        int localSteps = DEFAULT_LOCAL_STEPS;
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
                    localSteps = Integer.parseInt(args[++i]);
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
        try (HeapSampler heap = new HeapSampler()) {
            Dataset<Row> train = frame(spark, trainX, trainY).repartition(PARTITIONS).cache();
            Dataset<Row> test = frame(spark, testX, testY).cache();
            train.count();
            test.count();
            new MlpBenchMain().run(spark, train, test, testX, testY, heap, quick, batch, step, decay, epochs,
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
                     HeapSampler heap, boolean quick, int batch, double step, double decay, int epochs, int localSteps,
                     boolean curve) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int shortRun = 2;
        int longRun = quick ? 7 : 12;
        int reps = quick ? 1 : 3;

        // (a) full-batch iteration time, 784-128-10 sigmoid
        NetworkSpec small = NetworkSpec.builder().input(784).dense(128, Activation.SIGMOID)
                .dense(10, Activation.SOFTMAX).build();
        // warm-up: the JIT and Spark's first jobs, for both, before anything is timed
        new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0).setMaxEpochs(shortRun).setTol(0)
                .fit(train, "features", "label");
        new MultilayerPerceptronClassifier().setLayers(new int[] {784, 128, 10}).setSolver("gd").setMaxIter(shortRun)
                .setTol(0).fit(train);
        new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0).setMaxEpochs(shortRun).setTol(0)
                .setPrecision(Precision.FLOAT32).fit(train, "features", "label");
        double[] ours = new double[reps];
        double[] ours32 = new double[reps];
        double[] theirs = new double[reps];
        List<Double> ourMedians = new ArrayList<>();
        long[] cached = new long[4]; // cached and payload bytes, float64 then float32
        for (int r = 0; r < reps; r++) {
            ours[r] = RoundCost.perIteration(shortRun, longRun, k -> {
                TrainingResult res = new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0)
                        .setBlockSize(128).setMaxEpochs(k).setTol(0).setSeed(1).fit(train, "features", "label");
                if (k == longRun) {
                    ourMedians.add(medianMillis(res, 1));
                    cached[0] = res.cachedBytes();
                    cached[1] = res.payloadBytes();
                }
            });
            ours32[r] = RoundCost.perIteration(shortRun, longRun, k -> {
                TrainingResult res = new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0)
                        .setBlockSize(128).setMaxEpochs(k).setTol(0).setSeed(1).setPrecision(Precision.FLOAT32)
                        .fit(train, "features", "label");
                cached[2] = res.cachedBytes();
                cached[3] = res.payloadBytes();
            });
            theirs[r] = RoundCost.perIteration(shortRun, longRun, k -> new MultilayerPerceptronClassifier()
                    .setLayers(new int[] {784, 128, 10}).setSolver("gd").setBlockSize(128).setMaxIter(k)
                    .setTol(0).setSeed(1).fit(train));
        }
        double ourIteration = RoundCost.median(ours);
        double ourIteration32 = RoundCost.median(ours32);
        double theirIteration = RoundCost.median(theirs);
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

        // the kernel's own rate on this machine: one thread, the block size run (b) packs, times the cores
        int block = (batch + PARTITIONS - 1) / PARTITIONS;
        double kernelRate = CORES * ScalingBenchMain.kernelExamplesPerSecond(deep, block);

        // (b), (c): ours, 784-256-128-10 ReLU, Adam, mini-batches, test accuracy after every epoch
        DMatrixRMaj[] testBlocks = blocks(testX, 1000);
        heap.reset();
        Curve b = accuracyCurve(deep, train, testBlocks, testY, batch, step, decay, epochs, localSteps,
                Precision.FLOAT64);
        long ourHeap = heap.peak();
        long ourLive = heap.peakAfterGc();
        long ourBase = heap.baseline();
        double timeTo088 = b.timeTo(0.88);
        List<Curve> curves = new ArrayList<>();
        if (curve) {
            for (int k : CURVE) {
                curves.add(k == localSteps ? b : accuracyCurve(deep, train, testBlocks, testY, batch, step, decay,
                        epochs, k, Precision.FLOAT64));
            }
        }
        // the same run in float32: the accuracy it ends with, and its pace
        Curve b32 = accuracyCurve(deep, train, testBlocks, testY, batch, step, decay, epochs, localSteps,
                Precision.FLOAT32);
        double[] smallRun = smallFit(spark, quick);

        heap.reset();
        long lbfgsStart = System.nanoTime();
        MultilayerPerceptronClassificationModel lbfgs = new MultilayerPerceptronClassifier()
                .setLayers(new int[] {784, 256, 128, 10}).setSolver("l-bfgs").setBlockSize(128)
                .setMaxIter(quick ? 30 : 100).setSeed(7).fit(train);
        double lbfgsSeconds = (System.nanoTime() - lbfgsStart) / 1e9;
        long theirHeap = heap.peak();
        long theirLive = heap.peakAfterGc();
        long theirBase = heap.baseline();
        double lbfgsAccuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy")
                .evaluate(lbfgs.transform(test));

        System.out.println();
        System.out.printf(Locale.ROOT, "(a) 784-128-10 full-batch iteration: sparkprop %.3f s (history median %.3f s, "
                        + "%.1f GFLOP/s), MLlib gd %.3f s -> ratio %.3f%n", ourIteration,
                RoundCost.median(ourMedians.stream().mapToDouble(Double::doubleValue).toArray()) / 1e3,
                flops / ourIteration / 1e9, theirIteration, ourIteration / theirIteration);
        System.out.printf(Locale.ROOT, "    per-rep sparkprop %s, MLlib %s%n", Arrays.toString(ours), Arrays.toString(theirs));
        System.out.printf(Locale.ROOT, "    float32: %.3f s (%.1f GFLOP/s) -> ratio %.3f to MLlib, %.3f to float64; per-rep %s%n",
                ourIteration32, flops / ourIteration32 / 1e9, ourIteration32 / theirIteration,
                ourIteration32 / ourIteration, Arrays.toString(ours32));
        System.out.printf(Locale.ROOT, "    cached shards: float64 %.1f MB (payload %.1f MB), float32 %.1f MB (payload %.1f MB) "
                + "-> ratio %.3f%n", cached[0] / 1e6, cached[1] / 1e6, cached[2] / 1e6, cached[3] / 1e6,
                (double) cached[2] / cached[0]);
        System.out.printf(Locale.ROOT, "fixed cost of one iteration (%d partitions, no data): 784-128-10 (P=%d) %.1f ms, "
                        + "784-256-128-10 (P=%d) %.1f ms%n", PARTITIONS, small.parameterCount(), fixedSmall,
                deep.parameterCount(), fixedDeep);
        System.out.printf(Locale.ROOT, "(b) 784-256-128-10 relu, adam %.4g decay %.4g, batch %d, localSteps %d: test "
                        + "accuracy 0.88 after %.1f s; final %.4f after %d epochs (%.1f s); MLlib l-bfgs (%d it.) %.1f s, "
                        + "accuracy %.4f -> ratio %.3f%n",
                step, decay, batch, localSteps, timeTo088, b.last(), b.done, b.seconds[b.done - 1],
                quick ? 30 : 100, lbfgsSeconds, lbfgsAccuracy, timeTo088 / lbfgsSeconds);
        System.out.printf(Locale.ROOT, "    float32: accuracy 0.88 after %.1f s; final %.4f after %d epochs (%.1f s), "
                        + "%.0f examples/s -> %.2f percentage points from float64%n", b32.timeTo(0.88), b32.last(),
                b32.done, b32.seconds[b32.done - 1], b32.examplesPerSecond, 100 * (b32.last() - b.last()));
        double efficiency = b.examplesPerSecond / kernelRate;
        System.out.printf(Locale.ROOT, "    mini-batch epoch: %.0f examples/s (median of epochs 2..), kernel %.0f examples/s "
                + "(%d cores x one thread, blocks of %d) -> epoch efficiency %.3f%n", b.examplesPerSecond, kernelRate,
                CORES, block, efficiency);
        System.out.printf(Locale.ROOT, "small data (%d x %d, %d classes, batch %d, %d epochs, local[2]): localSteps 1 %.1f s "
                        + "(accuracy %.4f), localSteps %d %.1f s (accuracy %.4f)%n", SMALL_ROWS, SMALL_FEATURES,
                SMALL_CLASSES, SMALL_BATCH, SMALL_EPOCHS, smallRun[0], smallRun[1], SMALL_LOCAL_STEPS, smallRun[2], smallRun[3]);
        for (Curve c : curves) {
            System.out.printf(Locale.ROOT, "curve localSteps %2d (%.0f examples/s, epoch efficiency %.3f, 0.88 after %.1f s): "
                    + "%s%n", c.localSteps, c.examplesPerSecond, c.examplesPerSecond / kernelRate, c.timeTo(0.88), c);
        }
        if (!curves.isEmpty()) {
            Path png = Paths.get("target", "bench", "local-steps.png");
            LocalStepsPlot.write(png, curves);
            System.out.println("curve written to " + png + " (and .csv beside it)");
        }
        double gib = 1073741824.0;
        long ourExtra = ourLive - ourBase;
        long theirExtra = theirLive - theirBase;
        System.out.printf(Locale.ROOT, "(c) heap the fit adds (peak in use after GC minus live heap before it): sparkprop "
                        + "%.2f GiB, MLlib l-bfgs %.2f GiB -> ratio %.3f%n", ourExtra / gib, theirExtra / gib,
                (double) ourExtra / theirExtra);
        System.out.printf(Locale.ROOT, "    absolute: live before %.2f / %.2f GiB, peak after GC %.2f / %.2f GiB (ratio %.3f), "
                        + "sampled used-heap high-water %.2f / %.2f GiB (ratio %.3f; mostly GC heuristics)%n",
                ourBase / gib, theirBase / gib, ourLive / gib, theirLive / gib, (double) ourLive / theirLive,
                ourHeap / gib, theirHeap / gib, (double) ourHeap / theirHeap);
        System.out.printf(Locale.ROOT, "result: iteration_time_vs_mllib=%.3f time_to_088_vs_mllib=%.3f accuracy=%.4f "
                        + "heap_vs_mllib=%.3f epoch_efficiency=%.3f local_steps=%d small_fit_s=%.2f "
                        + "iteration_time_f32_vs_mllib=%.3f cached_f32_vs_f64=%.3f accuracy_f32=%.4f%n",
                ourIteration / theirIteration, timeTo088 / lbfgsSeconds, b.last(), (double) ourExtra / theirExtra,
                efficiency, localSteps, smallRun[2], ourIteration32 / theirIteration, (double) cached[2] / cached[0],
                b32.last());
    }

    /** The small problem: the shape of the classic 8x8 handwritten-digits set's training split. */
    private static final int SMALL_ROWS = 1347;
    private static final int SMALL_TEST_ROWS = 450;
    private static final int SMALL_FEATURES = 64;
    private static final int SMALL_CLASSES = 10;
    private static final int SMALL_BATCH = 64;
    private static final int SMALL_EPOCHS = 60;
    /** What the README's "choosing localSteps" recommends for data this small. */
    private static final int SMALL_LOCAL_STEPS = 32;
    /** Cores of {@code local[2]}: the kernel's one-thread rate times this is the compute the epoch could reach. */
    private static final int CORES = 2;

    /** Test accuracy after every epoch of one run of (b), and the run's examples/s. */
    static final class Curve {
        final int localSteps;
        final double[] seconds;
        final double[] accuracy;
        int done;
        double examplesPerSecond;

        Curve(int localSteps, int epochs) {
            this.localSteps = localSteps;
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
                                       int batch, double step, double decay, int epochs, int localSteps,
                                       Precision precision) {
        Curve c = new Curve(localSteps, epochs);
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
                    System.out.printf(Locale.ROOT, "sparkprop %s localSteps %d epoch %2d: %.1f s, test accuracy %.4f%n",
                            precision.lowerName(), localSteps, record.epoch() + 1, c.seconds[record.epoch()], c.accuracy[record.epoch()]);
                    return true;
                }).fit(train, "features", "label");
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
     * rest default): localSteps 1, then {@link #SMALL_LOCAL_STEPS}. Synthetic digits-like data: 10 seeded
     * prototypes of 64 pixel counts in [0, 16], examples the prototype plus noise, rounded and clipped.
     *
     * @return {seconds k=1, accuracy k=1, seconds k=SMALL_LOCAL_STEPS, accuracy}
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
        double[] out = new double[4];
        int[] ks = {1, SMALL_LOCAL_STEPS};
        for (int i = 0; i < ks.length; i++) {
            io.sparkprop.ml.MlpClassifier classifier = new io.sparkprop.ml.MlpClassifier().setBatchSize(SMALL_BATCH)
                    .setMaxEpochs(SMALL_EPOCHS).setLocalSteps(ks[i]);
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
