package io.sparkprop.ml;

import io.sparkprop.exec.BlockScorer;
import io.sparkprop.nn.Parameters;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A trained {@link MlpClassifier}. {@code transform} adds, as Spark's probabilistic classifiers do,
 * {@code rawPrediction} (the output layer's logits {@code z_L}), {@code probability}
 * ({@code softmax(z_L)}, computed with the max shift) and {@code prediction} (the index of the
 * largest probability, as a double).
 */
public final class MlpClassificationModel extends MlpModel<MlpClassificationModel> {
    private static final long serialVersionUID = 1L;

    private final Param<String> rawPredictionCol;
    private final Param<String> probabilityCol;

    /**
     * A model without trained parameters, which scores nothing: Java's {@code ServiceLoader}, through which the
     * Spark Connect server finds ML classes, requires this constructor. Fit an {@link MlpClassifier} or
     * {@link #load} a saved model for one that scores.
     */
    public MlpClassificationModel() {
        this(org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("mlpClassifier"));
    }

    /** {@link #MlpClassificationModel()} with the given uid, as Spark ML's stages have. */
    public MlpClassificationModel(String uid) {
        this(uid, null, null);
    }

    MlpClassificationModel(String uid, Parameters parameters, MlpTrainingSummary summary) {
        super(uid, parameters, summary);
        rawPredictionCol = new Param<>(this, "rawPredictionCol", "raw prediction (logits) column name");
        probabilityCol = new Param<>(this, "probabilityCol", "class probabilities column name");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(probabilityCol, "probability");
    }

    /**
     * A model of trained parameters, e.g. those of a lower-level {@code Trainer} fit, to score DataFrames with
     * Spark ML's columns. Its {@code hiddenLayers} and {@code activation} params describe the network; it has
     * no summary.
     *
     * @throws IllegalArgumentException if the network does not end in a softmax layer
     */
    public static MlpClassificationModel fromParameters(Parameters parameters) {
        io.sparkprop.nn.NetworkSpec spec = parameters.spec();
        if (spec.outputActivation() != io.sparkprop.nn.Activation.SOFTMAX) {
            throw new IllegalArgumentException("a classification model needs a softmax output layer, found "
                    + spec.outputActivation().lowerName() + " in " + spec);
        }
        MlpClassificationModel model = new MlpClassificationModel(
                org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("mlpClassifier"), parameters.copy(), null);
        int[] hidden = new int[spec.numLayers() - 1];
        for (int l = 0; l < hidden.length; l++) {
            hidden[l] = spec.width(l);
        }
        model.set(model.hiddenLayers(), hidden);
        if (hidden.length > 0) {
            model.set(model.activation(), spec.activation(0).lowerName());
        }
        return model;
    }

    /** Logits column; default {@code rawPrediction}. */
    public Param<String> rawPredictionCol() {
        return rawPredictionCol;
    }

    /** Probabilities column; default {@code probability}. */
    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public MlpClassificationModel setFeaturesCol(String value) {
        set(featuresCol(), value);
        return this;
    }

    public MlpClassificationModel setPredictionCol(String value) {
        set(predictionCol(), value);
        return this;
    }

    public MlpClassificationModel setRawPredictionCol(String value) {
        set(rawPredictionCol, value);
        return this;
    }

    public MlpClassificationModel setProbabilityCol(String value) {
        set(probabilityCol, value);
        return this;
    }

    /** Number of classes. */
    public int numClasses() {
        return spec().outputSize();
    }

    /** Class probabilities for one feature vector. */
    public Vector predictProbability(Vector features) {
        return Vectors.dense(softmax(predictor().raw(features)));
    }

    /** The most probable class for one feature vector. */
    public double predict(Vector features) {
        return argmax(predictor().raw(features));
    }

    /**
     * Appends the raw prediction (logits), probability and prediction columns, computed partition by
     * partition in blocks ({@link BlockScorer}): one GEMM per layer and block of rows.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema(), true);
        return BlockScorer.transform(dataset, getFeaturesCol(), numFeatures(), getSparseThreshold(), out, 3,
                blockForward(true),
                (z, m, b, j, row, at) -> {
                    double[] raw = column(z, m, b, j);
                    row[at] = Vectors.dense(raw);
                    row[at + 1] = Vectors.dense(softmax(raw));
                    row[at + 2] = argmax(raw);
                });
    }

    @Override
    io.sparkprop.onnx.OnnxExport.Head onnxHead() {
        return io.sparkprop.onnx.OnnxExport.Head.CLASSIFIER;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        validateFeatures(schema);
        return outputSchema(schema, getPredictionCol(), getOrDefault(rawPredictionCol), getOrDefault(probabilityCol));
    }

    static StructType outputSchema(StructType schema, String prediction, String raw, String probability) {
        for (String column : new String[] {prediction, raw, probability}) {
            if (java.util.Arrays.asList(schema.fieldNames()).contains(column)) {
                throw new IllegalArgumentException("output column '" + column + "' already exists; choose another "
                        + "name with its setter");
            }
        }
        return schema.add(new StructField(raw, SQLDataTypes.VectorType(), false, org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(probability, SQLDataTypes.VectorType(), false,
                        org.apache.spark.sql.types.Metadata.empty()))
                .add(new StructField(prediction, DataTypes.DoubleType, false, org.apache.spark.sql.types.Metadata.empty()));
    }

    /** {@code e^{z − max} / Σ e^{z − max}}: no overflow for any logits. */
    static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double[] p = new double[z.length];
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static double argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Writes the model: Spark ML metadata, the network, and the weights as Parquet. */
    @Override
    public MLWriter write() {
        return ModelIO.mlpWriter(this, false);
    }

    /** A reader of saved models; {@code PipelineModel.load} finds it through this static method. */
    public static MLReader<MlpClassificationModel> read() {
        return ModelIO.mlpReader(MlpClassificationModel.class,
                (uid, parameters, vectorLabel) -> new MlpClassificationModel(uid, parameters, null));
    }

    /** Loads a model saved with {@code save}/{@code write()}. */
    public static MlpClassificationModel load(String path) {
        return read().load(path);
    }

    @Override
    public MlpClassificationModel copy(ParamMap extra) {
        MlpClassificationModel copy = new MlpClassificationModel(uid(), parametersOrNull(), null);
        return copyValues(copy, extra).setParent(parent());
    }
}
