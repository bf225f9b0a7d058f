package io.sparkprop.ml;

import java.io.Serializable;

import io.sparkprop.ridge.RidgeSolution;

/**
 * What the fit that made a {@link RidgeRegressionModel} measured on its training data, per output,
 * weighted by the example weights: RMSE and R² (from the fit's statistics, no second pass), the mean
 * absolute error (for solver {@code normal} computed by one more pass on first call, as Spark's
 * training summaries are), and the fit's size, timings and GEMM backend.
 */
public final class RidgeTrainingSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    private final RidgeSolution solution;

    RidgeTrainingSummary(RidgeSolution solution) {
        this.solution = solution;
    }

    /** Root mean squared error on the training data, per output. */
    public double[] rootMeanSquaredError() {
        return solution.rootMeanSquaredError();
    }

    /** Coefficient of determination on the training data, per output. */
    public double[] r2() {
        return solution.r2();
    }

    /**
     * Mean absolute error on the training data, per output; for solver {@code normal} the first call runs
     * one pass over the training data ({@code null} if this summary was serialised before it was asked).
     */
    public double[] meanAbsoluteError() {
        return solution.meanAbsoluteError();
    }

    /** Number of training examples. */
    public long numExamples() {
        return solution.numExamples();
    }

    /** Sum of the training weights. */
    public double weightSum() {
        return solution.weightSum();
    }

    /** Wall time of the distributed pass (solver {@code normal}) or of the training (solver {@code sgd}). */
    public double passMillis() {
        return solution.passMillis();
    }

    /** Wall time of the driver-side solve (solver {@code normal}). */
    public double solveMillis() {
        return solution.solveMillis();
    }

    /** The GEMM backend the driver chose for the fit, with its fingerprint (BLAS library, core type, CPU). */
    public String gemm() {
        return solution.gemm();
    }

    /** {@code float64}, or {@code float32} for a float32 sgd fit. */
    public String precision() {
        return solution.precision();
    }
}
