package io.sparkprop.ml;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * A feed-forward network regressor with an identity output and half squared error, trained by
 * sparkprop's distributed trainer. The label is a number (one output) or a Vector (one output per
 * entry, all of the same size).
 */
public final class MlpRegressor extends MlpEstimator<MlpRegressor, MlpRegressionModel>
        implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    public MlpRegressor() {
        this(Identifiable$.MODULE$.randomUID("mlpRegressor"));
    }

    public MlpRegressor(String uid) {
        super(uid, Activation.IDENTITY);
    }

    @Override
    protected MlpRegressionModel fitChecked(Dataset<?> dataset) {
        Row first = firstRow(dataset, getFeaturesCol(), getLabelCol());
        boolean vectorLabel = first.get(1) instanceof Vector;
        int outputs = vectorLabel ? ((Vector) first.get(1)).size() : 1;
        NetworkSpec spec = network(((Vector) first.get(0)).size(), outputs);
        TrainingResult result = train(dataset, spec);
        MlpRegressionModel model = new MlpRegressionModel(uid(), result.parameters(),
                new MlpTrainingSummary(result), vectorLabel);
        copyValues(model, ParamMap.empty());
        return model.setParent(this);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        validateInputSchema(schema, true);
        boolean vectorLabel = schema.apply(getLabelCol()).dataType().equals(SQLDataTypes.VectorType());
        return MlpRegressionModel.outputSchema(schema, getPredictionCol(), vectorLabel);
    }

    /** A reader of saved estimators (their params); {@code Pipeline.load} finds it through this method. */
    public static MLReader<MlpRegressor> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads an estimator saved with {@code save}/{@code write()}. */
    public static MlpRegressor load(String path) {
        return read().load(path);
    }
}
