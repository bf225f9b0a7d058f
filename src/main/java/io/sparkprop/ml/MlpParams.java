package io.sparkprop.ml;

import java.util.Arrays;

import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Optimizer;
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
    final IntParam localSteps;
    final DoubleParam outerStepSize;
    final DoubleParam outerMomentum;
    final IntParam maxEpochs;
    final DoubleParam tol;
    final DoubleParam regParam;
    final IntParam blockSize;
    final IntParam aggregationDepth;
    final LongParam seed;
    final Param<String> validationIndicatorCol;
    final IntParam patience;
    final Param<String> precision;
    final DoubleParam sparseThreshold;

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
                + "stepSize / (1 + d·t) at update t; 0 = constant", ParamValidators.gtEq(0));
        batchSize = new IntParam(owner, "batchSize", "examples per update across the cluster; 0 = full batch",
                ParamValidators.gtEq(0));
        localSteps = new IntParam(owner, "localSteps", "mini-batch steps every shard takes on its own between two "
                + "merges (>= 1; 1 = synchronous SGD, one Spark job per update)", ParamValidators.gtEq(1));
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
        seed = new LongParam(owner, "seed", "random seed of the initial weights and the batch order");
        validationIndicatorCol = new Param<>(owner, "validationIndicatorCol",
                "boolean column: rows marked true are held out for validation, never trained on; empty for none");
        patience = new IntParam(owner, "patience", "early stopping: epochs without a lower validation loss before "
                + "stopping, keeping the best epoch's weights (>= 0; 0 = off; needs validationIndicatorCol)",
                ParamValidators.gtEq(0));
        scala.Function1<String, Object> knownPrecision = name -> {
            io.sparkprop.nn.Precision.fromName(name);
            return true;
        };
        precision = new Param<>(owner, "precision", "float64, or float32: shards and the kernel's GEMMs in single "
                + "precision (half the cached bytes); sums, master weights and optimiser state stay float64; the "
                + "model is stored and scored in float64 either way", knownPrecision);
        sparseThreshold = new DoubleParam(owner, "sparseThreshold", SPARSE_THRESHOLD_DOC,
                ParamValidators.inRange(0, 1, true, true));
    }

    /** The doc of the {@code sparseThreshold} param, the MLPs' and {@link RidgeRegression}'s. */
    static final String SPARSE_THRESHOLD_DOC = "blocks whose fraction of non-zero feature values is below this are "
            + "packed sparse (12 bytes a non-zero; the first layer's products then cost in proportion to the "
            + "non-zeros); 0 = always dense; in [0, 1]";

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
        owner.setDefault(localSteps, d.localSteps());
        owner.setDefault(outerStepSize, d.outerStepSize());
        owner.setDefault(outerMomentum, d.outerMomentum());
        owner.setDefault(maxEpochs, d.maxEpochs());
        owner.setDefault(tol, d.tol());
        owner.setDefault(regParam, d.regParam());
        owner.setDefault(blockSize, d.blockSize());
        owner.setDefault(aggregationDepth, d.aggregationDepth());
        owner.setDefault(seed, d.seed());
        owner.setDefault(validationIndicatorCol, "");
        owner.setDefault(patience, d.patience());
        owner.setDefault(precision, d.precision().lowerName());
        owner.setDefault(sparseThreshold, d.sparseThreshold());
    }

    /**
     * The settings these params describe, checked: the one conversion from the params to what the
     * trainer takes.
     */
    MlpSettings settings(Params owner) {
        return MlpSettings.builder()
                .optimizer(get(owner, optimizer)).stepSize(get(owner, stepSize)).momentum(get(owner, momentum))
                .stepDecay(get(owner, stepDecay)).batchSize(get(owner, batchSize))
                .localSteps(get(owner, localSteps)).outerStepSize(get(owner, outerStepSize))
                .outerMomentum(get(owner, outerMomentum)).maxEpochs(get(owner, maxEpochs))
                .tol(get(owner, tol)).regParam(get(owner, regParam)).blockSize(get(owner, blockSize))
                .aggregationDepth(get(owner, aggregationDepth)).seed(get(owner, seed)).patience(get(owner, patience))
                .precision((String) get(owner, precision))
                .sparseThreshold(get(owner, sparseThreshold)).build();
    }

    /**
     * The params of {@code settings} set on {@code owner}: the inverse of {@link #settings}. (The
     * settings' Adam constants, {@code numShards} and {@code gemmBackend} are no params; they keep
     * their defaults.)
     */
    void set(Params owner, MlpSettings settings) {
        owner.set(optimizer, settings.optimizer());
        owner.set(stepSize, settings.stepSize());
        owner.set(momentum, settings.momentum());
        owner.set(stepDecay, settings.stepDecay());
        owner.set(batchSize, settings.batchSize());
        owner.set(localSteps, settings.localSteps());
        owner.set(outerStepSize, settings.outerStepSize());
        owner.set(outerMomentum, settings.outerMomentum());
        owner.set(maxEpochs, settings.maxEpochs());
        owner.set(tol, settings.tol());
        owner.set(regParam, settings.regParam());
        owner.set(blockSize, settings.blockSize());
        owner.set(aggregationDepth, settings.aggregationDepth());
        owner.set(seed, settings.seed());
        owner.set(patience, settings.patience());
        owner.set(precision, settings.precision().lowerName());
        owner.set(sparseThreshold, settings.sparseThreshold());
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
}
