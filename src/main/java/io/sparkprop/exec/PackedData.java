package io.sparkprop.exec;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.Internal;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.RDDInfo;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.reflect.ClassTag$;

/**
 * The examples of one fit packed into cached {@link Shard}s, with their totals, for as long as the fit
 * runs: {@link #close()} unpersists them. Packing is the one pass that reads the input, so it is also
 * where the input is checked, once: a bad row fails it with the row named ({@link ShardPacker}), and
 * empty data or data whose weights are all 0 is refused here, from the pass's own counts.
 */
@Internal
public final class PackedData implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PackedData.class);

    private final JavaRDD<Shard> shards;
    private final int partitions;
    private final int blockSize;
    private final Precision precision;
    private final long count;
    private final double weightSum;
    private final int maxBlocks;
    /** Blocks that hold their {@code X} dense. */
    private final long denseBlocks;
    private final long payloadBytes;
    /** How long {@link #cachedBytes} waits at most for Spark's status store to see every cached shard. */
    private static final long CACHED_BYTES_WAIT_NANOS = 2_000_000_000L;
    /**
     * How long {@link #close} waits at most for the tasks of a failed or cancelled job to stop before it removes
     * the blocks (a task that stops later may leave a file until its executor stops, with a warning).
     */
    private static final long TASK_END_WAIT_MS = 60_000L;
    private final long cachedBytes;
    private final long[] classCounts;
    /** The RDD id under which the executors keep the blocks that went to disk ({@link DiskBlocks}). */
    private final JavaRDD<Object> onDisk;
    private final long memoryBytes;
    private final long diskBytes;
    private final LongAccumulator diskBytesRead;

    /**
     * The Spark setting (or local property of the fitting thread) that caps the memory one data set's packed blocks
     * may take on an executor (bytes, or a size such as
     * {@code 512m}); the rest go to its local disk. Unset: the executor's Spark storage memory
     * ({@link StorageBudget}). {@code 0} puts every block on disk.
     */
    public static final String STORAGE_MEMORY_KEY = "spark.sparkprop.storageMemory";

    private PackedData(JavaRDD<Shard> shards, JavaRDD<Object> onDisk, int blockSize, Precision precision, long[] totals,
                       double weightSum, long cachedBytes, long[] classCounts, LongAccumulator diskBytesRead) {
        this.shards = shards;
        this.onDisk = onDisk;
        this.memoryBytes = totals[3];
        this.diskBytes = totals[4];
        this.diskBytesRead = diskBytesRead;
        this.partitions = shards.getNumPartitions();
        this.blockSize = blockSize;
        this.precision = precision;
        this.count = totals[0];
        this.maxBlocks = (int) totals[1];
        this.payloadBytes = totals[2];
        this.denseBlocks = totals[5];
        this.weightSum = weightSum;
        this.cachedBytes = cachedBytes;
        this.classCounts = classCounts;
    }

    /** The cached shards, one a partition. */
    public JavaRDD<Shard> shards() {
        return shards;
    }

    /** Shards, one cached partition each. */
    public int partitions() {
        return partitions;
    }

    /** Columns per block. */
    public int blockSize() {
        return blockSize;
    }

    /** The format the shards hold {@code X} and {@code Y} in. */
    public Precision precision() {
        return precision;
    }

    /** Examples. */
    public long count() {
        return count;
    }

    /** The examples' weights summed. */
    public double weightSum() {
        return weightSum;
    }

    /** The largest number of blocks of any shard. */
    public int maxBlocks() {
        return maxBlocks;
    }

    /** Whether every block holds its {@code X} sparse ({@link ShardPacker#withSparseThreshold}). */
    public boolean allBlocksSparse() {
        return denseBlocks == 0;
    }

    /** Bytes of the values in the shards (features and targets in {@link #precision}, weights as doubles). */
    public long payloadBytes() {
        return payloadBytes;
    }

    /** Bytes of the values of the blocks kept in the executors' memory. */
    public long memoryBytes() {
        return memoryBytes;
    }

    /** Bytes of the blocks on the executors' local disks. */
    public long diskBytes() {
        return diskBytes;
    }

    /** Bytes the tasks have read from the executors' disks so far (blocks requested, read-ahead included). */
    public long diskBytesRead() {
        return diskBytesRead.value();
    }

    /** Bytes Spark reports for the cached shards (the blocks in memory and the placement of the others). */
    public long cachedBytes() {
        return cachedBytes;
    }

    /**
     * Examples of each class ({@link io.sparkprop.nn.kernel.TrainingTerms#classOf}), counted in the packing pass,
     * for a classification network (cross-entropy loss); {@code null} for others. Live: do not modify.
     */
    public long[] classCounts() {
        return classCounts;
    }

    /**
     * One Spark job over the shards: {@code at} shipped to the executors ({@link Shipped}, in the shards'
     * precision), the task {@code perShard} makes of it run on every shard, and the results keyed by partition
     * handed to {@code merge} (an ordered merge, {@link OrderedTreeAggregate}, or the sliced exchange's merge and
     * step, {@link SlicedExchange}), whose result this returns; {@code at} must not change until this returns.
     * Every task on the shards is one of these jobs.
     */
    public <T, R> R onShards(Parameters at,
                          Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                          Function<JavaPairRDD<Integer, T>, R> merge) {
        return onShards(at, new double[0][], perShard, merge);
    }

    /**
     * {@link #onShards(Parameters, Function, Function)} with the optimiser's {@code state} shipped beside
     * {@code at} (as doubles); neither may change until this returns.
     */
    public <T, R> R onShards(Parameters at, double[][] state,
                          Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                          Function<JavaPairRDD<Integer, T>, R> merge) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(shards.context());
        return run(Shipped.of(sc, at, state, precision, diskBytesRead), perShard, merge);
    }

    /**
     * {@link #onShards(Parameters, Function, Function)} of the parameters the sliced exchange's slices hold: the
     * tasks read them from the slices on the executors ({@link Shipped#ofSlices}), nothing of them is broadcast.
     */
    public <T, R> R onShards(SlicedExchange.Theta theta,
                          Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                          Function<JavaPairRDD<Integer, T>, R> merge) {
        return run(Shipped.ofSlices(theta, precision, diskBytesRead), perShard, merge);
    }

    /**
     * {@link #onShards(Parameters, double[][], Function, Function)} of parameters without {@code W_0}
     * ({@link Parameters#withoutFirstLayerWeights(io.sparkprop.nn.NetworkSpec)}), whose rows the round ships as
     * {@code rows} ({@link FirstLayerRows}); the tasks read both through {@link Shipped}.
     */
    public <T, R> R onShards(Parameters rest, FirstLayerRows.Version rows,
                          Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                          Function<JavaPairRDD<Integer, T>, R> merge) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(shards.context());
        return run(Shipped.of(sc, rest, rows, new double[0][], precision, diskBytesRead), perShard, merge);
    }

    /** The job of every {@code onShards}: the task {@code perShard} makes of {@code shipped} on every shard, merged. */
    private <T, R> R run(Shipped shipped,
                         Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                         Function<JavaPairRDD<Integer, T>, R> merge) {
        try (Shipped s = shipped) {
            return merge.apply(JavaPairRDD.fromJavaRDD(shards.mapPartitionsWithIndex(perShard.apply(s), true)));
        }
    }

    /**
     * The input coalesced to {@code numShards} partitions (0: Spark's default parallelism) without a
     * shuffle, into contiguous ranges of partitions ({@link RangeCoalescer}), so that the same input
     * partitioning always gives the same shards; input with fewer partitions is kept as it is.
     */
    public static JavaRDD<Example> toShardPartitions(JavaSparkContext sc, JavaRDD<Example> input, int numShards) {
        int target = numShards > 0 ? numShards : sc.defaultParallelism();
        if (target >= input.getNumPartitions()) {
            return input;
        }
        RDD<Example> coalesced = input.rdd().coalesce(target, false, scala.Option.apply(new RangeCoalescer()), null);
        return new JavaRDD<>(coalesced, ClassTag$.MODULE$.apply(Example.class));
    }

    /**
     * Packs {@code data} (already in its shard partitions) into blocks of {@code block} columns for
     * {@code spec}, in {@code precision}, blocks below {@code sparseThreshold} sparse, caches and counts the
     * shards in one Spark job.
     *
     * @param what       {@code training} or {@code validation}: the data's name in messages
     * @param featuresCol the column to name in messages about bad feature values, or {@code null}
     * @param labelCol   the column to name in messages about bad labels, or {@code null}
     * @throws IllegalArgumentException on a bad row (named), empty data, or weights that are all 0
     */
    public static PackedData pack(JavaSparkContext sc, JavaRDD<Example> data, NetworkSpec spec, int block,
                           Precision precision, double sparseThreshold, String what, String featuresCol,
                           String labelCol) {
        int partitions = data.getNumPartitions();
        warnAboutSlowSettings(sc, data, spec, what);
        checkOneBlockFits(sc, spec, block, precision);
        int classes = spec.loss() == io.sparkprop.nn.Loss.HALF_SQUARED_ERROR ? 0
                : io.sparkprop.nn.kernel.TrainingTerms.classes(spec.outputSize());
        // an RDD of nothing, whose id names the blocks the executors put on disk: unpersisting it removes them
        JavaRDD<Object> onDisk = sc.emptyRDD().setName("sparkprop " + what + " blocks on disk");
        RunningTasks.of(sc.sc()); // before the first job over the shards, so that it follows their tasks
        ShardPacker.Storage storage = new ShardPacker.Storage(onDisk.id(), partitions);
        ShardPacker packer = new ShardPacker(spec.inputSize(), spec.outputSize(), block)
                .withColumnNames(featuresCol, labelCol).withPrecision(precision)
                .withSparseThreshold(sparseThreshold).withClassCounts(classes);
        JavaRDD<Shard> shards = data
                .mapPartitionsWithIndex((p, it) -> Collections.singletonList(packer.pack(p, it, storage)).iterator(),
                        true)
                .setName("sparkprop " + what + " shards (" + spec + ", " + precision.lowerName() + ")")
                .persist(StorageLevel.MEMORY_AND_DISK());
        String previous = sc.getLocalProperty("spark.job.description");
        boolean kept = false;
        try {
            sc.setJobDescription("sparkprop packing " + what + " data: " + partitions + " partitions into blocks of "
                    + block);
            long started = System.nanoTime();
            List<long[]> stats;
            try {
                stats = shards.map(s -> {
                    long[] row = java.util.Arrays.copyOf(new long[] {s.count(), Double.doubleToLongBits(s.weightSum()),
                        s.numBlocks(), s.payloadBytes(), s.memoryBytes(), s.diskBytes(),
                        s.numBlocks() - s.sparseBlocks()}, 7 + classes);
                    long[] counts = s.classCounts();
                    for (int c = 0; c < classes; c++) {
                        row[7 + c] = counts[c];
                    }
                    return row;
                }).collect();
            } catch (Exception e) { // Spark throws its (checked) SparkException undeclared
                throw SparkJobs.inputError(e, "packing the " + what + " data");
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            long[] totals = new long[6];
            long[] classCounts = classes == 0 ? null : new long[classes];
            double weightSum = 0;
            for (long[] s : stats) {
                for (int c = 0; c < classes; c++) {
                    classCounts[c] += s[7 + c];
                }
                totals[0] += s[0];
                weightSum += Double.longBitsToDouble(s[1]);
                totals[1] = Math.max(totals[1], s[2]);
                totals[2] += s[3];
                totals[3] += s[4];
                totals[4] += s[5];
                totals[5] += s[6];
            }
            if (totals[0] == 0) {
                throw new IllegalArgumentException("the " + what + " data is empty: no examples in any of "
                        + partitions + " partitions");
            }
            if (!(weightSum > 0)) {
                throw new IllegalArgumentException(what.equals("training")
                        ? "every example weight is 0: nothing to train on (" + totals[0] + " examples)"
                        : "every example weight of the " + what + " data is 0: nothing to evaluate (" + totals[0]
                                + " examples)");
            }
            LOG.info(String.format(java.util.Locale.ROOT, "sparkprop: packed the %s data: %d examples in %.1f s "
                            + "(%.0f rows/s), %s of values in memory, %s of blocks on disk%s", what, totals[0], seconds,
                    totals[0] / Math.max(seconds, 1e-9), io.sparkprop.util.Names.bytes(totals[3]),
                    io.sparkprop.util.Names.bytes(totals[4]),
                    totals[4] == 0 ? "" : " (the executors' storage memory, or " + STORAGE_MEMORY_KEY
                            + ", holds the rest)"));
            PackedData packed = new PackedData(shards, onDisk, block, precision, totals, weightSum,
                    cachedBytes(sc, shards.id(), partitions), classCounts,
                    sc.sc().longAccumulator("sparkprop bytes read from disk"));
            kept = true;
            return packed;
        } finally {
            if (!kept) {
                remove(shards, onDisk, true);
            }
            sc.setJobDescription(previous);
        }
    }

    /**
     * Refuses, before any work, a block size whose blocks and model cannot fit a task's heap: a task holds the
     * model several times over (parameters, their shipped copy, gradient sums, a local step's copy and the
     * rule's state: 6 copies of 8 bytes a parameter) and a few blocks (the one in the kernel and {@link Shard#READ_AHEAD} read
     * ahead, with its activations), beside the sort buffer of packing and Spark's reserved 300 MB.
     */
    private static void checkOneBlockFits(JavaSparkContext sc, NetworkSpec spec, int block, Precision precision) {
        long heap = sc.isLocal() ? Runtime.getRuntime().maxMemory()
                : sc.getConf().getSizeAsBytes("spark.executor.memory", "1g");
        long blockBytes = (long) precision.bytes() * block * (spec.inputSize() + spec.outputSize()) + 8L * block;
        long activations = 0;
        for (int l = 0; l < spec.numLayers(); l++) {
            activations += 3L * 8 * block * spec.width(l);
        }
        long model = 6L * 8 * spec.parameterCount();
        long needed = (Shard.READ_AHEAD + 2) * blockBytes + activations + model + ShardPacker.sortBufferBytes()
                + (300L << 20);
        if (needed > heap) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "a task needs about %d MB (blocks of "
                    + "%d columns, %d MB each, %d read ahead, and %d MB for a %d-parameter model), more than the "
                    + "executor's heap of %d MB: lower blockSize (or batchSize), or raise %s", needed >> 20, block,
                    blockBytes >> 20, Shard.READ_AHEAD, model >> 20, spec.parameterCount(), heap >> 20,
                    sc.isLocal() ? "the driver's heap (spark.driver.memory, -Xmx)" : "spark.executor.memory"));
        }
    }

    /**
     * Unpersists the shards (without waiting) and removes the blocks on the executors' disks (waiting, so that
     * no file outlives the fit); the object is not used afterwards.
     */
    @Override
    public void close() {
        remove(shards, onDisk, diskBytes > 0);
    }

    /**
     * Waits for the tasks over {@code shards} that still run (those of a failed or cancelled job, which Spark
     * kills after the job has returned: a packing task among them would write its chunks after the removal),
     * at most {@link #TASK_END_WAIT_MS}, then unpersists the shards and removes the blocks on disk.
     */
    private static void remove(JavaRDD<Shard> shards, JavaRDD<Object> onDisk, boolean waitForDisk) {
        try {
            RunningTasks.of(shards.context()).awaitNoneOver(shards.id(), TASK_END_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the blocks are removed all the same; a late task may leave one
        } finally {
            shards.unpersist(false);
            onDisk.unpersist(waitForDisk);
        }
    }

    /** The parameter bytes from which the advice on {@code spark.broadcast.compress} is logged. */
    private static final long BROADCAST_ADVICE_BYTES = 1 << 20;

    /**
     * Three settings that cost time on every iteration and that a user can change: a gradient larger
     * than {@code spark.task.maxDirectResultSize} (default 1 MB) travels back through the block manager
     * instead of with the task's result, {@code spark.broadcast.compress} (default true) compresses the
     * parameters each round broadcasts, and data made by {@code parallelize} keeps each partition's
     * rows inside its partition object, which Spark ships with every task of every iteration (the
     * cached shards do not help, since tasks carry their partition object all the same).
     */
    private static void warnAboutSlowSettings(JavaSparkContext sc, JavaRDD<Example> data, NetworkSpec spec,
                                              String what) {
        long gradientBytes = 8 * spec.parameterCount();
        long direct = sc.getConf().getSizeAsBytes("spark.task.maxDirectResultSize", "1m");
        if (gradientBytes > direct && what.equals("training")) {
            LOG.info("sparkprop: each task returns a gradient of up to {} KB (sparse blocks send the rows they touched), "
                    + "more than spark.task.maxDirectResultSize ({} KB); "
                    + "setting it to at least {}k when the session is created saves a round trip per iteration",
                    gradientBytes >> 10, direct >> 10, (gradientBytes >> 10) + 64);
        }
        // lz4 leaves doubles' bytes as they were (42 MB of weights come out 1.001 times as large) and costs 0.5-0.8 ms a
        // MB to compress on the driver, 0.3-0.7 ms to decompress on each executor (README, "Spark settings that
        // matter"); Spark reads the setting when the session starts
        if (gradientBytes >= BROADCAST_ADVICE_BYTES && what.equals("training")
                && sc.getConf().getBoolean("spark.broadcast.compress", true)) {
            LOG.info("sparkprop: a round of the driver's merge broadcasts up to {} KB of parameters, which "
                    + "spark.broadcast.compress (true) compresses on the driver and decompresses on every executor "
                    + "without making them smaller; setting it to false when the session is created saves that time",
                    gradientBytes >> 10);
        }
        if (hasParallelizedSource(data.rdd())) {
            LOG.warn("sparkprop: the {} data comes from parallelize() with no shuffle in between, so Spark ships "
                    + "every partition's rows with each task of every iteration; repartition() it (or read it from "
                    + "files) before training", what);
        }
    }

    /** Whether {@code rdd} reaches a {@code ParallelCollectionRDD} through narrow dependencies only. */
    private static boolean hasParallelizedSource(RDD<?> rdd) {
        if (rdd.getClass().getName().equals("org.apache.spark.rdd.ParallelCollectionRDD")) {
            return true;
        }
        scala.collection.Iterator<org.apache.spark.Dependency<?>> deps = rdd.dependencies().iterator();
        while (deps.hasNext()) {
            org.apache.spark.Dependency<?> d = deps.next();
            if (d instanceof org.apache.spark.NarrowDependency && hasParallelizedSource(d.rdd())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The bytes Spark holds for the cached shards. Spark's status store learns of cached blocks from listener
     * events, delivered after the job that cached them has returned, so right after packing it may not have
     * seen every partition yet (and would under-report): wait, briefly and boundedly, until it has all
     * {@code partitions}.
     */
    private static long cachedBytes(JavaSparkContext sc, int rddId, int partitions) {
        long deadline = System.nanoTime() + CACHED_BYTES_WAIT_NANOS;
        while (true) {
            RDDInfo found = null;
            for (RDDInfo info : sc.sc().getRDDStorageInfo()) {
                if (info.id() == rddId) {
                    found = info;
                }
            }
            if ((found != null && found.numCachedPartitions() >= partitions) || System.nanoTime() > deadline) {
                return found == null ? 0 : found.memSize() + found.diskSize();
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return found == null ? 0 : found.memSize() + found.diskSize();
            }
        }
    }
}
