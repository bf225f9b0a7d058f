package io.sparkprop.train;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.kernel.BackpropKernel;

/**
 * One {@link BackpropKernel} per executor thread, kept across tasks and iterations so that its
 * workspace is allocated once per thread, not once per task; it is never serialised.
 */
final class KernelCache {
    private static final ThreadLocal<Entry> CACHE = new ThreadLocal<>();

    private KernelCache() {
    }

    static BackpropKernel get(NetworkSpec spec, GemmBackend backend) {
        Entry e = CACHE.get();
        if (e == null || e.backend != backend || !e.kernel.spec().equals(spec)) {
            e = new Entry(new BackpropKernel(spec, backend.gemm()), backend);
            CACHE.set(e);
        }
        return e.kernel;
    }

    private static final class Entry {
        final BackpropKernel kernel;
        final GemmBackend backend;

        Entry(BackpropKernel kernel, GemmBackend backend) {
            this.kernel = kernel;
            this.backend = backend;
        }
    }
}
