package io.sparkprop.exec;

import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.kernel.BackpropKernel;
import org.apache.spark.util.CollectionAccumulator;

/**
 * One {@link BackpropKernel} per executor thread, kept across tasks and iterations so that its
 * workspace is allocated once per thread, not once per task; it is never serialised.
 */
final class KernelCache {
    private static final ThreadLocal<Entry> CACHE = new ThreadLocal<>();

    private KernelCache() {
    }

    /**
     * The thread's kernel for {@code spec} in {@code precision} with the driver's GEMM (checked: see
     * {@link GemmChoice#gemm()}).
     */
    static BackpropKernel get(NetworkSpec spec, GemmChoice gemm, Precision precision) {
        Entry e = CACHE.get();
        if (e == null || !e.backend.equals(gemm.name()) || !e.kernel.spec().equals(spec)
                || e.kernel.precision() != precision) {
            e = new Entry(new BackpropKernel(spec, gemm.gemm(), precision), gemm.name());
            CACHE.set(e);
        }
        return e.kernel;
    }

    /**
     * {@link #get(NetworkSpec, GemmChoice, Precision)} for a training task, which also reports, once an executor, a
     * GEMM fingerprint that differs from the driver's through {@code fingerprints}.
     */
    static BackpropKernel forTraining(NetworkSpec spec, GemmChoice gemm, Precision precision,
                                      CollectionAccumulator<String> fingerprints) {
        BackpropKernel kernel = get(spec, gemm, precision);
        String other = gemm.checkOnExecutor("accumulator " + fingerprints.id());
        if (other != null) {
            fingerprints.add(other);
        }
        return kernel;
    }

    private static final class Entry {
        final BackpropKernel kernel;
        final String backend;

        Entry(BackpropKernel kernel, String backend) {
            this.kernel = kernel;
            this.backend = backend;
        }
    }
}
