package io.sparkprop.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import io.sparkprop.data.DataFrames;
import io.sparkprop.data.Example;
import io.sparkprop.data.Shard;
import io.sparkprop.data.ShardPacker;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.RDDInfo;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;

/**
 * Data-parallel training of a {@link NetworkSpec} on Spark. The examples are packed once per
 * partition into a cached {@link Shard} of column blocks; then, per iteration, the driver broadcasts
 * the parameters, every partition runs the kernel over the blocks the iteration uses
 * ({@link BlockSchedule}), the partial gradient sums are merged in a fixed order
 * ({@link OrderedTreeAggregate}, depth {@code aggregationDepth}), and the driver applies
 *
 * <pre>  g = (1/Σw) Σ_i w_i ∇C_i + λW   (biases not penalised),   θ ← optimiser(θ, g)</pre>
 *
 * minimising {@code J(θ) = (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖_F²}.
 *
 * <pre>{@code
 * TrainingResult r = new Trainer(spec)
 *         .setOptimizer(Optimizer.adam(1e-3))
 *         .setBatchSize(256)
 *         .setMaxEpochs(15)
 *         .fit(examples);             // JavaRDD<Example>, RDD<Example> or a DataFrame
 * }</pre>
 *
 * The same seed and the same partitioning give bit-identical parameters. Not thread-safe; a trainer
 * may be fitted many times.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    /** An epoch loss at or above this is meaningless (see {@code Loop.isMeaningful}). */
    static final double MEANINGFUL_LOSS = 1e100;

    private final NetworkSpec spec;
    private Optimizer optimizer = Optimizer.named(Defaults.OPTIMIZER, Defaults.STEP_SIZE, Defaults.MOMENTUM,
            Defaults.STEP_DECAY);
    private int batchSize = Defaults.BATCH_SIZE;
    private int maxEpochs = Defaults.MAX_EPOCHS;
    private double tol = Defaults.TOL;
    private double regParam = Defaults.REG_PARAM;
    private int blockSize = Defaults.BLOCK_SIZE;
    private int aggregationDepth = Defaults.AGGREGATION_DEPTH;
    private long seed = Defaults.SEED;
    private GemmBackend gemmBackend = GemmBackend.AUTO;
    private Parameters initialParameters;
    private EpochListener epochListener;
    private int numShards = 0;
    private JavaRDD<Example> validationData;
    private int patience = 0;
    private String checkpointDir;
    private int checkpointEvery = 1;
    private boolean resume;
    private String featuresColumn;
    private String labelColumn;

    /** A trainer for {@code spec} with the defaults of {@link Defaults} (Adam(1e-3), batch 256, 10 epochs, …). */
    public Trainer(NetworkSpec spec) {
        this.spec = Checks.notNull("network spec", spec);
    }

    /** The network being trained. */
    public NetworkSpec spec() {
        return spec;
    }

    /** The update rule and its step size. */
    public Trainer setOptimizer(Optimizer optimizer) {
        this.optimizer = Checks.notNull("optimizer", optimizer);
        return this;
    }

    /**
     * Examples per update across the cluster; 0 (or at least the number of examples) for full batch.
     * For mini-batches the packed block size is capped at {@code ⌈batchSize / partitions⌉}, so that
     * every partition can contribute at least one block to each update, and an epoch is
     * {@code min(⌈N / batchSize⌉, the largest partition's block count)} updates, each reading an even
     * share of every partition's blocks. Updates hold {@code batchSize} examples up to block rounding.
     */
    public Trainer setBatchSize(int batchSize) {
        this.batchSize = Checks.atLeast("batchSize", batchSize, 0, "0 = full batch");
        return this;
    }

    /** Passes over the data at most. */
    public Trainer setMaxEpochs(int maxEpochs) {
        this.maxEpochs = Checks.atLeast("maxEpochs", maxEpochs, 1, null);
        return this;
    }

    /** Stop when the epoch objective changes by less than {@code tol} relative to the previous epoch's; 0 = never. */
    public Trainer setTol(double tol) {
        this.tol = Checks.finiteNonNegative("tol", tol);
        return this;
    }

    /** The ridge penalty {@code λ ≥ 0} of {@code (λ/2) Σ_l ‖W_l‖²}; biases are not penalised. */
    public Trainer setRegParam(double regParam) {
        this.regParam = Checks.finiteNonNegative("regParam", regParam);
        return this;
    }

    /** Examples per packed block (the GEMMs' column count); see {@link #setBatchSize}. */
    public Trainer setBlockSize(int blockSize) {
        this.blockSize = Checks.atLeast("blockSize", blockSize, 1, null);
        return this;
    }

    /**
     * Depth of the tree that merges the partitions' gradient sums (≥ 1; default 2). Gradients too large
     * for the driver to collect the tree's last level at once are merged pairwise on the executors
     * instead ({@link OrderedTreeAggregate#plan}); {@link TrainingResult#aggregation()} tells which ran.
     */
    public Trainer setAggregationDepth(int depth) {
        this.aggregationDepth = Checks.atLeast("aggregationDepth", depth, 1, null);
        return this;
    }

    /** Seed of the initial weights and of every epoch's block order. */
    public Trainer setSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /** The GEMM backend the executors use. */
    public Trainer setGemmBackend(GemmBackend backend) {
        this.gemmBackend = Checks.notNull("gemm backend", backend);
        return this;
    }

    /** Start from these parameters instead of a seeded initialisation (warm start); {@code null} to clear. */
    public Trainer setInitialParameters(Parameters initial) {
        if (initial != null) {
            Parameters.zeros(spec).checkSameShape(initial);
            if (!initial.isFinite()) {
                throw new IllegalArgumentException("initial parameters contain NaN or infinite values");
            }
        }
        this.initialParameters = initial == null ? null : initial.copy();
        return this;
    }

    /**
     * How many shards (cached partitions, one task each per iteration) to pack the data into: 0
     * (default) for Spark's default parallelism — the cores of the application — so that an
     * iteration is one wave of tasks and returns as few gradients as can keep every core busy. Input
     * with more partitions is coalesced, without a shuffle, into contiguous ranges of partitions (so
     * the same input partitioning always gives the same shards); input with fewer is kept as it is.
     */
    public Trainer setNumShards(int numShards) {
        this.numShards = Checks.atLeast("numShards", numShards, 0, "0 = the default parallelism");
        return this;
    }

    /**
     * Held-out examples, never trained on: after every epoch their mean loss and accuracy (largest
     * output at the largest target) are recorded in the {@link EpochRecord}s. {@code null} for none.
     */
    public Trainer setValidationData(JavaRDD<Example> validation) {
        this.validationData = validation;
        return this;
    }

    /**
     * Early stopping on the validation data: stop after {@code patience} epochs without a lower
     * validation loss, and return the parameters of the epoch with the lowest one; 0 (default) = off.
     */
    public Trainer setPatience(int patience) {
        this.patience = Checks.atLeast("patience", patience, 0, "0 = off");
        return this;
    }

    /**
     * Write a checkpoint every {@code everyEpochs} epochs into {@code folder} (any Hadoop file system);
     * {@code null} for none. See {@link #setResume}.
     */
    public Trainer setCheckpoint(String folder, int everyEpochs) {
        this.checkpointDir = folder;
        this.checkpointEvery = Checks.atLeast("checkpoint interval", everyEpochs, 1, null);
        return this;
    }

    /**
     * Continue from the newest complete checkpoint in the checkpoint folder, if there is one: the run
     * then ends with the same parameters, bit for bit, as one that was never interrupted (same data
     * partitioning, seed and settings).
     */
    public Trainer setResume(boolean resume) {
        this.resume = resume;
        return this;
    }

    /**
     * The DataFrame columns the examples of {@link #fit(JavaRDD)} come from, so that a bad value is
     * reported by column ({@code feature 3 of column 'features' is NaN …}); {@code null} for none. The
     * DataFrame {@code fit} methods name their own columns.
     */
    public Trainer setColumnNames(String featuresColumn, String labelColumn) {
        this.featuresColumn = featuresColumn;
        this.labelColumn = labelColumn;
        return this;
    }

    /** Called after every epoch on the driver ({@code null}: none); it can stop training early. */
    public Trainer setEpochListener(EpochListener listener) {
        this.epochListener = listener;
        return this;
    }

    /** Trains on an RDD of examples. */
    public TrainingResult fit(RDD<Example> data) {
        return fit(new JavaRDD<>(data, ClassTag$.MODULE$.apply(Example.class)));
    }

    /**
     * Trains on a DataFrame with a Vector features column and a numeric label (a class index for a
     * multi-output classifier) or Vector label column.
     */
    public TrainingResult fit(Dataset<Row> data, String featuresCol, String labelCol) {
        return fit(DataFrames.toExamples(data, featuresCol, labelCol, null), featuresCol, labelCol);
    }

    /** As {@link #fit(Dataset, String, String)}, with a numeric weight column ({@code null} for none). */
    public TrainingResult fit(Dataset<Row> data, String featuresCol, String labelCol, String weightCol) {
        return fit(DataFrames.toExamples(data, featuresCol, labelCol, weightCol), featuresCol, labelCol);
    }

    /**
     * Trains on an RDD of examples.
     *
     * @throws IllegalArgumentException   on empty data or a bad example (the message names its row)
     * @throws TrainingDivergedException  when the loss, gradient or parameters become non-finite
     */
    public TrainingResult fit(JavaRDD<Example> input) {
        return fit(input, featuresColumn, labelColumn);
    }

    /** {@link #fit(JavaRDD)} with the columns to name in messages about bad values ({@code null}: none). */
    private TrainingResult fit(JavaRDD<Example> input, String featuresCol, String labelCol) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(input.context());
        String previousDescription = sc.getLocalProperty("spark.job.description");
        JavaRDD<Example> data = toShardPartitions(sc, input);
        int partitions = data.getNumPartitions();
        int effectiveBlock = batchSize > 0
                ? Math.min(blockSize, Math.max(1, (batchSize + partitions - 1) / partitions))
                : blockSize;
        Packed packed = null;
        Packed validation = null;
        try {
            if (patience > 0 && validationData == null) {
                throw new IllegalArgumentException("patience " + patience + " needs validation data: set it with "
                        + "setValidationData");
            }
            // before any job: a gradient that can never reach the driver is refused here
            OrderedTreeAggregate.Plan plan = gradientPlan(sc, partitions);
            packed = pack(sc, data, effectiveBlock, featuresCol, labelCol);
            if (validationData != null) {
                validation = packValidation(sc, featuresCol, labelCol);
            }
            boolean fullBatch = batchSize == 0 || batchSize >= packed.count;
            if (batchSize > packed.count) {
                LOG.warn("batchSize {} is larger than the data ({} examples): training full batch", batchSize,
                        packed.count);
            }
            // ⌈N / batchSize⌉ updates an epoch, but never more than the largest partition has blocks:
            // past that, iterations would exist in which no partition has a block to read.
            int iterationsPerEpoch = fullBatch ? 1
                    : (int) Math.min((packed.count + batchSize - 1) / batchSize, packed.maxBlocks);
            GemmChoice gemm = GemmChoice.decide(gemmBackend);
            LOG.info("sparkprop: {} examples in {} partitions, blocks of {}, {} updates per epoch, cached {} MB "
                            + "({} MB of doubles), {}, GEMM {}", packed.count, partitions, effectiveBlock,
                    iterationsPerEpoch, packed.cachedBytes >> 20, packed.payloadBytes >> 20, optimizer,
                    gemm.describe());
            Loop loop = new Loop(sc, packed.shards, partitions, iterationsPerEpoch, !fullBatch, plan, gemm);
            loop.validation = validation;
            loop.identity = identity(partitions, effectiveBlock, iterationsPerEpoch);
            Parameters trained = loop.run();
            return new TrainingResult(trained, loop.history, packed.count, packed.weightSum, partitions,
                    effectiveBlock, iterationsPerEpoch, packed.cachedBytes, packed.payloadBytes, loop.converged,
                    loop.bestEpoch, loop.plan, gemm.describe(), loop.otherFingerprints());
        } finally {
            if (packed != null) {
                packed.shards.unpersist(false);
            }
            if (validation != null) {
                validation.shards.unpersist(false);
            }
            sc.setJobDescription(previousDescription);
        }
    }

    /**
     * The summed loss and gradient {@code Σ_i w_i C_i}, {@code Σ_i w_i ∇C_i} over all of {@code data} at
     * {@code at}, computed as one full-batch iteration is (ridge term not included).
     *
     * @throws IllegalArgumentException on empty data or a bad example
     */
    public GradientSum computeGradient(JavaRDD<Example> input, Parameters at) {
        Parameters.zeros(spec).checkSameShape(at);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(input.context());
        JavaRDD<Example> data = toShardPartitions(sc, input);
        String previousDescription = sc.getLocalProperty("spark.job.description");
        Packed packed = null;
        try {
            OrderedTreeAggregate.Plan plan = gradientPlan(sc, data.getNumPartitions());
            packed = pack(sc, data, blockSize, featuresColumn, labelColumn);
            sc.setJobDescription("sparkprop gradient");
            return new Loop(sc, packed.shards, data.getNumPartitions(), 1, false, plan, GemmChoice.decide(gemmBackend))
                    .gradient(at, 0, 0);
        } finally {
            if (packed != null) {
                packed.shards.unpersist(false);
            }
            sc.setJobDescription(previousDescription);
        }
    }

    /** Packs the validation data like the training data; empty validation data is an error. */
    private Packed packValidation(JavaSparkContext sc, String featuresCol, String labelCol) {
        try {
            return pack(sc, toShardPartitions(sc, validationData), blockSize, featuresCol, labelCol);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("validation data: " + e.getMessage(), e);
        }
    }

    /** The input coalesced to the number of shards (see {@link #setNumShards}). */
    private JavaRDD<Example> toShardPartitions(JavaSparkContext sc, JavaRDD<Example> input) {
        int target = numShards > 0 ? numShards : sc.defaultParallelism();
        if (target >= input.getNumPartitions()) {
            return input;
        }
        RDD<Example> coalesced = input.rdd().coalesce(target, false,
                scala.Option.apply(new RangeCoalescer()), null);
        return new JavaRDD<>(coalesced, ClassTag$.MODULE$.apply(Example.class));
    }

    /** Packs and caches the shards and counts them; an empty or all-zero-weight dataset is an error. */
    private Packed pack(JavaSparkContext sc, JavaRDD<Example> data, int block, String featuresCol,
                        String labelCol) {
        int partitions = data.getNumPartitions();
        warnAboutSlowSettings(sc, data);
        ShardPacker packer = new ShardPacker(spec.inputSize(), spec.outputSize(), block)
                .withColumnNames(featuresCol, labelCol);
        JavaRDD<Shard> shards = data
                .mapPartitionsWithIndex((p, it) -> Collections.singletonList(packer.pack(p, it)).iterator(), true)
                .setName("sparkprop shards (" + spec + ")")
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            sc.setJobDescription("sparkprop packing " + partitions + " partitions into blocks of " + block);
            List<long[]> stats;
            try {
                stats = shards.map(s -> new long[] {
                    s.count(), Double.doubleToLongBits(s.weightSum()), s.numBlocks(), s.payloadBytes()}).collect();
            } catch (Exception e) { // Spark throws its (checked) SparkException undeclared
                throw SparkJobs.inputError(e, "packing the training data");
            }
            Packed packed = new Packed(shards);
            for (long[] s : stats) {
                packed.count += s[0];
                packed.weightSum += Double.longBitsToDouble(s[1]);
                packed.maxBlocks = Math.max(packed.maxBlocks, (int) s[2]);
                packed.payloadBytes += s[3];
            }
            if (packed.count == 0) {
                throw new IllegalArgumentException("the training data is empty: no examples in any of "
                        + partitions + " partitions");
            }
            if (!(packed.weightSum > 0)) {
                throw new IllegalArgumentException("every example weight is 0: nothing to train on ("
                        + packed.count + " examples)");
            }
            packed.cachedBytes = cachedBytes(sc, shards.id());
            return packed;
        } catch (RuntimeException e) {
            shards.unpersist(false);
            throw e;
        }
    }

    /**
     * Two settings that cost time on every iteration and that a user can change: a gradient larger
     * than {@code spark.task.maxDirectResultSize} (default 1 MB) travels back through the block manager
     * instead of with the task's result, and data made by {@code parallelize} keeps each partition's
     * rows inside its partition object, which Spark ships with every task of every iteration (the
     * cached shards do not help, since tasks carry their partition object all the same).
     */
    private void warnAboutSlowSettings(JavaSparkContext sc, JavaRDD<Example> data) {
        long gradientBytes = 8 * spec.parameterCount();
        long direct = sc.getConf().getSizeAsBytes("spark.task.maxDirectResultSize", "1m");
        if (gradientBytes > direct) {
            LOG.info("sparkprop: each task returns a {} KB gradient, more than spark.task.maxDirectResultSize ({} KB); "
                    + "setting it to at least {}k when the session is created saves a round trip per iteration",
                    gradientBytes >> 10, direct >> 10, (gradientBytes >> 10) + 64);
        }
        if (hasParallelizedSource(data.rdd())) {
            LOG.warn("sparkprop: the training data comes from parallelize() with no shuffle in between, so Spark "
                    + "ships every partition's rows with each task of every iteration; repartition() it (or read it "
                    + "from files) before training");
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

    /** The cached shards of one fit and their totals. */
    private static final class Packed {
        final JavaRDD<Shard> shards;
        long count;
        double weightSum;
        int maxBlocks;
        long payloadBytes;
        long cachedBytes;

        Packed(JavaRDD<Shard> shards) {
            this.shards = shards;
        }
    }

    private static long cachedBytes(JavaSparkContext sc, int rddId) {
        for (RDDInfo info : sc.sc().getRDDStorageInfo()) {
            if (info.id() == rddId) {
                return info.memSize() + info.diskSize();
            }
        }
        return 0;
    }

    /** The driver loop of one fit. */
    private final class Loop {
        final JavaSparkContext sc;
        final JavaRDD<Shard> shards;
        final int partitions;
        final int iterationsPerEpoch;
        final boolean shuffle;
        final TrainingHistory history = new TrainingHistory();
        final LongAccumulator blocksRead;
        final OrderedTreeAggregate.Plan plan;
        final GemmChoice gemm;
        final CollectionAccumulator<String> fingerprints;
        boolean converged;
        Packed validation;
        Map<String, String> identity = new LinkedHashMap<>();
        int bestEpoch = -1;
        double bestValidationLoss;
        Parameters best;
        private boolean warnedMeaningless;

        Loop(JavaSparkContext sc, JavaRDD<Shard> shards, int partitions, int iterationsPerEpoch, boolean shuffle,
             OrderedTreeAggregate.Plan plan, GemmChoice gemm) {
            this.sc = sc;
            this.shards = shards;
            this.partitions = partitions;
            this.iterationsPerEpoch = iterationsPerEpoch;
            this.shuffle = shuffle;
            this.blocksRead = sc.sc().longAccumulator("sparkprop blocks read");
            this.plan = plan;
            this.gemm = gemm;
            this.fingerprints = sc.sc().collectionAccumulator("sparkprop GEMM fingerprints");
        }

        /** The executors' GEMM fingerprints that differed from the driver's, each once. */
        List<String> otherFingerprints() {
            return new ArrayList<>(new TreeSet<>(fingerprints.value()));
        }

        Parameters run() {
            Parameters current = initialParameters != null ? initialParameters.copy()
                    : Parameters.initialise(spec, seed);
            Optimizer.Updater updater = optimizer.newUpdater(current.size());
            bestValidationLoss = Double.POSITIVE_INFINITY;
            best = null;
            long iteration = 0;
            // applied updates: Adam's step counter and the decay schedule advance on these only, not on
            // iterations that found no example of positive weight
            long updates = 0;
            double previousEpochLoss = Double.NaN;
            int firstEpoch = 0;
            Checkpoints checkpoints = checkpointDir == null ? null
                    : new Checkpoints(checkpointDir, sc.hadoopConfiguration());
            if (checkpoints != null && resume) {
                Checkpoints.State saved = checkpoints.newest(spec, identity, updater.state().length);
                if (saved != null) {
                    current = Parameters.fromFlat(spec, saved.parameters);
                    double[][] state = updater.state();
                    for (int i = 0; i < state.length; i++) {
                        System.arraycopy(saved.optimizer[i], 0, state[i], 0, state[i].length);
                    }
                    firstEpoch = saved.epoch + 1;
                    iteration = saved.iteration;
                    updates = saved.updates;
                    previousEpochLoss = saved.previousEpochLoss;
                    bestEpoch = saved.bestEpoch;
                    bestValidationLoss = saved.bestValidationLoss;
                    best = saved.bestParameters == null ? null : Parameters.fromFlat(spec, saved.bestParameters);
                    if (saved.stop != Checkpoints.Stop.NONE) {
                        // the run had ended: resuming it must not train on
                        converged = saved.stop == Checkpoints.Stop.CONVERGED;
                        LOG.info("sparkprop: the run in {} had stopped after epoch {} ({}); nothing to resume",
                                checkpointDir, firstEpoch, converged ? "converged" : "early stop");
                        return patience > 0 && best != null ? best : current;
                    }
                    LOG.info("sparkprop: resuming after epoch {} from {}", firstEpoch, checkpointDir);
                }
            }
            double[] theta = current.toFlat();
            long start = System.nanoTime();
            double listenerMillis = 0;
            for (int epoch = firstEpoch; epoch < maxEpochs; epoch++) {
                // Σ_t W_t·J_t(θ_t) and Σ_t W_t: the epoch loss is the batch-weighted mean of the objective
                // J_t(θ_t) = data term + penalty, both at the parameters θ_t the update started from
                double epochObjectiveSum = 0;
                double epochWeightSum = 0;
                long epochExamples = 0;
                long epochStart = System.nanoTime();
                for (int t = 0; t < iterationsPerEpoch; t++, iteration++) {
                    long iterationStart = System.nanoTime();
                    sc.setJobDescription(String.format(Locale.ROOT, "sparkprop epoch %d/%d iteration %d/%d",
                            epoch + 1, maxEpochs, t + 1, iterationsPerEpoch));
                    long blocksBefore = blocksRead.value();
                    GradientSum sum = gradient(current, epoch, t);
                    long blocks = blocksRead.value() - blocksBefore;
                    if (sum == null || sum.weightSum() == 0) {
                        // no example (or only zero weights) in this slice: nothing to learn from
                        history.add(new IterationRecord(epoch, iteration, Double.NaN, optimizer.stepSizeAt(updates),
                                sum == null ? 0 : sum.count(), blocks, millisSince(iterationStart)));
                        continue;
                    }
                    double meanLoss = sum.lossSum() / sum.weightSum();
                    Parameters g = sum.gradient();
                    if (!Double.isFinite(meanLoss) || !g.isFinite()) {
                        throw diverged(epoch, iteration, (Double.isFinite(meanLoss) ? "the gradient" : "the loss")
                                + " is not finite (loss " + meanLoss + ")", current);
                    }
                    g.scaleInPlace(1.0 / sum.weightSum());
                    double objective = meanLoss;
                    if (regParam > 0) {
                        g.axpyWeightsInPlace(regParam, current); // ∇(λ/2 ‖W‖²) = λW
                        objective += 0.5 * regParam * current.weightNormSquared();
                    }
                    double step = optimizer.stepSizeAt(updates);
                    updater.update(theta, g.toFlat(), updates);
                    updates++;
                    Parameters next = Parameters.fromFlat(spec, theta);
                    if (!next.isFinite()) {
                        throw diverged(epoch, iteration, "the update made the parameters non-finite", current);
                    }
                    current = next;
                    epochObjectiveSum += objective * sum.weightSum();
                    epochWeightSum += sum.weightSum();
                    epochExamples += sum.count();
                    history.add(new IterationRecord(epoch, iteration, objective, step, sum.count(), blocks,
                            millisSince(iterationStart)));
                }
                double epochLoss = epochObjectiveSum / epochWeightSum;
                double elapsed = millisSince(start) - listenerMillis;
                double validationLoss = Double.NaN;
                double validationAccuracy = Double.NaN;
                if (validation != null) {
                    sc.setJobDescription(String.format(Locale.ROOT, "sparkprop epoch %d/%d validation", epoch + 1,
                            maxEpochs));
                    Evaluation e = evaluate(validation, current);
                    validationLoss = e.lossSum / e.weightSum;
                    validationAccuracy = Evaluation.hasAccuracy(spec) ? e.correctWeight / e.weightSum : Double.NaN;
                    if (bestEpoch < 0 || validationLoss < bestValidationLoss) {
                        bestEpoch = epoch;
                        bestValidationLoss = validationLoss;
                        best = current;
                    }
                }
                EpochRecord record = new EpochRecord(epoch, epochLoss, elapsed, validationLoss, validationAccuracy);
                history.add(record);
                double eta = elapsed / (epoch + 1) * (maxEpochs - epoch - 1);
                LOG.info(String.format(Locale.ROOT, "sparkprop epoch %d/%d: loss %.6g%s, %.0f examples/s, %.1f s "
                                + "elapsed, ETA %.1f s", epoch + 1, maxEpochs, epochLoss,
                        validation == null ? "" : String.format(Locale.ROOT, ", validation loss %.6g", validationLoss)
                                + (Double.isNaN(validationAccuracy) ? ""
                                : String.format(Locale.ROOT, " accuracy %.4f", validationAccuracy)),
                        epochWeightSum > 0 ? epochExamples / (millisSince(epochStart) / 1e3) : 0.0,
                        elapsed / 1e3, eta / 1e3));
                boolean goOn = true;
                if (epochListener != null) {
                    long listenerStart = System.nanoTime();
                    goOn = epochListener.afterEpoch(record, current.copy());
                    listenerMillis += millisSince(listenerStart);
                }
                boolean meaningful = isMeaningful(epochLoss);
                Checkpoints.Stop stop = Checkpoints.Stop.NONE;
                if (patience > 0 && epoch - bestEpoch >= patience) {
                    LOG.info("sparkprop: early stop after epoch {}: no lower validation loss for {} epochs; keeping "
                            + "epoch {}", epoch + 1, patience, bestEpoch + 1);
                    stop = Checkpoints.Stop.EARLY_STOPPED;
                } else if (tol > 0 && epoch > 0 && meaningful
                        && Math.abs(epochLoss - previousEpochLoss) <= tol * Math.abs(previousEpochLoss)) {
                    converged = true;
                    LOG.info("sparkprop: converged after epoch {} (relative loss change <= tol {})", epoch + 1, tol);
                    stop = Checkpoints.Stop.CONVERGED;
                }
                // written after the stopping decision, so that a resumed run that had stopped stays stopped
                if (checkpoints != null && ((epoch + 1) % checkpointEvery == 0 || stop != Checkpoints.Stop.NONE)) {
                    checkpoints.write(spec, new Checkpoints.State(identity, epoch, iteration, updates, epochLoss, stop,
                            bestEpoch, bestValidationLoss, best == null ? null : best.toFlat(), current.toFlat(),
                            updater.state()));
                }
                if (stop != Checkpoints.Stop.NONE) {
                    break;
                }
                if (!goOn) {
                    LOG.info("sparkprop: stopped by the epoch listener after epoch {}", epoch + 1);
                    break;
                }
                previousEpochLoss = epochLoss;
            }
            // with early stopping the model is the best epoch's; parameters are replaced, never mutated
            return patience > 0 && best != null ? best : current;
        }

        /**
         * Whether a loss is small enough for its relative changes to mean anything. A loss near the
         * top of the double range (features of ~1e150 and beyond give squared terms of ~1e300) moves by
         * less than any {@code tol} relative to itself while nothing is learnt: such a run is warned
         * about once and never called converged.
         */
        private boolean isMeaningful(double loss) {
            if (!(Math.abs(loss) >= MEANINGFUL_LOSS)) {
                return true; // NaN included: it is no scale problem, and never compares as converged
            }
            if (!warnedMeaningless) {
                warnedMeaningless = true;
                LOG.warn(String.format(Locale.ROOT, "sparkprop: the training loss is %.3g: the features' scale makes "
                        + "the loss and its gradient meaningless, and the run will not be called converged; "
                        + "standardise the features (data.scale=standard in a job, or a StandardScaler stage)", loss));
            }
            return false;
        }

        private Evaluation evaluate(Packed data, Parameters at) {
            // parameters are replaced, never mutated, so the broadcast needs no copy of its own
            Broadcast<Parameters> bc = sc.broadcast(at);
            try {
                JavaPairRDD<Integer, Evaluation> partials = data.shards.mapPartitionsWithIndex(
                        new Evaluation.OfShard(bc, gemm), true).mapToPair(kv -> kv);
                return OrderedTreeAggregate.aggregate(partials, data.shards.getNumPartitions(), aggregationDepth,
                        Evaluation::mergeInPlace);
            } finally {
                bc.destroy();
            }
        }

        private GradientSum gradient(Parameters current, int epoch, int t) {
            Broadcast<Parameters> bc = sc.broadcast(current);
            try {
                JavaPairRDD<Integer, GradientSum> partials = shards.mapPartitionsWithIndex(
                        new BatchGradient(bc, gemm, fingerprints, seed, epoch, t, iterationsPerEpoch, shuffle,
                                blocksRead),
                        true).mapToPair(kv -> kv);
                return plan.aggregate(partials, GradientSum::mergeInPlace);
            } finally {
                bc.destroy();
            }
        }

        private TrainingDivergedException diverged(int epoch, long iteration, String what, Parameters lastFinite) {
            return new TrainingDivergedException(String.format(Locale.ROOT,
                    "training diverged at epoch %d, iteration %d: %s; try a smaller step size (stepSize is %s)",
                    epoch + 1, iteration + 1, what, optimizer.stepSize()), epoch, iteration, lastFinite, history);
        }
    }

    /**
     * What fixes this run's schedule and arithmetic, recorded in its checkpoints: a resume with any of it
     * different would silently follow another run (see {@link Checkpoints}). Settings that only decide
     * when to stop (epochs, {@code tol}, patience) are left out, so a finished run can be extended.
     */
    private Map<String, String> identity(int shards, int block, int updatesPerEpoch) {
        Map<String, String> id = new LinkedHashMap<>();
        id.put("network", spec.toString());
        id.put("seed", Long.toString(seed));
        id.put("shards", Integer.toString(shards));
        id.put("block size", Integer.toString(block));
        id.put("batch size", Integer.toString(batchSize));
        id.put("updates per epoch", Integer.toString(updatesPerEpoch));
        id.put("optimizer", optimizer.toString());
        id.put("regParam", Double.toString(regParam));
        id.put("initial parameters", initialParameters == null ? "seeded" : "given");
        return id;
    }

    /**
     * Where the partial gradients (8 bytes a parameter each) are merged: see {@link OrderedTreeAggregate#plan}.
     * Large models on many partitions are merged pairwise on the executors, so the driver holds one partial
     * gradient next to its own copies (parameters, optimiser state, update).
     */
    private OrderedTreeAggregate.Plan gradientPlan(JavaSparkContext sc, int partitions) {
        long count = spec.parameterCount();
        long gradientBytes = 8L * count;
        String size = String.format(Locale.ROOT, "the network %s has %,d parameters (%s as doubles)",
                java.util.Arrays.stream(spec.layerSizes()).mapToObj(Integer::toString)
                        .collect(java.util.stream.Collectors.joining("-")), count, bytes(gradientBytes));
        // parameters, gradients and optimiser state are flat double arrays: at most 2^31 − 1 values each
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(size + ", more than the 2,147,483,639 values one array can hold: "
                    + "use narrower layers");
        }
        // the driver holds θ, the update's gradient (summed and flat), the next θ and the optimiser's state
        // next to at least one partial gradient
        int optimizerArrays = optimizer.newUpdater(0).state().length;
        long heap = Runtime.getRuntime().maxMemory();
        long leastDriverBytes = gradientBytes * (6L + optimizerArrays);
        if (leastDriverBytes > heap) {
            throw new IllegalArgumentException(size + ": the driver needs at least " + bytes(leastDriverBytes)
                    + " for the parameters, gradients and optimiser state, and has " + bytes(heap)
                    + ": raise spark.driver.memory or use narrower layers");
        }
        OrderedTreeAggregate.Plan plan;
        try {
            plan = OrderedTreeAggregate.plan(partitions, aggregationDepth, gradientBytes, sc.getConf(), "gradient");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(size + ": " + e.getMessage(), e);
        }
        if (plan.pairwiseOnExecutors()) {
            LOG.info("sparkprop: {} partial gradients of {} MB would reach the driver, more than its budget of {} MB "
                            + "(min(driver heap, spark.driver.maxResultSize) / {}): merging them pairwise on the "
                            + "executors instead",
                    OrderedTreeAggregate.finalLevelSize(partitions, aggregationDepth), gradientBytes >> 20,
                    plan.driverBudget() >> 20, OrderedTreeAggregate.DRIVER_SHARE);
        }
        long driverBytes = gradientBytes * (5 + plan.partialsAtDriver() + optimizerArrays);
        if (driverBytes > 0.8 * heap) {
            LOG.warn("sparkprop: a model of {} parameters needs about {} MB of driver memory, close to or above the "
                    + "driver's {} MB: raise spark.driver.memory", count, driverBytes >> 20, heap >> 20);
        }
        return plan;
    }

    /** {@code 12.7 TB}, {@code 340.0 MB}: decimal units, as Spark's settings are read. */
    private static String bytes(double b) {
        String[] units = {"bytes", "kB", "MB", "GB", "TB", "PB"};
        int u = 0;
        while (b >= 1000 && u < units.length - 1) {
            b /= 1000;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f bytes", b) : String.format(Locale.ROOT, "%.1f %s", b, units[u]);
    }

    private static double millisSince(long nanoStart) {
        return (System.nanoTime() - nanoStart) / 1e6;
    }
}
