package io.sparkprop.nn.kernel;

import io.sparkprop.nn.Activation;
import org.ejml.data.DMatrixRMaj;

/**
 * The output layer's fused cost and delta: each takes the output block ({@code m×B}, one example per
 * column), writes the output activation {@code A_L} over it, the weighted output delta
 * {@code Δ_L = ∂(Σ_j w_j C_j)/∂Z_L} into {@code delta}, and returns {@code Σ_j w_j C_j}.
 */
final class Losses {
    private Losses() {
    }

    /**
     * {@code C = ½‖a − y‖²}, {@code δ = (a − y) ∘ f'(z)}; {@code a} already holds {@code f(Z_L)}.
     */
    static double halfSquaredError(Activation f, DMatrixRMaj a, DMatrixRMaj y, double[] w, DMatrixRMaj delta) {
        int rows = a.numRows;
        int cols = a.numCols;
        double[] av = a.data;
        double[] yv = y.data;
        double[] dv = delta.data;
        double loss = 0;
        boolean identity = f == Activation.IDENTITY;
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                int k = base + j;
                double diff = av[k] - yv[k];
                loss += 0.5 * w[j] * diff * diff;
                double d = w[j] * diff;
                dv[k] = identity ? d : d * Activations.derivativeFromOutput(f, av[k]);
            }
        }
        return loss;
    }

    /**
     * Softmax cross-entropy from the logits {@code z} in place: with {@code lse = log Σ_k e^{z_k}}
     * (computed with the max shift, so logits of ±1000 stay finite), {@code log a_k = z_k − lse},
     * {@code C = −Σ_k y_k (z_k − lse)} and {@code δ_k = a_k Σ_i y_i − y_k}, which is {@code a − y} for
     * targets that sum to 1 and the exact gradient for any others. With label smoothing {@code ε > 0} the
     * targets are {@code y'_k = (1 − ε) y_k + ε (Σ_i y_i)/K}, which keeps their sum.
     */
    static double softmaxCrossEntropy(DMatrixRMaj z, DMatrixRMaj y, double[] w, DMatrixRMaj delta,
                                      double[] lse, double[] targetSum, double smoothing) {
        int rows = z.numRows;
        int cols = z.numCols;
        double[] zv = z.data;
        double[] yv = y.data;
        double[] dv = delta.data;
        Activations.columnMax(zv, rows, cols, lse);
        java.util.Arrays.fill(targetSum, 0, cols, 0.0);
        // targetSum is first used for Σ_k e^{z_k − max}, then reused for Σ_k y_k after lse is formed.
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                targetSum[j] += Math.exp(zv[base + j] - lse[j]);
            }
        }
        for (int j = 0; j < cols; j++) {
            lse[j] += Math.log(targetSum[j]);
            targetSum[j] = 0.0;
        }
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                targetSum[j] += yv[base + j];
            }
        }
        double loss = 0;
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                int k = base + j;
                double logA = zv[k] - lse[j];
                // ε = 0 reads y_k untouched: the plain loss's bits
                double yk = smoothing == 0 ? yv[k] : (1 - smoothing) * yv[k] + smoothing * targetSum[j] / rows;
                if (yk != 0.0) {
                    loss -= w[j] * yk * logA;
                }
                double ak = Math.exp(logA);
                zv[k] = ak;
                dv[k] = w[j] * (ak * targetSum[j] - yk);
            }
        }
        return loss;
    }

    /**
     * Sigmoid (binary) cross-entropy from the logits {@code z} in place:
     * {@code C = Σ_k softplus(z_k) − y_k z_k} with {@code softplus(z) = max(z, 0) + log1p(e^{−|z|})},
     * equal to {@code −y log σ(z) − (1 − y) log(1 − σ(z))} and finite for any logit; {@code δ = σ(z) − y}.
     * With label smoothing {@code ε > 0} each target is {@code (1 − ε) y + ε/2}.
     */
    static double sigmoidCrossEntropy(DMatrixRMaj z, DMatrixRMaj y, double[] w, DMatrixRMaj delta,
                                      double smoothing) {
        int rows = z.numRows;
        int cols = z.numCols;
        double[] zv = z.data;
        double[] yv = y.data;
        double[] dv = delta.data;
        double loss = 0;
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                int k = base + j;
                double zk = zv[k];
                double yk = smoothing == 0 ? yv[k] : (1 - smoothing) * yv[k] + 0.5 * smoothing;
                double softplus = Math.max(zk, 0.0) + Math.log1p(Math.exp(-Math.abs(zk)));
                loss += w[j] * (softplus - yk * zk);
                double ak = Activations.sigmoid(zk);
                zv[k] = ak;
                dv[k] = w[j] * (ak - yk);
            }
        }
        return loss;
    }
}
