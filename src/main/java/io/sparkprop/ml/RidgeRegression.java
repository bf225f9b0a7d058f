package io.sparkprop.ml;

import java.util.Locale;

import io.sparkprop.ridge.RidgeSolution;
import io.sparkprop.ridge.RidgeSettings;
import io.sparkprop.ridge.RidgeSolver;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * Ridge regression as a Spark ML estimator: minimises
 * {@code 1/(2Σw) Σ_i w_i ‖y_i − W x_i − b‖² + (λ/2)‖W‖²} ({@code λ = regParam}, the intercept not
 * penalised), for a numeric label or a Vector label (several outputs). Solver {@code normal}
 * (default) is the closed form from one pass of sufficient statistics; {@code sgd} trains the same
 * model with the distributed gradient trainer (full batch by default). See {@link RidgeSolver} for the
 * maths and the equivalence with MLlib's {@code LinearRegression(regParam = λ·σ_y)}.
 */
public final class RidgeRegression extends Estimator<RidgeRegressionModel> implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> featuresCol;
    private final Param<String> labelCol;
    private final Param<String> predictionCol;
    private final Param<String> weightCol;
    private final DoubleParam regParam;
    private final BooleanParam fitIntercept;
    private final BooleanParam standardization;
    private final Param<String> solver;
    private final IntParam blockSize;
    private final IntParam aggregationDepth;
    private final DoubleParam stepSize;
    private final IntParam maxEpochs;
    private final LongParam seed;
    private final Param<String> precision;
    private final DoubleParam sparseThreshold;

    public RidgeRegression() {
        this(Identifiable$.MODULE$.randomUID("ridgeRegression"));
    }

    /** Sets the uid first, then creates the params: a param records its parent's uid when created. */
    public RidgeRegression(String uid) {
        this.uid = uid;
        featuresCol = new Param<>(this, "featuresCol", "features column name (a Vector column)");
        labelCol = new Param<>(this, "labelCol", "label column name (numeric, or a Vector for several outputs)");
        predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        weightCol = new Param<>(this, "weightCol", "weight column name (numeric, >= 0); empty for weight 1");
        regParam = new DoubleParam(this, "regParam", "ridge penalty λ >= 0 of (λ/2)·‖W‖² (intercept not penalised)",
                ParamValidators.gtEq(0));
        fitIntercept = new BooleanParam(this, "fitIntercept", "whether to fit an (unpenalised) intercept");
        standardization = new BooleanParam(this, "standardization",
                "penalise the coefficients of standardised features, (λ/2)·Σ_j σ_j² W_j², as MLlib does");
        solver = new Param<>(this, "solver", "normal (closed form, one pass) or sgd (distributed gradient descent)",
                ParamValidators.inArray(new String[] {"normal", "sgd"}));
        blockSize = new IntParam(this, "blockSize", "rows per block of the statistics pass (>= 1)",
                ParamValidators.gtEq(1));
        aggregationDepth = new IntParam(this, "aggregationDepth", "depth of the merge tree (>= 1)",
                ParamValidators.gtEq(1));
        stepSize = new DoubleParam(this, "stepSize", "Adam step size of solver sgd (> 0)", ParamValidators.gt(0));
        maxEpochs = new IntParam(this, "maxEpochs", "full-batch iterations of solver sgd (>= 1)",
                ParamValidators.gtEq(1));
        seed = new LongParam(this, "seed", "random seed of solver sgd");
        precision = new Param<>(this, "precision", "float64, or float32 for solver sgd: its shards and GEMMs in "
                + "single precision (solver normal is always float64)", ParamValidators.inArray(new String[] {
                    "float64", "float32"}));
        sparseThreshold = new DoubleParam(this, "sparseThreshold", MlpParams.SPARSE_THRESHOLD_DOC
                + " (solver normal: rows are summed sparse below it)", ParamValidators.inRange(0, 1, true, true));
        setDefault(featuresCol, "features");
        setDefault(labelCol, "label");
        setDefault(predictionCol, "prediction");
        setDefault(weightCol, "");
        RidgeSettings d = RidgeSettings.defaults();
        setDefault(regParam, d.regParam());
        setDefault(fitIntercept, d.fitIntercept());
        setDefault(standardization, d.standardization());
        setDefault(solver, d.solver().name().toLowerCase(Locale.ROOT));
        setDefault(blockSize, d.blockSize());
        setDefault(aggregationDepth, d.aggregationDepth());
        setDefault(stepSize, d.stepSize());
        setDefault(maxEpochs, d.maxEpochs());
        setDefault(seed, d.seed());
        setDefault(precision, d.precision().lowerName());
        setDefault(sparseThreshold, d.sparseThreshold());
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> featuresCol() {
        return featuresCol;
    }

    public Param<String> labelCol() {
        return labelCol;
    }

    public Param<String> predictionCol() {
        return predictionCol;
    }

    public Param<String> weightCol() {
        return weightCol;
    }

    public DoubleParam regParam() {
        return regParam;
    }

    public BooleanParam fitIntercept() {
        return fitIntercept;
    }

    public BooleanParam standardization() {
        return standardization;
    }

    public Param<String> solver() {
        return solver;
    }

    public IntParam blockSize() {
        return blockSize;
    }

    public IntParam aggregationDepth() {
        return aggregationDepth;
    }

    public DoubleParam stepSize() {
        return stepSize;
    }

    public IntParam maxEpochs() {
        return maxEpochs;
    }

    public LongParam seed() {
        return seed;
    }

    public Param<String> precision() {
        return precision;
    }

    public DoubleParam sparseThreshold() {
        return sparseThreshold;
    }

    public RidgeRegression setFeaturesCol(String value) {
        set(featuresCol, value);
        return this;
    }

    public RidgeRegression setLabelCol(String value) {
        set(labelCol, value);
        return this;
    }

    public RidgeRegression setPredictionCol(String value) {
        set(predictionCol, value);
        return this;
    }

    public RidgeRegression setWeightCol(String value) {
        set(weightCol, value);
        return this;
    }

    public RidgeRegression setRegParam(double value) {
        set(regParam, value);
        return this;
    }

    public RidgeRegression setFitIntercept(boolean value) {
        set(fitIntercept, value);
        return this;
    }

    public RidgeRegression setStandardization(boolean value) {
        set(standardization, value);
        return this;
    }

    public RidgeRegression setSolver(String value) {
        set(solver, value);
        return this;
    }

    public RidgeRegression setBlockSize(int value) {
        set(blockSize, value);
        return this;
    }

    public RidgeRegression setAggregationDepth(int value) {
        set(aggregationDepth, value);
        return this;
    }

    public RidgeRegression setStepSize(double value) {
        set(stepSize, value);
        return this;
    }

    public RidgeRegression setMaxEpochs(int value) {
        set(maxEpochs, value);
        return this;
    }

    public RidgeRegression setSeed(long value) {
        set(seed, value);
        return this;
    }

    /** Blocks (solver normal: partitions) below this fraction of non-zero feature values are handled sparse. */
    public RidgeRegression setSparseThreshold(double value) {
        set(sparseThreshold, value);
        return this;
    }

    /** {@code float64} (default) or {@code float32}, with solver sgd. */
    public RidgeRegression setPrecision(String value) {
        set(precision, value);
        return this;
    }

    @Override
    public RidgeRegressionModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) dataset;
        boolean vectorLabel = dataset.schema().apply(getOrDefault(labelCol)).dataType()
                .equals(SQLDataTypes.VectorType());
        RidgeSolver ridge = new RidgeSolver(settings());
        String weights = getOrDefault(weightCol);
        RidgeSolution solution = ridge.fit(rows, getOrDefault(featuresCol), getOrDefault(labelCol),
                weights.isEmpty() ? null : weights);
        org.apache.spark.ml.linalg.DenseMatrix w = solution.coefficients(); // row-major (isTransposed)
        RidgeRegressionModel model = new RidgeRegressionModel(uid,
                org.ejml.data.DMatrixRMaj.wrap(w.numRows(), w.numCols(), w.values()), solution.intercepts(),
                vectorLabel, solution);
        copyValues(model, ParamMap.empty());
        return model.setParent(this);
    }

    /** The settings the params describe, checked: the one conversion from the params to the solver's. */
    public RidgeSettings settings() {
        return RidgeSettings.builder().regParam((Double) getOrDefault(regParam))
                .fitIntercept((Boolean) getOrDefault(fitIntercept))
                .standardization((Boolean) getOrDefault(standardization)).solver(getOrDefault(solver))
                .blockSize((Integer) getOrDefault(blockSize)).aggregationDepth((Integer) getOrDefault(aggregationDepth))
                .stepSize((Double) getOrDefault(stepSize)).maxEpochs((Integer) getOrDefault(maxEpochs))
                .seed((Long) getOrDefault(seed)).precision(getOrDefault(precision))
                .sparseThreshold((Double) getOrDefault(sparseThreshold)).build();
    }

    /**
     * Sets every param from {@code settings}. The sgd solver's optimizer, batch size and tolerance are no
     * params (it runs Adam, full batch, every epoch): settings with other values are refused.
     */
    public RidgeRegression setSettings(RidgeSettings settings) {
        RidgeSettings d = RidgeSettings.defaults();
        if (!settings.optimizer().equals(d.optimizer()) || settings.batchSize() != d.batchSize()
                || settings.tol() != d.tol()) {
            throw new IllegalArgumentException("RidgeRegression's sgd solver runs " + d.optimizer() + ", batch size "
                    + d.batchSize() + ", tol " + d.tol() + "; for other values use RidgeSolver");
        }
        set(regParam, settings.regParam());
        set(fitIntercept, settings.fitIntercept());
        set(standardization, settings.standardization());
        set(solver, settings.solver().name().toLowerCase(Locale.ROOT));
        set(blockSize, settings.blockSize());
        set(aggregationDepth, settings.aggregationDepth());
        set(stepSize, settings.stepSize());
        set(maxEpochs, settings.maxEpochs());
        set(seed, settings.seed());
        set(precision, settings.precision().lowerName());
        set(sparseThreshold, settings.sparseThreshold());
        return this;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        MlpEstimator.requireType(schema, getOrDefault(featuresCol), "features", true, false);
        MlpEstimator.requireType(schema, getOrDefault(labelCol), "label", false, true);
        String weights = getOrDefault(weightCol);
        if (!weights.isEmpty()) {
            MlpEstimator.requireType(schema, weights, "weight", false, false);
        }
        boolean vectorLabel = schema.apply(getOrDefault(labelCol)).dataType().equals(SQLDataTypes.VectorType());
        return MlpRegressionModel.outputSchema(schema, getOrDefault(predictionCol), vectorLabel);
    }

    @Override
    public RidgeRegression copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** A reader of saved estimators; {@code Pipeline.load} finds it through this method. */
    public static MLReader<RidgeRegression> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads an estimator saved with {@code save}/{@code write()}. */
    public static RidgeRegression load(String path) {
        return read().load(path);
    }
}
