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
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.testutil.HeapSampler;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.Optimizer;
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
 * Prints a table and ends with {@code result: iteration_time_vs_mllib=… time_to_088_vs_mllib=… accuracy=…
 * heap_vs_mllib=…}. Options: {@code --data DIR} (required: the folder of the four IDX files),
 * {@code --quick}, {@code --batch N} (512), {@code --step X} (Adam, 0.002), {@code --decay D} (0.003: the step is
 * {@code η/(1 + D·t)}), {@code --epochs N} (15).
 */
public final class MlpBenchMain {
    private static final int PARTITIONS = 4;

    private MlpBenchMain() {
    }

    public static void main(String[] args) {
        Path data = null;
        boolean quick = false;
        int batch = 512;
        double step = 0.002;
        double decay = 0.003;
        int epochs = 15;
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
            new MlpBenchMain().run(spark, train, test, testX, testY, heap, quick, batch, step, decay, epochs);
        } finally {
            spark.stop();
        }
    }

    private static void usage(String problem) {
        System.err.println(problem + "\nusage: jobs/bench mlp [--data DIR] [--quick] [--batch N] [--step X] [--decay D] "
                + "[--epochs N]");
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
                     HeapSampler heap, boolean quick, int batch, double step, double decay, int epochs) {
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
        double[] ours = new double[reps];
        double[] theirs = new double[reps];
        List<Double> ourMedians = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            ours[r] = perIteration(shortRun, longRun, k -> {
                TrainingResult res = new Trainer(small).setOptimizer(Optimizer.sgd(0.03)).setBatchSize(0)
                        .setBlockSize(128).setMaxEpochs(k).setTol(0).setSeed(1).fit(train, "features", "label");
                if (k == longRun) {
                    ourMedians.add(medianMillis(res, 1));
                }
            });
            theirs[r] = perIteration(shortRun, longRun, k -> new MultilayerPerceptronClassifier()
                    .setLayers(new int[] {784, 128, 10}).setSolver("gd").setBlockSize(128).setMaxIter(k)
                    .setTol(0).setSeed(1).fit(train));
        }
        double ourIteration = median(ours);
        double theirIteration = median(theirs);
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

        // (b), (c): ours, 784-256-128-10 ReLU, Adam, mini-batches, test accuracy after every epoch
        DMatrixRMaj[] testBlocks = blocks(testX, 1000);
        double[] accuracy = new double[epochs];
        double[] epochSeconds = new double[epochs];
        long[] evalNanos = {0};
        int[] done = {0};
        heap.reset();
        long fitStart = System.nanoTime();
        new Trainer(deep).setOptimizer(Optimizer.adam(step).withDecay(decay)).setBatchSize(batch).setMaxEpochs(epochs).setTol(0)
                .setSeed(7).setEpochListener((record, params) -> {
                    long t0 = System.nanoTime();
                    epochSeconds[record.epoch()] = (t0 - fitStart - evalNanos[0]) / 1e9;
                    accuracy[record.epoch()] = accuracy(deep, params, testBlocks, testY);
                    done[0] = record.epoch() + 1;
                    evalNanos[0] += System.nanoTime() - t0;
                    System.out.printf(Locale.ROOT, "sparkprop epoch %2d: %.1f s, test accuracy %.4f%n",
                            record.epoch() + 1, epochSeconds[record.epoch()], accuracy[record.epoch()]);
                    return true;
                }).fit(train, "features", "label");
        long ourHeap = heap.peak();
        long ourLive = heap.peakAfterGc();
        long ourBase = heap.baseline();
        double timeTo088 = Double.NaN;
        for (int e = 0; e < done[0]; e++) {
            if (accuracy[e] >= 0.88) {
                timeTo088 = epochSeconds[e];
                break;
            }
        }

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
                median(ourMedians.stream().mapToDouble(Double::doubleValue).toArray()) / 1e3,
                flops / ourIteration / 1e9, theirIteration, ourIteration / theirIteration);
        System.out.printf(Locale.ROOT, "    per-rep sparkprop %s, MLlib %s%n", Arrays.toString(ours), Arrays.toString(theirs));
        System.out.printf(Locale.ROOT, "fixed cost of one iteration (%d partitions, no data): 784-128-10 (P=%d) %.1f ms, "
                        + "784-256-128-10 (P=%d) %.1f ms%n", PARTITIONS, small.parameterCount(), fixedSmall,
                deep.parameterCount(), fixedDeep);
        System.out.printf(Locale.ROOT, "(b) 784-256-128-10 relu, adam %.4g decay %.4g, batch %d: test accuracy 0.88 after "
                        + "%.1f s; final %.4f after %d epochs (%.1f s); MLlib l-bfgs (%d it.) %.1f s, accuracy %.4f "
                        + "-> ratio %.3f%n",
                step, decay, batch, timeTo088, accuracy[done[0] - 1], done[0], epochSeconds[done[0] - 1],
                quick ? 30 : 100, lbfgsSeconds, lbfgsAccuracy, timeTo088 / lbfgsSeconds);
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
                        + "heap_vs_mllib=%.3f%n", ourIteration / theirIteration, timeTo088 / lbfgsSeconds,
                accuracy[done[0] - 1], (double) ourExtra / theirExtra);
    }

    interface Fit {
        void run(int iterations);
    }

    /** Seconds per iteration from {@code (t(long) − t(short)) / (long − short)}: set-up costs cancel. */
    private static double perIteration(int shortRun, int longRun, Fit fit) {
        long t0 = System.nanoTime();
        fit.run(shortRun);
        long t1 = System.nanoTime();
        fit.run(longRun);
        long t2 = System.nanoTime();
        return ((t2 - t1) - (t1 - t0)) / 1e9 / (longRun - shortRun);
    }

    private static double medianMillis(TrainingResult r, int skip) {
        List<IterationRecord> its = r.history().iterations();
        double[] ms = new double[its.size() - skip];
        for (int i = skip; i < its.size(); i++) {
            ms[i - skip] = its.get(i).millis();
        }
        return median(ms);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
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
