package io.sparkprop.ml;

import io.sparkprop.exec.BlockScorer;
import io.sparkprop.nn.Parameters;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
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

    /**
     * A model without trained parameters, which scores nothing: Java's {@code ServiceLoader}, through which the
     * Spark Connect server finds ML classes, requires this constructor. Fit an {@link MlpRegressor} or
     * {@link #load} a saved model for one that scores.
     */
    public MlpRegressionModel() {
        this(org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("mlpRegressor"));
    }

    /** {@link #MlpRegressionModel()} with the given uid, as Spark ML's stages have. */
    public MlpRegressionModel(String uid) {
        this(uid, null, null, false);
    }

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
        return Vectors.dense(predictor().outputs(features));
    }

    /** Appends the prediction column, computed partition by partition in blocks ({@link BlockScorer}). */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema(), true);
        boolean vector = vectorLabel;
        return BlockScorer.transform(dataset, getFeaturesCol(), numFeatures(), getSparseThreshold(), out, 1,
                blockForward(false),
                (a, m, b, j, row, at) -> row[at] = vector ? Vectors.dense(column(a, m, b, j)) : a[j]);
    }

    @Override
    io.sparkprop.onnx.OnnxExport.Head onnxHead() {
        return io.sparkprop.onnx.OnnxExport.Head.REGRESSOR;
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
        MlpRegressionModel copy = new MlpRegressionModel(uid(), parametersOrNull(), null, vectorLabel);
        return copyValues(copy, extra).setParent(parent());
    }
}
