package io.sparkprop.ml;

import io.sparkprop.exec.BlockScorer;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.onnx.OnnxExport;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixSparseCSC;

/**
 * What the MLP models share: the estimator's params (copied at fit), the network and its trained
 * parameters, and the training summary of the fit that made it.
 *
 * @param <M> the model type
 */
public abstract class MlpModel<M extends Model<M>> extends Model<M> implements HasMlpParams, MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final MlpParams mlpParams;
    final Parameters parameters;
    final RowPredictor predictor;
    private final transient MlpTrainingSummary summary;

    protected MlpModel(String uid, Parameters parameters, MlpTrainingSummary summary) {
        this.uid = uid;
        this.mlpParams = new MlpParams(this);
        // the estimator's values are copied over these at fit; a copy or a loaded model starts from them
        mlpParams.setDefaults(this);
        this.parameters = parameters;
        this.predictor = new RowPredictor(parameters);
        this.summary = summary;
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

    /** The network. */
    public NetworkSpec spec() {
        return parameters.spec();
    }

    /** The trained weights and biases (a copy). */
    public Parameters parameters() {
        return parameters.copy();
    }

    /** Number of input features. */
    public int numFeatures() {
        return parameters.spec().inputSize();
    }

    /**
     * Writes this model as an ONNX model to {@code path} (a file; any Hadoop file system; replaced if it exists), in
     * the precision it was trained in ({@link #getPrecision()}): input {@code features} ({@code [N, numFeatures]}),
     * outputs as {@code transform}'s columns (README, "ONNX export"; {@link OnnxExport}). Weights above 1 GiB go to
     * {@code path + ".data"} beside it, which must travel with the model.
     *
     * @throws java.io.UncheckedIOException if the file cannot be written
     */
    public void exportOnnx(String path) {
        exportOnnx(path, null);
    }

    /** {@link #exportOnnx(String)} after a feature {@code scaling} ({@code null}: none). */
    void exportOnnx(String path, OnnxExport.Scaling scaling) {
        ModelIO.export("the ONNX model", path, () -> OnnxExport.writeNetwork(parameters.spec(), parameters,
                Precision.fromName(getPrecision()), onnxHead(), scaling, path, ModelIO.hadoopConfiguration()));
    }

    /** What the ONNX graph's last layer feeds: {@code transform}'s outputs. */
    abstract OnnxExport.Head onnxHead();

    /** Whether {@link #summary()} is available (false for copies and loaded models, as in Spark). */
    public boolean hasSummary() {
        return summary != null;
    }

    /**
     * What the fit that made this model recorded: losses per iteration and epoch, validation metrics,
     * the best epoch.
     *
     * @throws IllegalStateException if there is none
     */
    public MlpTrainingSummary summary() {
        if (summary == null) {
            throw new IllegalStateException("no training summary for model " + uid
                    + ": it exists only on the model returned by fit");
        }
        return summary;
    }

    /**
     * The executor side of {@link BlockScorer}: a kernel per task with these parameters loaded, giving the
     * output layer's pre-activations ({@code raw}) or its activations for every block.
     */
    BlockScorer.Factory blockForward(boolean raw) {
        Parameters p = parameters;
        return () -> {
            BackpropKernel kernel = new BackpropKernel(p.spec(), GemmBackend.AUTO.gemm());
            BackpropKernel.Weights weights = kernel.load(p);
            return (block, out) -> {
                if (block instanceof DMatrixSparseCSC) {
                    if (raw) {
                        kernel.predictRaw(weights, block, out);
                    } else {
                        kernel.predict(weights, block, out);
                    }
                } else {
                    kernel.predictRows(weights, block, out, raw);
                }
            };
        };
    }

    /** Column {@code j} of the row-major {@code m × b} block {@code out}. */
    static double[] column(double[] out, int m, int b, int j) {
        double[] c = new double[m];
        for (int k = 0; k < m; k++) {
            c[k] = out[k * b + j];
        }
        return c;
    }

    /** Checks the features column; subclasses add their outputs. */
    protected void validateFeatures(StructType schema) {
        MlpEstimator.requireType(schema, getFeaturesCol(), "features", true, false);
    }
}
