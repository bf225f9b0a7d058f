package io.sparkprop.train;

import java.io.Serializable;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import io.sparkprop.util.Checks;

/**
 * Every setting of one MLP training run, immutable and checked once, when it is built. This is the
 * one place where each setting's default lives: the {@link Builder}'s initial values. The Spark ML
 * params of {@code MlpClassifier}/{@code MlpRegressor} take their defaults from {@link #defaults()} and
 * convert to a settings value in one method; the job's {@code train.*} config keys map onto the
 * builder in one table ({@code JobConfig}); the {@link Trainer} takes the value.
 *
 * <pre>{@code
 * MlpSettings s = MlpSettings.builder().optimizer("adam").stepSize(1e-3).batchSize(512).maxEpochs(15).build();
 * TrainingResult r = new Trainer(spec, s).fit(examples);
 * }</pre>
 *
 * @param optimizer        update rule: {@code sgd}, {@code momentum}, {@code nesterov} or {@code adam}
 *                         (lower case; the builder accepts any case)
 * @param stepSize         step size {@code η > 0}
 * @param momentum         momentum {@code μ ∈ [0, 1)} of the momentum and Nesterov rules (ignored by the others)
 * @param stepDecay        inverse-time decay {@code d ≥ 0} of the {@code inverse} schedule: the step at update
 *                         {@code t} is {@code η / (1 + d·t)}; another schedule refuses {@code d > 0}
 * @param beta1            Adam's {@code β₁ ∈ [0, 1)} (not a param of the estimators)
 * @param beta2            Adam's {@code β₂ ∈ [0, 1)} (not a param of the estimators)
 * @param epsilon          Adam's {@code ε > 0} (not a param of the estimators)
 * @param batchSize        examples per update across the cluster; 0 = full batch (see {@link Trainer})
 * @param localSteps       mini-batch steps every shard takes on its own between two merges: {@code k ≥ 1}, exactly
 *                         that many (1 = synchronous SGD, one merge per update; see {@link LocalStepsRound}), or
 *                         {@link #LOCAL_STEPS_AUTO} ({@code 0} here, the default; {@code "auto"} to the builder,
 *                         the params and the config): the trainer
 *                         picks k from the data's size, the shards, the batch, the network and the precision
 *                         before training starts ({@link LocalStepsChoice})
 * @param outerStepSize    with {@code localSteps > 1}: the step {@code η_o > 0} of the outer update that turns the
 *                         shards' mean parameter delta into the new parameters; 1 with no outer momentum = the
 *                         mean of the shards' parameters
 * @param outerMomentum    with {@code localSteps > 1}: the outer Nesterov momentum {@code μ_o ∈ [0, 1)} (SlowMo,
 *                         DiLoCo); 0 = plain averaging
 * @param maxEpochs        passes over the data at most (≥ 1)
 * @param tol              stop when the epoch loss changes by at most {@code tol} relative to the previous
 *                         epoch's; 0 = never
 * @param regParam         ridge penalty {@code λ ≥ 0} of {@code (λ/2) Σ_l ‖W_l‖²}; biases are not penalised
 * @param blockSize        examples per packed block, the GEMMs' column count (≥ 1)
 * @param aggregationDepth depth of the tree that merges the partitions' sums (≥ 1)
 * @param seed             seed of the initial weights and of every epoch's block order
 * @param patience         early stopping: epochs without a lower validation loss before stopping, keeping
 *                         the best epoch; 0 = off (needs validation data)
 * @param numShards        cached partitions to pack the data into; 0 = Spark's default parallelism
 * @param gemmBackend      the GEMM backend the executors use
 * @param precision        the format the shards and the kernel's GEMMs use: {@code float64}, or {@code float32}
 *                         (half the cached bytes, single-precision GEMMs; sums, master weights and optimiser
 *                         state stay double — see {@link Precision})
 * @param sparseThreshold  blocks whose fraction of non-zero feature values is below this are packed sparse, and
 *                         the first layer's products then cost {@code ∝} the non-zeros; 0 = every block dense
 *                         ({@code [0, 1]}; see {@link io.sparkprop.exec.ShardPacker#withSparseThreshold})
 * @param stepSchedule     the shape of the step size over the run ({@link StepSchedule}): {@code constant},
 *                         {@code inverse} (the default: {@code η / (1 + d·t)} with {@code d = stepDecay}, constant
 *                         when {@code d = 0}), {@code step} or {@code cosine}
 * @param warmupSteps      updates of linear warm-up before the schedule starts ({@code ≥ 0}; 0 = none)
 * @param stepFloor        the lowest step as a fraction of {@code stepSize} ({@code [0, 1)}): where the cosine
 *                         ends, and a lower bound of the inverse and step shapes
 * @param stepDropEpochs   the step schedule's period: the step is multiplied by {@code stepDropFactor} every this
 *                         many epochs ({@code ≥ 1})
 * @param stepDropFactor   the step schedule's factor {@code γ ∈ (0, 1]}
 * @param dropout          the rate {@code p ∈ [0, 1)} at which hidden units are dropped in training (inverted
 *                         dropout: kept units are scaled by {@code 1/(1 − p)}, so scoring uses the weights as they
 *                         are); 0 = off; see {@link io.sparkprop.nn.kernel.TrainingTerms}
 * @param clipNorm         the largest global norm {@code c} of an update's gradient: {@code g ← g · c/‖g‖} when
 *                         {@code ‖g‖ > c} ({@code ≥ 0}; 0 = off)
 * @param classWeights     per-class factors of the examples' weights in training ({@link ClassWeights}):
 *                         {@code none}, {@code balanced} ({@code n / (k·n_c)}) or one number {@code ≥ 0} per class,
 *                         comma-separated; classification networks only
 * @param labelSmoothing   {@code ε ∈ [0, 1)}: cross-entropy targets {@code (1 − ε)y + ε/K} in training; 0 = off;
 *                         classification networks only
 */
public record MlpSettings(String optimizer, double stepSize, double momentum, double stepDecay, double beta1,
                          double beta2, double epsilon, int batchSize, int localSteps,
                          double outerStepSize, double outerMomentum, int maxEpochs, double tol, double regParam, int blockSize, int aggregationDepth,
                          long seed, int patience, int numShards, GemmBackend gemmBackend, Precision precision,
                          double sparseThreshold, String stepSchedule, int warmupSteps, double stepFloor,
                          int stepDropEpochs, double stepDropFactor, double dropout, double clipNorm,
                          String classWeights, double labelSmoothing)
        implements Serializable {

    /** Hidden-layer widths of the estimators' networks by default (a new array each call). */
    public static int[] defaultHiddenLayers() {
        return new int[] {64};
    }

    /** Hidden activation of the estimators' networks by default. */
    public static final String DEFAULT_ACTIVATION = "relu";

    /** {@link #localSteps()} when the trainer picks k itself ({@code "auto"} by name; see {@link LocalStepsChoice}). */
    public static final int LOCAL_STEPS_AUTO = 0;

    /**
     * {@code localSteps} by name: {@code auto} (any case) or an integer {@code ≥ 1}.
     *
     * @throws IllegalArgumentException naming the setting and the value for anything else
     */
    public static int parseLocalSteps(String value) {
        Checks.notNull("localSteps", value);
        String v = value.trim();
        if (v.equalsIgnoreCase("auto")) {
            return LOCAL_STEPS_AUTO;
        }
        try {
            int k = Integer.parseInt(v);
            if (k >= 1) {
                return k;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new IllegalArgumentException("localSteps must be auto or an integer >= 1 (1 = synchronous), found '"
                + value + "'");
    }

    /** The name of a {@code localSteps} value: {@code auto} for {@link #LOCAL_STEPS_AUTO}, else the number. */
    public static String localStepsName(int localSteps) {
        return localSteps == LOCAL_STEPS_AUTO ? "auto" : Integer.toString(localSteps);
    }

    /** Checks every value; the names in the messages are the settings' (and the params' and config keys'). */
    public MlpSettings {
        optimizer = Optimizer.Kind.parse(optimizer).lowerName();
        Checks.finitePositive("stepSize", stepSize);
        Checks.unitInterval("momentum", momentum);
        Checks.finiteNonNegative("stepDecay", stepDecay);
        Checks.unitInterval("beta1", beta1);
        Checks.unitInterval("beta2", beta2);
        Checks.finitePositive("epsilon", epsilon);
        Checks.atLeast("batchSize", batchSize, 0, "0 = full batch");
        Checks.atLeast("localSteps", localSteps, LOCAL_STEPS_AUTO, "1 = synchronous, 0 = auto");
        Checks.finitePositive("outerStepSize", outerStepSize);
        Checks.unitInterval("outerMomentum", outerMomentum);
        Checks.atLeast("maxEpochs", maxEpochs, 1, null);
        Checks.finiteNonNegative("tol", tol);
        Checks.finiteNonNegative("regParam", regParam);
        Checks.atLeast("blockSize", blockSize, 1, null);
        Checks.atLeast("aggregationDepth", aggregationDepth, 1, null);
        Checks.atLeast("patience", patience, 0, "0 = off");
        Checks.atLeast("numShards", numShards, 0, "0 = the default parallelism");
        Checks.notNull("gemmBackend", gemmBackend);
        Checks.notNull("precision", precision);
        Checks.closedUnitInterval("sparseThreshold", sparseThreshold);
        stepSchedule = StepSchedule.Kind.parse(stepSchedule).lowerName();
        Checks.atLeast("warmupSteps", warmupSteps, 0, "0 = no warm-up");
        Checks.unitInterval("stepFloor", stepFloor);
        Checks.atLeast("stepDropEpochs", stepDropEpochs, 1, null);
        Checks.finitePositive("stepDropFactor", stepDropFactor);
        if (stepDropFactor > 1) {
            throw new IllegalArgumentException("stepDropFactor must be in (0, 1], found " + stepDropFactor);
        }
        if (stepDecay > 0 && !stepSchedule.equals("inverse")) {
            throw new IllegalArgumentException("stepDecay " + stepDecay + " is the inverse schedule's decay, but "
                    + "stepSchedule is " + stepSchedule + ": set stepSchedule inverse, or stepDecay 0");
        }
        Checks.unitInterval("dropout", dropout);
        Checks.finiteNonNegative("clipNorm", clipNorm);
        classWeights = ClassWeights.parse(classWeights).toString();
        Checks.unitInterval("labelSmoothing", labelSmoothing);
    }

    /** The class weights these settings describe. */
    public ClassWeights parsedClassWeights() {
        return ClassWeights.parse(classWeights);
    }

    /** The defaults: Adam(1e-3), batch 256, localSteps auto, 10 epochs, tol 1e-6, blocks of 128, depth 2, seed 42. */
    public static MlpSettings defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these values. */
    public Builder toBuilder() {
        return new Builder().optimizer(optimizer).stepSize(stepSize).momentum(momentum).stepDecay(stepDecay)
                .adam(beta1, beta2, epsilon).batchSize(batchSize).localSteps(localStepsName(localSteps))
                .outerStepSize(outerStepSize).outerMomentum(outerMomentum).maxEpochs(maxEpochs).tol(tol).regParam(regParam).blockSize(blockSize)
                .aggregationDepth(aggregationDepth).seed(seed).patience(patience).numShards(numShards)
                .gemmBackend(gemmBackend).precision(precision).sparseThreshold(sparseThreshold)
                .stepSchedule(stepSchedule).warmupSteps(warmupSteps).stepFloor(stepFloor).stepDropEpochs(stepDropEpochs)
                .stepDropFactor(stepDropFactor).dropout(dropout).clipNorm(clipNorm).classWeights(classWeights)
                .labelSmoothing(labelSmoothing);
    }

    /** The update rule these settings describe. */
    public Optimizer updateRule() {
        Optimizer rule = Optimizer.named(optimizer, stepSize, momentum, stepDecay);
        return rule.kind() == Optimizer.Kind.ADAM
                ? Optimizer.adam(stepSize, beta1, beta2, epsilon).withDecay(stepDecay) : rule;
    }

    /**
     * The step schedule these settings describe, for a run of {@code updatesPerEpoch} updates an epoch (the
     * {@code step} shape's period and the {@code cosine}'s length are counted in epochs, and so depend on it).
     */
    public StepSchedule stepSchedule(int updatesPerEpoch) {
        Checks.atLeast("updates per epoch", updatesPerEpoch, 1, null);
        return StepSchedule.of(StepSchedule.Kind.parse(stepSchedule), stepSize, stepDecay, stepFloor, stepDropFactor,
                (long) stepDropEpochs * updatesPerEpoch, warmupSteps, (long) maxEpochs * updatesPerEpoch);
    }

    /** Builds {@link MlpSettings}; its initial values are the defaults. Not thread-safe. */
    public static final class Builder {
        private String optimizer = "adam";
        private double stepSize = 1e-3;
        private double momentum = 0.9;
        private double stepDecay = 0.0;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double epsilon = 1e-8;
        private int batchSize = 256;
        private int localSteps = LOCAL_STEPS_AUTO;
        private double outerStepSize = 1.0;
        private double outerMomentum = 0.0;
        private int maxEpochs = 10;
        private double tol = 1e-6;
        private double regParam = 0.0;
        private int blockSize = 128;
        private int aggregationDepth = 2;
        private long seed = 42L;
        private int patience = 0;
        private int numShards = 0;
        private GemmBackend gemmBackend = GemmBackend.AUTO;
        private Precision precision = Precision.FLOAT64;
        private double sparseThreshold = io.sparkprop.exec.ShardPacker.DEFAULT_SPARSE_THRESHOLD;
        private String stepSchedule = "inverse";
        private int warmupSteps = 0;
        private double stepFloor = 0.0;
        private int stepDropEpochs = 10;
        private double stepDropFactor = 0.1;
        private double dropout = 0.0;
        private double clipNorm = 0.0;
        private String classWeights = "none";
        private double labelSmoothing = 0.0;

        private Builder() {
        }

        public Builder optimizer(String value) {
            optimizer = value;
            return this;
        }

        /** The rule, step size, decay and the rule's own constants (momentum, or Adam's) of {@code rule}. */
        public Builder updateRule(Optimizer rule) {
            Checks.notNull("optimizer", rule);
            optimizer = rule.kind().lowerName();
            stepSize = rule.stepSize();
            stepDecay = rule.decay();
            if (rule.kind() == Optimizer.Kind.MOMENTUM || rule.kind() == Optimizer.Kind.NESTEROV) {
                momentum = rule.momentum();
            } else if (rule.kind() == Optimizer.Kind.ADAM) {
                adam(rule.beta1(), rule.beta2(), rule.epsilon());
            }
            return this;
        }

        /** Adam's {@code β₁}, {@code β₂} and {@code ε} (defaults 0.9, 0.999, 1e-8). */
        public Builder adam(double beta1, double beta2, double epsilon) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.epsilon = epsilon;
            return this;
        }

        public Builder stepSize(double value) {
            stepSize = value;
            return this;
        }

        public Builder momentum(double value) {
            momentum = value;
            return this;
        }

        public Builder stepDecay(double value) {
            stepDecay = value;
            return this;
        }

        public Builder batchSize(int value) {
            batchSize = value;
            return this;
        }

        /**
         * Exactly {@code k ≥ 1} local steps a round (1 = synchronous SGD); {@link #localSteps(String)} takes
         * {@code auto}.
         *
         * @throws IllegalArgumentException for {@code k < 1}
         */
        public Builder localSteps(int value) {
            Checks.atLeast("localSteps", value, 1, "1 = synchronous; auto by name");
            localSteps = value;
            return this;
        }

        /** {@code auto} (any case) or an integer ≥ 1; see {@link #parseLocalSteps}. */
        public Builder localSteps(String value) {
            localSteps = parseLocalSteps(value);
            return this;
        }

        public Builder outerStepSize(double value) {
            outerStepSize = value;
            return this;
        }

        public Builder outerMomentum(double value) {
            outerMomentum = value;
            return this;
        }

        public Builder maxEpochs(int value) {
            maxEpochs = value;
            return this;
        }

        public Builder tol(double value) {
            tol = value;
            return this;
        }

        public Builder regParam(double value) {
            regParam = value;
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

        public Builder seed(long value) {
            seed = value;
            return this;
        }

        public Builder patience(int value) {
            patience = value;
            return this;
        }

        public Builder numShards(int value) {
            numShards = value;
            return this;
        }

        public Builder gemmBackend(GemmBackend value) {
            gemmBackend = value;
            return this;
        }

        public Builder precision(Precision value) {
            precision = value;
            return this;
        }

        /** {@link #precision(Precision)} by name: {@code float64} or {@code float32} (any case). */
        public Builder precision(String value) {
            precision = Precision.fromName(value);
            return this;
        }

        public Builder sparseThreshold(double value) {
            sparseThreshold = value;
            return this;
        }

        /** {@code constant}, {@code inverse}, {@code step} or {@code cosine} (any case); see {@link StepSchedule}. */
        public Builder stepSchedule(String value) {
            stepSchedule = value;
            return this;
        }

        public Builder warmupSteps(int value) {
            warmupSteps = value;
            return this;
        }

        public Builder stepFloor(double value) {
            stepFloor = value;
            return this;
        }

        public Builder stepDropEpochs(int value) {
            stepDropEpochs = value;
            return this;
        }

        public Builder stepDropFactor(double value) {
            stepDropFactor = value;
            return this;
        }

        public Builder dropout(double value) {
            dropout = value;
            return this;
        }

        public Builder clipNorm(double value) {
            clipNorm = value;
            return this;
        }

        /** {@code none}, {@code balanced}, or per-class weights such as {@code "1, 50"}; see {@link ClassWeights}. */
        public Builder classWeights(String value) {
            classWeights = value;
            return this;
        }

        public Builder labelSmoothing(double value) {
            labelSmoothing = value;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first setting out of its range
         */
        public MlpSettings build() {
            return new MlpSettings(optimizer, stepSize, momentum, stepDecay, beta1, beta2, epsilon, batchSize,
                    localSteps, outerStepSize, outerMomentum, maxEpochs, tol, regParam, blockSize, aggregationDepth, seed, patience, numShards, gemmBackend, precision,
                    sparseThreshold, stepSchedule, warmupSteps, stepFloor, stepDropEpochs, stepDropFactor, dropout,
                    clipNorm, classWeights, labelSmoothing);
        }
    }
}
