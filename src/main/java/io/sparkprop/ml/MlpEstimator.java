package io.sparkprop.ml;

import java.util.Locale;

import io.sparkprop.data.DataFrames;
import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.train.Optimizer;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
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
 * @param <M> the model type
 */
public abstract class MlpEstimator<M extends Model<M>> extends Estimator<M> implements HasMlpParams {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final MlpParams mlpParams;

    /** Sets the uid first, then creates the params (see {@link MlpParams}), then their defaults. */
    protected MlpEstimator(String uid) {
        this.uid = uid;
        this.mlpParams = new MlpParams(this);
        mlpParams.setDefaults(this, getClass().getName().hashCode());
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

    /** The output layer's activation (softmax, identity, …). */
    protected abstract Activation outputActivation();

    /** Checks the features, label and weight columns; subclasses add their output columns. */
    protected void validateInputSchema(StructType schema, boolean labelVectorAllowed) {
        requireType(schema, getFeaturesCol(), "features", true, false);
        requireType(schema, getLabelCol(), "label", false, labelVectorAllowed);
        if (!getWeightCol().isEmpty()) {
            requireType(schema, getWeightCol(), "weight", false, false);
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

    /** The network for {@code inputs} features and {@code outputs} outputs from the params. */
    protected NetworkSpec network(int inputs, int outputs) {
        return NetworkSpec.of(inputs, getHiddenLayers(), Activation.fromName(getActivation()), outputs,
                outputActivation(), null);
    }

    /** A trainer configured from the params. */
    protected Trainer trainer(NetworkSpec spec) {
        Optimizer rule;
        switch (getOptimizer().toLowerCase(Locale.ROOT)) {
            case "sgd":
                rule = Optimizer.sgd(getStepSize());
                break;
            case "momentum":
                rule = Optimizer.momentum(getStepSize(), getMomentum());
                break;
            default:
                rule = Optimizer.adam(getStepSize());
        }
        return new Trainer(spec).setOptimizer(rule).setBatchSize(getBatchSize()).setMaxEpochs(getMaxEpochs())
                .setTol(getTol()).setRegParam(getRegParam()).setBlockSize(getBlockSize())
                .setAggregationDepth(getAggregationDepth()).setSeed(getSeed());
    }

    /** Trains on the dataset's feature, label and weight columns. */
    protected TrainingResult train(Dataset<?> dataset, NetworkSpec spec) {
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) dataset;
        JavaRDD<Example> examples = DataFrames.toExamples(rows, getFeaturesCol(), getLabelCol(),
                getWeightCol().isEmpty() ? null : getWeightCol());
        return trainer(spec).fit(examples);
    }
}
