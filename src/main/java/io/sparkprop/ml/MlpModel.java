package io.sparkprop.ml;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Paths;

import io.sparkprop.exec.BlockScorer;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.onnx.OnnxExport;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.util.HasTrainingSummary;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixSparseCSC;
import scala.Option;

/**
 * What the MLP models share: the estimator's params (copied at fit), the network and its trained
 * parameters, and the training summary of the fit that made it.
 *
 * <p>The summary is also reachable as Spark's {@link HasTrainingSummary}, which the Spark Connect server's ML
 * handler asks for ({@code model.summary} from a Connect client, and its {@code objectiveHistory} and
 * {@code totalIterations}); the server's model cache writes it beside the model it offloads
 * ({@link #saveSummary}) and reads it back ({@link #loadSummary}).
 *
 * @param <M> the model type
 */
public abstract class MlpModel<M extends Model<M>> extends Model<M>
        implements HasMlpParams, MLWritable, HasTrainingSummary<MlpTrainingSummary> {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final MlpParams mlpParams;
    /** {@code null} only in a model made by the no-argument constructors ServiceLoader needs: see {@link #trained()}. */
    private final Parameters parameters;
    private final RowPredictor predictor;
    private transient MlpTrainingSummary summary;

    protected MlpModel(String uid, Parameters parameters, MlpTrainingSummary summary) {
        this.uid = uid;
        this.mlpParams = new MlpParams(this);
        // the estimator's values are copied over these at fit; a copy or a loaded model starts from them
        mlpParams.setDefaults(this);
        this.parameters = parameters;
        this.predictor = parameters == null ? null : new RowPredictor(parameters);
        this.summary = summary;
    }

    /**
     * The trained parameters.
     *
     * @throws IllegalStateException for a model without them: one made by the public constructors, which exist
     *         because Java's {@code ServiceLoader} (how the Spark Connect server finds ML classes) needs them
     */
    final Parameters trained() {
        if (parameters == null) {
            throw untrained(uid);
        }
        return parameters;
    }

    /** The refusal of a model made by a constructor that has nothing to score with. */
    static IllegalStateException untrained(String uid) {
        return new IllegalStateException("model " + uid + " has no trained parameters: it was made by its public "
                + "constructor, which exists for Spark's ServiceLoader; fit an estimator or load a saved model");
    }

    /** The parameters as held, {@code null} for a model without them: for {@code copy}. */
    final Parameters parametersOrNull() {
        return parameters;
    }

    /** The one-row scorer of the trained parameters. */
    final RowPredictor predictor() {
        trained();
        return predictor;
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
        return trained().spec();
    }

    /** The trained weights and biases (a copy). */
    public Parameters parameters() {
        return trained().copy();
    }

    /** Number of input features. */
    public int numFeatures() {
        return trained().spec().inputSize();
    }

    /**
     * The bytes of the trained parameters (8 a value), which the Spark Connect server's model cache counts
     * against its limits; Spark's default would walk the whole object graph.
     */
    @Override
    public long estimatedSize() {
        return parameters == null ? 0 : 8L * parameters.values().length;
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
        Parameters parameters = trained();
        ModelIO.export("the ONNX model", path, () -> OnnxExport.writeNetwork(parameters.spec(), parameters,
                Precision.fromName(getPrecision()), onnxHead(), scaling, path, ModelIO.hadoopConfiguration()));
    }

    /** What the ONNX graph's last layer feeds: {@code transform}'s outputs. */
    abstract OnnxExport.Head onnxHead();

    /** Whether {@link #summary()} is available (false for copies and loaded models, as in Spark). */
    @Override
    public boolean hasSummary() {
        return summary != null;
    }

    /**
     * What the fit that made this model recorded: losses per iteration and epoch, validation metrics,
     * the best epoch.
     *
     * @throws IllegalStateException if there is none
     */
    @Override
    public MlpTrainingSummary summary() {
        if (summary == null) {
            throw new IllegalStateException("no training summary for model " + uid
                    + ": it exists only on the model returned by fit");
        }
        return summary;
    }

    /** {@link HasTrainingSummary}'s view of {@link #summary()}. */
    @Override
    public Option<MlpTrainingSummary> trainingSummary() {
        return Option.apply(summary);
    }

    /** {@link HasTrainingSummary}'s setter ({@code setSummary}). */
    @Override
    public void trainingSummary_$eq(Option<MlpTrainingSummary> value) {
        summary = value.isDefined() ? value.get() : null;
    }

    /**
     * Writes the summary to the local file {@code path}, for the Spark Connect server's model cache, which
     * offloads a model to the driver's disk with its summary and may read both back in the same server
     * ({@link #loadSummary}). Java serialisation: the file is this process's cache, never a saved model.
     *
     * @throws UncheckedIOException if the file cannot be written
     */
    @Override
    public void saveSummary(String path) {
        java.nio.file.Path file = Paths.get(path);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (ObjectOutputStream out = new ObjectOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
                out.writeObject(summary());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the training summary of model " + uid + " to "
                    + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads back what {@link #saveSummary} wrote. The summary is the fit's record (losses per iteration and
     * epoch), nothing computed from data, so {@code dataset} is not read.
     *
     * @throws IllegalStateException if there is no readable summary at {@code path}
     */
    @Override
    public void loadSummary(String path, Dataset<Row> dataset) {
        try (ObjectInputStream in = new ObjectInputStream(new BufferedInputStream(Files.newInputStream(Paths.get(path))))) {
            // a summary holds sparkprop's records in the JDK's collections: nothing else is read
            in.setObjectInputFilter(ObjectInputFilter.Config.createFilter("io.sparkprop.**;java.**;!*"));
            summary = (MlpTrainingSummary) in.readObject();
        } catch (IOException | ClassNotFoundException | ClassCastException e) {
            throw new IllegalStateException("cannot read the training summary of model " + uid + " from " + path
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * The executor side of {@link BlockScorer}: a kernel per task with these parameters loaded, giving the
     * output layer's pre-activations ({@code raw}) or its activations for every block.
     */
    BlockScorer.Factory blockForward(boolean raw) {
        Parameters p = trained();
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
