package io.sparkprop.ridge;

import java.util.Collections;
import java.util.List;
import java.util.Locale;

import io.sparkprop.data.DataFrames;
import io.sparkprop.data.Example;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.ShardPacker;
import io.sparkprop.exec.SparkJobs;
import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import io.sparkprop.util.Checks;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.ejml.data.DMatrixRMaj;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Ridge regression for one or many outputs, minimising
 * <pre>  J(W, b) = 1/(2 Σw) Σ_i w_i ‖y_i − W x_i − b‖² + (λ/2) ‖W‖_F²</pre>
 * (the same {@code λ = regParam} as the MLP's; scikit-learn's {@code Ridge(alpha = Σw·λ)}; Spark MLlib's
 * {@code LinearRegression} with {@code regParam = λ·σ_y}, since MLlib standardises the label). The
 * intercept is never penalised. With {@code standardization} the penalty is
 * {@code (λ/2) Σ_j σ_j² ‖W_{:,j}‖²} ({@code σ_j} the weighted population standard deviation of feature
 * {@code j}) and the coefficients are returned on the original scale, as MLlib does. A constant feature
 * (one value on every row of positive weight) gets coefficient 0 whenever an intercept is fitted or
 * the features are standardised; if every feature is constant, {@code W = 0} and {@code b = ȳ}.
 *
 * <p>Solver {@link Solver#NORMAL} (default): one distributed pass sums the centred co-moments
 * ({@link RidgeStatistics}: BLAS-3 per block, blocks and partitions combined by the pairwise update,
 * each partition's rows in canonical order and the partitions merged in a fixed order, so the sums are
 * the same bits on any cluster), then the driver solves {@code (C/Σw + λD) Wᵀ = c/Σw} by one
 * equilibrated Cholesky factorisation for all outputs ({@link NormalEquations}; {@code D = I}, or
 * {@code diag(σ²)} with standardisation), and {@code b = ȳ − W x̄}. This is the seeds' closed form
 * {@code W = Y Xᵀ (X Xᵀ + λ' I)⁻¹} with {@code λ' = Σw·λ}, on centred data. Solver {@link Solver#SGD}
 * trains the same model with the distributed {@link Trainer} (no hidden layer, identity output, half
 * squared error, the same {@code λ}).
 */
public final class RidgeSolver {
    private static final Logger LOG = LoggerFactory.getLogger(RidgeSolver.class);

    /** How the model is fitted. */
    public enum Solver {
        /** Closed form from one pass of sufficient statistics. */
        NORMAL,
        /** The distributed gradient trainer. */
        SGD;

        /** Parses {@code normal} or {@code sgd} (case-insensitive). */
        public static Solver fromName(String name) {
            return io.sparkprop.util.Names.parse(Solver.class, "solver", name);
        }
    }

    /** The most features solver normal takes: its {@code n × n} matrix is one array of at most 2³¹ − 1 values. */
    public static final int MAX_NORMAL_FEATURES = 46_340;

    private RidgeSettings settings;

    /** A solver with the default settings ({@link RidgeSettings#defaults()}). */
    public RidgeSolver() {
        this(RidgeSettings.defaults());
    }

    /** A solver with {@code settings}. */
    public RidgeSolver(RidgeSettings settings) {
        this.settings = Checks.notNull("settings", settings);
    }

    /** The settings of the next fit. */
    public RidgeSettings settings() {
        return settings;
    }

    // The setters below are shorthands for new RidgeSolver(settings().toBuilder().x(value).build()): the
    // settings are checked, and documented, in RidgeSettings alone.

    /** {@link RidgeSettings#regParam()}. */
    public RidgeSolver setRegParam(double regParam) {
        settings = settings.toBuilder().regParam(regParam).build();
        return this;
    }

    /** {@link RidgeSettings#fitIntercept()}. */
    public RidgeSolver setFitIntercept(boolean fitIntercept) {
        settings = settings.toBuilder().fitIntercept(fitIntercept).build();
        return this;
    }

    /** {@link RidgeSettings#standardization()}. */
    public RidgeSolver setStandardization(boolean standardization) {
        settings = settings.toBuilder().standardization(standardization).build();
        return this;
    }

    /** {@link RidgeSettings#solver()}. */
    public RidgeSolver setSolver(Solver solver) {
        settings = settings.toBuilder().solver(solver).build();
        return this;
    }

    /** {@link RidgeSettings#blockSize()}. */
    public RidgeSolver setBlockSize(int blockSize) {
        settings = settings.toBuilder().blockSize(blockSize).build();
        return this;
    }

    /** {@link RidgeSettings#gemmBackend()}. */
    public RidgeSolver setGemmBackend(GemmBackend backend) {
        settings = settings.toBuilder().gemmBackend(backend).build();
        return this;
    }

    /** Fits on a DataFrame: Vector features, numeric or Vector label, optional numeric weight column. */
    public RidgeSolution fit(Dataset<Row> data, String featuresCol, String labelCol, String weightCol) {
        return fit(DataFrames.toExamples(data, featuresCol, labelCol, weightCol), featuresCol, labelCol);
    }

    /**
     * Fits on examples whose targets all have the same length {@code m} (the number of outputs); the
     * feature and output counts are read from the first example.
     *
     * @throws IllegalArgumentException on empty data, a bad example, a singular system, or a problem
     *                                  too large for the driver's memory
     */
    public RidgeSolution fit(JavaRDD<Example> data) {
        return fit(data, null, null);
    }

    /** {@link #fit(JavaRDD)}, naming the columns the examples came from in messages about bad values. */
    private RidgeSolution fit(JavaRDD<Example> data, String featuresCol, String labelCol) {
        List<Example> first = data.take(1);
        if (first.isEmpty()) {
            throw new IllegalArgumentException("the training data is empty: no examples in any of "
                    + data.getNumPartitions() + " partitions");
        }
        return fit(data, first.get(0).features().size(), first.get(0).target().length, featuresCol, labelCol);
    }

    /** As {@link #fit(JavaRDD)} with the feature and output counts given. */
    public RidgeSolution fit(JavaRDD<Example> data, int numFeatures, int numOutputs) {
        return fit(data, numFeatures, numOutputs, null, null);
    }

    private RidgeSolution fit(JavaRDD<Example> data, int numFeatures, int numOutputs, String featuresCol,
                              String labelCol) {
        if (numFeatures < 1 || numOutputs < 1) {
            throw new IllegalArgumentException("expected at least one feature and one output, found "
                    + numFeatures + " and " + numOutputs);
        }
        return settings.solver() == Solver.SGD ? fitSgd(data, numFeatures, numOutputs, featuresCol, labelCol)
                : fitNormal(data, numFeatures, numOutputs, featuresCol, labelCol);
    }

    private RidgeSolution fitNormal(JavaRDD<Example> data, int n, int m, String featuresCol, String labelCol) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(data.context());
        int partitions = data.getNumPartitions();
        OrderedTreeAggregate.Plan plan = checkDriverMemory(sc, n, m, partitions);
        ShardPacker packer = new ShardPacker(n, m, settings.blockSize(), ShardPacker.Layout.ROWS)
                .withColumnNames(featuresCol, labelCol);
        GemmChoice backend = GemmChoice.decide(settings.gemmBackend());
        double threshold = settings.sparseThreshold();
        String previous = sc.getLocalProperty("spark.job.description");
        long passStart = System.nanoTime();
        RidgeStatistics stats;
        try {
            sc.setJobDescription(String.format(Locale.ROOT, "sparkprop ridge: statistics of %d features, %d outputs",
                    n, m));
            JavaPairRDD<Integer, RidgeStatistics> partials = data.mapPartitionsWithIndex((p, it) -> {
                if (!it.hasNext()) {
                    return Collections.<Tuple2<Integer, RidgeStatistics>>emptyIterator();
                }
                Gemm gemm = backend.gemm();
                RidgeStatistics s = new RidgeStatistics(n, m);
                // in canonical order: dense row blocks by BLAS-3, or, for a partition below the sparse threshold,
                // row by row over its non-zeros; a partition of dense rows is held once, in the packer's row buffer
                packer.forEachRowsCanonical(p, it, threshold, (x, y, w) -> s.addBlockInPlace(x, y, w, gemm),
                        s::addSparseRows);
                return Collections.singletonList(new Tuple2<>(p, s)).iterator();
            }, true).mapToPair(kv -> kv);
            stats = plan.aggregate(partials, RidgeStatistics::mergeInPlace);
        } catch (Exception e) { // Spark throws its (checked) SparkException undeclared
            throw SparkJobs.inputError(e, "the ridge statistics pass");
        } finally {
            sc.setJobDescription(previous);
        }
        double passMillis = (System.nanoTime() - passStart) / 1e6;
        if (stats == null || stats.count == 0) {
            throw new IllegalArgumentException("the training data is empty: no examples in any of " + partitions
                    + " partitions");
        }
        if (!(stats.weightSum > 0)) {
            throw new IllegalArgumentException("every example weight is 0: nothing to fit (" + stats.count
                    + " examples)");
        }
        long solveStart = System.nanoTime();
        RidgeSolution solution = solve(stats);
        double solveMillis = (System.nanoTime() - solveStart) / 1e6;
        LOG.info("sparkprop ridge: {} examples, {} features, {} outputs: pass {} ms, solve {} ms", stats.count, n, m,
                Math.round(passMillis), Math.round(solveMillis));
        return new RidgeSolution(solution.coefficientsInternal(), solution.intercepts(), solution.rootMeanSquaredError(),
                solution.r2(), null, stats.count, stats.weightSum, passMillis, solveMillis)
                .withLazyMeanAbsoluteError(data, backend, settings.sparseThreshold()).withGemm(backend.describe());
    }

    /**
     * The driver-side solve from complete statistics ({@link NormalEquations}).
     *
     * @throws IllegalArgumentException if the system is singular or numerically indefinite
     */
    RidgeSolution solve(RidgeStatistics stats) {
        NormalEquations.Result r = NormalEquations.solve(stats, settings.regParam(), settings.fitIntercept(),
                settings.standardization());
        if (r.constantFeatures > 0) {
            LOG.info("sparkprop ridge: {} constant feature(s) get coefficient 0", r.constantFeatures);
        }
        if (r.isSingular()) {
            String where = r.singularFeature >= 0 ? "feature " + r.singularFeature
                    + " is (nearly) constant or a linear combination of the features before it"
                    : "the features are collinear or constant";
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the ridge normal equations are singular or numerically indefinite (%s; %d examples, %d features, "
                            + "regParam %s): set regParam > 0, or remove constant and collinear features",
                    where, stats.count, stats.n, settings.regParam()));
        }
        return new RidgeSolution(r.coefficients, r.intercepts, r.rmse, r.r2, null, stats.count, stats.weightSum, 0, 0);
    }

    /**
     * Plans the merge of the partial statistics ({@link OrderedTreeAggregate#plan}: merged pairwise on
     * the executors when the tree's last level would crowd the driver) and rejects, before any Spark
     * job, a problem whose statistics cannot fit on the driver: it holds the partial sums the plan brings
     * it, of {@code 8(n² + nm + n + 2m)} bytes each, and three {@code n×n} matrices for the solve — and an
     * {@code n×n} matrix is one array, so {@code n} is at most {@link #MAX_NORMAL_FEATURES} whatever the memory.
     * Either refusal points to solver sgd.
     */
    private OrderedTreeAggregate.Plan checkDriverMemory(JavaSparkContext sc, int n, int m, int partitions) {
        double statBytes = RidgeStatistics.bytes(n, m);
        // at the least, one partial sum and the solve; the plan keeps the others within its budget
        double needed = statBytes * 2 + 3 * 8.0 * n * n;
        double available = Runtime.getRuntime().maxMemory();
        if (needed > 0.8 * available) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "ridge with %d features and %d outputs needs about %.1f GB of driver memory (partial sums of "
                            + "%.1f MB plus the solve), more than the driver's %.1f GB: use fewer features, "
                            + "raise spark.driver.memory, or use solver sgd",
                    n, m, needed / 1e9, statBytes / 1e6, available / 1e9));
        }
        // a driver with the memory still cannot hold the matrix in one array
        if (n > MAX_NORMAL_FEATURES) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "solver normal forms the %d x %d matrix of the normal equations, more than the %d x %d one Java "
                            + "array can hold (and %.0f GB): use solver sgd, which trains on wide sparse data in the "
                            + "memory of its non-zeros and the coefficients", n, n, MAX_NORMAL_FEATURES,
                    MAX_NORMAL_FEATURES, 8.0 * n * n / 1e9));
        }
        OrderedTreeAggregate.Plan plan;
        try {
            plan = OrderedTreeAggregate.plan(partitions, settings.aggregationDepth(), (long) statBytes, sc.getConf(),
                    "sum of the ridge statistics");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("ridge with " + n + " features: " + e.getMessage(), e);
        }
        if (plan.pairwiseOnExecutors()) {
            LOG.info("sparkprop: ridge statistics of {} MB each: {}", (long) statBytes >> 20, plan);
        }
        return plan;
    }

    private RidgeSolution fitSgd(JavaRDD<Example> data, int n, int m, String featuresCol, String labelCol) {
        if (!settings.fitIntercept() || settings.standardization()) {
            throw new IllegalArgumentException("solver sgd fits an intercept on unstandardised features; with "
                    + "fitIntercept=false or standardization=true use solver normal");
        }
        NetworkSpec spec = NetworkSpec.builder().input(n).dense(m, Activation.IDENTITY).build();
        long start = System.nanoTime();
        TrainingResult r = new Trainer(spec, settings.sgdSettings()).setColumnNames(featuresCol, labelCol).fit(data);
        double trainMillis = (System.nanoTime() - start) / 1e6;
        Parameters p = r.parameters();
        DMatrixRMaj w = DMatrixRMaj.wrap(m, n, p.weights(0).values()); // row-major: the matrix is transposed
        double[] b = p.biases(0).values();
        ResidualMetrics e = ResidualMetrics.of(data, w, b, GemmChoice.decide(settings.gemmBackend()),
                settings.sparseThreshold());
        return new RidgeSolution(w, b.clone(), e.rmse(), e.r2(), e.mae(),
                r.numExamples(), r.weightSum(), trainMillis, 0).withGemm(r.gemm())
                .withPrecision(r.precision().lowerName());
    }
}
