package io.sparkprop.ridge;

import java.io.Serializable;

import io.sparkprop.data.Example;
import io.sparkprop.data.ShardPacker;
import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.train.SparkJobs;
import org.apache.spark.api.java.JavaRDD;
import org.ejml.data.DMatrixRMaj;

/**
 * One pass that scores a linear model {@code ŷ = W x + b} on data: per output, the weighted sums
 * {@code Σw(y−ŷ)²}, {@code Σw|y−ŷ|}, {@code Σw y}, {@code Σw y²} and {@code Σw}, from which RMSE, MAE and
 * R² follow. Predictions are formed per block with one GEMM.
 */
final class Evaluation implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double[] sse;
    private final double[] sae;
    private final double[] sy;
    private final double[] syy;
    private double weightSum;

    private Evaluation(int m) {
        sse = new double[m];
        sae = new double[m];
        sy = new double[m];
        syy = new double[m];
    }

    static Evaluation of(JavaRDD<Example> data, DMatrixRMaj w, double[] b, GemmBackend backend) {
        int n = w.numCols;
        int m = w.numRows;
        ShardPacker packer = new ShardPacker(n, m, 256);
        // captured as plain arrays: a serialised lambda that captured an EJML type would not
        // deserialise from the shaded jar, where EJML is relocated
        double[] coefficientData = w.data.clone();
        double[] intercepts = b.clone();
        try {
            return data.mapPartitionsWithIndex((p, it) -> {
                Evaluation e = new Evaluation(m);
                DMatrixRMaj coefficients = DMatrixRMaj.wrap(m, n, coefficientData);
                DMatrixRMaj prediction = new DMatrixRMaj(m, 1);
                Gemm gemm = backend.gemm();
                packer.forEachBlock(p, it, (x, y, weights) -> e.add(gemm, coefficients, intercepts, x, y, weights,
                        prediction));
                return java.util.Collections.singletonList(e).iterator();
            }, true).reduce(Evaluation::merge);
        } catch (Exception e) { // Spark throws its (checked) SparkException undeclared
            throw SparkJobs.inputError(e, "evaluating the ridge model");
        }
    }

    private void add(Gemm gemm, DMatrixRMaj w, double[] b, DMatrixRMaj x, DMatrixRMaj y, double[] weights,
                     DMatrixRMaj pred) {
        int cols = x.numCols;
        pred.reshape(w.numRows, cols);
        gemm.gemm(false, false, 1.0, w, x, 0.0, pred);
        for (int k = 0; k < w.numRows; k++) {
            for (int j = 0; j < cols; j++) {
                double wj = weights == null ? 1.0 : weights[j];
                double yv = y.data[k * cols + j];
                double r = yv - pred.data[k * cols + j] - b[k];
                sse[k] += wj * r * r;
                sae[k] += wj * Math.abs(r);
                sy[k] += wj * yv;
                syy[k] += wj * yv * yv;
            }
        }
        for (int j = 0; j < cols; j++) {
            weightSum += weights == null ? 1.0 : weights[j];
        }
    }

    private static Evaluation merge(Evaluation a, Evaluation b) {
        for (int k = 0; k < a.sse.length; k++) {
            a.sse[k] += b.sse[k];
            a.sae[k] += b.sae[k];
            a.sy[k] += b.sy[k];
            a.syy[k] += b.syy[k];
        }
        a.weightSum += b.weightSum;
        return a;
    }

    double[] rmse() {
        double[] r = new double[sse.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = Math.sqrt(sse[k] / weightSum);
        }
        return r;
    }

    double[] mae() {
        double[] r = new double[sae.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = sae[k] / weightSum;
        }
        return r;
    }

    double[] r2() {
        double[] r = new double[sse.length];
        for (int k = 0; k < r.length; k++) {
            double mean = sy[k] / weightSum;
            double sst = syy[k] - weightSum * mean * mean;
            r[k] = sst > 0 ? 1 - sse[k] / sst : Double.NaN;
        }
        return r;
    }
}
