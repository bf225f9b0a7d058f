package io.sparkprop.ml;

import java.io.Serializable;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import org.apache.spark.ml.linalg.Vector;
import org.ejml.data.DMatrixRMaj;

/**
 * The network's outputs for one feature vector at a time, for the models' single-row {@code predict}. Ships
 * the parameters to the executors; each thread builds its own kernel there.
 */
final class RowPredictor implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Parameters parameters;
    private transient volatile ThreadLocal<BackpropKernel> kernels;

    RowPredictor(Parameters parameters) {
        this.parameters = parameters;
    }

    /** The output layer's pre-activations {@code z_L} (logits) for {@code features}. */
    double[] raw(Vector features) {
        return run(features, true);
    }

    /** The network's outputs {@code a_L} for {@code features}. */
    double[] outputs(Vector features) {
        return run(features, false);
    }

    private double[] run(Vector features, boolean raw) {
        int n = parameters.spec().inputSize();
        if (features.size() != n) {
            throw new IllegalArgumentException("expected " + n + " features, found " + features.size()
                    + "; the model was trained on " + n);
        }
        DMatrixRMaj x = DMatrixRMaj.wrap(n, 1, features.toArray());
        DMatrixRMaj out = new DMatrixRMaj(1, 1);
        if (raw) {
            kernel().predictRaw(parameters, x, out);
        } else {
            kernel().predict(parameters, x, out);
        }
        return out.data.length == out.numRows ? out.data : java.util.Arrays.copyOf(out.data, out.numRows);
    }

    private BackpropKernel kernel() {
        ThreadLocal<BackpropKernel> k = kernels;
        if (k == null) {
            synchronized (this) {
                if (kernels == null) {
                    kernels = ThreadLocal.withInitial(() -> new BackpropKernel(parameters.spec(), GemmBackend.AUTO.gemm()));
                }
                k = kernels;
            }
        }
        return k.get();
    }
}
