package io.sparkprop.nn.kernel;

import io.sparkprop.nn.Activation;
import org.ejml.data.DMatrixRMaj;

/**
 * Element-wise activation ops on an {@code n×B} row-major block (one example per column). Each op is
 * one pass with the activation chosen outside the inner loop, so the loops stay simple enough for
 * the JIT to vectorise.
 */
final class Activations {
    private Activations() {
    }

    /**
     * {@code Z ← f(Z + b 1ᵀ)} in place ({@code z} modified), {@code b} read from {@code bias} at
     * {@code biasOffset}; {@code bias} may be {@code null} for none.
     * Softmax normalises each column with the max-shift {@code e^{z_k − max}/Σ_j e^{z_j − max}}, which
     * cannot overflow.
     */
    static void addBiasAndApply(Activation f, DMatrixRMaj z, double[] bias, int biasOffset, double[] colMax,
                                double[] colSum) {
        int rows = z.numRows;
        int cols = z.numCols;
        double[] d = z.data;
        if (f == Activation.SOFTMAX) {
            addBias(d, rows, cols, bias, biasOffset);
            softmaxColumns(d, rows, cols, colMax, colSum);
            return;
        }
        for (int i = 0; i < rows; i++) {
            double bi = bias == null ? 0.0 : bias[biasOffset + i];
            int base = i * cols;
            int end = base + cols;
            switch (f) {
                case IDENTITY:
                    if (bi != 0.0) {
                        for (int k = base; k < end; k++) {
                            d[k] += bi;
                        }
                    }
                    break;
                case RELU:
                    for (int k = base; k < end; k++) {
                        d[k] = Math.max(0.0, d[k] + bi);
                    }
                    break;
                case SIGMOID:
                    for (int k = base; k < end; k++) {
                        d[k] = sigmoid(d[k] + bi);
                    }
                    break;
                case TANH:
                    for (int k = base; k < end; k++) {
                        d[k] = Math.tanh(d[k] + bi);
                    }
                    break;
                default:
                    throw new IllegalStateException("unhandled activation " + f);
            }
        }
    }

    /**
     * {@code A ← σ(Z)} in place ({@code z} modified) with an exponential accurate to about {@code 1e-11}
     * relative — far below float32's rounding, which the float32 kernel applies to {@code A} next — and made
     * of additions, multiplications and one division only, so that the loop vectorises: {@link Math#exp} is
     * a call per element and was the float32 kernel's largest cost after the GEMMs on sigmoid layers.
     * {@code e^{−z}} for {@code z} clamped to {@code [−88, 88]} (float's range; beyond it σ is 0 or 1 to
     * float precision) is {@code (e^{y})^{512}} with {@code y = −z/512 ∈ [−0.172, 0.172]}: a degree-9 Taylor
     * polynomial (truncation below {@code 1e-14}) squared nine times (relative error times 512).
     */
    static void sigmoidForFloat32(DMatrixRMaj z) {
        int n = z.getNumElements();
        double[] d = z.data;
        for (int k = 0; k < n; k++) {
            double y = -Math.max(-88.0, Math.min(88.0, d[k])) * (1.0 / 512);
            double p = 1 + y * (1 + y * (1.0 / 2 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y * (1.0 / 720
                    + y * (1.0 / 5040 + y * (1.0 / 40320 + y * (1.0 / 362880)))))))));
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            d[k] = 1.0 / (1.0 + p);
        }
    }

    /** {@code D ← D ∘ f'(Z)} with the derivative taken from the activation output {@code A = f(Z)} ({@code d} modified). */
    static void multiplyByDerivative(Activation f, DMatrixRMaj a, DMatrixRMaj d) {
        int n = a.getNumElements();
        double[] av = a.data;
        double[] dv = d.data;
        switch (f) {
            case IDENTITY:
                return;
            case RELU:
                for (int k = 0; k < n; k++) {
                    dv[k] = av[k] > 0.0 ? dv[k] : 0.0;
                }
                return;
            case SIGMOID:
                for (int k = 0; k < n; k++) {
                    dv[k] *= av[k] * (1.0 - av[k]);
                }
                return;
            case TANH:
                for (int k = 0; k < n; k++) {
                    dv[k] *= 1.0 - av[k] * av[k];
                }
                return;
            default:
                // Softmax is only an output activation; its Jacobian is folded into the cross-entropy delta.
                throw new IllegalStateException("no element-wise derivative for " + f);
        }
    }

    /** {@code f'} at one element from {@code a = f(z)}; for the output delta of the squared error. */
    static double derivativeFromOutput(Activation f, double a) {
        switch (f) {
            case RELU:
                return a > 0.0 ? 1.0 : 0.0;
            case SIGMOID:
                return a * (1.0 - a);
            case TANH:
                return 1.0 - a * a;
            default:
                return 1.0;
        }
    }

    /** The logistic function, without overflow for large {@code |z|}. */
    static double sigmoid(double z) {
        if (z >= 0) {
            return 1.0 / (1.0 + Math.exp(-z));
        }
        double e = Math.exp(z);
        return e / (1.0 + e);
    }

    private static void addBias(double[] d, int rows, int cols, double[] bias, int biasOffset) {
        if (bias == null) {
            return;
        }
        for (int i = 0; i < rows; i++) {
            double bi = bias[biasOffset + i];
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                d[base + j] += bi;
            }
        }
    }

    /** Column-wise softmax in place: {@code a_k = e^{z_k − max}/Σ_j e^{z_j − max}}. */
    private static void softmaxColumns(double[] d, int rows, int cols, double[] colMax, double[] colSum) {
        columnMax(d, rows, cols, colMax);
        java.util.Arrays.fill(colSum, 0, cols, 0.0);
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                double e = Math.exp(d[base + j] - colMax[j]);
                d[base + j] = e;
                colSum[j] += e;
            }
        }
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                d[base + j] /= colSum[j];
            }
        }
    }

    /** {@code colMax[j] = max_i d[i][j]}. */
    static void columnMax(double[] d, int rows, int cols, double[] colMax) {
        System.arraycopy(d, 0, colMax, 0, cols);
        for (int i = 1; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                colMax[j] = Math.max(colMax[j], d[base + j]);
            }
        }
    }
}
