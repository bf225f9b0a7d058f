package io.sparkprop.ridge;

import java.io.Serializable;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.train.MlpSettings;

/**
 * Every setting of one ridge fit, immutable and checked once, when it is built; the {@link Builder}'s
 * initial values are the only place of their defaults ({@code RidgeRegression}'s params and the job's
 * config keys take theirs from {@link #defaults()}). The settings of solver {@code sgd} are the
 * trainer's ({@link #sgdSettings()}); their defaults differ from the MLP's where closed-form-sized
 * problems need it: the sgd solver runs full batch, so it takes more epochs and a larger step.
 *
 * @param regParam         {@code λ ≥ 0} (the intercept is never penalised)
 * @param fitIntercept     fit an unpenalised intercept
 * @param standardization  penalise standardised coefficients, {@code (λ/2) Σ_j σ_j² W_j²}
 * @param solver           {@code normal} (closed form) or {@code sgd}
 * @param blockSize        rows per block of the statistics pass, and examples per block of the sgd trainer
 * @param aggregationDepth depth of the merge tree (≥ 1)
 * @param gemmBackend      the executors' GEMM backend
 * @param optimizer        update rule of solver sgd
 * @param stepSize         step size of solver sgd
 * @param maxEpochs        epochs of solver sgd
 * @param batchSize        examples per update of solver sgd; 0 = full batch
 * @param tol              convergence tolerance of solver sgd; 0 = run every epoch
 * @param seed             seed of solver sgd
 * @param precision        format of solver sgd's shards and GEMMs ({@link MlpSettings#precision()}); the normal
 *                         equations are conditioning-sensitive and always formed and solved in float64, so
 *                         solver normal takes float64 only
 * @param sparseThreshold  below this fraction of non-zero feature values, solver sgd packs blocks sparse
 *                         ({@link MlpSettings#sparseThreshold()}) and solver normal sums a partition's rows as sparse
 *                         rows ({@code [0, 1]})
 */
public record RidgeSettings(double regParam, boolean fitIntercept, boolean standardization,
                            RidgeSolver.Solver solver, int blockSize, int aggregationDepth, GemmBackend gemmBackend,
                            String optimizer, double stepSize, int maxEpochs, int batchSize, double tol, long seed,
                            Precision precision, double sparseThreshold)
        implements Serializable {

    /** Checks every value, naming the setting; the sgd ones by building the trainer's settings. */
    public RidgeSettings {
        io.sparkprop.util.Checks.notNull("solver", solver);
        optimizer = io.sparkprop.optim.Optimizer.Kind.parse(optimizer).lowerName();
        sgdSettings(regParam, blockSize, aggregationDepth, gemmBackend, optimizer, stepSize, maxEpochs, batchSize,
                tol, seed, precision, sparseThreshold);
        if (solver == RidgeSolver.Solver.NORMAL && precision != Precision.FLOAT64) {
            throw new IllegalArgumentException("precision " + precision.lowerName() + " applies to solver sgd only: "
                    + "the normal equations are always formed and solved in float64; use precision float64 with "
                    + "solver normal, or solver sgd");
        }
    }

    /** The defaults: solver normal with an intercept, λ = 0, blocks of 512; sgd: Adam(0.01), 200 full-batch epochs. */
    public static RidgeSettings defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().regParam(regParam).fitIntercept(fitIntercept).standardization(standardization)
                .solver(solver).blockSize(blockSize).aggregationDepth(aggregationDepth).gemmBackend(gemmBackend)
                .optimizer(optimizer).stepSize(stepSize).maxEpochs(maxEpochs).batchSize(batchSize).tol(tol).seed(seed)
                .precision(precision).sparseThreshold(sparseThreshold);
    }

    /** The trainer's settings of solver sgd: one identity layer trained with this λ, blocks and seed. */
    public MlpSettings sgdSettings() {
        return sgdSettings(regParam, blockSize, aggregationDepth, gemmBackend, optimizer, stepSize, maxEpochs,
                batchSize, tol, seed, precision, sparseThreshold);
    }

    private static MlpSettings sgdSettings(double regParam, int blockSize, int aggregationDepth, GemmBackend gemm,
                                           String optimizer, double stepSize, int maxEpochs, int batchSize,
                                           double tol, long seed, Precision precision, double sparseThreshold) {
        return MlpSettings.builder().optimizer(optimizer).stepSize(stepSize).maxEpochs(maxEpochs)
                .batchSize(batchSize).tol(tol).regParam(regParam).blockSize(blockSize)
                .aggregationDepth(aggregationDepth).seed(seed).gemmBackend(gemm).precision(precision)
                .sparseThreshold(sparseThreshold).build();
    }

    /** Builds {@link RidgeSettings}; its initial values are the defaults. */
    public static final class Builder {
        private double regParam = 0.0;
        private boolean fitIntercept = true;
        private boolean standardization = false;
        private RidgeSolver.Solver solver = RidgeSolver.Solver.NORMAL;
        // every block's SYRK reads and writes all of S_xx (16 n² bytes) for n² B flops, so large blocks keep
        // the pass compute-bound when n is large; past a few MB a block no longer stays in cache while it is
        // filled (512 was the best of 512, 1024, 2048 at 200k × 1000, jobs/bench ridge)
        private int blockSize = 512;
        private int aggregationDepth = MlpSettings.defaults().aggregationDepth();
        private GemmBackend gemmBackend = GemmBackend.AUTO;
        private String optimizer = "adam";
        private double stepSize = 0.01;
        private int maxEpochs = 200;
        private int batchSize = 0;
        private double tol = 0.0;
        private long seed = MlpSettings.defaults().seed();
        private Precision precision = MlpSettings.defaults().precision();
        private double sparseThreshold = MlpSettings.defaults().sparseThreshold();

        private Builder() {
        }

        public Builder regParam(double value) {
            regParam = value;
            return this;
        }

        public Builder fitIntercept(boolean value) {
            fitIntercept = value;
            return this;
        }

        public Builder standardization(boolean value) {
            standardization = value;
            return this;
        }

        public Builder solver(RidgeSolver.Solver value) {
            solver = value;
            return this;
        }

        /** {@code normal} or {@code sgd}, case-insensitive. */
        public Builder solver(String value) {
            solver = RidgeSolver.Solver.fromName(value);
            return this;
        }

        public Builder blockSize(int value) {
            blockSize = value;
            return this;
        }

        public Builder aggregationDepth(int value) {
            aggregationDepth = value;
            return this;
        }

        public Builder gemmBackend(GemmBackend value) {
            gemmBackend = value;
            return this;
        }

        public Builder optimizer(String value) {
            optimizer = value;
            return this;
        }

        public Builder stepSize(double value) {
            stepSize = value;
            return this;
        }

        public Builder maxEpochs(int value) {
            maxEpochs = value;
            return this;
        }

        public Builder batchSize(int value) {
            batchSize = value;
            return this;
        }

        public Builder tol(double value) {
            tol = value;
            return this;
        }

        public Builder seed(long value) {
            seed = value;
            return this;
        }

        public Builder precision(Precision value) {
            precision = value;
            return this;
        }

        /** {@code float64} or {@code float32} (solver sgd only), case-insensitive. */
        public Builder precision(String value) {
            precision = Precision.fromName(value);
            return this;
        }

        public Builder sparseThreshold(double value) {
            sparseThreshold = value;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first setting out of its range
         */
        public RidgeSettings build() {
            return new RidgeSettings(regParam, fitIntercept, standardization, solver, blockSize, aggregationDepth,
                    gemmBackend, optimizer, stepSize, maxEpochs, batchSize, tol, seed, precision, sparseThreshold);
        }
    }
}
