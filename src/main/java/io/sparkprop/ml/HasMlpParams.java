package io.sparkprop.ml;

import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The params of the MLP estimators and their models, as public no-arg methods (Spark ML finds params
 * by reflection on those) with getters. The param objects live in each owner's {@link MlpParams}; the
 * training params' defaults are those of {@link io.sparkprop.train.MlpSettings#defaults()}, and
 * {@code explainParams()} shows them.
 */
public interface HasMlpParams extends Params {
    /** Internal: this owner's param objects. */
    MlpParams mlpParams();

    /** Features column (Vector). */
    default Param<String> featuresCol() {
        return mlpParams().featuresCol;
    }

    /** Label column. */
    default Param<String> labelCol() {
        return mlpParams().labelCol;
    }

    /** Prediction column. */
    default Param<String> predictionCol() {
        return mlpParams().predictionCol;
    }

    /** Weight column, empty for none. */
    default Param<String> weightCol() {
        return mlpParams().weightCol;
    }

    /** Hidden-layer widths. */
    default IntArrayParam hiddenLayers() {
        return mlpParams().hiddenLayers;
    }

    /** Hidden activation. */
    default Param<String> activation() {
        return mlpParams().activation;
    }

    /** Update rule: {@code sgd}, {@code momentum}, {@code nesterov} or {@code adam} . */
    default Param<String> optimizer() {
        return mlpParams().optimizer;
    }

    /** Inverse-time decay {@code d} of the step size, {@code stepSize / (1 + d·t)} at update {@code t}. */
    default DoubleParam stepDecay() {
        return mlpParams().stepDecay;
    }

    /** Step size. */
    default DoubleParam stepSize() {
        return mlpParams().stepSize;
    }

    /** Momentum of the momentum and nesterov optimizers. */
    default DoubleParam momentum() {
        return mlpParams().momentum;
    }

    /** Examples per update. */
    default IntParam batchSize() {
        return mlpParams().batchSize;
    }

    /** Mini-batch steps every shard takes between two merges: {@code auto} or an integer (1 = synchronous). */
    default Param<String> localSteps() {
        return mlpParams().localSteps;
    }

    /** Step of the outer update with local steps. */
    default DoubleParam outerStepSize() {
        return mlpParams().outerStepSize;
    }

    /** Outer Nesterov momentum with local steps. */
    default DoubleParam outerMomentum() {
        return mlpParams().outerMomentum;
    }

    /** Blocks below this fraction of non-zero feature values are packed sparse. */
    default DoubleParam sparseThreshold() {
        return mlpParams().sparseThreshold;
    }

    /** The format of the shards and the kernel's GEMMs: float64 or float32. */
    default Param<String> precision() {
        return mlpParams().precision;
    }

    /** Epochs at most. */
    default IntParam maxEpochs() {
        return mlpParams().maxEpochs;
    }

    /** Relative tolerance of the epoch loss. */
    default DoubleParam tol() {
        return mlpParams().tol;
    }

    /** Ridge penalty λ. */
    default DoubleParam regParam() {
        return mlpParams().regParam;
    }

    /** Examples per block. */
    default IntParam blockSize() {
        return mlpParams().blockSize;
    }

    /** Depth of the merge tree. */
    default IntParam aggregationDepth() {
        return mlpParams().aggregationDepth;
    }

    /** Cached partitions of the training data, one task each per round; 0 = Spark's default parallelism. */
    default IntParam numShards() {
        return mlpParams().numShards;
    }

    /** Random seed. */
    default LongParam seed() {
        return mlpParams().seed;
    }

    /** Boolean column marking held-out validation rows; default empty (none). */
    default Param<String> validationIndicatorCol() {
        return mlpParams().validationIndicatorCol;
    }

    /** Early-stopping patience in epochs. */
    default IntParam patience() {
        return mlpParams().patience;
    }

    default String getValidationIndicatorCol() {
        return getOrDefault(validationIndicatorCol());
    }

    default int getPatience() {
        return (Integer) getOrDefault(patience());
    }

    default String getFeaturesCol() {
        return getOrDefault(featuresCol());
    }

    default String getLabelCol() {
        return getOrDefault(labelCol());
    }

    default String getPredictionCol() {
        return getOrDefault(predictionCol());
    }

    default String getWeightCol() {
        return getOrDefault(weightCol());
    }

    default int[] getHiddenLayers() {
        return getOrDefault(hiddenLayers());
    }

    default String getActivation() {
        return getOrDefault(activation());
    }

    default String getOptimizer() {
        return getOrDefault(optimizer());
    }

    default double getStepSize() {
        return (Double) getOrDefault(stepSize());
    }

    default double getStepDecay() {
        return (Double) getOrDefault(stepDecay());
    }

    default double getMomentum() {
        return (Double) getOrDefault(momentum());
    }

    default int getBatchSize() {
        return (Integer) getOrDefault(batchSize());
    }

    /** {@code auto} or an integer {@code >= 1}, as text; the fit's {@code k} is {@code summary().localSteps()}. */
    default String getLocalSteps() {
        return (String) getOrDefault(localSteps());
    }

    default double getOuterStepSize() {
        return (Double) getOrDefault(outerStepSize());
    }

    default double getOuterMomentum() {
        return (Double) getOrDefault(outerMomentum());
    }

    default double getSparseThreshold() {
        return (Double) getOrDefault(sparseThreshold());
    }

    default String getPrecision() {
        return (String) getOrDefault(precision());
    }

    default int getMaxEpochs() {
        return (Integer) getOrDefault(maxEpochs());
    }

    default double getTol() {
        return (Double) getOrDefault(tol());
    }

    default double getRegParam() {
        return (Double) getOrDefault(regParam());
    }

    default int getBlockSize() {
        return (Integer) getOrDefault(blockSize());
    }

    default int getAggregationDepth() {
        return (Integer) getOrDefault(aggregationDepth());
    }

    default int getNumShards() {
        return (Integer) getOrDefault(numShards());
    }

    default long getSeed() {
        return (Long) getOrDefault(seed());
    }

    /** Step-size schedule: constant, inverse, step or cosine. */
    default Param<String> stepSchedule() {
        return mlpParams().stepSchedule;
    }

    default String getStepSchedule() {
        return (String) getOrDefault(stepSchedule());
    }

    /** Updates of linear warm-up. */
    default IntParam warmupSteps() {
        return mlpParams().warmupSteps;
    }

    default int getWarmupSteps() {
        return (Integer) getOrDefault(warmupSteps());
    }

    /** Lowest step as a fraction of stepSize. */
    default DoubleParam stepFloor() {
        return mlpParams().stepFloor;
    }

    default double getStepFloor() {
        return (Double) getOrDefault(stepFloor());
    }

    /** The step schedule's period in epochs. */
    default IntParam stepDropEpochs() {
        return mlpParams().stepDropEpochs;
    }

    default int getStepDropEpochs() {
        return (Integer) getOrDefault(stepDropEpochs());
    }

    /** The step schedule's factor. */
    default DoubleParam stepDropFactor() {
        return mlpParams().stepDropFactor;
    }

    default double getStepDropFactor() {
        return (Double) getOrDefault(stepDropFactor());
    }

    /** Dropout rate of the hidden units in training. */
    default DoubleParam dropout() {
        return mlpParams().dropout;
    }

    default double getDropout() {
        return (Double) getOrDefault(dropout());
    }

    /** Largest global norm of an update's gradient (0 = off). */
    default DoubleParam clipNorm() {
        return mlpParams().clipNorm;
    }

    default double getClipNorm() {
        return (Double) getOrDefault(clipNorm());
    }

    /** Class weights: none, balanced, or one per class. */
    default Param<String> classWeights() {
        return mlpParams().classWeights;
    }

    default String getClassWeights() {
        return (String) getOrDefault(classWeights());
    }

    /** Label smoothing ε of the cross-entropy. */
    default DoubleParam labelSmoothing() {
        return mlpParams().labelSmoothing;
    }

    default double getLabelSmoothing() {
        return (Double) getOrDefault(labelSmoothing());
    }
}
