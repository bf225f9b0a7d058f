package io.sparkprop.nn.kernel;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.ejml.data.DMatrixRMaj;

/**
 * A textbook per-example forward pass with plain loops and the loss formulas as written in the
 * docs ({@code −Σ y log softmax}, {@code −y log σ − (1−y) log(1−σ)}, {@code ½‖a−y‖²}): an independent
 * reference for the kernel's losses and predictions, and the source of the pre-activations the
 * gradient check keeps away from the ReLU kink.
 */
final class ReferenceNetwork {
    private final NetworkSpec spec;
    private final Parameters params;
    /** Dropout (see {@link #withDropout}): rate, block key and block width; rate 0 = none. */
    private double dropout;
    private long maskKey;
    private int blockWidth;

    ReferenceNetwork(Parameters params) {
        this.spec = params.spec();
        this.params = params;
    }

    /**
     * This network with inverted dropout at {@code rate} on its hidden layers, unit {@code i} of example {@code j}
     * of layer {@code l} kept (scaled by {@code 1/(1 − rate)}) when {@code U(layerKey(key, l), i·B + j) ≥ rate}: the
     * documented mask, written out per example.
     */
    ReferenceNetwork withDropout(double rate, long key, int blockWidth) {
        ReferenceNetwork r = new ReferenceNetwork(params);
        r.dropout = rate;
        r.maskKey = key;
        r.blockWidth = blockWidth;
        return r;
    }

    /** Pre-activations {@code z_l} of every layer for one example. */
    double[][] preActivations(double[] x) {
        return preActivations(x, -1);
    }

    /** Pre-activations of example {@code j} of a block (its dropout masks; {@code j < 0}: none). */
    private double[][] preActivations(double[] x, int j) {
        double[][] zs = new double[spec.numLayers()][];
        double[] a = x;
        for (int l = 0; l < spec.numLayers(); l++) {
            DMatrixRMaj w = DMatrixRMaj.wrap(spec.width(l), spec.fanIn(l), params.weights(l).values());
            double[] z = new double[spec.width(l)];
            for (int i = 0; i < z.length; i++) {
                double s = params.biases(l).apply(i);
                for (int k = 0; k < a.length; k++) {
                    s += w.get(i, k) * a[k];
                }
                z[i] = s;
            }
            zs[l] = z;
            a = activate(spec.activation(l), z);
            if (dropout > 0 && j >= 0 && l < spec.numLayers() - 1) {
                long key = TrainingTerms.layerKey(maskKey, l);
                for (int i = 0; i < a.length; i++) {
                    a[i] = TrainingTerms.uniform(key, (long) i * blockWidth + j) >= dropout ? a[i] / (1 - dropout) : 0.0;
                }
            }
        }
        return zs;
    }

    /** The network's output {@code a_L} for one example. */
    double[] output(double[] x) {
        return output(x, -1);
    }

    private double[] output(double[] x, int j) {
        double[][] zs = preActivations(x, j);
        return activate(spec.outputActivation(), zs[zs.length - 1]);
    }

    /** Smallest {@code |z|} over every ReLU unit of every example of the block (with this network's masks). */
    double minAbsReluPreActivation(DMatrixRMaj xBlock) {
        double min = Double.POSITIVE_INFINITY;
        for (int j = 0; j < xBlock.numCols; j++) {
            double[][] zs = preActivations(column(xBlock, j), j);
            for (int l = 0; l < zs.length; l++) {
                if (spec.activation(l) == Activation.RELU) {
                    for (double z : zs[l]) {
                        min = Math.min(min, Math.abs(z));
                    }
                }
            }
        }
        return min;
    }

    /** {@code Σ_j w_j C_j} over the block. */
    double lossSum(DMatrixRMaj xBlock, DMatrixRMaj yBlock, double[] weights) {
        double total = 0;
        for (int j = 0; j < xBlock.numCols; j++) {
            double[] a = output(column(xBlock, j), j);
            double[] y = column(yBlock, j);
            double c = 0;
            for (int k = 0; k < a.length; k++) {
                switch (spec.loss()) {
                    case HALF_SQUARED_ERROR:
                        c += 0.5 * (a[k] - y[k]) * (a[k] - y[k]);
                        break;
                    case SOFTMAX_CROSS_ENTROPY:
                        c -= y[k] * Math.log(a[k]);
                        break;
                    case SIGMOID_CROSS_ENTROPY:
                        c -= y[k] * Math.log(a[k]) + (1 - y[k]) * Math.log(1 - a[k]);
                        break;
                    default:
                        throw new IllegalStateException();
                }
            }
            total += (weights == null ? 1.0 : weights[j]) * c;
        }
        return total;
    }

    static double[] column(DMatrixRMaj m, int j) {
        double[] c = new double[m.numRows];
        for (int i = 0; i < c.length; i++) {
            c[i] = m.get(i, j);
        }
        return c;
    }

    private static double[] activate(Activation f, double[] z) {
        double[] a = new double[z.length];
        if (f == Activation.SOFTMAX) {
            double sum = 0;
            for (int i = 0; i < z.length; i++) {
                a[i] = Math.exp(z[i]);
                sum += a[i];
            }
            for (int i = 0; i < z.length; i++) {
                a[i] /= sum;
            }
            return a;
        }
        for (int i = 0; i < z.length; i++) {
            switch (f) {
                case IDENTITY:
                    a[i] = z[i];
                    break;
                case SIGMOID:
                    a[i] = 1.0 / (1.0 + Math.exp(-z[i]));
                    break;
                case TANH:
                    a[i] = Math.tanh(z[i]);
                    break;
                case RELU:
                    a[i] = z[i] > 0 ? z[i] : 0.0;
                    break;
                default:
                    throw new IllegalStateException();
            }
        }
        return a;
    }
}
