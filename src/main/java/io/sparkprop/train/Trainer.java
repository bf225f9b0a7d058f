package io.sparkprop.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import io.sparkprop.data.DataFrames;
import io.sparkprop.data.Example;
import io.sparkprop.exec.HeldOutLoss;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.PackedData;
import io.sparkprop.exec.SlicedExchange;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.GradientStep;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import io.sparkprop.util.Checks;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;

/**
 * Data-parallel training of a {@link NetworkSpec} on Spark, in three steps: the settings
 * ({@link MlpSettings}, checked when built) → the packed data ({@link PackedData}: every partition packed
 * once into a cached shard of column blocks, counted and checked in one pass) → the loop
 * ({@link TrainingLoop}) of rounds ({@link SynchronousRound}: broadcast the parameters, every shard runs
 * the kernel over the blocks of its slice (the executor side's {@code BlockSchedule}), the partial gradient
 * sums merge in a fixed order ({@link OrderedTreeAggregate}), and the driver applies ({@link GradientStep})
 *
 * <pre>  g = (1/Σw) Σ_i w_i ∇C_i + λW   (biases not penalised),   θ ← optimiser(θ, g)</pre>
 *
 * minimising {@code J(θ) = (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖_F²}). With {@code localSteps > 1} a round is
 * a {@link LocalStepsRound}: every shard takes that many mini-batch steps on its own before one merge.
 *
 * <pre>{@code
 * MlpSettings settings = MlpSettings.builder().optimizer("adam").stepSize(1e-3).batchSize(256).maxEpochs(15).build();
 * TrainingResult r = new Trainer(spec, settings)
 *         .fit(examples);             // JavaRDD<Example>, RDD<Example> or a DataFrame
 * }</pre>
 *
 * The same seed and the same partitioning give bit-identical parameters. Not thread-safe; a trainer
 * may be fitted many times.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final NetworkSpec spec;
    private MlpSettings settings;
    private Parameters initialParameters;
    private JavaRDD<Example> validationData;
    private String checkpointDir;
    private int checkpointEvery = 1;
    private boolean resume;
    private EpochListener epochListener;
    private String featuresColumn;
    private String labelColumn;

    /** A trainer for {@code spec} with the default settings ({@link MlpSettings#defaults()}). */
    public Trainer(NetworkSpec spec) {
        this(spec, MlpSettings.defaults());
    }

    /** A trainer for {@code spec} with {@code settings}. */
    public Trainer(NetworkSpec spec, MlpSettings settings) {
        this.spec = Checks.notNull("network spec", spec);
        this.settings = Checks.notNull("settings", settings);
    }

    /** The network being trained. */
    public NetworkSpec spec() {
        return spec;
    }

    /** The settings of the next fit. */
    public MlpSettings settings() {
        return settings;
    }

    /** Replaces every setting. */
    public Trainer setSettings(MlpSettings settings) {
        this.settings = Checks.notNull("settings", settings);
        return this;
    }

    // The setters below are shorthands for setSettings(settings().toBuilder().x(value).build()): the settings
    // are checked, and documented, in MlpSettings alone.

    /** The update rule, step size, momentum and decay; see {@link MlpSettings.Builder#updateRule}. */
    public Trainer setOptimizer(Optimizer optimizer) {
        return setSettings(settings.toBuilder().updateRule(optimizer).build());
    }

    /**
     * Examples per update across the cluster; 0 (or at least the number of examples) for full batch.
     * For mini-batches the packed block size is capped at {@code ⌈batchSize / partitions⌉}, so that
     * every partition can contribute at least one block to each update, and an epoch is
     * {@code min(⌈N / batchSize⌉, the largest partition's block count)} updates, each reading an even
     * share of every partition's blocks. Updates hold {@code batchSize} examples up to block rounding.
     */
    public Trainer setBatchSize(int batchSize) {
        return setSettings(settings.toBuilder().batchSize(batchSize).build());
    }

    /** {@link MlpSettings#maxEpochs()}. */
    public Trainer setMaxEpochs(int maxEpochs) {
        return setSettings(settings.toBuilder().maxEpochs(maxEpochs).build());
    }

    /** {@link MlpSettings#tol()}. */
    public Trainer setTol(double tol) {
        return setSettings(settings.toBuilder().tol(tol).build());
    }

    /** {@link MlpSettings#regParam()}. */
    public Trainer setRegParam(double regParam) {
        return setSettings(settings.toBuilder().regParam(regParam).build());
    }

    /**
     * {@link MlpSettings#localSteps()}: exactly {@code k >= 1} mini-batch steps each shard takes between two merges
     * (1 = synchronous SGD); the default is {@code auto} ({@link #setLocalSteps(String)}).
     */
    public Trainer setLocalSteps(int localSteps) {
        return setSettings(settings.toBuilder().localSteps(localSteps).build());
    }

    /** {@link #setLocalSteps(int)} by name: {@code auto} or an integer {@code >= 1}. */
    public Trainer setLocalSteps(String localSteps) {
        return setSettings(settings.toBuilder().localSteps(localSteps).build());
    }

    /** {@link MlpSettings#blockSize()}; see {@link #setBatchSize}. */
    public Trainer setBlockSize(int blockSize) {
        return setSettings(settings.toBuilder().blockSize(blockSize).build());
    }

    /**
     * Depth of the tree that merges the partitions' gradient sums (≥ 1). Gradients too large
     * for the driver to collect the tree's last level at once are merged pairwise on the executors
     * instead ({@link OrderedTreeAggregate#plan}); {@link TrainingResult#aggregation()} tells which ran.
     */
    public Trainer setAggregationDepth(int depth) {
        return setSettings(settings.toBuilder().aggregationDepth(depth).build());
    }

    /** {@link MlpSettings#seed()}. */
    public Trainer setSeed(long seed) {
        return setSettings(settings.toBuilder().seed(seed).build());
    }

    /** {@link MlpSettings#precision()}. */
    public Trainer setPrecision(Precision precision) {
        return setSettings(settings.toBuilder().precision(precision).build());
    }

    /** {@link MlpSettings#gemmBackend()}. */
    public Trainer setGemmBackend(GemmBackend backend) {
        return setSettings(settings.toBuilder().gemmBackend(backend).build());
    }

    /**
     * How many shards (cached partitions, one task each per iteration) to pack the data into: 0
     * for Spark's default parallelism — the cores of the application — so that an
     * iteration is one wave of tasks and returns as few gradients as can keep every core busy. Input
     * with more partitions is coalesced, without a shuffle, into contiguous ranges of partitions (so
     * the same input partitioning always gives the same shards); input with fewer is kept as it is.
     */
    public Trainer setNumShards(int numShards) {
        return setSettings(settings.toBuilder().numShards(numShards).build());
    }

    /**
     * Early stopping on the validation data: stop after {@code patience} epochs without a lower
     * validation loss, and return the parameters of the epoch with the lowest one; 0 = off.
     */
    public Trainer setPatience(int patience) {
        return setSettings(settings.toBuilder().patience(patience).build());
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
     * Held-out examples, never trained on: after every epoch their mean loss and accuracy (largest
     * output at the largest target) are recorded in the {@link EpochRecord}s. {@code null} for none.
     */
    public Trainer setValidationData(JavaRDD<Example> validation) {
        this.validationData = validation;
        return this;
    }

    /**
     * Write a checkpoint every {@code everyEpochs} epochs into {@code folder} (any Hadoop file system),
     * {@code null} for none; with {@code resume}, continue from the newest complete checkpoint there, if
     * there is one: the run then ends with the same parameters, bit for bit, as one that was never
     * interrupted (same data partitioning, seed and settings).
     */
    public Trainer setCheckpointing(String folder, int everyEpochs, boolean resume) {
        this.checkpointEvery = Checks.atLeast("checkpoint interval", everyEpochs, 1, null);
        this.checkpointDir = folder == null || folder.isEmpty() ? null : folder;
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

    /**
     * The fit: settings → packed data → rounds → parameters. {@code featuresCol}/{@code labelCol} are
     * the columns to name in messages about bad values ({@code null}: none).
     */
    private TrainingResult fit(JavaRDD<Example> input, String featuresCol, String labelCol) {
        MlpSettings s = settings;
        checkRecipe(spec, s);
        if (s.patience() > 0 && validationData == null) {
            throw new IllegalArgumentException("patience " + s.patience() + " needs validation data: set it with "
                    + "setValidationData");
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(input.context());
        String previousDescription = sc.getLocalProperty("spark.job.description");
        JavaRDD<Example> data = PackedData.toShardPartitions(sc, input, s.numShards());
        int partitions = data.getNumPartitions();
        int block = s.batchSize() > 0
                ? Math.min(s.blockSize(), Math.max(1, (s.batchSize() + partitions - 1) / partitions))
                : s.blockSize();
        // before any job: a gradient that can never reach the driver is refused here
        OrderedTreeAggregate.Plan plan = gradientPlan(sc, partitions);
        GemmChoice gemm = GemmChoice.decide(s.gemmBackend());
        try (PackedData packed = PackedData.pack(sc, data, spec, block, s.precision(), s.sparseThreshold(), "training", featuresCol,
                labelCol);
             PackedData held = validationData == null ? null : PackedData.pack(sc,
                     PackedData.toShardPartitions(sc, validationData, s.numShards()), spec, s.blockSize(),
                     s.precision(), s.sparseThreshold(), "validation", featuresCol, labelCol)) {
            boolean fullBatch = s.batchSize() == 0 || s.batchSize() >= packed.count();
            if (s.batchSize() > packed.count()) {
                LOG.warn("batchSize {} is larger than the data ({} examples): training full batch", s.batchSize(),
                        packed.count());
            }
            // ⌈N / batchSize⌉ updates an epoch, but never more than the largest partition has blocks:
            // past that, updates would exist in which no partition has a block to read.
            int updates = fullBatch ? 1
                    : (int) Math.min((packed.count() + s.batchSize() - 1) / s.batchSize(), packed.maxBlocks());
            if (s.localSteps() == MlpSettings.LOCAL_STEPS_AUTO) {
                s = s.toBuilder().localSteps(autoLocalSteps(sc, s, partitions, updates, fullBatch,
                        packed.allBlocksSparse())).build();
            }
            boolean local = s.localSteps() > 1 && updates > 1;
            if (s.localSteps() > 1 && !local) {
                LOG.warn("localSteps {} has no effect: an epoch is {} update{}", s.localSteps(), updates,
                        fullBatch ? " (full batch)" : "");
            }
            int rounds = local ? LocalStepsRound.roundsPerEpoch(updates, s.localSteps()) : updates;
            LOG.info("sparkprop: {} examples in {} partitions, blocks of {}, {} updates per epoch in {} rounds{}, "
                            + "cached {} MB ({} MB of values; {} of blocks on disk), {}{}, GEMM {} in {}",
                    packed.count(), partitions, block, updates, rounds,
                    local ? " of " + s.localSteps() + " local steps, outer " + LocalStepsRound.outerRule(s) : "",
                    packed.cachedBytes() >> 20, packed.payloadBytes() >> 20, io.sparkprop.util.Names.bytes(packed.diskBytes()),
                    s.updateRule(),
                    recipe(s, updates).entrySet().stream().map(e -> ", " + e.getKey() + " " + e.getValue())
                            .collect(java.util.stream.Collectors.joining()),
                    gemm.describe(), s.precision().lowerName());
            int stateArrays = stateArrays(s);
            if (local && stateArrays > 0) {
                // a round of local steps merges deltas and the rule's state: partial results 1 + a times a gradient
                plan = resultPlan(sc, partitions, 1 + stateArrays, "local steps");
            }
            // a wide sparse first layer is kept as rows per feature and updated lazily (LazyFirstLayer): every block
            // sparse, synchronous rounds (a float32 kernel reads the rows rounded to float)
            boolean firstLayerRows = !local && packed.allBlocksSparse();
            if (firstLayerRows) {
                LOG.info("sparkprop: every block is sparse: the first layer's {} weights are kept as rows per feature, "
                        + "shipped as the rows that changed and updated lazily (the rows a step touches)",
                        Parameters.firstLayerWeightCount(spec));
            }
            SlicedExchange sliced = null;
            if (!local) {
                String unsupported = firstLayerRows ? "the first layer is kept as rows"
                        : s.clipNorm() > 0 ? "clipNorm needs the global norm before any slice moves" : null;
                if (SlicedExchange.choose(sc, partitions, 8L * spec.parameterCount(), stateArrays, unsupported)) {
                    sliced = new SlicedExchange(sc, spec, partitions, partitions, s.updateRule(),
                            ShardRound.gradientStep(s));
                    LOG.info("sparkprop: {}", sliced.describe());
                }
            }
            ShardRound round = local ? new LocalStepsRound(sc, packed, plan, gemm, s, updates)
                    : new SynchronousRound(sc, packed, plan, gemm, s, updates, !fullBatch, firstLayerRows, sliced);
            if (round.terms.classFactors() != null) {
                LOG.info("sparkprop: class weights {}: training examples per class {}, factors {}", s.classWeights(),
                        java.util.Arrays.toString(packed.classCounts()),
                        java.util.Arrays.toString(round.terms.classFactors()));
            }
            TrainingLoop loop = new TrainingLoop(sc::setJobDescription, spec, s, round, rounds,
                    held == null ? null : at -> HeldOutLoss.of(held, at, gemm),
                    checkpointDir == null ? null : new Checkpoints(checkpointDir, sc.hadoopConfiguration()),
                    checkpointEvery, resume, identity(s, partitions, block, updates, local), epochListener);
            TrainingLoop.Result r;
            try {
                r = loop.run(initialParameters != null ? initialParameters.copy()
                        : Parameters.initialise(spec, s.seed()));
            } finally {
                round.close();
            }
            return new TrainingResult(r.parameters(), r.history(), packed.count(), packed.weightSum(), partitions, block,
                    updates, packed.cachedBytes(), packed.payloadBytes(), r.converged(), r.bestEpoch(),
                    sliced != null ? sliced.describe() : plan.toString(),
                    gemm.describe(), round.otherFingerprints(), s.precision(), packed.memoryBytes(),
                    packed.diskBytes(), local ? s.localSteps() : 1);
        } finally {
            sc.setJobDescription(previousDescription);
        }
    }

    /**
     * The summed loss and gradient {@code Σ_i w_i C_i}, {@code Σ_i w_i ∇C_i} over all of {@code data} at
     * {@code at}, computed as one full-batch iteration is (ridge term not included): with the settings' training
     * terms, if any — class weights, label smoothing, and dropout with the masks of update 0.
     *
     * @throws IllegalArgumentException on empty data or a bad example
     */
    public GradientSum computeGradient(JavaRDD<Example> input, Parameters at) {
        Parameters.zeros(spec).checkSameShape(at);
        checkRecipe(spec, settings);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(input.context());
        JavaRDD<Example> data = PackedData.toShardPartitions(sc, input, settings.numShards());
        String previousDescription = sc.getLocalProperty("spark.job.description");
        OrderedTreeAggregate.Plan plan = gradientPlan(sc, data.getNumPartitions());
        try (PackedData packed = PackedData.pack(sc, data, spec, settings.blockSize(), settings.precision(),
                settings.sparseThreshold(), "training", featuresColumn, labelColumn)) {
            sc.setJobDescription("sparkprop gradient");
            return new SynchronousRound(sc, packed, plan, GemmChoice.decide(settings.gemmBackend()), settings, 1,
                    false).gradient(at, 0, 0, 0);
        } finally {
            sc.setJobDescription(previousDescription);
        }
    }

    /**
     * The recipe's settings that are not their defaults, by name ({@code step schedule}, {@code dropout},
     * {@code clipNorm}, {@code class weights}, {@code label smoothing}): all change the updates, so they are part
     * of a run's identity, and the start-of-fit log names them. The default schedule is left out: its inverse decay
     * is the optimiser's, recorded with it.
     */
    private static Map<String, String> recipe(MlpSettings s, int updatesPerEpoch) {
        Map<String, String> recipe = new LinkedHashMap<>();
        StepSchedule schedule = s.stepSchedule(updatesPerEpoch);
        if (!schedule.isLegacy()) {
            recipe.put("step schedule", schedule.toString());
        }
        if (s.dropout() > 0) {
            recipe.put("dropout", Double.toString(s.dropout()));
        }
        if (s.clipNorm() > 0) {
            recipe.put("clipNorm", Double.toString(s.clipNorm()));
        }
        if (!s.parsedClassWeights().isNone()) {
            recipe.put("class weights", s.classWeights());
        }
        if (s.labelSmoothing() > 0) {
            recipe.put("label smoothing", Double.toString(s.labelSmoothing()));
        }
        return recipe;
    }

    /**
     * Refuses, before any job, what the network cannot train: label smoothing and class weights need a
     * classification network (a cross-entropy loss), and explicit class weights one per class.
     */
    static void checkRecipe(NetworkSpec spec, MlpSettings s) {
        boolean classification = spec.loss() != io.sparkprop.nn.Loss.HALF_SQUARED_ERROR;
        ClassWeights cw = s.parsedClassWeights();
        if (!classification && (s.labelSmoothing() > 0 || !cw.isNone())) {
            throw new IllegalArgumentException((s.labelSmoothing() > 0 ? "labelSmoothing " + s.labelSmoothing()
                    : "classWeights " + cw) + " applies to classification networks (a cross-entropy loss); this "
                    + "network's loss is " + spec.loss().name().toLowerCase(Locale.ROOT));
        }
        if (cw.kind() == ClassWeights.Kind.EXPLICIT) {
            int classes = io.sparkprop.nn.kernel.TrainingTerms.classes(spec.outputSize());
            cw.factors(classes, new long[classes]); // refuses a count other than one per class
        }
    }

    /**
     * The {@code k} of {@code localSteps = auto}: the checkpoint's when this fit resumes one (1 when it records
     * none: it was synchronous, or written before the setting existed), else {@link LocalStepsChoice}'s, logged with
     * the figures it came from.
     */
    private int autoLocalSteps(JavaSparkContext sc, MlpSettings s, int shards, int updates, boolean fullBatch,
                               boolean allBlocksSparse) {
        if (checkpointDir != null && resume) {
            Integer k = resumedLocalSteps(new Checkpoints(checkpointDir, sc.hadoopConfiguration()), spec);
            if (k != null) {
                LOG.info("sparkprop: localSteps auto = {}, the k of the checkpoint this fit resumes", k);
                return k;
            }
        }
        if (fullBatch) {
            return 1;
        }
        if (allBlocksSparse) {
            // synchronous rounds keep a sparse first layer as rows and ship the rows that changed; a round of local
            // steps ships every parameter and the rule's state (measured on conf/sparse-synthetic.properties:
            // synchronous 17.6 s an epoch, test accuracy 0.839; auto's 14 local steps 18.9 s, 0.803)
            LOG.info("sparkprop: localSteps auto = 1: every block is sparse, and synchronous rounds ship the first "
                    + "layer's changed rows alone");
            return 1;
        }
        LocalStepsChoice.Choice choice = LocalStepsChoice.choose(spec, s.precision(), shards, s.batchSize(), updates,
                s.maxEpochs(), stateArrays(s));
        LOG.info("sparkprop: {}", choice.describe(updates));
        return choice.localSteps();
    }

    /** The arrays of state the update rule keeps (0 for sgd, 1 for momentum, 2 for Adam). */
    private static int stateArrays(MlpSettings s) {
        return s.updateRule().stateArrays();
    }

    /**
     * The local steps of the run whose newest checkpoint is in {@code checkpoints}: the recorded {@code k}, or 1 when
     * it records none (a synchronous run, or one written before the setting existed); {@code null} without a
     * checkpoint.
     */
    static Integer resumedLocalSteps(Checkpoints checkpoints, NetworkSpec spec) {
        Map<String, String> saved = checkpoints.newestIdentity(spec);
        if (saved == null) {
            return null;
        }
        String recorded = saved.get(LOCAL_STEPS_KEY);
        if (recorded == null) {
            return 1;
        }
        if (recorded.matches("[1-9][0-9]{0,8}")) {
            return Integer.parseInt(recorded);
        }
        throw new IllegalArgumentException("the newest checkpoint records local steps '" + recorded + "', not a number "
                + "of steps: use another checkpoint folder or resume=false");
    }

    /** The identity's key of the local steps, recorded only with {@code k > 1}. */
    private static final String LOCAL_STEPS_KEY = "local steps";
    /** The identity's key, and its value, of how local steps treat the rule's state ({@link LocalStepsRound}). */
    private static final String INNER_STATE_KEY = "inner state";
    private static final String INNER_STATE_AVERAGED = "continued, the shards' mean";

    /**
     * What fixes this run's schedule and arithmetic, recorded in its checkpoints: a resume with any of it
     * different would silently follow another run (see {@link Checkpoints}). Settings that only decide
     * when to stop (epochs, {@code tol}, patience) are left out, so a finished run can be extended.
     */
    private Map<String, String> identity(MlpSettings settings, int shards, int block, int updatesPerEpoch,
                                         boolean localSteps) {
        Map<String, String> id = new LinkedHashMap<>();
        id.put("network", spec.toString());
        id.put("seed", Long.toString(settings.seed()));
        id.put("shards", Integer.toString(shards));
        id.put("block size", Integer.toString(block));
        id.put("batch size", Integer.toString(settings.batchSize()));
        id.put("updates per epoch", Integer.toString(updatesPerEpoch));
        if (settings.precision() != Precision.FLOAT64) {
            // only when not the default, so that checkpoints written before the setting existed resume
            id.put("precision", settings.precision().lowerName());
        }
        if (settings.sparseThreshold() != io.sparkprop.exec.ShardPacker.DEFAULT_SPARSE_THRESHOLD) {
            // which blocks are sparse decides the order of the first layer's sums; recorded when not the default
            id.put("sparse threshold", Double.toString(settings.sparseThreshold()));
        }
        if (localSteps) {
            // only with local steps, so that checkpoints of synchronous runs written before the setting existed resume
            id.put(LOCAL_STEPS_KEY, Integer.toString(settings.localSteps()));
            id.put("outer update", LocalStepsRound.outerRule(settings).toString());
            // checkpoints of local steps written while every round restarted the rule's state hold no state to
            // continue from: refused by name rather than resumed from zero moments
            id.put(INNER_STATE_KEY, INNER_STATE_AVERAGED);
        }
        id.put("optimizer", settings.updateRule().toString());
        // the recipe's settings, each only when not the default, so that checkpoints written before they existed
        // resume
        id.putAll(recipe(settings, updatesPerEpoch));
        id.put("regParam", Double.toString(settings.regParam()));
        id.put("initial parameters", initialParameters == null ? "seeded" : "given");
        return id;
    }

    /**
     * Where the partial gradients (8 bytes a parameter each) are merged: see {@link OrderedTreeAggregate#plan}.
     * Large models on many partitions are merged pairwise on the executors, so the driver holds one partial
     * gradient next to its own copies (parameters, optimiser state, update).
     */
    private OrderedTreeAggregate.Plan gradientPlan(JavaSparkContext sc, int partitions) {
        return resultPlan(sc, partitions, 1, "gradient");
    }

    /**
     * {@link #gradientPlan} for partial results of {@code arrays} arrays of a value a parameter: 1 for a gradient,
     * {@code 1 + a} for a round of local steps (the delta and the rule's {@code a} state arrays).
     */
    private OrderedTreeAggregate.Plan resultPlan(JavaSparkContext sc, int partitions, int arrays, String what) {
        long count = spec.parameterCount();
        long gradientBytes = 8L * count;
        long partialBytes = gradientBytes * arrays;
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
        int optimizerArrays = stateArrays(settings);
        long heap = Runtime.getRuntime().maxMemory();
        long leastDriverBytes = gradientBytes * (6L + optimizerArrays);
        if (leastDriverBytes > heap) {
            throw new IllegalArgumentException(size + ": the driver needs at least " + bytes(leastDriverBytes)
                    + " for the parameters, gradients and optimiser state, and has " + bytes(heap)
                    + ": raise spark.driver.memory or use narrower layers");
        }
        OrderedTreeAggregate.Plan plan;
        try {
            plan = OrderedTreeAggregate.plan(partitions, settings.aggregationDepth(), partialBytes, sc.getConf(), what);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(size + ": " + e.getMessage(), e);
        }
        if (plan.pairwiseOnExecutors()) {
            LOG.info("sparkprop: {} partial {} results of {} MB would reach the driver, more than its budget of {} MB "
                            + "(min(driver heap, spark.driver.maxResultSize) / {}): merging them pairwise on the "
                            + "executors instead",
                    OrderedTreeAggregate.finalLevelSize(partitions, settings.aggregationDepth()), what,
                    partialBytes >> 20, plan.driverBudget() >> 20, OrderedTreeAggregate.DRIVER_SHARE);
        }
        long driverBytes = gradientBytes * (5 + optimizerArrays) + partialBytes * plan.partialsAtDriver();
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
}
