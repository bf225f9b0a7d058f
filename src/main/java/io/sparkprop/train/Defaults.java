package io.sparkprop.train;

/**
 * The one place where every training setting's default lives. The Java API ({@link Trainer},
 * {@code RidgeSolver}), the Spark ML params ({@code MlpClassifier}, {@code MlpRegressor},
 * {@code RidgeRegression}) and the job's config keys ({@code JobConfig}) all take their defaults from
 * here, and a test checks that the three entry points train the same bits with their defaults.
 *
 * <p>Two groups: the MLP's (also the ridge sgd solver's where the group below says nothing), and the
 * ridge solver's own, which differ where closed-form-sized problems need it: its sgd solver runs full
 * batch, so it needs more epochs and a larger step than the mini-batch MLP default.
 */
public final class Defaults {
    private Defaults() {
    }

    /** Update rule: {@code adam}. */
    public static final String OPTIMIZER = "adam";
    /** Step size {@code η}. */
    public static final double STEP_SIZE = 1e-3;
    /** Inverse-time decay {@code d} of the step size, {@code η_t = η / (1 + d·t)}; 0 = constant. */
    public static final double STEP_DECAY = 0.0;
    /** Momentum {@code μ} of the momentum and Nesterov rules. */
    public static final double MOMENTUM = 0.9;
    /** Examples per update across the cluster; 0 = full batch. */
    public static final int BATCH_SIZE = 256;
    /** Passes over the data at most. */
    public static final int MAX_EPOCHS = 10;
    /** Relative change of the epoch loss below which a run has converged; 0 = never. */
    public static final double TOL = 1e-6;
    /** Ridge penalty {@code λ}. */
    public static final double REG_PARAM = 0.0;
    /** Examples per packed block (the GEMMs' column count). */
    public static final int BLOCK_SIZE = 128;
    /** Depth of the merge tree: how many partial results reach the driver, as in Spark's treeAggregate. */
    public static final int AGGREGATION_DEPTH = 2;
    /** Seed of the initial weights and the block order. */
    public static final long SEED = 42L;
    /** Early stopping patience in epochs; 0 = off. */
    public static final int PATIENCE = 0;
    /** Hidden layer widths of an MLP (a new array each call: the default cannot be changed by a caller). */
    public static int[] hiddenLayers() {
        return new int[] {64};
    }
    /** Hidden activation of an MLP. */
    public static final String ACTIVATION = "relu";

    /** Ridge: rows per block of the statistics pass (see {@code RidgeSolver.setBlockSize}). */
    public static final int RIDGE_BLOCK_SIZE = 512;
    /** Ridge: fit an unpenalised intercept. */
    public static final boolean RIDGE_FIT_INTERCEPT = true;
    /** Ridge: penalise standardised coefficients. */
    public static final boolean RIDGE_STANDARDIZATION = false;
    /** Ridge: {@code normal} (closed form) or {@code sgd}. */
    public static final String RIDGE_SOLVER = "normal";
    /** Ridge sgd solver: Adam's step size (full batch). */
    public static final double RIDGE_SGD_STEP_SIZE = 0.01;
    /** Ridge sgd solver: full-batch iterations. */
    public static final int RIDGE_SGD_MAX_EPOCHS = 200;
    /** Ridge sgd solver: full batch. */
    public static final int RIDGE_SGD_BATCH_SIZE = 0;
    /** Ridge sgd solver: run every epoch. */
    public static final double RIDGE_SGD_TOL = 0.0;
}
