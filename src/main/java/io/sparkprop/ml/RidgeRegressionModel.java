package io.sparkprop.ml;

import java.util.ArrayList;
import java.util.List;

import io.sparkprop.exec.BlockScorer;
import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.ridge.RidgeSolution;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.Matrix;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixRMaj;

/**
 * A fitted {@link RidgeRegression}: {@code ŷ = W x + b}. {@code transform} adds the prediction (a
 * double, or a Vector for a Vector label). {@link #coefficients()} and {@link #intercept()} for one
 * output, {@link #coefficientMatrix()} and {@link #intercepts()} for any number.
 */
public final class RidgeRegressionModel extends Model<RidgeRegressionModel> implements MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final DMatrixRMaj w;
    private final double[] b;
    private final boolean vectorLabel;
    private final transient RidgeTrainingSummary summary;
    private final Param<String> featuresCol;
    private final Param<String> predictionCol;
    private static final StructType DATA_SCHEMA = new StructType().add("output", DataTypes.IntegerType)
            .add("coefficients", DataTypes.createArrayType(DataTypes.DoubleType, false))
            .add("intercept", DataTypes.DoubleType);

    /**
     * A model without coefficients, which scores nothing: Java's {@code ServiceLoader}, through which the Spark
     * Connect server finds ML classes, requires this constructor. Fit a {@link RidgeRegression} or
     * {@link #load} a saved model for one that scores.
     */
    public RidgeRegressionModel() {
        this(Identifiable$.MODULE$.randomUID("ridgeRegression"));
    }

    /** {@link #RidgeRegressionModel()} with the given uid, as Spark ML's stages have. */
    public RidgeRegressionModel(String uid) {
        this(uid, null, null, false, null);
    }

    RidgeRegressionModel(String uid, DMatrixRMaj w, double[] b, boolean vectorLabel, RidgeSolution summary) {
        this.uid = uid;
        this.w = w;
        this.b = b;
        this.vectorLabel = vectorLabel;
        this.summary = summary == null ? null : new RidgeTrainingSummary(summary);
        featuresCol = new Param<>(this, "featuresCol", "features column name (a Vector column)");
        predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        setDefault(featuresCol, "features");
        setDefault(predictionCol, "prediction");
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> featuresCol() {
        return featuresCol;
    }

    public Param<String> predictionCol() {
        return predictionCol;
    }

    public RidgeRegressionModel setFeaturesCol(String value) {
        set(featuresCol, value);
        return this;
    }

    public RidgeRegressionModel setPredictionCol(String value) {
        set(predictionCol, value);
        return this;
    }

    /**
     * {@code W}, outputs × features.
     *
     * @throws IllegalStateException for a model made by the public constructors, which has none
     */
    private DMatrixRMaj weights() {
        if (w == null) {
            throw MlpModel.untrained(uid);
        }
        return w;
    }

    /**
     * The bytes of the coefficients and intercepts (8 a value), which the Spark Connect server's model cache
     * counts against its limits; Spark's default would walk the whole object graph.
     */
    @Override
    public long estimatedSize() {
        return w == null ? 0 : 8L * (w.data.length + b.length);
    }

    /** Number of features. */
    public int numFeatures() {
        return weights().numCols;
    }

    /** Number of outputs. */
    public int numOutputs() {
        return weights().numRows;
    }

    /**
     * The coefficients of a single-output model.
     *
     * @throws IllegalStateException for several outputs: use {@link #coefficientMatrix()}
     */
    public Vector coefficients() {
        requireSingleOutput("coefficients", "coefficientMatrix()");
        return Vectors.dense(weights().data.clone());
    }

    /**
     * The intercept of a single-output model (0 without intercept).
     *
     * @throws IllegalStateException for several outputs: use {@link #intercepts()}
     */
    public double intercept() {
        requireSingleOutput("intercept", "intercepts()");
        return b[0];
    }

    /** {@code W}, outputs × features. */
    public Matrix coefficientMatrix() {
        // DenseMatrix is column-major; W is stored row-major, which is its transpose's column-major layout
        DMatrixRMaj w = weights();
        return new DenseMatrix(w.numRows, w.numCols, w.data.clone(), true);
    }

    /** {@code b}, one intercept per output. */
    public Vector intercepts() {
        weights();
        return Vectors.dense(b.clone());
    }

    /** Whether the training summary is available (false for copies and loaded models, as in Spark). */
    public boolean hasSummary() {
        return summary != null;
    }

    /**
     * RMSE, R² and MAE on the training data, per output, and the fit's timings.
     *
     * @throws IllegalStateException if there is none
     */
    public RidgeTrainingSummary summary() {
        if (summary == null) {
            throw new IllegalStateException("no training summary for model " + uid
                    + ": it exists only on the model returned by fit");
        }
        return summary;
    }

    private void requireSingleOutput(String what, String instead) {
        int outputs = weights().numRows;
        if (outputs != 1) {
            throw new IllegalStateException("this model has " + outputs + " outputs; " + what
                    + " is for one output, use " + instead);
        }
    }

    /**
     * Writes this model as an ONNX model to {@code path} (a file; any Hadoop file system; replaced if it exists):
     * one {@code Gemm} in float64, input {@code features} ({@code [N, numFeatures]}), output {@code prediction}
     * ({@code [N, numOutputs]}; README, "ONNX export").
     *
     * @throws java.io.UncheckedIOException if the file cannot be written
     */
    public void exportOnnx(String path) {
        exportOnnx(path, null);
    }

    /** {@link #exportOnnx(String)} after a feature {@code scaling} ({@code null}: none). */
    void exportOnnx(String path, io.sparkprop.onnx.OnnxExport.Scaling scaling) {
        DMatrixRMaj w = weights();
        ModelIO.export("the ONNX model", path, () -> io.sparkprop.onnx.OnnxExport.writeLinear(w.data, w.numCols, b,
                scaling, path, ModelIO.hadoopConfiguration()));
    }

    /** {@code W x + b} for one feature vector. */
    public Vector predict(Vector features) {
        DMatrixRMaj w = weights();
        return Vectors.dense(predict(w.data, w.numCols, b, features.toArray()));
    }

    /** {@code W x + b}, {@code W} row-major with {@code n} columns. */
    private static double[] predict(double[] w, int n, double[] b, double[] x) {
        if (x.length != n) {
            throw new IllegalArgumentException("expected " + n + " features, found " + x.length
                    + "; the model was trained on " + n);
        }
        double[] y = b.clone();
        for (int k = 0; k < y.length; k++) {
            for (int j = 0; j < n; j++) {
                y[k] += w[k * n + j] * x[j];
            }
        }
        return y;
    }

    /**
     * Appends the prediction column, computed partition by partition in blocks ({@link BlockScorer}):
     * {@code Ŷ = W Xᵀ + b 1ᵀ} for a block {@code X} of rows, one GEMM a block; a sparse block (below the
     * default sparse threshold) as sums over its non-zeros.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema(), true);
        // the functions capture plain arrays: a serialised lambda that captured an EJML type would not
        // deserialise from the shaded jar, where EJML is relocated
        double[] coefficients = weights().data;
        int features = w.numCols;
        double[] intercepts = b;
        boolean vector = vectorLabel;
        BlockScorer.Factory forward = () -> {
            Gemm gemm = GemmBackend.AUTO.gemm();
            DMatrixRMaj weights = DMatrixRMaj.wrap(intercepts.length, features, coefficients);
            return (block, y) -> {
                if (block instanceof org.ejml.data.DMatrixSparseCSC) {
                    io.sparkprop.linalg.SparseProducts.multiply(weights, (org.ejml.data.DMatrixSparseCSC) block, y);
                } else {
                    y.reshape(intercepts.length, block.getNumRows());
                    gemm.gemm(false, true, 1.0, weights, (DMatrixRMaj) block, 0.0, y);
                }
                for (int k = 0; k < y.numRows; k++) {
                    for (int j = 0; j < y.numCols; j++) {
                        y.data[k * y.numCols + j] += intercepts[k];
                    }
                }
            };
        };
        return BlockScorer.transform(dataset, getOrDefault(featuresCol), features,
                io.sparkprop.exec.ShardPacker.DEFAULT_SPARSE_THRESHOLD, out, 1, forward,
                (y, m, bs, j, row, at) -> row[at] = vector ? Vectors.dense(MlpModel.column(y, m, bs, j)) : y[j]);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        MlpEstimator.requireType(schema, getOrDefault(featuresCol), "features", true, false);
        return MlpRegressionModel.outputSchema(schema, getOrDefault(predictionCol), vectorLabel);
    }

    @Override
    public RidgeRegressionModel copy(ParamMap extra) {
        return copyValues(new RidgeRegressionModel(uid, w, b, vectorLabel, null), extra).setParent(parent());
    }

    /** Writes Spark ML metadata, {@code sparkprop.json} and the coefficients as Parquet (one row per output). */
    @Override
    public MLWriter write() {
        List<Row> rows = new ArrayList<>();
        DMatrixRMaj w = weights();
        for (int k = 0; k < w.numRows; k++) {
            double[] row = new double[w.numCols];
            System.arraycopy(w.data, k * w.numCols, row, 0, row.length);
            rows.add(RowFactory.create(k, row, b[k]));
        }
        return ModelIO.writer(this, root -> {
            root.put("model", "ridge");
            root.put("numFeatures", w.numCols);
            root.put("numOutputs", w.numRows);
            root.put("vectorLabel", vectorLabel);
        }, DATA_SCHEMA, rows);
    }

    /** A reader of saved models; {@code PipelineModel.load} finds it through this method. */
    public static MLReader<RidgeRegressionModel> read() {
        return ModelIO.reader(RidgeRegressionModel.class, (uid, path, root, rows, bad) -> {
            int n = root.path("numFeatures").asInt(-1);
            int m = root.path("numOutputs").asInt(-1);
            if (n < 1 || m < 1) {
                throw bad.apply("sparkprop.json gives " + n + " features and " + m + " outputs");
            }
            DMatrixRMaj w = new DMatrixRMaj(m, n);
            double[] b = new double[m];
            boolean[] seen = new boolean[m];
            for (Row r : rows) {
                int k = r.getInt(r.fieldIndex("output"));
                List<Double> c = r.getList(r.fieldIndex("coefficients"));
                if (k < 0 || k >= m || seen[k] || c.size() != n) {
                    throw bad.apply("the data has an output " + k + " that does not fit " + m + " outputs of " + n
                            + " features");
                }
                seen[k] = true;
                for (int j = 0; j < n; j++) {
                    w.data[k * n + j] = c.get(j);
                }
                b[k] = r.getDouble(r.fieldIndex("intercept"));
            }
            for (int k = 0; k < m; k++) {
                if (!seen[k]) {
                    throw bad.apply("the data has no coefficients for output " + k);
                }
            }
            return new RidgeRegressionModel(uid, w, b, root.path("vectorLabel").asBoolean(false), null);
        });
    }

    /** Loads a model saved with {@code save}/{@code write()}. */
    public static RidgeRegressionModel load(String path) {
        return read().load(path);
    }
}
