package io.sparkprop.ml;

import io.sparkprop.nn.Parameters;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A trained {@link MlpRegressor}. {@code transform} adds the prediction column: a double when the
 * model was trained on a numeric label, a Vector when on a Vector label.
 */
public final class MlpRegressionModel extends MlpModel<MlpRegressionModel> {
    private static final long serialVersionUID = 1L;

    private final boolean vectorLabel;

    MlpRegressionModel(String uid, Parameters parameters, MlpTrainingSummary summary, boolean vectorLabel) {
        super(uid, parameters, summary);
        this.vectorLabel = vectorLabel;
    }

    public MlpRegressionModel setFeaturesCol(String value) {
        set(featuresCol(), value);
        return this;
    }

    public MlpRegressionModel setPredictionCol(String value) {
        set(predictionCol(), value);
        return this;
    }

    /** Number of outputs. */
    public int numOutputs() {
        return spec().outputSize();
    }

    /** The outputs for one feature vector. */
    public Vector predict(Vector features) {
        return Vectors.dense(predictor.outputs(features));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        RowPredictor rows = predictor;
        UserDefinedFunction predict = vectorLabel
                ? functions.udf((UDF1<Vector, Vector>) v -> Vectors.dense(rows.outputs(v)), SQLDataTypes.VectorType())
                : functions.udf((UDF1<Vector, Double>) v -> rows.outputs(v)[0], DataTypes.DoubleType);
        return dataset.withColumn(getPredictionCol(), predict.apply(functions.col(getFeaturesCol())));
    }

    @Override
    public StructType transformSchema(StructType schema) {
        validateFeatures(schema);
        return outputSchema(schema, getPredictionCol(), vectorLabel);
    }

    static StructType outputSchema(StructType schema, String prediction, boolean vectorLabel) {
        if (java.util.Arrays.asList(schema.fieldNames()).contains(prediction)) {
            throw new IllegalArgumentException("output column '" + prediction + "' already exists; choose another "
                    + "name with setPredictionCol");
        }
        return schema.add(new StructField(prediction, vectorLabel ? SQLDataTypes.VectorType() : DataTypes.DoubleType,
                false, Metadata.empty()));
    }

    /** Writes the model: Spark ML metadata, the network, and the weights as Parquet. */
    @Override
    public MLWriter write() {
        return ModelIO.mlpWriter(this, vectorLabel);
    }

    /** A reader of saved models; {@code PipelineModel.load} finds it through this static method. */
    public static MLReader<MlpRegressionModel> read() {
        return ModelIO.mlpReader(MlpRegressionModel.class, (uid, parameters, vectorLabel) ->
                new MlpRegressionModel(uid, parameters, null, vectorLabel));
    }

    /** Loads a model saved with {@code save}/{@code write()}. */
    public static MlpRegressionModel load(String path) {
        return read().load(path);
    }

    @Override
    public MlpRegressionModel copy(ParamMap extra) {
        MlpRegressionModel copy = new MlpRegressionModel(uid(), parameters, null, vectorLabel);
        return copyValues(copy, extra).setParent(parent());
    }
}
