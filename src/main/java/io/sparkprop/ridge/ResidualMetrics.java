package io.sparkprop.ridge;

import java.io.Serializable;
import java.util.Collections;

import io.sparkprop.data.Example;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.ShardPacker;
import io.sparkprop.exec.SparkJobs;
import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.GemmChoice;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.Matrix;
import scala.Tuple2;

/**
 * One pass that scores a linear model {@code ŷ = W x + b} on data: per output, the weighted sums
 * {@code Σw(y−ŷ)²}, {@code Σw|y−ŷ|}, the weighted mean {@code ȳ} and centred {@code Σw(y−ȳ)²}, and {@code Σw},
 * from which RMSE, MAE and R² follow. Predictions are formed per block with one GEMM, or for a sparse
 * block ({@link ShardPacker#forEachMatrixBlockCanonical}) as sums over its non-zeros. The label's
 * spread is summed about block means and combined by the pairwise update (Chan et al.), never as
 * {@code Σwy² − Wȳ²}, which cancels to noise for labels with a large offset.
 */
final class ResidualMetrics implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double[] sse;
    private final double[] sae;
    private final double[] yMean;
    private final double[] cyy;
    private double weightSum;

    private ResidualMetrics(int m) {
        sse = new double[m];
        sae = new double[m];
        yMean = new double[m];
        cyy = new double[m];
    }

    static ResidualMetrics of(JavaRDD<Example> data, DMatrixRMaj w, double[] b, GemmChoice backend,
                              double sparseThreshold) {
        int n = w.numCols;
        int m = w.numRows;
        ShardPacker packer = new ShardPacker(n, m, 256).withSparseThreshold(sparseThreshold);
        // captured as plain arrays: a serialised lambda that captured an EJML type would not
        // deserialise from the shaded jar, where EJML is relocated
        double[] coefficientData = w.data.clone();
        double[] intercepts = b.clone();
        try {
            // rows in canonical order and partitions merged by index: the same sums on any cluster
            JavaPairRDD<Integer, ResidualMetrics> partials = data.mapPartitionsWithIndex((p, it) -> {
                ResidualMetrics e = new ResidualMetrics(m);
                DMatrixRMaj coefficients = DMatrixRMaj.wrap(m, n, coefficientData);
                DMatrixRMaj prediction = new DMatrixRMaj(m, 1);
                Gemm gemm = backend.gemm();
                packer.forEachMatrixBlockCanonical(p, it, (x, y, weights) -> e.add(gemm, coefficients, intercepts,
                        x, y, weights, prediction));
                return Collections.singletonList(new Tuple2<>(p, e)).iterator();
            }, true).mapToPair(kv -> kv);
            // a few sums a partition: the driver merges them all (depth 1), with no shuffle stage
            ResidualMetrics merged = OrderedTreeAggregate.aggregate(partials, data.getNumPartitions(), 1,
                    ResidualMetrics::merge);
            return merged != null ? merged : new ResidualMetrics(m);
        } catch (Exception e) { // Spark throws its (checked) SparkException undeclared
            throw SparkJobs.inputError(e, "evaluating the ridge model");
        }
    }

    private void add(Gemm gemm, DMatrixRMaj w, double[] b, Matrix x, DMatrixRMaj y, double[] weights,
                     DMatrixRMaj pred) {
        int cols = x.getNumCols();
        pred.reshape(w.numRows, cols);
        if (x instanceof DMatrixSparseCSC) {
            io.sparkprop.linalg.SparseProducts.multiply(w, (DMatrixSparseCSC) x, pred);
        } else {
            gemm.gemm(false, false, 1.0, w, (DMatrixRMaj) x, 0.0, pred);
        }
        double blockWeight = 0;
        for (int j = 0; j < cols; j++) {
            blockWeight += weights == null ? 1.0 : weights[j];
        }
        for (int k = 0; k < w.numRows; k++) {
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                double wj = weights == null ? 1.0 : weights[j];
                double yv = y.data[k * cols + j];
                double r = yv - pred.data[k * cols + j] - b[k];
                sse[k] += wj * r * r;
                sae[k] += wj * Math.abs(r);
                sum += wj * yv;
            }
            if (!(blockWeight > 0)) {
                continue;
            }
            // two-pass mean of the block, then its centred sum of squares
            double mean = sum / blockWeight;
            double correction = 0;
            for (int j = 0; j < cols; j++) {
                correction += (weights == null ? 1.0 : weights[j]) * (y.data[k * cols + j] - mean);
            }
            mean += correction / blockWeight;
            double squares = 0;
            for (int j = 0; j < cols; j++) {
                double d = y.data[k * cols + j] - mean;
                squares += (weights == null ? 1.0 : weights[j]) * d * d;
            }
            combine(k, weightSum, blockWeight, mean, squares);
        }
        weightSum += blockWeight;
    }

    /** Adds a part of weight {@code wb}, mean {@code mean} and centred squares {@code squares} to output {@code k}. */
    private void combine(int k, double wa, double wb, double mean, double squares) {
        double total = wa + wb;
        double delta = mean - yMean[k];
        cyy[k] += squares + (wa > 0 ? wa / total * wb * delta * delta : 0.0);
        yMean[k] = wa > 0 ? yMean[k] + wb / total * delta : mean;
    }

    private static ResidualMetrics merge(ResidualMetrics a, ResidualMetrics b) {
        for (int k = 0; k < a.sse.length; k++) {
            a.sse[k] += b.sse[k];
            a.sae[k] += b.sae[k];
            if (b.weightSum > 0) {
                a.combine(k, a.weightSum, b.weightSum, b.yMean[k], b.cyy[k]);
            }
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
            r[k] = cyy[k] > 0 ? 1 - sse[k] / cyy[k] : Double.NaN;
        }
        return r;
    }
}
