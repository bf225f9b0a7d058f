package io.sparkprop.ridge;

import java.io.Serializable;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.GemmChoice;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.ejml.data.DMatrixRMaj;

/**
 * A fitted ridge model {@code ŷ = W x + b} ({@code W} m×n, {@code b} of length m) with its training
 * summary. Metrics are per output, weighted by the example weights, on the training data:
 * {@code RMSE = √(Σ w (y − ŷ)² / Σ w)}, {@code R² = 1 − Σ w (y − ŷ)² / Σ w (y − ȳ)²} (both from the
 * sufficient statistics, no second pass), and the mean absolute error, which takes a pass over the
 * training data: the {@code sgd} solver computes it while fitting; for the {@code normal} solver it is
 * computed on the first call of {@link #meanAbsoluteError()}, as Spark's training summaries are.
 */
public final class RidgeSolution implements Serializable {
    private static final long serialVersionUID = 1L;

    private final DMatrixRMaj coefficients;
    private final double[] intercepts;
    private final double[] rmse;
    private final double[] r2;
    private double[] mae;
    /** For the lazy MAE; not serialised. */
    private transient JavaRDD<Example> trainingData;
    private transient GemmChoice backend;
    private transient double sparseThreshold;
    private final long numExamples;
    private final double weightSum;
    private final double passMillis;
    private final double solveMillis;
    private String gemm = "";
    private String precision = "float64";

    RidgeSolution(DMatrixRMaj coefficients, double[] intercepts, double[] rmse, double[] r2, double[] mae,
                  long numExamples, double weightSum, double passMillis, double solveMillis) {
        this.coefficients = coefficients;
        this.intercepts = intercepts;
        this.rmse = rmse;
        this.r2 = r2;
        this.mae = mae;
        this.numExamples = numExamples;
        this.weightSum = weightSum;
        this.passMillis = passMillis;
        this.solveMillis = solveMillis;
    }

    /** {@code W}, m×n (a copy). */
    public DenseMatrix coefficients() {
        return new DenseMatrix(coefficients.numRows, coefficients.numCols, coefficients.data.clone(), true);
    }

    /** {@code W} as stored, for the solver. */
    DMatrixRMaj coefficientsInternal() {
        return coefficients;
    }

    /** Row {@code output} of {@code W}: the coefficients of one output (a copy). */
    public double[] coefficients(int output) {
        double[] row = new double[coefficients.numCols];
        System.arraycopy(coefficients.data, output * coefficients.numCols, row, 0, row.length);
        return row;
    }

    /** {@code b} (a copy); zeros when no intercept was fitted. */
    public double[] intercepts() {
        return intercepts.clone();
    }

    /** Root mean squared error on the training data, per output. */
    public double[] rootMeanSquaredError() {
        return rmse.clone();
    }

    /** Coefficient of determination on the training data, per output. */
    public double[] r2() {
        return r2.clone();
    }

    /**
     * Mean absolute error on the training data, per output. For the {@code normal} solver the first call
     * runs one pass over the training data; {@code null} if it was not computed before this solution
     * was serialised.
     */
    public synchronized double[] meanAbsoluteError() {
        if (mae == null && trainingData != null) {
            mae = ResidualMetrics.of(trainingData, coefficients, intercepts, backend, sparseThreshold).mae();
            trainingData = null;
        }
        return mae == null ? null : mae.clone();
    }

    /** Records the GEMM backend of the fit; returns {@code this}. */
    RidgeSolution withGemm(String description) {
        this.gemm = description;
        return this;
    }

    /** The GEMM backend the driver chose for the fit, with its fingerprint (BLAS library, core type, CPU). */
    public String gemm() {
        return gemm;
    }

    /** Records the precision solver sgd trained in; returns {@code this}. */
    RidgeSolution withPrecision(String name) {
        this.precision = name;
        return this;
    }

    /** {@code float64}, or {@code float32} for a float32 sgd fit (the normal equations are always float64). */
    public String precision() {
        return precision;
    }

    /** Lets {@link #meanAbsoluteError()} compute the MAE from {@code data} when first asked. */
    RidgeSolution withLazyMeanAbsoluteError(JavaRDD<Example> data, GemmChoice gemmBackend, double threshold) {
        this.trainingData = data;
        this.backend = gemmBackend;
        this.sparseThreshold = threshold;
        return this;
    }

    /** Number of training examples. */
    public long numExamples() {
        return numExamples;
    }

    /** Sum of the training weights. */
    public double weightSum() {
        return weightSum;
    }

    /** Wall time of the distributed pass that summed the statistics. */
    public double passMillis() {
        return passMillis;
    }

    /** Wall time of the driver-side solve. */
    public double solveMillis() {
        return solveMillis;
    }

    /** {@code W x + b} for one example. */
    public double[] predict(double[] x) {
        int n = coefficients.numCols;
        if (x.length != n) {
            throw new IllegalArgumentException("expected " + n + " features, found " + x.length);
        }
        double[] y = intercepts.clone();
        for (int k = 0; k < y.length; k++) {
            double s = 0;
            int base = k * n;
            for (int j = 0; j < n; j++) {
                s += coefficients.data[base + j] * x[j];
            }
            y[k] += s;
        }
        return y;
    }
}
