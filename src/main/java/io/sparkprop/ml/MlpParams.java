package io.sparkprop.ml;

import java.util.Arrays;

import io.sparkprop.optim.Optimizer;
import io.sparkprop.train.MlpSettings;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;

/**
 * Internal: the params the MLP estimators and models share, created for one owner (Spark ML discovers params
 * through the owner's public no-arg methods, which return these objects). They are built in the
 * owner's constructor after its uid is set: a {@link Param} records its parent's uid when created,
 * so params created earlier (e.g. by a Scala superclass) would belong to no one.
 */
final class MlpParams implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    final Param<String> featuresCol;
    final Param<String> labelCol;
    final Param<String> predictionCol;
    final Param<String> weightCol;
    final IntArrayParam hiddenLayers;
    final Param<String> activation;
    final Param<String> optimizer;
    final DoubleParam stepSize;
    final DoubleParam momentum;
    final DoubleParam stepDecay;
    final IntParam batchSize;
    final Param<String> localSteps;
    final DoubleParam outerStepSize;
    final DoubleParam outerMomentum;
    final IntParam maxEpochs;
    final DoubleParam tol;
    final DoubleParam regParam;
    final IntParam blockSize;
    final IntParam aggregationDepth;
    final IntParam numShards;
    final LongParam seed;
    final Param<String> validationIndicatorCol;
    final IntParam patience;
    final Param<String> precision;
    final DoubleParam sparseThreshold;
    final Param<String> stepSchedule;
    final IntParam warmupSteps;
    final DoubleParam stepFloor;
    final IntParam stepDropEpochs;
    final DoubleParam stepDropFactor;
    final DoubleParam dropout;
    final DoubleParam clipNorm;
    final Param<String> classWeights;
    final DoubleParam labelSmoothing;

    MlpParams(Params owner) {
        featuresCol = new Param<>(owner, "featuresCol", "features column name (a Vector column)");
        labelCol = new Param<>(owner, "labelCol", "label column name");
        predictionCol = new Param<>(owner, "predictionCol", "prediction column name");
        weightCol = new Param<>(owner, "weightCol",
                "weight column name: a numeric column of example weights >= 0; empty for weight 1");
        scala.Function1<int[], Object> positiveWidths = widths -> Arrays.stream(widths).allMatch(w -> w > 0);
        hiddenLayers = new IntArrayParam(owner, "hiddenLayers",
                "widths of the hidden layers, e.g. [256, 128], each > 0; empty for a linear or logistic model",
                positiveWidths);
        activation = new Param<>(owner, "activation", "activation of the hidden layers: relu, tanh or sigmoid",
                ParamValidators.inArray(new String[] {"relu", "tanh", "sigmoid"}));
        // the validator throws itself, so that an unknown name is refused when set with the valid ones named
        // (Spark's own message names only the value)
        scala.Function1<String, Object> knownRule = name -> {
            Optimizer.Kind.parse(name);
            return true;
        };
        optimizer = new Param<>(owner, "optimizer", "update rule: " + String.join(", ", Optimizer.Kind.names())
                + " (case-insensitive)", knownRule);
        stepSize = new DoubleParam(owner, "stepSize", "step size (learning rate) > 0", ParamValidators.gt(0));
        momentum = new DoubleParam(owner, "momentum", "momentum in [0, 1) of the momentum and nesterov optimizers",
                ParamValidators.inRange(0, 1, true, false));
        stepDecay = new DoubleParam(owner, "stepDecay", "inverse-time decay d >= 0 of the step size, "
                + "stepSize / (1 + d·t) at update t, with stepSchedule inverse (the default); 0 = constant",
                ParamValidators.gtEq(0));
        batchSize = new IntParam(owner, "batchSize", "examples per update across the cluster; 0 = full batch",
                ParamValidators.gtEq(0));
        localSteps = new LocalStepsParam(owner);
        outerStepSize = new DoubleParam(owner, "outerStepSize", "with localSteps > 1: step > 0 of the outer update "
                + "from the shards' mean parameter delta (1 with outerMomentum 0 = averaging)", ParamValidators.gt(0));
        outerMomentum = new DoubleParam(owner, "outerMomentum", "with localSteps > 1: outer Nesterov momentum in "
                + "[0, 1) (0 = plain averaging)", ParamValidators.inRange(0, 1, true, false));
        maxEpochs = new IntParam(owner, "maxEpochs", "passes over the data at most (>= 1)", ParamValidators.gtEq(1));
        tol = new DoubleParam(owner, "tol",
                "stop when the epoch loss changes by less than this, relatively (>= 0; 0 = never)",
                ParamValidators.gtEq(0));
        regParam = new DoubleParam(owner, "regParam",
                "ridge penalty λ >= 0 of (λ/2)·Σ‖W‖² (biases not penalised)", ParamValidators.gtEq(0));
        blockSize = new IntParam(owner, "blockSize", "examples per block of the per-partition GEMMs (>= 1)",
                ParamValidators.gtEq(1));
        aggregationDepth = new IntParam(owner, "aggregationDepth", "depth of the gradient merge tree (>= 1)",
                ParamValidators.gtEq(1));
        numShards = new IntParam(owner, "numShards", "cached partitions of the training data, one task each per "
                + "round (>= 0; 0 = Spark's default parallelism)", ParamValidators.gtEq(0));
        seed = new LongParam(owner, "seed", "random seed of the initial weights and the batch order");
        validationIndicatorCol = new Param<>(owner, "validationIndicatorCol",
                "boolean column: rows marked true are held out for validation, never trained on; empty for none");
        patience = new IntParam(owner, "patience", "early stopping: epochs without a lower validation loss before "
                + "stopping, keeping the best epoch's weights (>= 0; 0 = off; needs validationIndicatorCol)",
                ParamValidators.gtEq(0));
        scala.Function1<String, Object> knownPrecision = name -> {
            io.sparkprop.linalg.Precision.fromName(name);
            return true;
        };
        precision = new Param<>(owner, "precision", "float64, or float32: shards and the kernel's GEMMs in single "
                + "precision (half the cached bytes); sums, master weights and optimiser state stay float64; the "
                + "model is stored and scored in float64 either way", knownPrecision);
        sparseThreshold = new DoubleParam(owner, "sparseThreshold", SPARSE_THRESHOLD_DOC,
                ParamValidators.inRange(0, 1, true, true));
        scala.Function1<String, Object> knownSchedule = name -> {
            io.sparkprop.optim.StepSchedule.Kind.parse(name);
            return true;
        };
        stepSchedule = new Param<>(owner, "stepSchedule", "shape of the step size over the run after the warm-up: "
                + "constant; inverse (stepSize / (1 + stepDecay·t), constant when stepDecay is 0); step (times "
                + "stepDropFactor every stepDropEpochs epochs); cosine (from stepSize down to stepFloor·stepSize at "
                + "the last epoch)", knownSchedule);
        warmupSteps = new IntParam(owner, "warmupSteps", "updates of linear warm-up, stepSize·(t+1)/warmupSteps, "
                + "before the schedule starts (>= 0; 0 = none; with localSteps > 1 the outer step warms up too)",
                ParamValidators.gtEq(0));
        stepFloor = new DoubleParam(owner, "stepFloor", "the lowest step as a fraction of stepSize, in [0, 1): "
                + "where cosine ends, and a lower bound of inverse and step", ParamValidators.inRange(0, 1, true, false));
        stepDropEpochs = new IntParam(owner, "stepDropEpochs", "the step schedule's period in epochs (>= 1)",
                ParamValidators.gtEq(1));
        stepDropFactor = new DoubleParam(owner, "stepDropFactor", "the step schedule's factor, in (0, 1]",
                ParamValidators.inRange(0, 1, false, true));
        dropout = new DoubleParam(owner, "dropout", "rate in [0, 1) at which hidden units are dropped in training "
                + "(inverted dropout: scoring needs no rescaling); 0 = off", ParamValidators.inRange(0, 1, true, false));
        clipNorm = new DoubleParam(owner, "clipNorm", "largest global norm of an update's gradient, which is "
                + "scaled down to it when larger (>= 0; 0 = off)", ParamValidators.gtEq(0));
        scala.Function1<String, Object> knownWeights = text -> {
            io.sparkprop.train.ClassWeights.parse(text);
            return true;
        };
        classWeights = new Param<>(owner, "classWeights", "per-class factors of the example weights in training: "
                + "none, balanced (n / (k·n_c), counted from the training data), or one number >= 0 per class, "
                + "comma-separated (e.g. 1,50); multiplies weightCol's weights; classifiers only", knownWeights);
        labelSmoothing = new DoubleParam(owner, "labelSmoothing", "ε in [0, 1): the cross-entropy's targets become "
                + "(1 − ε)·y + ε/K in training; 0 = off; classifiers only", ParamValidators.inRange(0, 1, true, false));
    }

    /** The doc of the {@code sparseThreshold} param, the MLPs' and {@link RidgeRegression}'s. */
    static final String SPARSE_THRESHOLD_DOC = "blocks whose fraction of non-zero feature values is below this are "
            + "packed sparse (12 bytes a non-zero, 8 in float32; the first layer's products then cost in proportion "
            + "to the non-zeros); 0 = always dense; in [0, 1]";

    /** The defaults of the estimators and, through them, of their models: those of {@link MlpSettings#defaults()}. */
    void setDefaults(Params owner) {
        MlpSettings d = MlpSettings.defaults();
        owner.setDefault(featuresCol, "features");
        owner.setDefault(labelCol, "label");
        owner.setDefault(predictionCol, "prediction");
        owner.setDefault(weightCol, "");
        owner.setDefault(hiddenLayers, MlpSettings.defaultHiddenLayers());
        owner.setDefault(activation, MlpSettings.DEFAULT_ACTIVATION);
        owner.setDefault(optimizer, d.optimizer());
        owner.setDefault(stepSize, d.stepSize());
        owner.setDefault(stepDecay, d.stepDecay());
        owner.setDefault(momentum, d.momentum());
        owner.setDefault(batchSize, d.batchSize());
        owner.setDefault(localSteps, MlpSettings.localStepsName(d.localSteps()));
        owner.setDefault(outerStepSize, d.outerStepSize());
        owner.setDefault(outerMomentum, d.outerMomentum());
        owner.setDefault(maxEpochs, d.maxEpochs());
        owner.setDefault(tol, d.tol());
        owner.setDefault(regParam, d.regParam());
        owner.setDefault(blockSize, d.blockSize());
        owner.setDefault(aggregationDepth, d.aggregationDepth());
        owner.setDefault(numShards, d.numShards());
        owner.setDefault(seed, d.seed());
        owner.setDefault(validationIndicatorCol, "");
        owner.setDefault(patience, d.patience());
        owner.setDefault(precision, d.precision().lowerName());
        owner.setDefault(sparseThreshold, d.sparseThreshold());
        owner.setDefault(stepSchedule, d.stepSchedule());
        owner.setDefault(warmupSteps, d.warmupSteps());
        owner.setDefault(stepFloor, d.stepFloor());
        owner.setDefault(stepDropEpochs, d.stepDropEpochs());
        owner.setDefault(stepDropFactor, d.stepDropFactor());
        owner.setDefault(dropout, d.dropout());
        owner.setDefault(clipNorm, d.clipNorm());
        owner.setDefault(classWeights, d.classWeights());
        owner.setDefault(labelSmoothing, d.labelSmoothing());
    }

    /**
     * The settings these params describe, checked: the one conversion from the params to what the
     * trainer takes.
     */
    MlpSettings settings(Params owner) {
        return MlpSettings.builder()
                .optimizer(get(owner, optimizer)).stepSize(get(owner, stepSize)).momentum(get(owner, momentum))
                .stepDecay(get(owner, stepDecay)).batchSize(get(owner, batchSize))
                .localSteps((String) get(owner, localSteps)).outerStepSize(get(owner, outerStepSize))
                .outerMomentum(get(owner, outerMomentum)).maxEpochs(get(owner, maxEpochs))
                .tol(get(owner, tol)).regParam(get(owner, regParam)).blockSize(get(owner, blockSize))
                .aggregationDepth(get(owner, aggregationDepth)).numShards(get(owner, numShards)).seed(get(owner, seed)).patience(get(owner, patience))
                .precision((String) get(owner, precision))
                .sparseThreshold(get(owner, sparseThreshold))
                .stepSchedule(get(owner, stepSchedule)).warmupSteps(get(owner, warmupSteps))
                .stepFloor(get(owner, stepFloor)).stepDropEpochs(get(owner, stepDropEpochs))
                .stepDropFactor(get(owner, stepDropFactor)).dropout(get(owner, dropout)).clipNorm(get(owner, clipNorm))
                .classWeights(get(owner, classWeights)).labelSmoothing(get(owner, labelSmoothing)).build();
    }

    /**
     * The params of {@code settings} set on {@code owner}: the inverse of {@link #settings}. (The
     * settings' Adam constants and {@code gemmBackend} are no params; they keep their
     * defaults.)
     */
    void set(Params owner, MlpSettings settings) {
        owner.set(optimizer, settings.optimizer());
        owner.set(stepSize, settings.stepSize());
        owner.set(momentum, settings.momentum());
        owner.set(stepDecay, settings.stepDecay());
        owner.set(batchSize, settings.batchSize());
        owner.set(localSteps, MlpSettings.localStepsName(settings.localSteps()));
        owner.set(outerStepSize, settings.outerStepSize());
        owner.set(outerMomentum, settings.outerMomentum());
        owner.set(maxEpochs, settings.maxEpochs());
        owner.set(tol, settings.tol());
        owner.set(regParam, settings.regParam());
        owner.set(blockSize, settings.blockSize());
        owner.set(aggregationDepth, settings.aggregationDepth());
        owner.set(numShards, settings.numShards());
        owner.set(seed, settings.seed());
        owner.set(patience, settings.patience());
        owner.set(precision, settings.precision().lowerName());
        owner.set(sparseThreshold, settings.sparseThreshold());
        owner.set(stepSchedule, settings.stepSchedule());
        owner.set(warmupSteps, settings.warmupSteps());
        owner.set(stepFloor, settings.stepFloor());
        owner.set(stepDropEpochs, settings.stepDropEpochs());
        owner.set(stepDropFactor, settings.stepDropFactor());
        owner.set(dropout, settings.dropout());
        owner.set(clipNorm, settings.clipNorm());
        owner.set(classWeights, settings.classWeights());
        owner.set(labelSmoothing, settings.labelSmoothing());
    }

    @SuppressWarnings("unchecked")
    private static <T> T get(Params owner, Param<?> param) {
        return (T) owner.getOrDefault(param);
    }

    /**
     * {@code Params.explainParam} with array values printed as {@code [256, 128]} rather than the JVM's
     * {@code [I@1b6d3586}.
     */
    static String explain(Params owner, Param<?> param) {
        StringBuilder sb = new StringBuilder(param.name()).append(": ").append(param.doc());
        scala.Option<?> defaultValue = owner.getDefault(param);
        scala.Option<?> current = owner.get(param);
        if (defaultValue.isDefined() || current.isDefined()) {
            sb.append(" (");
            if (defaultValue.isDefined()) {
                sb.append("default: ").append(show(defaultValue.get()));
            }
            if (current.isDefined()) {
                sb.append(defaultValue.isDefined() ? ", " : "").append("current: ").append(show(current.get()));
            }
            sb.append(')');
        } else {
            sb.append(" (undefined)");
        }
        return sb.toString();
    }

    private static String show(Object value) {
        return value instanceof int[] ? Arrays.toString((int[]) value) : String.valueOf(value);
    }

    /**
     * The {@code localSteps} param: {@code auto} or an integer {@code >= 1}, as text (as MLlib's
     * {@code featureSubsetStrategy} takes {@code auto} or a number). Models saved when it was an integer param
     * stored a JSON number; {@link #jsonDecode} reads that too, so they still load.
     */
    static final class LocalStepsParam extends Param<String> {
        private static final long serialVersionUID = 1L;

        LocalStepsParam(Params owner) {
            super(owner, "localSteps", "mini-batch steps every shard takes on its own between two merges: auto "
                    + "(picked before training from the data's size, the shards, the batch, the network and the "
                    + "precision; see the README) or an integer >= 1 (1 = synchronous SGD, one Spark job per update)",
                    (scala.Function1<String, Object>) value -> {
                        MlpSettings.parseLocalSteps(value);
                        return true;
                    });
        }

        @Override
        public String jsonDecode(String json) {
            String v = json.trim();
            return !v.isEmpty() && (Character.isDigit(v.charAt(0)) || v.charAt(0) == '-') ? v : super.jsonDecode(json);
        }
    }
}
