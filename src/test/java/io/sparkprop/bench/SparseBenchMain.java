package io.sparkprop.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.data.GeneratedRows;
import io.sparkprop.data.SparseSynthetic;
import io.sparkprop.exec.Shard;
import io.sparkprop.exec.ShardPacker;
import io.sparkprop.job.TrainJob;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixSparseCSC;

/**
 * Wide sparse input, in one {@code local[2]} session:
 * <ol>
 *   <li>(a) a mini-batch epoch of a {@code n-H-2} network (ReLU, Adam) on {@code 2^18}-wide rows of 40 non-zeros
 *       drawn uniformly ({@link SparseSynthetic} with skew 1: the worst case for caches and the exchange)
 *       against the same network on dense 784-feature rows, the same row count,
 *       batch and blocks: time per example (median epoch after the first), and the cached bytes of the sparse
 *       shards against {@code 12·nnz + (4 + 8m)·rows} (values and indices, column pointers, targets);</li>
 *   <li>(b) full-batch gradient iterations (sigmoid hidden layer, softmax output) on {@code 2^14}-wide rows of
 *       40 non-zeros against Spark MLlib's {@code MultilayerPerceptronClassifier} ({@code gd}), which densifies
 *       the rows: seconds per iteration as the gaps between the ends of consecutive iteration jobs
 *       ({@link JobClock}, alike for both), the median over the repetitions' gaps;</li>
 *   <li>(c) the gradient exchange of (a)'s network, measured in this JVM: one task's gradient of a mini-batch
 *       slice serialised, deserialised and merged in the touched-rows form the trainer's sums of sparse blocks
 *       take against the dense form, beside the driver's dense Adam update of the same parameters, which the
 *       touched-rows exchange does not remove.</li>
 * </ol>
 * (a) also times both inputs with 8 local steps a round ({@code sparse_vs_dense_local_steps}). The synchronous pair
 * of (a) runs in a child JVM with {@code jobs/train}'s default heap (4 GB), which {@code sparse_vs_dense_per_example}
 * and {@code cached_vs_nnz} come from, and again in this JVM, whose 14 GB (for MLlib's dense rows in (b)) the JVM
 * grows its young generation into under the sparse fit's garbage, paying a page fault for every new page (printed,
 * not on the result line); the local-steps pair runs in this JVM alone, as its rounds of the wide network (3P
 * doubles each way a task) do not fit in 4 GB. Both JVMs' sessions leave broadcasts uncompressed
 * ({@code spark.broadcast.compress=false}), as {@code jobs/train}'s does. Beside each pair, the same JVM measures
 * Spark's floor under the sparse side ({@link ExchangeFloor}: the bytes a round moves through the driver, nothing
 * computed) against the dense side: {@code floor_vs_dense_per_example} (a synchronous update: the batch's expected
 * touched rows out, each shard's back) and {@code floor_vs_dense_local_steps} (an epoch's rounds of local steps:
 * {@code θ} and Adam's moments of the whole network each way, as a round ships them), so that a ratio can be read
 * against what no work of the trainer's can remove.
 * Ends with {@code result: sparse_vs_dense_per_example=… sparse_vs_mllib=… cached_vs_nnz=…
 * sparse_vs_dense_local_steps=… floor_vs_dense_per_example=… floor_vs_dense_local_steps=… local_steps=… batch=…
 * heap_a=…}. Options:
 * {@code --quick}, {@code --rows N} (100,000), {@code --hidden H} (32), {@code --batch N} (4096), {@code --epochs N}
 * (3), {@code --mllib-rows N} (40,000: 5.2 GB of dense rows for MLlib), {@code --local-steps K} (1: synchronous;
 * (a) only, both inputs).
 */
public final class SparseBenchMain {
    private static final int WIDE = 1 << 18;
    private static final int MLLIB_WIDE = 1 << 14;
    private static final int NON_ZEROS = 40;
    private static final int DENSE = 784;
    /** Partitions, so shards, of every input: one a core of {@code local[2]}. */
    private static final int SHARDS = 2;
    /** Local steps of (a)'s second pair of fits. */
    private static final int LOCAL_STEPS = 8;
    /** The heap of (a)'s child JVM: {@code jobs/train}'s default ({@code SPARKPROP_JAVA_OPTS} unset). */
    private static final String PART_A_HEAP = "4g";
    /** The option that makes a run (a)'s child JVM, and the tag of the line with its figures. */
    private static final String PART_A_ONLY = "--part-a-only";

    private SparseBenchMain() {
    }

    public static void main(String[] args) {
        boolean quick = false;
        int rows = 100_000;
        int hidden = 32;
        int batch = 4096;
        int epochs = 3;
        int mllibRows = 40_000;
        int localSteps = 1;
        boolean partAOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick":
                    quick = true;
                    break;
                case PART_A_ONLY:
                    partAOnly = true;
                    break;
                case "--rows":
                    rows = Integer.parseInt(args[++i]);
                    break;
                case "--hidden":
                    hidden = Integer.parseInt(args[++i]);
                    break;
                case "--batch":
                    batch = Integer.parseInt(args[++i]);
                    break;
                case "--epochs":
                    epochs = Integer.parseInt(args[++i]);
                    break;
                case "--mllib-rows":
                    mllibRows = Integer.parseInt(args[++i]);
                    break;
                case "--local-steps":
                    localSteps = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("unknown option " + args[i] + "\nusage: jobs/bench sparse [--quick] [--rows N] "
                            + "[--hidden H] [--batch N] [--epochs N] [--mllib-rows N] [--local-steps K]");
                    System.exit(2);
            }
        }
        if (quick) {
            rows = Math.min(rows, 30_000);
            mllibRows = Math.min(mllibRows, 3_000);
            epochs = Math.min(epochs, 2);
        }
        // a task's gradient of the wide network is 8·2^18·H bytes: direct results up to 512 MB; broadcasts
        // uncompressed, as jobs/train's session has them (TrainJob.SPARK_DEFAULTS), for both trainers
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sparkprop-bench-sparse")
                .config("spark.task.maxDirectResultSize", "512m").config("spark.driver.maxResultSize", "4g")
                .config("spark.broadcast.compress", TrainJob.SPARK_DEFAULTS.get("spark.broadcast.compress"))
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            if (partAOnly) {
                double[] a = partA(spark, rows, hidden, batch, epochs, localSteps, false);
                System.out.printf(Locale.ROOT, "%s %.6f %.6f %.6f%n", PART_A_ONLY, a[0], a[1], a[3]);
            } else {
                double[] a = partAInChildJvm(args);
                System.out.printf(Locale.ROOT, "(a) again in this JVM (-Xmx%.0fg, the heap (b)'s MLlib needs), and with "
                        + "local steps, whose rounds of the wide network do not fit in %s:%n",
                        Runtime.getRuntime().maxMemory() / (double) (1L << 30), PART_A_HEAP);
                double[] here = partA(spark, rows, hidden, batch, epochs, localSteps, true);
                run(spark, new double[] {a[0], a[1], here[2], a[2], here[4]}, hidden, batch, localSteps, mllibRows, quick ? 1 : 3);
            }
        } finally {
            spark.stop();
        }
    }

    /**
     * (a) in a child JVM with the heap {@code jobs/train} gives a fit by default ({@link #PART_A_HEAP}): what a user
     * of the defaults gets. Its lines are printed; returns its figures.
     */
    private static double[] partAInChildJvm(String[] args) {
        List<String> childArgs = new ArrayList<>(java.util.Arrays.asList(args));
        childArgs.add(PART_A_ONLY);
        ProcessBuilder process = new ProcessBuilder(io.sparkprop.testutil.ChildJvm.command(PART_A_HEAP,
                System.getProperty("java.class.path"), SparseBenchMain.class.getName(), childArgs.toArray(new String[0])));
        try {
            java.nio.file.Path log = java.nio.file.Files.createTempFile("sparkprop-bench-sparse-a", ".log");
            try {
                String output = io.sparkprop.testutil.ChildJvm.runToSuccess(process, log, 60, "(a) in a child JVM");
                System.out.println("(a) in a child JVM with -Xmx" + PART_A_HEAP + ", jobs/train's default heap:");
                double[] figures = null;
                for (String line : output.split("\n")) {
                    if (line.startsWith(PART_A_ONLY)) {
                        String[] f = line.trim().split(" +");
                        figures = new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                            Double.parseDouble(f[3])};
                    } else if (line.startsWith("(a)") || line.startsWith("    ")) {
                        System.out.println(line);
                    }
                }
                if (figures == null) {
                    throw new IllegalStateException("(a) in a child JVM printed no figures:\n" + output);
                }
                return figures;
            } finally {
                java.nio.file.Files.deleteIfExists(log);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * (a): prints its lines and returns {sparse ÷ dense per example, cached ÷ (12 nnz + 20 rows), sparse ÷ dense per
     * example with local steps, Spark's floor under a sparse update ÷ the dense update, the floor under an epoch's
     * rounds of local steps ÷ the dense epoch with local steps} (the local-steps figures NaN without
     * {@code withLocalSteps}).
     */
    private static double[] partA(SparkSession spark, int rows, int hidden, int batch, int epochs, int localSteps,
                                  boolean withLocalSteps) {
        // (a) sparse against dense, per example: each input generated on the executors and cached while its own
        // fits run, so that neither fit shares the heap with the other's data
        Dataset<Row> sparse = SparseSynthetic.frame(spark, rows, WIDE, NON_ZEROS, 1.0, 5).repartition(SHARDS).cache();
        sparse.count();
        TrainingResult sparseFit = fit(WIDE, hidden, batch, epochs, localSteps, sparse);
        // the same input with local steps (a round of LOCAL_STEPS mini-batch updates on each shard)
        TrainingResult sparseLocalFit = withLocalSteps ? fit(WIDE, hidden, batch, epochs, LOCAL_STEPS, sparse) : null;
        sparse.unpersist(true);
        Dataset<Row> dense = denseFrame(spark, rows, 6).repartition(SHARDS).cache();
        dense.count();
        TrainingResult denseFit = fit(DENSE, hidden, batch, epochs, localSteps, dense);
        double denseLocal = withLocalSteps
                ? medianEpochSeconds(fit(DENSE, hidden, batch, epochs, LOCAL_STEPS, dense)) : Double.NaN;
        dense.unpersist(true);
        double sparseSeconds = medianEpochSeconds(sparseFit);
        double denseSeconds = medianEpochSeconds(denseFit);
        // Spark's floor under a synchronous sparse update: the batch's touched rows out (the changed rows' delta),
        // each shard's touched rows back (its gradient sum), nothing computed
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int touchedOut = (int) Math.round(ExchangeFloor.expectedTouched(WIDE, NON_ZEROS, batch));
        int touchedBack = (int) Math.round(ExchangeFloor.expectedTouched(WIDE, NON_ZEROS, batch / SHARDS));
        double floorMillis = ExchangeFloor.medianMillis(sc, touchedOut * hidden, touchedBack * hidden, SHARDS, 5, 30);
        long nnz = (long) rows * NON_ZEROS;
        double reference = 12.0 * nnz + (4 + 8 * 2) * (double) rows;
        double cachedVsNnz = sparseFit.cachedBytes() / reference;
        double perExample = sparseSeconds / denseSeconds;
        int updates = (rows + batch - 1) / batch;
        double denseUpdateMillis = 1e3 * denseSeconds / updates;
        double floorVsDense = floorMillis / denseUpdateMillis;
        System.out.printf(Locale.ROOT, "(a) %d rows, %d-%d-2 relu, adam, batch %d (%d updates an epoch), %d epochs, "
                + "local steps %d%n", rows, WIDE, hidden, batch, updates, epochs, localSteps);
        System.out.printf(Locale.ROOT, "    sparse 2^18 x %d nnz: epoch %.2f s = %.1f us/example (%.0f ms/update), "
                + "cached %.1f MB = %.3f x (12 nnz + 20 rows = %.1f MB), last epoch loss %.4f%n",
                NON_ZEROS, sparseSeconds, 1e6 * sparseSeconds / rows, 1e3 * sparseSeconds / updates,
                sparseFit.cachedBytes() / 1e6, cachedVsNnz, reference / 1e6, lastLoss(sparseFit));
        System.out.printf(Locale.ROOT, "    dense 784:             epoch %.2f s = %.1f us/example (%.0f ms/update), "
                + "cached %.1f MB%n", denseSeconds, 1e6 * denseSeconds / rows, 1e3 * denseSeconds / updates,
                denseFit.cachedBytes() / 1e6);
        System.out.printf(Locale.ROOT, "    sparse/dense per example: %.2f%n", perExample);
        System.out.printf(Locale.ROOT, "    Spark's floor under a sparse update (a broadcast of %d touched rows, %d tasks "
                + "returning %d each, nothing computed; median of 30): %.0f ms = %.2f x the dense update%n", touchedOut,
                SHARDS, touchedBack, floorMillis, floorVsDense);
        if (!withLocalSteps) {
            return new double[] {perExample, cachedVsNnz, Double.NaN, floorVsDense, Double.NaN};
        }
        double sparseLocal = medianEpochSeconds(sparseLocalFit);
        double perExampleLocal = sparseLocal / denseLocal;
        System.out.printf(Locale.ROOT, "    with %d local steps: sparse epoch %.2f s, dense %.2f s, sparse/dense %.2f%n",
                LOCAL_STEPS, sparseLocal, denseLocal, perExampleLocal);
        // Spark's floor under a round of local steps on the wide network: θ and Adam's two moments out (3P), each
        // shard's weighted change and state back (3P); a shard's LOCAL_STEPS batches touch nearly every row
        int parameters = Math.toIntExact(spec(WIDE, hidden).parameterCount());
        int rounds = roundsInLastEpoch(sparseLocalFit);
        double roundMillis = ExchangeFloor.medianMillis(sc, 3 * parameters, 3 * parameters, SHARDS, 1, 5);
        double localFloorVsDense = rounds * roundMillis / 1e3 / denseLocal;
        System.out.printf(Locale.ROOT, "    Spark's floor under a round of local steps (3P = %.0f MB out, each of %d "
                + "tasks %.0f MB back; median of 5): %.0f ms, %d rounds an epoch = %.2f x the dense epoch%n",
                3 * 8.0 * parameters / 1e6, SHARDS, 3 * 8.0 * parameters / 1e6, roundMillis, rounds,
                localFloorVsDense);
        return new double[] {perExample, cachedVsNnz, perExampleLocal, floorVsDense, localFloorVsDense};
    }

    /** (c) and (b), then the result line with {@code a}, (a)'s figures from the child JVM. */
    private static void run(SparkSession spark, double[] a, int hidden, int batch, int localSteps, int mllibRows,
                            int reps) {
        double perExample = a[0];
        double cachedVsNnz = a[1];
        double perExampleLocal = a[2];
        double floorVsDense = a[3];
        double localFloorVsDense = a[4];

        // (c) the exchange of (a)'s gradient, in this JVM
        exchange(hidden, batch / 2);

        // (b) against MLlib on the widest input it takes here
        Dataset<Row> narrow = SparseSynthetic.frame(spark, mllibRows, MLLIB_WIDE, NON_ZEROS, 1.0, 7).repartition(SHARDS).cache();
        narrow.count();
        NetworkSpec spec = NetworkSpec.builder().input(MLLIB_WIDE).dense(hidden, Activation.SIGMOID)
                .dense(2, Activation.SOFTMAX).build();
        int iterations = reps == 1 ? 5 : 7;
        // warm-up of both
        new Trainer(spec).setOptimizer(Optimizer.sgd(0.1)).setBatchSize(0).setMaxEpochs(2).setTol(0)
                .fit(narrow, "features", "label");
        new MultilayerPerceptronClassifier().setLayers(new int[] {MLLIB_WIDE, hidden, 2}).setSolver("gd")
                .setMaxIter(2).setTol(0).fit(narrow);
        // an iteration's time, alike for both: the gap between the ends of two consecutive iteration jobs
        // (JobClock; never negative), the first gap skipped, the median over the repetitions' gaps
        List<Double> ourGaps = new ArrayList<>();
        List<Double> theirGaps = new ArrayList<>();
        java.util.function.Predicate<JobClock.Job> ourRound = j -> j.description().startsWith("sparkprop epoch");
        java.util.function.Predicate<JobClock.Job> mllibIteration = j -> j.stage().startsWith("treeAggregate at "
                + "GradientDescent");
        try (JobClock clock = new JobClock(spark.sparkContext())) {
            for (int r = 0; r < reps; r++) {
                for (double g : clock.iterationSeconds(() -> new Trainer(spec).setOptimizer(Optimizer.sgd(0.1))
                        .setBatchSize(0).setMaxEpochs(iterations).setTol(0).setSeed(1)
                        .fit(narrow, "features", "label"), ourRound, 1)) {
                    ourGaps.add(g);
                }
                for (double g : clock.iterationSeconds(() -> new MultilayerPerceptronClassifier()
                        .setLayers(new int[] {MLLIB_WIDE, hidden, 2}).setSolver("gd").setBlockSize(128)
                        .setMaxIter(iterations).setTol(0).setSeed(1).fit(narrow), mllibIteration, 1)) {
                    theirGaps.add(g);
                }
            }
        }
        if (ourGaps.isEmpty() || theirGaps.isEmpty()) {
            throw new IllegalStateException("no iteration jobs were recognised: sparkprop " + ourGaps.size()
                    + ", MLlib " + theirGaps.size());
        }
        double[] ours = ourGaps.stream().mapToDouble(Double::doubleValue).toArray();
        double[] theirs = theirGaps.stream().mapToDouble(Double::doubleValue).toArray();
        double ourIteration = RoundCost.median(ours);
        double theirIteration = RoundCost.median(theirs);
        System.out.printf(Locale.ROOT, "(b) %d rows of 2^14 features, %d non-zeros, %d-%d-2 sigmoid, full batch: "
                + "ours %.4f s/iteration, MLlib %.4f s/iteration (medians of %d and %d gaps between iteration jobs), "
                + "ratio %.4f%n", mllibRows, NON_ZEROS, MLLIB_WIDE, hidden, ourIteration, theirIteration, ours.length,
                theirs.length, ourIteration / theirIteration);
        narrow.unpersist();
        System.out.printf(Locale.ROOT, "result: sparse_vs_dense_per_example=%.3f sparse_vs_mllib=%.4f cached_vs_nnz=%.3f "
                + "sparse_vs_dense_local_steps=%.3f floor_vs_dense_per_example=%.3f floor_vs_dense_local_steps=%.3f "
                + "local_steps=%d batch=%d heap_a=%s%n", perExample, ourIteration / theirIteration, cachedVsNnz,
                perExampleLocal, floorVsDense, localFloorVsDense, localSteps, batch, PART_A_HEAP);
    }

    /** (a)'s network: {@code inputs-hidden-2}, ReLU, softmax. */
    private static NetworkSpec spec(int inputs, int hidden) {
        return NetworkSpec.builder().input(inputs).dense(hidden, Activation.RELU).dense(2, Activation.SOFTMAX).build();
    }

    private static TrainingResult fit(int inputs, int hidden, int batch, int epochs, int localSteps,
                                      Dataset<Row> data) {
        return new Trainer(spec(inputs, hidden)).setOptimizer(Optimizer.adam(0.003)).setBatchSize(batch).setMaxEpochs(epochs)
                .setLocalSteps(localSteps).setTol(0).setSeed(3).fit(data, "features", "label");
    }

    /** The rounds the fit ran in its last epoch, from its own records. */
    private static int roundsInLastEpoch(TrainingResult r) {
        int last = r.history().epochs().size() - 1;
        int rounds = 0;
        for (IterationRecord it : r.history().iterations()) {
            rounds += it.epoch() == last ? 1 : 0;
        }
        return rounds;
    }

    /** The median time of the epochs after the first (the JIT's and the first broadcasts' warm-up). */
    private static double medianEpochSeconds(TrainingResult r) {
        List<EpochRecord> epochs = r.history().epochs();
        double[] s = new double[Math.max(1, epochs.size() - 1)];
        for (int i = 1; i < epochs.size(); i++) {
            s[i - 1] = (epochs.get(i).elapsedMillis() - epochs.get(i - 1).elapsedMillis()) / 1e3;
        }
        if (epochs.size() == 1) {
            s[0] = epochs.get(0).elapsedMillis() / 1e3;
        }
        return RoundCost.median(s);
    }

    private static double lastLoss(TrainingResult r) {
        List<EpochRecord> epochs = r.history().epochs();
        return epochs.get(epochs.size() - 1).loss();
    }

    /**
     * Dense rows of 784 features uniform in [0, 1), labels from a random linear teacher's sign; made on the executors
     * ({@link GeneratedRows}), so that the driver holds none of their 630 MB.
     */
    private static Dataset<Row> denseFrame(SparkSession spark, int rows, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] teacher = new double[DENSE];
        for (int i = 0; i < DENSE; i++) {
            teacher[i] = random.nextDouble() - 0.5;
        }
        return GeneratedRows.frame(spark, rows, seed, r -> {
            double[] x = new double[DENSE];
            double s = 0;
            for (int i = 0; i < DENSE; i++) {
                x[i] = r.nextDouble();
                s += teacher[i] * (x[i] - 0.5);
            }
            return RowFactory.create(Vectors.dense(x), s > 0 ? 1.0 : 0.0);
        });
    }

    /**
     * (c): one task's gradient of {@code slice} examples (half a mini-batch on two shards) of the wide network,
     * exchanged as the trainer does — Java serialisation there and back, then the ordered merge of two — in the
     * touched-rows form a sum of sparse blocks takes ({@link GradientSum}) against the dense form (the same sum
     * once its gradient was read), beside the driver's dense Adam update of all the parameters.
     */
    private static void exchange(int hidden, int slice) {
        NetworkSpec spec = spec(WIDE, hidden);
        SplittableRandom random = new SplittableRandom(9);
        List<Example> examples = new ArrayList<>(slice);
        for (int i = 0; i < slice; i++) {
            Row row = syntheticRow(random);
            examples.add(Example.of((org.apache.spark.ml.linalg.Vector) row.get(0), row.getDouble(1)));
        }
        Shard shard = new ShardPacker(WIDE, 2, 128).pack(0, examples.iterator());
        Parameters params = Parameters.initialise(spec, 1);
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.AUTO.gemm());
        GradientSum sparse = new GradientSum(spec);
        GradientSum dense = new GradientSum(spec);
        boolean[] touched = new boolean[WIDE];
        for (int k = 0; k < shard.numBlocks(); k++) {
            kernel.lossAndGradient(params, shard.features(k), shard.targets(k), null, sparse);
            kernel.lossAndGradient(params, shard.features(k), shard.targets(k), null, dense);
            DMatrixSparseCSC x = (DMatrixSparseCSC) shard.features(k);
            for (int p = 0; p < x.nz_length; p++) {
                touched[x.nz_rows[p]] = true;
            }
        }
        int columns = 0;
        for (boolean t : touched) {
            columns += t ? 1 : 0;
        }
        double[] flat = dense.gradient().values(); // read: the dense form from here on
        int reps = 5;
        double[] denseMs = new double[reps];
        double[] sparseMs = new double[reps];
        double[] updateMs = new double[reps];
        long denseBytes = 0;
        long sparseBytes = 0;
        Optimizer.Updater adam = Optimizer.adam(0.003).newUpdater(flat.length);
        double[] theta = params.values().clone();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            byte[] bytes = serialise(dense);
            ((GradientSum) deserialise(bytes)).mergeInPlace((GradientSum) deserialise(bytes)).gradient();
            long t1 = System.nanoTime();
            denseBytes = bytes.length;
            denseMs[r] = (t1 - t0) / 1e6;

            t0 = System.nanoTime();
            bytes = serialise(sparse);
            ((GradientSum) deserialise(bytes)).mergeInPlace((GradientSum) deserialise(bytes)).gradient();
            t1 = System.nanoTime();
            sparseBytes = bytes.length;
            sparseMs[r] = (t1 - t0) / 1e6;

            t0 = System.nanoTime();
            adam.update(theta, flat, r);
            updateMs[r] = (System.nanoTime() - t0) / 1e6;
        }
        System.out.printf(Locale.ROOT, "(c) one task's gradient of %d examples, %d-%d-2: %d of %d first-layer columns "
                + "touched (%.1f %%)%n", slice, WIDE, hidden, columns, WIDE, 100.0 * columns / WIDE);
        System.out.printf(Locale.ROOT, "    serialise, deserialise twice, merge, read: touched rows (the trainer's "
                + "form) %.1f MB, %.1f ms; dense %.1f MB, %.1f ms (touched/dense %.2f); driver Adam update of all %d "
                + "parameters %.1f ms (medians of %d)%n", sparseBytes / 1e6, RoundCost.median(sparseMs),
                denseBytes / 1e6, RoundCost.median(denseMs), RoundCost.median(sparseMs) / RoundCost.median(denseMs),
                flat.length, RoundCost.median(updateMs), reps);
    }

    private static Row syntheticRow(SplittableRandom random) {
        // the rows of SparseSynthetic, generated here without a Spark job
        int[] indices = random.ints(0, WIDE).distinct().limit(NON_ZEROS).sorted().toArray();
        double[] values = new double[NON_ZEROS];
        for (int k = 0; k < NON_ZEROS; k++) {
            values[k] = 1 + random.nextDouble();
        }
        return RowFactory.create(Vectors.sparse(WIDE, indices, values), random.nextInt(2) * 1.0);
    }

    private static byte[] serialise(Object o) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static Object deserialise(byte[] bytes) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }
}
