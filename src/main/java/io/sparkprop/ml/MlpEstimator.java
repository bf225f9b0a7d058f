package io.sparkprop.ml;

import io.sparkprop.data.DataFrames;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What the MLP estimators share: the params and their defaults, schema checks, and turning the
 * params into a {@link Trainer}. Subclasses choose the output layer and build the model.
 *
 * <p>The setters are defined here once and return the concrete estimator ({@code E}), so that
 * {@code new MlpClassifier().setHiddenLayers(…).setBatchSize(…)} stays an {@code MlpClassifier}.
 *
 * @param <E> the concrete estimator type
 * @param <M> the model type
 */
public abstract class MlpEstimator<E extends MlpEstimator<E, M>, M extends MlpModel<M>> extends Estimator<M>
        implements HasMlpParams {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final MlpParams mlpParams;
    private final Activation outputActivation;
    private M initialModel;
    private String checkpointDir;
    private int checkpointEvery = 1;
    private boolean resume;

    /**
     * Sets the uid first, then creates the params (see {@link MlpParams}), then their defaults.
     *
     * @param outputActivation the output layer's activation (softmax, identity, …)
     */
    protected MlpEstimator(String uid, Activation outputActivation) {
        this.uid = uid;
        this.outputActivation = outputActivation;
        this.mlpParams = new MlpParams(this);
        mlpParams.setDefaults(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public MlpParams mlpParams() {
        return mlpParams;
    }

    /** As Spark's, with array values shown as {@code [256, 128]}. */
    @Override
    public String explainParam(org.apache.spark.ml.param.Param<?> param) {
        return MlpParams.explain(this, param);
    }


    @SuppressWarnings("unchecked")
    private E self() {
        return (E) this;
    }

    public E setFeaturesCol(String value) {
        set(featuresCol(), value);
        return self();
    }

    public E setLabelCol(String value) {
        set(labelCol(), value);
        return self();
    }

    public E setPredictionCol(String value) {
        set(predictionCol(), value);
        return self();
    }

    public E setWeightCol(String value) {
        set(weightCol(), value);
        return self();
    }

    public E setHiddenLayers(int[] value) {
        set(hiddenLayers(), value);
        return self();
    }

    public E setActivation(String value) {
        set(activation(), value);
        return self();
    }

    public E setOptimizer(String value) {
        set(optimizer(), value);
        return self();
    }

    public E setStepSize(double value) {
        set(stepSize(), value);
        return self();
    }

    public E setStepDecay(double value) {
        set(stepDecay(), value);
        return self();
    }

    public E setMomentum(double value) {
        set(momentum(), value);
        return self();
    }

    public E setBatchSize(int value) {
        set(batchSize(), value);
        return self();
    }

    /** Exactly {@code k >= 1} local steps a round (1 = synchronous SGD). */
    public E setLocalSteps(int value) {
        set(localSteps(), Integer.toString(value));
        return self();
    }

    /** {@code auto} (the default) or an integer {@code >= 1}. */
    public E setLocalSteps(String value) {
        set(localSteps(), value);
        return self();
    }

    public E setOuterStepSize(double value) {
        set(outerStepSize(), value);
        return self();
    }

    public E setOuterMomentum(double value) {
        set(outerMomentum(), value);
        return self();
    }

    /**
     * Blocks whose fraction of non-zero feature values is below {@code value} are packed sparse ({@code [0, 1]};
     * 0 = always dense); see {@link io.sparkprop.exec.ShardPacker#withSparseThreshold}.
     */
    public E setSparseThreshold(double value) {
        set(sparseThreshold(), value);
        return self();
    }

    /** {@code float64} (default) or {@code float32}; see {@link io.sparkprop.linalg.Precision}. */
    public E setPrecision(String value) {
        set(precision(), value);
        return self();
    }

    /** {@code constant}, {@code inverse} (default), {@code step} or {@code cosine}; see {@link io.sparkprop.optim.StepSchedule}. */
    public E setStepSchedule(String value) {
        set(stepSchedule(), value);
        return self();
    }

    /** Updates of linear warm-up before the schedule starts (0 = none). */
    public E setWarmupSteps(int value) {
        set(warmupSteps(), value);
        return self();
    }

    /** The lowest step as a fraction of the step size ({@code [0, 1)}). */
    public E setStepFloor(double value) {
        set(stepFloor(), value);
        return self();
    }

    /** The step schedule's period in epochs. */
    public E setStepDropEpochs(int value) {
        set(stepDropEpochs(), value);
        return self();
    }

    /** The step schedule's factor ({@code (0, 1]}). */
    public E setStepDropFactor(double value) {
        set(stepDropFactor(), value);
        return self();
    }

    /** Dropout rate {@code [0, 1)} of the hidden units in training; see {@link io.sparkprop.nn.kernel.TrainingTerms}. */
    public E setDropout(double value) {
        set(dropout(), value);
        return self();
    }

    /** Largest global norm of an update's gradient; 0 = off. */
    public E setClipNorm(double value) {
        set(clipNorm(), value);
        return self();
    }

    /** {@code none}, {@code balanced} or per-class weights ({@code "1,50"}); classifiers only; see {@link io.sparkprop.train.ClassWeights}. */
    public E setClassWeights(String value) {
        set(classWeights(), value);
        return self();
    }

    /** Label smoothing {@code ε ∈ [0, 1)} of the cross-entropy; classifiers only. */
    public E setLabelSmoothing(double value) {
        set(labelSmoothing(), value);
        return self();
    }

    public E setMaxEpochs(int value) {
        set(maxEpochs(), value);
        return self();
    }

    public E setTol(double value) {
        set(tol(), value);
        return self();
    }

    public E setRegParam(double value) {
        set(regParam(), value);
        return self();
    }

    public E setBlockSize(int value) {
        set(blockSize(), value);
        return self();
    }

    public E setAggregationDepth(int value) {
        set(aggregationDepth(), value);
        return self();
    }

    /** Cached partitions of the training data, one task each per round; 0 = Spark's default parallelism. */
    public E setNumShards(int value) {
        set(numShards(), value);
        return self();
    }

    public E setSeed(long value) {
        set(seed(), value);
        return self();
    }

    public E setValidationIndicatorCol(String value) {
        set(validationIndicatorCol(), value);
        return self();
    }

    public E setPatience(int value) {
        set(patience(), value);
        return self();
    }

    /**
     * Sets every training param from {@code settings} ({@link MlpSettings}; its Adam constants and
     * {@code gemmBackend} are no params of the estimators).
     */
    public E setSettings(MlpSettings settings) {
        mlpParams.set(this, settings);
        return self();
    }

    /** The training settings the params describe, checked. */
    public MlpSettings settings() {
        return mlpParams.settings(this);
    }

    /**
     * Warm start: the next fits begin from this model's weights instead of a seeded initialisation;
     * its network must have the layer sizes this estimator builds. {@code null} to clear. Not a
     * persisted param.
     */
    public E setInitialModel(M model) {
        this.initialModel = model;
        return self();
    }

    /**
     * Checkpoint every {@code everyEpochs} epochs into {@code folder} (any Hadoop file system), and, with
     * {@code resume}, continue from the newest complete checkpoint there; the resumed fit ends
     * bit-identical to an uninterrupted one. Not params: they describe a run, not a model.
     */
    public E setCheckpointing(String folder, int everyEpochs, boolean resume) {
        this.checkpointDir = folder;
        this.checkpointEvery = everyEpochs;
        this.resume = resume;
        return self();
    }

    /** The warm-start model, or {@code null}. */
    public M getInitialModel() {
        return initialModel;
    }

    /** Checks the features, label, weight and validation-indicator columns; subclasses add their outputs. */
    protected void validateInputSchema(StructType schema, boolean labelVectorAllowed) {
        requireType(schema, getFeaturesCol(), "features", true, false);
        requireType(schema, getLabelCol(), "label", false, labelVectorAllowed);
        if (!getWeightCol().isEmpty()) {
            requireType(schema, getWeightCol(), "weight", false, false);
        }
        String indicator = getValidationIndicatorCol();
        if (!indicator.isEmpty()) {
            StructField field = null;
            for (StructField f : schema.fields()) {
                field = f.name().equals(indicator) ? f : field;
            }
            if (field == null || !field.dataType().equals(org.apache.spark.sql.types.DataTypes.BooleanType)) {
                throw new IllegalArgumentException("validationIndicatorCol '" + indicator + "' must be a boolean "
                        + "column, found " + (field == null ? "no such column" : field.dataType().simpleString()));
            }
        } else if (getPatience() > 0) {
            throw new IllegalArgumentException("patience " + getPatience() + " needs validationIndicatorCol");
        }
    }

    static void requireType(StructType schema, String column, String role, boolean vector, boolean vectorAllowed) {
        StructField field = null;
        for (StructField f : schema.fields()) {
            if (f.name().equals(column)) {
                field = f;
            }
        }
        if (field == null) {
            throw new IllegalArgumentException(role + " column '" + column + "' does not exist; available columns: "
                    + String.join(", ", schema.fieldNames()));
        }
        DataType type = field.dataType();
        boolean isVector = type.equals(SQLDataTypes.VectorType());
        if (vector && !isVector) {
            throw new IllegalArgumentException(role + " column '" + column + "' must be of type vector (use "
                    + "VectorAssembler), found " + type.simpleString());
        }
        if (!vector && !(type instanceof NumericType) && !(vectorAllowed && isVector)) {
            throw new IllegalArgumentException(role + " column '" + column + "' must be numeric"
                    + (vectorAllowed ? " or a vector" : "") + ", found " + type.simpleString());
        }
    }

    /**
     * The first row of {@code columns}, which fixes the network's input (and output) size; one Spark job,
     * which is also the fit's check for empty data before packing.
     *
     * @throws IllegalArgumentException on empty data or a null in the first row
     */
    protected static Row firstRow(Dataset<?> dataset, String... columns) {
        java.util.List<Row> first = dataset.select(columns[0], java.util.Arrays.copyOfRange(columns, 1, columns.length))
                .takeAsList(1);
        if (first.isEmpty()) {
            throw new IllegalArgumentException("the training data is empty");
        }
        for (int i = 0; i < columns.length; i++) {
            if (first.get(0).isNullAt(i)) {
                throw new IllegalArgumentException("column '" + columns[i] + "' is null in the first row");
            }
        }
        return first.get(0);
    }

    /** Checks the schema, then fits ({@link #fitChecked}). */
    @Override
    public M fit(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        return fitChecked(dataset);
    }

    /** Fits a dataset whose schema {@link #transformSchema} has accepted. */
    protected abstract M fitChecked(Dataset<?> dataset);

    /** The network for {@code inputs} features and {@code outputs} outputs from the params. */
    protected NetworkSpec network(int inputs, int outputs) {
        return NetworkSpec.of(inputs, getHiddenLayers(), Activation.fromName(getActivation()), outputs,
                outputActivation, null);
    }

    /**
     * A copy with the same params and warm-start model ({@code Params.copy}). Checkpointing is not copied:
     * copies made by a {@code CrossValidator} or {@code Pipeline} would write to, and resume from, one
     * folder.
     */
    @Override
    public E copy(ParamMap extra) {
        E copy = defaultCopy(extra);
        MlpEstimator<E, M> c = copy;
        c.initialModel = initialModel;
        return copy;
    }

    /**
     * Trains on the dataset's feature, label and weight columns; rows marked in the validation
     * indicator column are held out and only evaluated.
     */
    protected TrainingResult train(Dataset<?> dataset, NetworkSpec spec) {
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) dataset;
        String weights = getWeightCol().isEmpty() ? null : getWeightCol();
        Trainer trainer = new Trainer(spec, settings()).setColumnNames(getFeaturesCol(), getLabelCol());
        String indicator = getValidationIndicatorCol();
        if (!indicator.isEmpty()) {
            // a null indicator counts as false: the row is trained on
            org.apache.spark.sql.Column held = org.apache.spark.sql.functions.coalesce(
                    org.apache.spark.sql.functions.col(indicator), org.apache.spark.sql.functions.lit(false));
            trainer.setValidationData(DataFrames.toExamples(rows.filter(held), getFeaturesCol(), getLabelCol(), weights));
            rows = rows.filter(org.apache.spark.sql.functions.not(held));
        }
        if (checkpointDir != null && !checkpointDir.isEmpty()) {
            trainer.setCheckpointing(checkpointDir, checkpointEvery, resume);
        }
        if (initialModel != null) {
            if (!initialModel.spec().equals(spec)) {
                throw new IllegalArgumentException("the initial model's network is " + initialModel.spec()
                        + ", this estimator builds " + spec + " for this data: warm start needs the same network");
            }
            trainer.setInitialParameters(initialModel.parameters());
        }
        return trainer.fit(DataFrames.toExamples(rows, getFeaturesCol(), getLabelCol(), weights));
    }
}
