package io.sparkprop.ml;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;

/**
 * A feed-forward network classifier with a softmax output and cross-entropy loss, trained by
 * sparkprop's distributed trainer. Labels are class indices {@code 0, 1, …, k−1} as numbers; the
 * number of classes {@code k} is {@code numClasses}, or by default the largest label plus one (at
 * least 2). Negative, fractional, non-finite or too large labels fail the fit with the row named.
 *
 * <pre>{@code
 * MlpClassificationModel model = new MlpClassifier()
 *         .setHiddenLayers(new int[] {256, 128})
 *         .setBatchSize(512)
 *         .setMaxEpochs(15)
 *         .fit(train);
 * }</pre>
 */
public final class MlpClassifier extends MlpEstimator<MlpClassifier, MlpClassificationModel>
        implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    public MlpClassifier() {
        this(Identifiable$.MODULE$.randomUID("mlpClassifier"));
    }

    private final IntParam numClasses;

    public MlpClassifier(String uid) {
        super(uid, Activation.SOFTMAX);
        numClasses = new IntParam(this, "numClasses",
                "number of classes k (labels 0..k-1), >= 2; 0 = the largest label + 1", ParamValidators.gtEq(0));
        setDefault(numClasses, 0);
    }

    /** Number of classes; default 0 = inferred as the largest label + 1. */
    public IntParam numClasses() {
        return numClasses;
    }

    public int getNumClasses() {
        return (Integer) getOrDefault(numClasses);
    }

    public MlpClassifier setNumClasses(int value) {
        set(numClasses, value);
        return this;
    }

    @Override
    protected MlpClassificationModel fitChecked(Dataset<?> dataset) {
        int classes = getNumClasses();
        if (classes == 1) {
            throw new IllegalArgumentException("numClasses must be 0 (infer) or >= 2, found 1");
        }
        // one pass for the smallest and largest label: the class count, and a refusal of a single class
        Row range = dataset.select(functions.min(functions.col(getLabelCol())),
                functions.max(functions.col(getLabelCol()))).first();
        if (range.isNullAt(1)) {
            throw new IllegalArgumentException("the training data is empty: no labels in column '"
                    + getLabelCol() + "'");
        }
        double smallest = ((Number) range.get(0)).doubleValue();
        double largest = ((Number) range.get(1)).doubleValue();
        if (!Double.isFinite(largest)) {
            // Spark's max ranks NaN above every number
            throw new IllegalArgumentException("label column '" + getLabelCol() + "' contains " + largest
                    + "; labels must be class indices 0..k-1");
        }
        if (smallest == largest) {
            // a classifier of one class learns nothing but to always say it
            throw new IllegalArgumentException("every label in column '" + getLabelCol() + "' is " + largest
                    + ": a classifier needs examples of at least two classes; check labelCol and the data");
        }
        if (classes == 0) {
            // a fractional largest label still gives k >= 2; packing then rejects the bad row by name
            classes = Math.max(2, (int) Math.min(Math.floor(largest) + 1, 1 << 20));
        }
        int numFeatures = ((org.apache.spark.ml.linalg.Vector) firstRow(dataset, getFeaturesCol()).get(0)).size();
        NetworkSpec spec = network(numFeatures, classes);
        TrainingResult result = train(dataset, spec);
        MlpClassificationModel model = new MlpClassificationModel(uid(), result.parameters(),
                new MlpTrainingSummary(result));
        copyValues(model, ParamMap.empty());
        return model.setParent(this);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        validateInputSchema(schema, false);
        // the model's raw and probability columns are its own params; these are their defaults
        return MlpClassificationModel.outputSchema(schema, getPredictionCol(), "rawPrediction", "probability");
    }

    /** A reader of saved estimators (their params); {@code Pipeline.load} finds it through this method. */
    public static MLReader<MlpClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads an estimator saved with {@code save}/{@code write()}. */
    public static MlpClassifier load(String path) {
        return read().load(path);
    }
}
